"""Tenant rules: creation, lookup by slug, the tenants a user serves."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.errors import Conflict, NotFound, ValidationFailed
from careline.tenants.models import Tenant

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def create_tenant(
    session: Session, *, slug: str, name: str, timezone: str = "America/Chicago", kind: str = "health_system"
) -> Tenant:
    """Create a tenant after checking its slug and time zone."""
    if not _SLUG.match(slug):
        raise ValidationFailed("slug must be 2-40 lower-case letters, digits or dashes", field="slug")
    if not name.strip():
        raise ValidationFailed("name is required", field="name")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone '{timezone}'", field="timezone") from exc
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"a tenant with slug '{slug}' already exists", field="slug")
    tenant = Tenant(slug=slug, name=name.strip(), timezone=timezone, kind=kind)
    session.add(tenant)
    session.flush()
    return tenant


def tenant_by_slug(session: Session, slug: str) -> Tenant:
    """The tenant with this slug, or NotFound."""
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant '{slug}'", field="tenant")
    return tenant


def list_tenants(session: Session, tenant_ids: frozenset[int] | None) -> list[Tenant]:
    """Tenants visible to a scope (None: all), by name."""
    stmt = select(Tenant).order_by(Tenant.name)
    if tenant_ids is not None:
        stmt = stmt.where(Tenant.id.in_(tenant_ids))
    return list(session.scalars(stmt))
