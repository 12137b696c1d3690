"""The routing directory: departments (how to reach them, when) and outside resources for the rest.

A caller is never simply told "we can't help": an intent maps to an open department, and anything
out of scope maps to an outside resource (911, 988, Poison Control, Medicaid, a pharmacy...).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, selectinload

from careline.db import get_scoped
from careline.directory import reference, rules, validate
from careline.directory.common import page, require_tenant
from careline.directory.models import Department, Location, OutsideResource
from careline.directory.service_locations import closed_dates
from careline.errors import ValidationFailed
from careline.kit.clock import utcnow
from careline.kit.timeutil import to_local
from careline.tenants.models import Tenant

# ---------------------------------------------------------------- departments


def _clean_department(
    session: Session, tenant_id: int, data: dict[str, Any], current: Department | None
) -> dict:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = validate.text(data["name"], "name", max_len=200, required=True)
    if "kind" in data:
        kinds = validate.labels([data["kind"]], "kind")
        if not kinds:
            raise ValidationFailed("kind is required, e.g. billing or nurse_line", field="kind")
        out["kind"] = kinds[0]
    if "location_id" in data:
        loc_id = data["location_id"]
        if loc_id is not None:
            found = session.scalar(
                select(Location.id).where(Location.id == loc_id, Location.tenant_id == tenant_id)
            )
            if found is None:
                raise ValidationFailed(f"no location {loc_id} for this client", field="location_id")
        out["location_id"] = loc_id
    for field in ("phone", "transfer_number"):
        if field in data:
            out[field] = validate.phone(data[field], field)
    if "queue" in data:
        queues = validate.labels([data["queue"]] if data["queue"] else [], "queue")
        out["queue"] = queues[0] if queues else None
    if "timezone" in data:
        out["timezone"] = validate.timezone(data["timezone"]) if data["timezone"] else None
    if "hours" in data:
        out["hours"] = validate.hours(data["hours"])
    if "intents" in data:
        out["intents"] = validate.labels(data["intents"], "intents")
    if "description" in data:
        out["description"] = validate.text(data["description"], "description", max_len=2000)
    if data.get("active") is not None:
        out["active"] = validate.boolean(data["active"], "active")
    reach = {f: out.get(f, getattr(current, f, None)) for f in ("phone", "transfer_number", "queue")}
    if not any(reach.values()):
        raise ValidationFailed("give a phone, a transfer number or a queue to reach it", field="phone")
    return out


def create_department(session: Session, *, tenant_id: int, **fields: Any) -> Department:
    """Add a department or service: name, kind, and at least one of phone, transfer_number, queue."""
    require_tenant(session, tenant_id)
    for required in ("name", "kind"):
        fields.setdefault(required, None)
    values = _clean_department(session, tenant_id, fields, None)
    values.setdefault("hours", {})
    values.setdefault("intents", [])
    department = Department(tenant_id=tenant_id, **values)
    session.add(department)
    session.flush()
    return department


def update_department(session: Session, department_id: int, changes: dict[str, Any]) -> Department:
    """Change the given fields; active=False deactivates."""
    department = get_department(session, department_id)
    changes = {k: v for k, v in changes.items() if k != "tenant_id"}
    for key, value in _clean_department(session, department.tenant_id, changes, department).items():
        setattr(department, key, value)
    session.flush()
    session.refresh(department, ["location"])
    return department


def get_department(session: Session, department_id: int) -> Department:
    """One department with its location, or NotFound."""
    department = session.scalar(
        select(Department).where(Department.id == department_id).options(selectinload(Department.location))
    )
    if department is None:
        get_scoped(session, Department, department_id, what="department")
    return department


def list_departments(
    session: Session,
    *,
    tenant_id: int | None = None,
    kind: str | None = None,
    active: bool | None = True,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[Department], int]:
    """Departments by name, with the total."""
    limit, offset = page(limit, offset)
    stmt = select(Department)
    if tenant_id is not None:
        stmt = stmt.where(Department.tenant_id == tenant_id)
    if kind:
        stmt = stmt.where(Department.kind == kind)
    if active is not None:
        stmt = stmt.where(Department.active.is_(active))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Department.name, Department.id)
        .limit(limit)
        .offset(offset)
        .options(selectinload(Department.location))
    )
    return list(rows), total


def _schedule(session: Session, department: Department) -> tuple[dict, set, str]:
    """(hours, closed dates, zone) that govern a department."""
    location = department.location if "location" not in inspect(department).unloaded else None
    if location is None and department.location_id is not None:
        location = session.get(Location, department.location_id)
    zone = department.timezone or (location.timezone if location else None)
    if zone is None:
        tenant = session.get(Tenant, department.tenant_id)
        zone = tenant.timezone if tenant else "America/Chicago"
    hours = department.hours or (location.hours if location else rules.ALWAYS_OPEN)
    closed = closed_dates(location) if location is not None else set()
    return hours, closed, zone


def is_open_now(session: Session, department: Department, at_utc: datetime | None = None) -> bool:
    """Whether the department answers at that instant (its hours, else its location's; closures apply)."""
    if not department.active:
        return False
    hours, closed, zone = _schedule(session, department)
    local = to_local(at_utc or utcnow(), zone).replace(tzinfo=None)
    return rules.is_open_local(hours, closed, local)


def department_next_open_text(
    session: Session, department: Department, at_utc: datetime | None = None
) -> str:
    """'Open now until 5 PM' / 'Closed now; opens Monday at 8 AM' in the department's zone."""
    hours, closed, zone = _schedule(session, department)
    return rules.describe(hours, closed, at_utc or utcnow(), zone)


def department_hours_text(department: Department) -> str:
    """Its own hours as text; '' when it follows its location's (or is around the clock)."""
    return rules.format_hours_text(department.hours)


def departments_for_intent(
    session: Session, tenant_id: int, intent: str, at_utc: datetime | None = None
) -> list[Department]:
    """Active departments serving an intent: open ones first, then tenant-wide before site-specific ones."""
    label = intent.strip().lower()
    rows = session.scalars(
        select(Department)
        .where(Department.tenant_id == tenant_id, Department.active.is_(True))
        .options(selectinload(Department.location))
        .order_by(Department.id)
    )
    matches = [d for d in rows if label in (d.intents or []) or d.kind == label]
    at = at_utc or utcnow()
    return sorted(matches, key=lambda d: (not is_open_now(session, d, at), d.location_id is not None, d.id))


def department_for_intent(
    session: Session, tenant_id: int, intent: str, at_utc: datetime | None = None
) -> Department | None:
    """The best department for an intent ('billing', 'records', 'clinical' -> the nurse line...), preferring
    one open now; None when the tenant has none (then use resources_for). Check is_open_now() on it."""
    found = departments_for_intent(session, tenant_id, intent, at_utc)
    return found[0] if found else None


# ---------------------------------------------------------------- outside resources


def _clean_resource(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = validate.text(data["name"], "name", max_len=200, required=True)
    if "kind" in data:
        kinds = validate.labels([data["kind"]], "kind")
        if not kinds:
            raise ValidationFailed("kind is required, e.g. crisis or pharmacy", field="kind")
        out["kind"] = kinds[0]
    if "phone" in data:
        out["phone"] = validate.dialable(data["phone"])
    if "url" in data:
        out["url"] = validate.url(data["url"])
    if "hours" in data:
        out["hours"] = validate.text(data["hours"], "hours", max_len=200)
    if "when_to_use" in data:
        out["when_to_use"] = validate.text(data["when_to_use"], "when_to_use", max_len=2000)
    if "keywords" in data:
        out["keywords"] = validate.phrases(data["keywords"], "keywords", max_items=80)
    if "intents" in data:
        out["intents"] = validate.labels(data["intents"], "intents")
    if data.get("priority") is not None:
        out["priority"] = int(data["priority"])
    if data.get("active") is not None:
        out["active"] = validate.boolean(data["active"], "active")
    return out


def create_resource(session: Session, *, tenant_id: int, **fields: Any) -> OutsideResource:
    """Add an outside resource: name and kind required; phone may be E.164 or a short code (911, 988)."""
    require_tenant(session, tenant_id)
    for required in ("name", "kind"):
        fields.setdefault(required, None)
    values = _clean_resource(fields)
    values.setdefault("keywords", [])
    values.setdefault("intents", [])
    resource = OutsideResource(tenant_id=tenant_id, **values)
    session.add(resource)
    session.flush()
    return resource


def update_resource(session: Session, resource_id: int, changes: dict[str, Any]) -> OutsideResource:
    """Change the given fields; active=False deactivates."""
    resource = get_resource(session, resource_id)
    for key, value in _clean_resource({k: v for k, v in changes.items() if k != "tenant_id"}).items():
        setattr(resource, key, value)
    session.flush()
    return resource


def get_resource(session: Session, resource_id: int) -> OutsideResource:
    """One outside resource, or NotFound."""
    return get_scoped(session, OutsideResource, resource_id, what="resource")


def list_resources(
    session: Session,
    *,
    tenant_id: int | None = None,
    kind: str | None = None,
    active: bool | None = True,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[OutsideResource], int]:
    """Outside resources, most urgent first, with the total."""
    limit, offset = page(limit, offset)
    stmt = select(OutsideResource)
    if tenant_id is not None:
        stmt = stmt.where(OutsideResource.tenant_id == tenant_id)
    if kind:
        stmt = stmt.where(OutsideResource.kind == kind)
    if active is not None:
        stmt = stmt.where(OutsideResource.active.is_(active))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = (OutsideResource.priority, OutsideResource.name, OutsideResource.id)
    return list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset))), total


def _normal(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower().replace("’", "'")).split()) + " "


def resources_for(
    session: Session, tenant_id: int, text_or_intent: str, limit: int = 5
) -> list[OutsideResource]:
    """Active outside resources for an intent label ('poison', 'out_of_scope') or caller words
    ('my son swallowed bleach'): an intent match, or any keyword found as whole words; by priority."""
    label = text_or_intent.strip().lower()
    words = _normal(text_or_intent)
    rows = session.scalars(
        select(OutsideResource)
        .where(OutsideResource.tenant_id == tenant_id, OutsideResource.active.is_(True))
        .order_by(OutsideResource.priority, OutsideResource.id)
    )
    scored = []
    for resource in rows:
        hits = sum(1 for k in resource.keywords or [] if _normal(k) in words)
        if label in (resource.intents or []) or label == resource.kind or hits:
            scored.append((resource.priority, -hits, resource.id, resource))
    scored.sort(key=lambda item: item[:3])
    return [item[3] for item in scored[: max(1, limit)]]


def seed_default_resources(session: Session, tenant_id: int) -> int:
    """Give a tenant the standard outside resources (resources.yaml) it lacks; returns how many."""
    existing = set(
        session.scalars(select(OutsideResource.name).where(OutsideResource.tenant_id == tenant_id))
    )
    added = 0
    for row in reference.resources_file():
        if row["name"] in existing:
            continue
        create_resource(session, tenant_id=tenant_id, **row)
        added += 1
    return added
