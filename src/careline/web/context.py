"""Who is asking and what they may see: authentication, the permission check, the scoped session.

Every route declares exactly one of `require(Permission.X)` or `public()`; a test walks the
app's routes and fails on any route that declares neither.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from careline.accounts import service as accounts
from careline.accounts.models import User
from careline.accounts.permissions import Permission, has_permission
from careline.audit import service as audit
from careline.audit.models import Outcome
from careline.config import Settings
from careline.db import SYSTEM, Scope, open_session
from careline.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "cl_session"
CSRF_COOKIE = "cl_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class RequestContext:
    """The signed-in user, their tenants, and the tenant-scoped database session of this request."""

    db: Session
    user: User
    tenant_ids: frozenset[int]
    actor: audit.Actor
    settings: Settings
    via: str  # "cookie" or "token"

    def can(self, permission: Permission) -> bool:
        """True when the user's role grants the permission."""
        return has_permission(self.user.role, permission)

    def audit(self, action: str, **kwargs: Any) -> None:
        """Record an audit event in this request's transaction."""
        audit.record(self.db, self.actor, action, **kwargs)


@dataclass
class PublicContext:
    """A request that needs no sign-in (login page, health check, survey link)."""

    db: Session
    settings: Settings
    ip: str | None


def client_ip(request: Request) -> str | None:
    """The caller's address as the server saw it (uvicorn --proxy-headers fixes it behind a proxy)."""
    return request.client.host if request.client else None


def signer(settings: Settings) -> URLSafeSerializer:
    """Signs the session cookie's id with the secret key."""
    return URLSafeSerializer(settings.secret_key, salt="careline.session")


def csrf_token(request: Request) -> str:
    """The double-submit CSRF token for this browser (a new one is set as a cookie when missing)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing browser request whose CSRF token does not match its cookie."""
    if request.method not in UNSAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not cookie or not sent or not secrets.compare_digest(cookie, str(sent)):
        raise PermissionDenied("the form expired or came from another site; reload the page and try again")


def _session_policy(settings: Settings) -> accounts.SessionPolicy:
    from datetime import timedelta

    return accounts.SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )


def cookie_session_id(request: Request, settings: Settings) -> str | None:
    """The session id from the signed cookie, or None when missing or tampered with."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return str(signer(settings).loads(raw))
    except BadSignature:
        return None


def _identify(request: Request, db: Session, settings: Settings) -> tuple[User, str, frozenset[int]] | None:
    """The signed-in user, how they signed in, and the tenants they serve: one statement."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = accounts.token_user_with_tenants(db, auth[7:].strip())
        return (found[0], "token", found[1]) if found else None
    sid = cookie_session_id(request, settings)
    if sid is None:
        return None
    resumed = accounts.resume_session_with_tenants(db, sid, _session_policy(settings))
    return (resumed[1], "cookie", resumed[2]) if resumed else None


def _authenticate(request: Request, permission: Permission) -> RequestContext:
    app = request.app
    settings: Settings = app.state.settings
    db = open_session(app.state.sessions, SYSTEM)
    request.state.db = db
    found = _identify(request, db, settings)
    if found is None:
        raise NotAuthenticated("sign in to continue")
    user, via, tenant_ids = found
    actor = audit.Actor(label=user.email, user_id=user.id, ip=client_ip(request))
    if not has_permission(user.role, permission):
        db.rollback()  # release this request's (SQLite) write lock before the audit's own transaction
        audit.record_now(
            app.state.sessions,
            actor,
            "access.denied",
            outcome=Outcome.DENIED,
            detail={"path": request.url.path, "method": request.method, "needs": str(permission)},
        )
        raise PermissionDenied(f"your role ({user.role}) may not do this ({permission})")
    db.info["scope"] = Scope(tenant_ids)
    return RequestContext(db=db, user=user, tenant_ids=tenant_ids, actor=actor, settings=settings, via=via)


async def admit(request: Request) -> None:
    """Wait, on the event loop and holding no thread, for one of the process's database permits
    (`app.state.db_permits`, fewer than the connections its pool may open); the request's route
    gives it back after the commit or rollback (`web.routing.release`).

    A request keeps its connection from its first statement (authentication, in one worker thread)
    to its commit (in another): without a bound, a burst of more requests than the thread pool has
    threads fills every thread with requests waiting for a connection, while the requests holding
    the connections wait for a thread to finish in, until the pool's timeout fails them all."""
    await request.app.state.db_permits.acquire()
    request.state.db_permit = True


def require(permission: Permission) -> Callable[[Request], Any]:
    """A dependency that authenticates, checks the permission table and returns the request context."""

    async def dependency(request: Request) -> RequestContext:
        if request.cookies.get(SESSION_COOKIE) and not request.headers.get("authorization"):
            await check_csrf(request)
        await admit(request)
        return await run_in_threadpool(_authenticate, request, permission)

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def public(*, csrf: bool = False) -> Callable[[Request], Any]:
    """A dependency for routes open to anyone; it still gets a (system-scoped) session."""

    async def dependency(request: Request) -> PublicContext:
        if csrf:
            await check_csrf(request)
        await admit(request)
        db = open_session(request.app.state.sessions, SYSTEM)
        request.state.db = db
        return PublicContext(db=db, settings=request.app.state.settings, ip=client_ip(request))

    dependency.permission = "public"  # type: ignore[attr-defined]
    return dependency


def session_policy(settings: Settings) -> accounts.SessionPolicy:
    """Idle and absolute session lifetimes from the settings."""
    return _session_policy(settings)
