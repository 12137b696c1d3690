"""Locations: address from ZIP (coordinates and zone too), hours, closures, open-now in the place's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import Session, object_session, selectinload

from careline.db import get_scoped
from careline.directory import rules, validate
from careline.directory.common import page, require_tenant
from careline.directory.models import Location, LocationClosure
from careline.errors import Conflict, ValidationFailed
from careline.kit import geo
from careline.kit.clock import utcnow
from careline.kit.timeutil import to_local

TEXT_FIELDS = {"parking": 2000, "directions": 2000, "accessibility": 2000}


def _clean(
    session: Session, tenant_id: int, data: dict[str, Any], current: Location | None
) -> dict[str, Any]:
    """Validate the given fields (all of them before anything changes) and derive place data from the ZIP."""
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = validate.text(data["name"], "name", max_len=200, required=True)
        clash = session.scalar(
            select(Location.id).where(Location.tenant_id == tenant_id, Location.name == out["name"])
        )
        if clash is not None and (current is None or clash != current.id):
            raise Conflict(f"this client already has a location named '{out['name']}'", field="name")
    if "address_line1" in data:
        out["address_line1"] = validate.text(
            data["address_line1"], "address_line1", max_len=200, required=True
        )
    if "address_line2" in data:
        out["address_line2"] = validate.optional_text(data["address_line2"], "address_line2", max_len=200)
    info = None
    if "zip" in data:
        info = validate.zip_code(data["zip"])
        out.update(zip=info.zip, lat=info.lat, lon=info.lon)
    if data.get("city"):
        out["city"] = validate.text(data["city"], "city", max_len=100)
    elif info is not None:
        out["city"] = info.city.title()
    if data.get("state"):
        state = validate.text(data["state"], "state", max_len=2).upper()
        if len(state) != 2 or not state.isalpha():
            raise ValidationFailed("state is a two-letter code like IL", field="state")
        out["state"] = state
    elif info is not None:
        out["state"] = info.state
    if data.get("timezone"):
        out["timezone"] = validate.timezone(data["timezone"])
    elif info is not None:
        out["timezone"] = info.timezone
    if "phone" in data:
        out["phone"] = validate.phone(data["phone"])
    for field, max_len in TEXT_FIELDS.items():
        if field in data:
            out[field] = validate.optional_text(data[field], field, max_len=max_len)
    if "hours" in data:
        out["hours"] = validate.hours(data["hours"])
    if "active" in data and data["active"] is not None:
        out["active"] = validate.boolean(data["active"], "active")
    return out


def create_location(session: Session, *, tenant_id: int, **fields: Any) -> Location:
    """Add a location; name, address_line1 and a known ZIP are required, the rest is optional.

    City, state, coordinates and time zone come from the ZIP unless given.
    """
    require_tenant(session, tenant_id)
    for required in ("name", "address_line1", "zip"):
        fields.setdefault(required, None)
    closures = fields.pop("closures", None)
    values = _clean(session, tenant_id, fields, None)
    values.setdefault("hours", {})
    location = Location(tenant_id=tenant_id, **values)
    location.closures = []
    session.add(location)
    if closures is not None:
        set_closures(session, location, closures)
    session.flush()
    return location


def update_location(session: Session, location_id: int, changes: dict[str, Any]) -> Location:
    """Change the given fields (active=False deactivates); a new ZIP moves the coordinates with it."""
    location = get_location(session, location_id)
    changes = dict(changes)
    changes.pop("tenant_id", None)
    closures = changes.pop("closures", None)
    values = _clean(session, location.tenant_id, changes, location)
    for key, value in values.items():
        setattr(location, key, value)
    if closures is not None:
        set_closures(session, location, closures)
    session.flush()
    return location


def get_location(session: Session, location_id: int) -> Location:
    """One location (with its closures) in the session's scope, or NotFound."""
    location = session.scalar(
        select(Location).where(Location.id == location_id).options(selectinload(Location.closures))
    )
    if location is None:
        get_scoped(session, Location, location_id)  # raises the standard NotFound
    return location


def list_locations(
    session: Session,
    *,
    tenant_id: int | None = None,
    q: str | None = None,
    active: bool | None = True,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Location], int]:
    """Locations by name, filtered by tenant, text (name, city, ZIP, address) and active; with the total."""
    limit, offset = page(limit, offset)
    stmt = select(Location)
    if tenant_id is not None:
        stmt = stmt.where(Location.tenant_id == tenant_id)
    if active is not None:
        stmt = stmt.where(Location.active.is_(active))
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Location.name).like(like),
                func.lower(Location.city).like(like),
                func.lower(Location.address_line1).like(like),
                Location.zip == q.strip(),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Location.name, Location.id)
        .limit(limit)
        .offset(offset)
        .options(selectinload(Location.closures))
    )
    return list(rows), total


def set_closures(session: Session, location: Location, closures: list[Any]) -> None:
    """Replace a location's closure days with [{"date": "2026-12-25", "reason": "Christmas Day"}, ...]."""
    wanted: dict[date, str] = {}
    for item in closures:
        if isinstance(item, dict):
            day, reason = item.get("date"), item.get("reason", "")
        else:
            day, reason = getattr(item, "date", None), getattr(item, "reason", "")
        wanted[validate.closure_date(day, "closures")] = validate.text(reason, "closures", max_len=200)
    keep = []
    for closure in list(location.closures):
        if closure.date in wanted:
            closure.reason = wanted.pop(closure.date)
            keep.append(closure)
    location.closures = keep + [
        LocationClosure(tenant_id=location.tenant_id, date=d, reason=r) for d, r in sorted(wanted.items())
    ]
    location.closures.sort(key=lambda c: c.date)


def add_closure(session: Session, location_id: int, *, day: object, reason: str = "") -> LocationClosure:
    """Close a location for one day (replacing the reason if that day is already closed)."""
    location = get_location(session, location_id)
    when = validate.closure_date(day)
    for closure in location.closures:
        if closure.date == when:
            closure.reason = validate.text(reason, "reason", max_len=200)
            session.flush()
            return closure
    closure = LocationClosure(
        tenant_id=location.tenant_id, date=when, reason=validate.text(reason, "reason", max_len=200)
    )
    location.closures.append(closure)
    session.flush()
    return closure


def remove_closure(session: Session, location_id: int, closure_id: int) -> None:
    """Reopen a closed day."""
    location = get_location(session, location_id)
    location.closures = [c for c in location.closures if c.id != closure_id]
    session.flush()


def closed_dates(location: Location) -> set[date]:
    """The location's closure days (loaded on demand when the caller did not eager-load them)."""
    if "closures" not in inspect(location).unloaded:
        return {c.date for c in location.closures}
    session = object_session(location)
    if session is None:
        return set()
    return set(
        session.scalars(select(LocationClosure.date).where(LocationClosure.location_id == location.id))
    )


def location_is_open(location: Location, at_utc: datetime | None = None) -> bool:
    """Whether the location is open at an instant, by its hours in its own zone and its closure days."""
    if not location.active:
        return False
    local = to_local(at_utc or utcnow(), location.timezone).replace(tzinfo=None)
    return rules.is_open_local(location.hours or {}, closed_dates(location), local)


def next_open_text(location: Location, at_utc: datetime | None = None) -> str:
    """'Open now until 5 PM' or 'Closed now; opens tomorrow at 8 AM' (in the location's zone)."""
    if not location.active:
        return "This location is no longer open"
    return rules.describe(location.hours or {}, closed_dates(location), at_utc or utcnow(), location.timezone)


def hours_text(location: Location) -> str:
    """'Mon-Fri 08:00-17:00; Sat 09:00-12:00'."""
    return rules.format_hours_text(location.hours)


@dataclass(frozen=True)
class NearbyLocation:
    location: Location
    miles: float


def locations_near(
    session: Session, *, tenant_id: int | None, zip_code: str, miles: float, active: bool = True
) -> list[NearbyLocation]:
    """Locations within `miles` of a ZIP's centre, nearest first (bounding box on the (lat, lon) index)."""
    center = validate.zip_code(zip_code)
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(center.lat, center.lon, miles)
    stmt = select(Location).where(
        Location.lat.between(min_lat, max_lat), Location.lon.between(min_lon, max_lon)
    )
    if tenant_id is not None:
        stmt = stmt.where(Location.tenant_id == tenant_id)
    if active:
        stmt = stmt.where(Location.active.is_(True))
    found = []
    for location in session.scalars(stmt):
        distance = geo.haversine_miles(center.lat, center.lon, location.lat, location.lon)
        if distance <= miles:
            found.append(NearbyLocation(location, round(distance, 2)))
    found.sort(key=lambda n: (n.miles, n.location.name))
    return found
