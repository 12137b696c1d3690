"""Small helpers the directory services share."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careline.db import scope_of
from careline.errors import NotFound
from careline.tenants.models import Tenant


def require_tenant(session: Session, tenant_id: int) -> Tenant:
    """The tenant a new row will belong to; another tenant's (or none) answers 404 like any foreign id."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not scope_of(session).allows(tenant_id):
        raise NotFound("no such tenant", field="tenant_id")
    return tenant


def page(limit: int, offset: int) -> tuple[int, int]:
    """Clamp paging parameters to 1..500 rows from offset 0 on."""
    return max(1, min(int(limit), 500)), max(0, int(offset))
