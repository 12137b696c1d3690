"""Render errors: JSON for the API, a page or an HTMX fragment for browsers; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from careline.errors import CareLineError, NotAuthenticated, RateLimited

log = logging.getLogger("careline.web")


def wants_json(request: Request) -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    if request.url.path.startswith("/api/") or request.url.path == "/healthz":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _page(request: Request, status: int, body: dict[str, Any]) -> Response:
    from careline.web.templating import render

    template = "partials/error.html" if request.headers.get("hx-request") else "error.html"
    response = render(request, template, {"status": status, "error": body}, status_code=status)
    if request.headers.get("hx-request"):
        # Let HTMX swap the message into the page instead of silently dropping a 4xx.
        response.headers["HX-Retarget"] = request.headers.get("hx-target-error", "#flash")
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def respond(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """One error body, shaped for whoever asked."""
    response = JSONResponse(body, status_code=status) if wants_json(request) else _page(request, status, body)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(CareLineError)
    async def _careline(request: Request, exc: CareLineError) -> Response:
        if isinstance(exc, NotAuthenticated) and not wants_json(request):
            target = "/login?next=" + request.url.path
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return respond(request, exc.status_code, exc.to_dict(), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [{"field": _field_name(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        body = {"error": "validation_error", "message": f"invalid input - {summary}", "fields": fields}
        return respond(request, 422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404:
            message = f"nothing at {request.url.path}"
        return respond(request, exc.status_code, {"error": "http_error", "message": message}, exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {"error": "internal_error", "message": "something went wrong on our side; it has been logged"}
        return respond(request, 500, body)
