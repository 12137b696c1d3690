"""Errors that carry their HTTP status; one handler renders them for the API and for pages."""

from __future__ import annotations


class CareLineError(Exception):
    """Base of every expected error: a message a person can act on, and its HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}

    def to_dict(self) -> dict:
        """The JSON body of this error."""
        body: dict = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ValidationFailed(CareLineError):
    status_code = 422
    code = "validation_error"


class NotFound(CareLineError):
    status_code = 404
    code = "not_found"


class NotAuthenticated(CareLineError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(CareLineError):
    status_code = 403
    code = "forbidden"


class Conflict(CareLineError):
    status_code = 409
    code = "conflict"


class RateLimited(CareLineError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class AuditUnavailable(CareLineError):
    """The audit row could not be written, so the data is withheld (fail closed)."""

    status_code = 503
    code = "audit_unavailable"
