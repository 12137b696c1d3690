"""Account rules: users and their tenants, signing in and out, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import Select, String, bindparam, case, cast, func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from careline.accounts.models import ApiToken, LoginSession, Role, User, UserTenant
from careline.accounts.passwords import burn_time, hash_password, verify_password
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.kit.clock import utcnow
from careline.tenants.models import Tenant

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "cl_"  # noqa: S105 - a public marker, not a secret


def sha256(value: str) -> str:
    """Hex SHA-256, used to store session ids and API tokens without keeping them."""
    return hashlib.sha256(value.encode()).hexdigest()


def _validate_user_fields(email: str, name: str, role: str) -> tuple[str, Role]:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationFailed(f"'{email}' is not an email address", field="email")
    if not name.strip():
        raise ValidationFailed("name is required", field="name")
    try:
        return email, Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise ValidationFailed(f"unknown role '{role}' (one of: {roles})", field="role") from exc


def _tenants_for(session: Session, role: Role, tenant_slugs: list[str]) -> list[Tenant]:
    tenants = list(session.scalars(select(Tenant).where(Tenant.slug.in_(tenant_slugs))))
    missing = sorted(set(tenant_slugs) - {t.slug for t in tenants})
    if missing:
        raise ValidationFailed(f"unknown tenant(s): {', '.join(missing)}", field="tenants")
    if role is Role.PRACTICE_MANAGER and len(tenants) != 1:
        raise ValidationFailed("a practice manager belongs to exactly one tenant", field="tenants")
    if role not in (Role.ADMIN,) and not tenants:
        raise ValidationFailed("staff must serve at least one tenant", field="tenants")
    return tenants


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    tenant_slugs: list[str],
    cheap_hash: bool = False,
) -> User:
    """Create a user with a role and the tenants they serve (admins serve every tenant)."""
    email, role_ = _validate_user_fields(email, name, role)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists", field="email")
    tenants = [] if role_ is Role.ADMIN else _tenants_for(session, role_, tenant_slugs)
    user = User(
        email=email, name=name.strip(), role=role_, password_hash=hash_password(password, cheap=cheap_hash)
    )
    session.add(user)
    session.flush()
    session.add_all(UserTenant(user_id=user.id, tenant_id=t.id) for t in tenants)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    """A user with their tenants loaded, or NotFound."""
    user = session.scalar(select(User).where(User.id == user_id).options(selectinload(User.tenants)))
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def user_by_email(session: Session, email: str) -> User:
    """A user by email, or NotFound."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}", field="email")
    return user


def list_users(session: Session) -> list[User]:
    """All users, tenants loaded, by name."""
    return list(session.scalars(select(User).options(selectinload(User.tenants)).order_by(User.name)))


def served_tenant_ids(session: Session, user: User) -> frozenset[int]:
    """The tenants a user may see: all active tenants for an admin, their assignments otherwise."""
    if user.role is Role.ADMIN:
        return frozenset(session.scalars(select(Tenant.id)))
    return frozenset(session.scalars(select(UserTenant.tenant_id).where(UserTenant.user_id == user.id)))


@lru_cache(maxsize=1)
def _served_tenants_column() -> ColumnElement[str | None]:
    """The tenant ids served_tenant_ids() gives, as one comma-separated column of the user's row."""
    every = select(func.aggregate_strings(cast(Tenant.id, String), ",")).scalar_subquery()
    mine = (
        select(func.aggregate_strings(cast(UserTenant.tenant_id, String), ","))
        .where(UserTenant.user_id == User.id)
        .scalar_subquery()
    )
    return case((User.role == Role.ADMIN, every), else_=mine)


@lru_cache(maxsize=1)
def _token_query() -> Select:
    """Token, user and served tenants by the token's hash: built once (every API call runs it)."""
    return (
        select(ApiToken, User, _served_tenants_column())
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


@lru_cache(maxsize=1)
def _login_query() -> Select:
    """Login session, user and served tenants by the session id's hash: built once."""
    return (
        select(LoginSession, User, _served_tenants_column())
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == bindparam("token_hash"))
    )


def _tenant_ids(joined: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in joined.split(",")) if joined else frozenset()


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable a user; disabling ends every session and token at once, in every process."""
    user.active = active
    user.disabled_at = None if active else utcnow()
    if not active:
        now = utcnow()
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    session.flush()


def set_password(session: Session, user: User, password: str, *, cheap_hash: bool = False) -> None:
    """Replace a user's password and end their other sessions."""
    user.password_hash = hash_password(password, cheap=cheap_hash)
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def check_credentials(session: Session, email: str, password: str, *, cheap: bool) -> User | None:
    """The active user whose email and password match, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        burn_time(password, cheap=cheap)
        return None
    if not verify_password(password, user.password_hash) or not user.active:
        return None
    return user


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


def start_session(
    session: Session, user: User, policy: SessionPolicy, *, ip: str | None, user_agent: str | None
) -> str:
    """Open a login session and return its secret id (for the signed cookie)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            token_hash=sha256(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.absolute,
            ip=ip,
            user_agent=(user_agent or "")[:300],
        )
    )
    session.flush()
    return token


def resume_session(session: Session, token: str, policy: SessionPolicy) -> tuple[LoginSession, User] | None:
    """The live session and user for a cookie's id; None when expired, idle too long, revoked or disabled."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == sha256(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now >= row.expires_at or now - row.last_seen_at > policy.idle:
        row.revoked_at = now
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    # Touch at most once a minute: a write per request would serialise everything on SQLite.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return row, user


def resume_session_with_tenants(
    session: Session, token: str, policy: SessionPolicy
) -> tuple[LoginSession, User, frozenset[int]] | None:
    """resume_session() and served_tenant_ids() in one statement (every signed-in page asks both)."""
    row = session.execute(_login_query(), {"token_hash": sha256(token)}).first()
    if row is None:
        return None
    login, user, tenants = row
    if login.revoked_at is not None:
        return None
    now = utcnow()
    if now >= login.expires_at or now - login.last_seen_at > policy.idle:
        login.revoked_at = now
        return None
    if not user.active:
        return None
    if now - login.last_seen_at > timedelta(minutes=1):  # as resume_session: at most once a minute
        login.last_seen_at = now
    return login, user, _tenant_ids(tenants)


def end_session(session: Session, token: str) -> None:
    """Revoke the session behind a cookie id (logout)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == sha256(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the secret is returned once and only its hash is kept."""
    if not name.strip():
        raise ValidationFailed("a token needs a name", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:100], token_hash=sha256(secret), prefix=secret[:10])
    session.add(token)
    session.flush()
    return token, secret


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user behind a bearer token, or None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(secret)))
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return user


def token_user_with_tenants(session: Session, secret: str) -> tuple[User, frozenset[int]] | None:
    """user_for_token() and served_tenant_ids() in one statement (every API call asks both)."""
    row = session.execute(_token_query(), {"token_hash": sha256(secret)}).first()
    if row is None:
        return None
    token, user, tenants = row
    if token.revoked_at is not None or not user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return user, _tenant_ids(tenants)


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """A user's tokens, newest first."""
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; someone else's token is not found."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
