"""The landing page after sign-in, and the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from careline.accounts.permissions import Permission
from careline.tenants.service import list_tenants
from careline.web.context import PublicContext, RequestContext, public, require
from careline.web.nav import nav_for
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
health = router(tags=["health"])


@pages.get("/")
def home(
    request: Request, ctx: Annotated[RequestContext, Depends(require(Permission.SIGNED_IN))]
) -> Response:
    """Where each role starts: their tenants and the screens their role opens."""
    context = {
        "user": ctx.user,
        "tenants": list_tenants(ctx.db, ctx.tenant_ids),
        "links": nav_for(ctx.user.role)[1:],
    }
    return render(request, "home.html", context)


@health.get("/healthz", responses={503: {"description": "database unreachable"}})
def healthz(ctx: Annotated[PublicContext, Depends(public())]) -> Response:
    """Liveness and database reachability."""
    try:
        ctx.db.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
