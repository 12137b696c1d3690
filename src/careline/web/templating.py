"""Jinja2 templates shared by every domain's pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from careline.kit.phones import format_phone
from careline.web.context import CSRF_COOKIE, csrf_token

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _local(value: datetime | None, tz: str = "America/Chicago", fmt: str = "%a %b %-d, %-I:%M %p") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def _phone(value: str | None) -> str:
    """A stored number as people read it: (312) 555-0142; anything unparseable as it was."""
    if not value:
        return ""
    try:
        return format_phone(value)
    except Exception:  # a display filter never breaks a page
        return value


templates.env.filters["local"] = _local
templates.env.filters["phone"] = _phone


def go_to(request: Request, target: str) -> Response:
    """After a form post, open `target`: htmx follows HX-Redirect, a plain post the 303."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the CSRF cookie when this request minted a new token."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            new,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.cookie_secure,
        )


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """Render a template with the user, CSRF token and flash context every page needs."""
    ctx = {"csrf_token": csrf_token(request), **(context or {})}
    if ctx.get("user") is not None and "nav" not in ctx:
        from careline.web.nav import nav_for

        ctx["nav"] = nav_for(ctx["user"].role)
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    set_csrf_cookie(request, response)
    return response
