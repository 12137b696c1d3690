"""Tenant rules: creation, lookup by slug, the tenants a user serves."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.errors import Conflict, NotFound, ValidationFailed
from careline.kit.phones import normalize_phone
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
    _zone(timezone)
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


KINDS = ("health_system", "hospital", "practice", "specialty_group", "clinic")
_MRN_PREFIX = re.compile(r"^[A-Z]{1,6}$")
EDITABLE = frozenset(
    {"name", "kind", "timezone", "phone", "active", "mrn_prefix", "oncall_name", "oncall_phone"}
)


def _zone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone '{timezone}'", field="timezone") from exc
    return timezone


def _phone(value: str | None, field: str) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return normalize_phone(str(value))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=field) from exc


def get_tenant(session: Session, tenant_id: int) -> Tenant:
    """One tenant by id, or NotFound."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found", field="tenant_id")
    return tenant


def update_tenant(session: Session, tenant_id: int, **changes: object) -> Tenant:
    """Change a client's details after checking every field given (the rest stay as they are):
    name, kind, time zone, the published number callers dial (routes their calls here; one client
    per number), active, the medical-record-number prefix, and the on-call clinician paged when no
    nurse takes an escalation in time (name and phone together)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise TypeError(f"not tenant fields: {sorted(unknown)}")
    tenant = get_tenant(session, tenant_id)
    settings = dict(tenant.settings or {})
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed("name is required (at most 200 characters)", field="name")
        tenant.name = name
    if "kind" in changes:
        if changes["kind"] not in KINDS:
            raise ValidationFailed(f"kind must be one of: {', '.join(KINDS)}", field="kind")
        tenant.kind = str(changes["kind"])
    if "timezone" in changes:
        tenant.timezone = _zone(str(changes["timezone"] or ""))
    if "phone" in changes:
        phone = _phone(changes["phone"], "phone")  # type: ignore[arg-type]
        taken = session.scalar(select(Tenant.name).where(Tenant.phone == phone, Tenant.id != tenant.id))
        if phone and taken:
            raise Conflict(
                f"{taken} already publishes that number; each number routes to one client", field="phone"
            )
        tenant.phone = phone
    if "active" in changes:
        tenant.active = bool(changes["active"])
    if "mrn_prefix" in changes:
        prefix = str(changes["mrn_prefix"] or "").strip().upper()
        if prefix and not _MRN_PREFIX.match(prefix):
            raise ValidationFailed("the record-number prefix is 1-6 letters, e.g. LH", field="mrn_prefix")
        if prefix:
            settings["mrn_prefix"] = prefix
        else:
            settings.pop("mrn_prefix", None)
    if "oncall_name" in changes or "oncall_phone" in changes:
        current = settings.get("oncall") or {}
        name = str(changes.get("oncall_name", current.get("name")) or "").strip()
        phone = _phone(changes.get("oncall_phone", current.get("phone")), "oncall_phone")  # type: ignore[arg-type]
        if bool(name) != bool(phone):
            field = "oncall_phone" if name else "oncall_name"
            raise ValidationFailed("give the on-call clinician's name and phone together", field=field)
        if name:
            settings["oncall"] = {"name": name[:200], "phone": phone}
        else:
            settings.pop("oncall", None)
    tenant.settings = settings
    session.flush()
    return tenant
