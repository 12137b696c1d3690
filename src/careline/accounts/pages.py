"""Browser routes: sign in and out, my account and tokens, user administration."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from careline.accounts import ratelimit, service
from careline.accounts.models import Role
from careline.accounts.permissions import Permission
from careline.audit.models import Outcome
from careline.audit.service import Actor, record
from careline.errors import CareLineError
from careline.tenants.service import list_tenants
from careline.web.context import SESSION_COOKIE, PublicContext, RequestContext, public, require, signer
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)

Anyone = Annotated[PublicContext, Depends(public())]
AnyoneForm = Annotated[PublicContext, Depends(public(csrf=True))]
SignedIn = Annotated[RequestContext, Depends(require(Permission.SIGNED_IN))]
Admin = Annotated[RequestContext, Depends(require(Permission.USER_MANAGE))]


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login is a phishing tool.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@pages.get("/login")
def login_page(request: Request, ctx: Anyone, next: str | None = None) -> Response:
    """The sign-in form."""
    return render(request, "accounts/login.html", {"next": _safe_next(next)})


def _too_many(request: Request, retry: int, what: str) -> Response:
    minutes = max(1, round(retry / 60))
    message = f"Too many sign-in attempts {what}. Try again in about {minutes} minute(s)."
    response = render(request, "accounts/login.html", {"error": message, "next": "/"}, status_code=429)
    response.headers["Retry-After"] = str(retry)
    return response


@pages.post("/login")
def login(
    request: Request,
    ctx: AnyoneForm,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password under per-IP and per-account limits; start a session on success."""
    s = ctx.settings
    window = timedelta(minutes=s.login_window_minutes)
    email = email.strip().lower()
    actor = Actor(label=email or "(blank)", ip=ctx.ip)
    ip_count, ip_start = ratelimit.hit(ctx.db, f"login:ip:{ctx.ip}", window=window)
    if ip_count > s.login_ip_limit:
        record(ctx.db, actor, "login.rate_limited", outcome=Outcome.DENIED, detail={"by": "ip"})
        return _too_many(request, ratelimit.retry_after(ip_start, window), "from this address")
    account_key = f"login:account:{email}"
    if ratelimit.peek(ctx.db, account_key, window=window) >= s.login_account_limit:
        record(ctx.db, actor, "login.rate_limited", outcome=Outcome.DENIED, detail={"by": "account"})
        return _too_many(request, int(window.total_seconds()), "for this account")
    user = service.check_credentials(ctx.db, email, password, cheap=s.password_hash_cheap)
    if user is None:
        ratelimit.hit(ctx.db, account_key, window=window)
        record(ctx.db, actor, "login.failed", outcome=Outcome.FAILURE)
        context = {
            "error": "That email and password do not match an active account.",
            "email": email,
            "next": _safe_next(next),
        }
        return render(request, "accounts/login.html", context, status_code=401)
    ratelimit.reset(ctx.db, account_key)
    token = service.start_session(
        ctx.db, user, _policy(ctx), ip=ctx.ip, user_agent=request.headers.get("user-agent")
    )
    record(ctx.db, Actor(label=user.email, user_id=user.id, ip=ctx.ip), "login.success")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signer(s).dumps(token),
        httponly=True,
        samesite="lax",
        secure=s.cookie_secure,
        max_age=s.session_absolute_hours * 3600,
    )
    return response


def _policy(ctx: PublicContext) -> service.SessionPolicy:
    from careline.web.context import session_policy

    return session_policy(ctx.settings)


@pages.post("/logout")
def logout(request: Request, ctx: SignedIn) -> Response:
    """End this browser's session."""
    from careline.web.context import cookie_session_id

    sid = cookie_session_id(request, ctx.settings)
    if sid:
        service.end_session(ctx.db, sid)
    ctx.audit("logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@pages.get("/account")
def account_page(request: Request, ctx: SignedIn) -> Response:
    """My profile, tenants and API tokens."""
    context = {
        "user": ctx.user,
        "tenants": list_tenants(ctx.db, ctx.tenant_ids),
        "tokens": service.list_tokens(ctx.db, ctx.user),
    }
    return render(request, "accounts/account.html", context)


@pages.post("/account/tokens")
def account_create_token(
    request: Request, ctx: SignedIn, name: Annotated[str, Form(max_length=100)]
) -> Response:
    """Create an API token and show its secret once."""
    token, secret = service.create_token(ctx.db, ctx.user, name)
    ctx.audit("token.create", object_type="api_token", object_id=token.id)
    context = {
        "user": ctx.user,
        "tenants": list_tenants(ctx.db, ctx.tenant_ids),
        "tokens": service.list_tokens(ctx.db, ctx.user),
        "new_secret": secret,
    }
    return render(request, "accounts/account.html", context, status_code=201)


@pages.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(token_id: int, ctx: SignedIn) -> Response:
    """Revoke one of my tokens."""
    service.revoke_token(ctx.db, ctx.user, token_id)
    ctx.audit("token.revoke", object_type="api_token", object_id=token_id)
    return RedirectResponse("/account", status_code=303)


def _users_page(request: Request, ctx: RequestContext, status: int = 200, **extra: object) -> Response:
    context = {
        "user": ctx.user,
        "users": service.list_users(ctx.db),
        "roles": list(Role),
        "tenants": list_tenants(ctx.db, None),
        **extra,
    }
    return render(request, "accounts/users.html", context, status_code=status)


@pages.get("/admin/users")
def users_page(request: Request, ctx: Admin) -> Response:
    """User administration."""
    return _users_page(request, ctx)


@pages.post("/admin/users")
def users_create(
    request: Request,
    ctx: Admin,
    email: Annotated[str, Form(max_length=254)],
    name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form()],
    password: Annotated[str, Form(max_length=200)],
    tenants: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a user from the form; errors come back beside the field."""
    try:
        user = service.create_user(
            ctx.db,
            email=email,
            name=name,
            role=role,
            password=password,
            tenant_slugs=tenants or [],
            cheap_hash=ctx.settings.password_hash_cheap,
        )
    except CareLineError as exc:
        form = {"email": email, "name": name, "role": role, "tenants": tenants or []}
        return _users_page(request, ctx, exc.status_code, error=exc, form=form)
    ctx.audit("user.create", object_type="user", object_id=user.id, detail={"role": str(user.role)})
    return _users_page(request, ctx, 201, created=user)


@pages.post("/admin/users/{user_id}/active")
def users_set_active(request: Request, user_id: int, ctx: Admin, active: Annotated[bool, Form()]) -> Response:
    """Disable (ending their sessions) or re-enable a user."""
    user = service.get_user(ctx.db, user_id)
    service.set_active(ctx.db, user, active)
    ctx.audit("user.enable" if active else "user.disable", object_type="user", object_id=user.id)
    return RedirectResponse("/admin/users", status_code=303)
