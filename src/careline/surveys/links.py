"""Signed, expiring survey links: the token is the survey id signed with the secret key and a timestamp.

Tampering is caught by the signature (itsdangerous, HMAC-SHA1 over the payload and time); expiry by
the signed timestamp, read through `careline.kit.clock` so tests can move time. Single use is not the
token's job: the answer is stored with a conditional UPDATE (see service.answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from careline.kit.clock import utcnow

SALT = "careline.survey"


class _ClockSigner(TimestampSigner):
    """A timestamp signer whose 'now' is careline's clock (frozen in tests)."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def serializer(secret_key: str) -> URLSafeTimedSerializer:
    """The one serializer for survey links."""
    return URLSafeTimedSerializer(secret_key, salt=SALT, signer=_ClockSigner)


def make_token(secret_key: str, survey_id: int) -> str:
    """A URL-safe token naming the survey, signed now."""
    return serializer(secret_key).dumps(survey_id)


class LinkProblem(StrEnum):
    INVALID = "invalid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LinkCheck:
    survey_id: int | None
    problem: LinkProblem | None


def read_token(secret_key: str, token: str, *, max_age_days: int) -> LinkCheck:
    """The survey id of a genuine, unexpired token; otherwise which problem it has."""
    try:
        value = serializer(secret_key).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        return LinkCheck(None, LinkProblem.EXPIRED)
    except BadSignature:
        return LinkCheck(None, LinkProblem.INVALID)
    if isinstance(value, bool) or not isinstance(value, int):
        return LinkCheck(None, LinkProblem.INVALID)
    return LinkCheck(value, None)
