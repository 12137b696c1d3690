"""Argon2 password hashing (pwdlib); cheap parameters only when the settings ask for them (tests)."""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from careline.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 10


@cache
def _hasher(cheap: bool) -> PasswordHash:
    if cheap:
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str, *, cheap: bool = False) -> str:
    """An argon2id hash of the password after checking its length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return _hasher(cheap).hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """True when the password matches; any malformed hash is a mismatch."""
    try:
        return _hasher(False).verify(password, password_hash)
    except Exception:
        return False


_DUMMY = None


def burn_time(password: str, *, cheap: bool) -> None:
    """Verify against a dummy hash so unknown accounts take as long as known ones."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _hasher(cheap).hash("dummy-password-for-timing")
    verify_password(password, _DUMMY)
