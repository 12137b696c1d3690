"""REST routes for tenants."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from careline.accounts.permissions import Permission
from careline.errors import NotFound
from careline.tenants import service
from careline.tenants.models import Tenant
from careline.tenants.schemas import TenantCreate, TenantOut, TenantUpdate
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1/tenants", tags=["tenants"])
Reader = Annotated[RequestContext, Depends(require(Permission.TENANT_READ))]
Manager = Annotated[RequestContext, Depends(require(Permission.TENANT_MANAGE))]


@api.get("", response_model=list[TenantOut])
def list_tenants(ctx: Reader) -> list[TenantOut]:
    """The tenants I serve."""
    return [TenantOut.of(t) for t in service.list_tenants(ctx.db, ctx.tenant_ids)]


@api.get("/{tenant_id}", response_model=TenantOut, responses={404: {"description": "not one of yours"}})
def get_tenant(tenant_id: int, ctx: Reader) -> TenantOut:
    """One tenant I serve; any other answers 404."""
    tenant = ctx.db.get(Tenant, tenant_id)
    if tenant is None or tenant_id not in ctx.tenant_ids:
        raise NotFound(f"tenant {tenant_id} not found")
    return TenantOut.of(tenant)


@api.post("", response_model=TenantOut, status_code=201, responses={409: {}, 422: {}})
def create_tenant(body: TenantCreate, ctx: Manager) -> TenantOut:
    """Add a client health system or practice (admin)."""
    tenant = service.create_tenant(
        ctx.db, slug=body.slug, name=body.name, timezone=body.timezone, kind=body.kind
    )
    ctx.audit("tenant.create", tenant_id=tenant.id, object_type="tenant", object_id=tenant.id)
    return TenantOut.of(tenant)


@api.patch("/{tenant_id}", response_model=TenantOut, responses={404: {}, 409: {}, 422: {}})
def update_tenant(tenant_id: int, body: TenantUpdate, ctx: Manager) -> TenantOut:
    """Change a client's details, published number, record-number prefix or on-call clinician (admin)."""
    changes = body.model_dump(exclude_unset=True)
    tenant = service.update_tenant(ctx.db, tenant_id, **changes)
    ctx.audit(
        "tenant.update",
        tenant_id=tenant.id,
        object_type="tenant",
        object_id=tenant.id,
        detail={"fields": sorted(changes)},
    )
    return TenantOut.of(tenant)
