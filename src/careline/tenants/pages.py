"""Client administration: the health systems and practices the call center serves."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from careline.accounts.permissions import Permission
from careline.errors import CareLineError
from careline.tenants import service
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Admin = Annotated[RequestContext, Depends(require(Permission.TENANT_MANAGE))]

ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
]


def _list(request: Request, ctx: RequestContext, status: int = 200, **extra: object) -> Response:
    context = {
        "user": ctx.user,
        "tenants": service.list_tenants(ctx.db, None),
        "kinds": service.KINDS,
        "zones": ZONES,
        **extra,
    }
    return render(request, "tenants/list.html", context, status_code=status)


@pages.get("/admin/clients")
def clients(request: Request, ctx: Admin) -> Response:
    """Every client with its number and on-call clinician, and a form to add one."""
    return _list(request, ctx)


@pages.post("/admin/clients")
def client_create(
    request: Request,
    ctx: Admin,
    slug: Annotated[str, Form(max_length=40)],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=40)] = "health_system",
    timezone: Annotated[str, Form(max_length=64)] = "America/Chicago",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Add a client; then its directory, queues and staff follow."""
    form = {"slug": slug, "name": name, "kind": kind, "timezone": timezone, "phone": phone}
    try:
        tenant = service.create_tenant(ctx.db, slug=slug.strip(), name=name, timezone=timezone, kind=kind)
        service.update_tenant(ctx.db, tenant.id, kind=kind, phone=phone)  # checks both
    except CareLineError as exc:
        ctx.db.rollback()
        return _list(request, ctx, exc.status_code, error=exc, form=form)
    ctx.audit("tenant.create", tenant_id=tenant.id, object_type="tenant", object_id=tenant.id)
    return RedirectResponse(f"/admin/clients/{tenant.id}?created=1", status_code=303)


def _edit(
    request: Request, ctx: RequestContext, tenant_id: int, status: int = 200, **extra: object
) -> Response:
    tenant = service.get_tenant(ctx.db, tenant_id)
    settings = tenant.settings or {}
    context = {
        "user": ctx.user,
        "tenant": tenant,
        "kinds": service.KINDS,
        "zones": sorted({*ZONES, tenant.timezone}),
        "oncall": settings.get("oncall") or {},
        "mrn_prefix": settings.get("mrn_prefix") or "",
        **extra,
    }
    return render(request, "tenants/edit.html", context, status_code=status)


@pages.get("/admin/clients/{tenant_id}")
def client_page(request: Request, tenant_id: int, ctx: Admin) -> Response:
    """One client's details, published number, record-number prefix and on-call clinician."""
    return _edit(request, ctx, tenant_id, created=bool(request.query_params.get("created")))


@pages.post("/admin/clients/{tenant_id}")
def client_update(
    request: Request,
    tenant_id: int,
    ctx: Admin,
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=40)],
    timezone: Annotated[str, Form(max_length=64)],
    phone: Annotated[str, Form(max_length=40)] = "",
    active: Annotated[bool, Form()] = False,
    mrn_prefix: Annotated[str, Form(max_length=6)] = "",
    oncall_name: Annotated[str, Form(max_length=200)] = "",
    oncall_phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Save the client's details; a refused field comes back beside what was typed."""
    changes = {
        "name": name,
        "kind": kind,
        "timezone": timezone,
        "phone": phone,
        "active": active,
        "mrn_prefix": mrn_prefix,
        "oncall_name": oncall_name,
        "oncall_phone": oncall_phone,
    }
    try:
        tenant = service.update_tenant(ctx.db, tenant_id, **changes)
    except CareLineError as exc:
        ctx.db.rollback()
        if exc.status_code == 404:
            raise
        return _edit(request, ctx, tenant_id, exc.status_code, error=exc, form=changes)
    ctx.audit(
        "tenant.update",
        tenant_id=tenant.id,
        object_type="tenant",
        object_id=tenant.id,
        detail={"via": "admin"},
    )
    return _edit(request, ctx, tenant_id, saved=True)
