"""Finding open times: load a handful of indexed rows for the providers asked about, expand in Python.

Slots are computed, never stored (docs/decisions/0004-scheduling.md): for N providers the search
runs a fixed number of queries (type, templates, locations with closures, providers with
specialties, busy appointments, exceptions), each an indexed IN-list, then walks local days in
order and stops as soon as the first `limit` open times are certain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from careline.audit.service import Actor, record
from careline.db import read_rows
from careline.directory.models import Department, Location, LocationClosure, Provider, ProviderLocation
from careline.errors import ValidationFailed
from careline.kit import geo
from careline.kit.clock import utcnow
from careline.scheduling import common as c
from careline.scheduling import rules
from careline.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AvailabilityTemplate,
    CalendarException,
)

DEFAULT_DAYS = 28
MAX_DAYS = 366
MAX_PROVIDERS = 500  # a search by place alone looks at no more providers than this
MAX_LIMIT = 500
CHUNK_DAYS = (2, 5, 7)  # then the rest of the range


@dataclass(frozen=True)
class SlotView:
    """An open time as the console and the API show it."""

    provider_id: int
    provider_name: str
    location_id: int
    location_name: str
    type_id: int
    type_name: str
    start_at: datetime
    end_at: datetime
    timezone: str
    distance_miles: float | None = None

    @property
    def start_local(self) -> datetime:
        """The start on the location's wall clock."""
        return self.start_at.astimezone(rules.get_zone(self.timezone))

    @property
    def end_local(self) -> datetime:
        return self.end_at.astimezone(rules.get_zone(self.timezone))


@dataclass
class Availability:
    """Open times in start order, and the providers left out with the reason (for the agent)."""

    slots: list[SlotView]
    excluded: dict[int, str] = field(default_factory=dict)
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class Preferences:
    """A caller's wishes: which weekdays, which part of the day (local time at the location)."""

    weekdays: frozenset[int] = frozenset()
    after_min: int | None = None
    before_min: int | None = None

    @classmethod
    def of(
        cls,
        weekdays: Iterable[Any] | None = None,
        time_of_day: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> Preferences:
        after_min = before_min = None
        if time_of_day:
            part = rules.DAY_PARTS.get(time_of_day.strip().lower())
            if part is None:
                raise ValidationFailed(
                    "time of day must be morning, afternoon or evening", field="time_of_day"
                )
            after_min, before_min = part
        if after:
            after_min = rules.parse_hhmm(c.clock(after, "after") or "00:00")
        if before:
            before_min = rules.parse_hhmm(c.clock(before, "before") or "24:00")
        return cls(weekdays=c.weekdays(weekdays), after_min=after_min, before_min=before_min)


def _default_dates(
    session: Session, kind: AppointmentType, date_from: Any, date_to: Any, now: datetime, days: int
) -> tuple[date, date]:
    tz = _tenant_zone(session, kind.tenant_id)
    today = now.astimezone(rules.get_zone(tz)).date()
    start = c.day(date_from, "date_from", optional=True) or today
    end = c.day(date_to, "date_to", optional=True) or start + timedelta(days=max(1, days) - 1)
    start = max(start, today - timedelta(days=1))  # a day of slack for zones west of the tenant's
    if end < start:
        raise ValidationFailed("date_to is before date_from", field="date_to")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed(f"search at most {MAX_DAYS} days at a time", field="date_to")
    return start, end


def _tenant_zone(session: Session, tenant_id: int) -> str:
    from careline.tenants.models import Tenant

    tenant = session.get(Tenant, tenant_id)
    return tenant.timezone if tenant is not None else "America/Chicago"


def providers_for(
    session: Session,
    kind: AppointmentType,
    *,
    provider_ids: Iterable[int] | None = None,
    department_id: int | None = None,
    location_ids: Iterable[int] | None = None,
) -> list[int]:
    """The provider ids a search covers: the list given, a department's (its location's providers),
    or everyone with a calendar at the given locations (at most MAX_PROVIDERS)."""
    if provider_ids is not None:
        ids = list(dict.fromkeys(int(i) for i in provider_ids))
        if len(ids) > MAX_PROVIDERS:
            raise ValidationFailed(
                f"search at most {MAX_PROVIDERS} providers at a time", field="provider_ids"
            )
        return ids
    if department_id is not None:
        place = _department_location(session, kind, department_id)
        stmt = select(ProviderLocation.provider_id).where(ProviderLocation.location_id == place)
        return list(session.scalars(stmt.order_by(ProviderLocation.provider_id).limit(MAX_PROVIDERS)))
    if location_ids is not None:
        stmt = (
            select(AvailabilityTemplate.provider_id)
            .where(
                AvailabilityTemplate.location_id.in_(list(location_ids)),
                AvailabilityTemplate.tenant_id == kind.tenant_id,
            )
            .distinct()
            .order_by(AvailabilityTemplate.provider_id)
            .limit(MAX_PROVIDERS)
        )
        return list(session.scalars(stmt))
    raise ValidationFailed(
        "say whose times to search: provider_ids, a department, a location or a ZIP and radius",
        field="provider_ids",
    )


def _department_location(session: Session, kind: AppointmentType, department_id: int) -> int:
    department = session.get(Department, department_id)
    if department is None or department.tenant_id != kind.tenant_id:
        raise ValidationFailed(f"no department {department_id} for this client", field="department_id")
    if department.location_id is None:
        raise ValidationFailed(f"{department.name} has no location to search", field="department_id")
    return department.location_id


def _locations_near(session: Session, tenant_id: int, near_zip: str, radius_miles: float) -> dict[int, float]:
    try:
        center = geo.require_zip(near_zip)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="near_zip") from exc
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(center.lat, center.lon, radius_miles)
    stmt = select(Location.id, Location.lat, Location.lon).where(
        Location.tenant_id == tenant_id,
        Location.lat.between(min_lat, max_lat),
        Location.lon.between(min_lon, max_lon),
    )
    out = {}
    for lid, lat, lon in read_rows(session, stmt):  # the tenant is in the statement
        miles = geo.haversine_miles(center.lat, center.lon, lat, lon)
        if miles <= radius_miles:
            out[lid] = round(miles, 1)
    return out


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def load_appointments(
    session: Session,
    provider_ids: Sequence[int],
    start: datetime,
    end: datetime,
    now: datetime,
    ignore_appointment_ids: Iterable[int] = (),
) -> dict[int, list[tuple[int, int]]]:
    """Busy time (epoch seconds) of these providers in [start, end) from active appointments; an
    expired hold is skipped even before its expiry job runs."""
    stmt = select(Appointment.provider_id, Appointment.start_at, Appointment.end_at).where(
        Appointment.provider_id.in_(list(provider_ids)),
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at < end,
        Appointment.start_at > start - timedelta(days=1),  # visits are at most a day long
        Appointment.end_at > start,
        or_(
            Appointment.status != AppointmentStatus.PENDING,
            Appointment.hold_expires_at.is_(None),
            Appointment.hold_expires_at > now,
        ),
    )
    ignore = [i for i in ignore_appointment_ids if i is not None]
    if ignore:
        stmt = stmt.where(Appointment.id.not_in(ignore))
    out: dict[int, list[tuple[int, int]]] = {}
    for pid, s, e in read_rows(session, stmt):  # providers already checked: theirs are their tenant's
        out.setdefault(pid, []).append((_ts(s), _ts(e)))
    return out


def load_exceptions(
    session: Session,
    tenant_id: int,
    provider_ids: Sequence[int],
    start: datetime,
    end: datetime,
) -> rules.BusyIndex:
    """Exceptions in [start, end) that touch these providers: theirs, their locations', the tenant's."""
    busy = rules.BusyIndex()
    stmt = select(
        CalendarException.provider_id,
        CalendarException.location_id,
        CalendarException.starts_at,
        CalendarException.ends_at,
    ).where(
        CalendarException.tenant_id == tenant_id,
        CalendarException.starts_at < end,
        CalendarException.ends_at > start,
        # Theirs, and everyone's: location closures and tenant holidays (few rows, any location).
        or_(CalendarException.provider_id.in_(list(provider_ids)), CalendarException.provider_id.is_(None)),
    )
    for pid, lid, s, e in read_rows(session, stmt):  # the tenant is in the statement
        span = (_ts(s), _ts(e))
        if pid is not None and lid is not None:
            busy.pair.setdefault((pid, lid), []).append(span)  # a provider away from one location only
        elif pid is not None:
            busy.provider.setdefault(pid, []).append(span)
        elif lid is not None:
            busy.location.setdefault(lid, []).append(span)
        else:
            busy.everywhere.append(span)
    return busy


def _with_appointments(
    exceptions: rules.BusyIndex, booked: dict[int, list[tuple[int, int]]]
) -> rules.BusyIndex:
    providers = {pid: list(spans) for pid, spans in exceptions.provider.items()}
    for pid, spans in booked.items():
        providers.setdefault(pid, []).extend(spans)
    return rules.BusyIndex(
        provider=providers,
        location=exceptions.location,
        everywhere=exceptions.everywhere,
        pair=exceptions.pair,
    )


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


TEMPLATE_COLUMNS = (  # what template_facts() reads, in its order
    AvailabilityTemplate.id,
    AvailabilityTemplate.provider_id,
    AvailabilityTemplate.location_id,
    AvailabilityTemplate.weekday,
    AvailabilityTemplate.start_local,
    AvailabilityTemplate.end_local,
    AvailabilityTemplate.slot_minutes,
    AvailabilityTemplate.effective_from,
    AvailabilityTemplate.effective_to,
    AvailabilityTemplate.reserved_type_id,
    AvailabilityTemplate.release_at_local,
    AvailabilityTemplate.release_days_before,
)


def in_effect(date_from: Any, date_to: Any) -> tuple[Any, Any]:
    """The conditions of a template in effect on some day of [date_from, date_to]."""
    return (
        AvailabilityTemplate.effective_from <= date_to,
        or_(AvailabilityTemplate.effective_to.is_(None), AvailabilityTemplate.effective_to >= date_from),
    )


def templates_statement(
    tenant_id: int,
    provider_ids: Sequence[int],
    date_from: date,
    date_to: date,
    location_ids: Iterable[int] | None = None,
    weekdays: Iterable[int] | None = None,
) -> Select:
    """The query behind load_templates(); a caller may add columns after the template's twelve."""
    stmt = select(*TEMPLATE_COLUMNS).where(
        AvailabilityTemplate.provider_id.in_(list(provider_ids)),
        AvailabilityTemplate.tenant_id == tenant_id,
        *in_effect(date_from, date_to),
    )
    if location_ids is not None:
        stmt = stmt.where(AvailabilityTemplate.location_id.in_(list(location_ids)))
    if weekdays is not None:
        days = sorted(set(weekdays))
        if len(days) < 7:
            stmt = stmt.where(AvailabilityTemplate.weekday.in_(days))
    return stmt


def template_facts(row: Sequence[Any]) -> rules.TemplateFacts:
    """One row of templates_statement() as the rules see it."""
    return rules.TemplateFacts(
        id=row[0],
        provider_id=row[1],
        location_id=row[2],
        weekday=row[3],
        start_min=rules.parse_hhmm(row[4]),
        end_min=rules.parse_hhmm(row[5]),
        slot_minutes=row[6],
        effective_from=row[7],
        effective_to=row[8],
        reserved_type_id=row[9],
        release_at_local=row[10],
        release_days_before=row[11],
    )


def load_templates(
    session: Session,
    tenant_id: int,
    provider_ids: Sequence[int],
    date_from: date,
    date_to: date,
    location_ids: Iterable[int] | None = None,
    weekdays: Iterable[int] | None = None,
) -> list[rules.TemplateFacts]:
    """The weekly windows of these providers in force during the dates (on these weekdays)."""
    stmt = templates_statement(tenant_id, provider_ids, date_from, date_to, location_ids, weekdays)
    return [template_facts(row) for row in read_rows(session, stmt)]  # the tenant is in the statement


def load_locations(
    session: Session,
    location_ids: Iterable[int],
    date_from: date,
    date_to: date,
    distances: dict[int, float] | None = None,
) -> tuple[dict[int, rules.LocationFacts], dict[int, str]]:
    """Zone, closed dates and distance of each active location; and their names."""
    ids = list(set(location_ids))
    if not ids:
        return {}, {}
    # One statement: each active location with its closed days in the range (none: one row, NULL).
    closures = LocationClosure.__table__
    stmt = (
        select(Location.id, Location.timezone, Location.name, closures.c.date)
        .outerjoin(
            closures,
            and_(closures.c.location_id == Location.id, closures.c.date.between(date_from, date_to)),
        )
        .where(Location.id.in_(ids), Location.active.is_(True))
    )
    closed: dict[int, set[date]] = {}
    names: dict[int, str] = {}
    zones: dict[int, str] = {}
    for lid, tz, name, day in read_rows(session, stmt):  # locations of checked templates
        zones[lid], names[lid] = tz, name
        if day is not None:
            closed.setdefault(lid, set()).add(day)
    facts = {
        lid: rules.LocationFacts(
            id=lid, tz=tz, closed=frozenset(closed.get(lid, ())), distance_miles=(distances or {}).get(lid)
        )
        for lid, tz in zones.items()
    }
    return facts, names


def find_availability(
    session: Session,
    *,
    type_id: int,
    provider_ids: Iterable[int] | None = None,
    department_id: int | None = None,
    location_id: int | None = None,
    near_zip: str | None = None,
    radius_miles: float | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    weekdays: Iterable[Any] | None = None,
    time_of_day: str | None = None,
    after: str | None = None,
    before: str | None = None,
    days: int = DEFAULT_DAYS,
    limit: int = 20,
    per_provider: int | None = None,
    patient_id: int | None = None,
    actor: Actor | None = None,
) -> Availability:
    """Open times for one appointment type across providers, earliest first.

    Who: `provider_ids` (one or many, e.g. a matched list), a `department_id`, or a place
    (`location_id`, `near_zip` + `radius_miles`), which also narrows a provider list.
    When: local dates `date_from`..`date_to` (default: `days` = 4 weeks from the tenant's today),
    clipped to the type's notice and horizon; `weekdays`, `time_of_day` (morning, afternoon,
    evening) or `after`/`before`.
    `per_provider=1` gives each provider's next open time (find-a-doctor lists).
    With `patient_id` (audited) providers whose rules would refuse the patient are left out, with why.
    """
    now = utcnow()
    kind = c.load_type(session, type_id)
    facts = c.type_facts(kind)
    prefs = Preferences.of(weekdays, time_of_day, after, before)
    start_day, end_day = _default_dates(session, kind, date_from, date_to, now, days)
    limit = max(1, min(int(limit), MAX_LIMIT))
    distances: dict[int, float] | None = None
    location_filter: list[int] | None = None
    if near_zip:
        if radius_miles is None or radius_miles <= 0:
            raise ValidationFailed("give radius_miles with near_zip", field="radius_miles")
        distances = _locations_near(session, kind.tenant_id, near_zip, float(radius_miles))
        location_filter = list(distances)
    places = [location_id] if location_id is not None else []
    if department_id is not None:
        places.append(_department_location(session, kind, department_id))
    for place in places:  # each narrows the search to that one location
        location_filter = (
            [place] if location_filter is None else [lid for lid in location_filter if lid == place]
        )
    ids = providers_for(
        session, kind, provider_ids=provider_ids, department_id=department_id, location_ids=location_filter
    )
    excluded: dict[int, str] = {}
    eligible = _eligible(session, kind, facts, ids, excluded)
    if patient_id is not None and eligible:
        eligible = _patient_eligible(
            session, kind, facts, eligible, patient_id, start_day, now, excluded, actor
        )
    if not eligible:
        return Availability([], excluded, start_day, end_day)
    slots = search_slots(
        session,
        kind,
        eligible,
        start_day,
        end_day,
        now,
        prefs,
        limit=limit,
        per_provider=per_provider,
        location_ids=location_filter,
        distances=distances,
    )
    return Availability(slots, excluded, start_day, end_day)


def _eligible(
    session: Session, kind: AppointmentType, facts: rules.TypeFacts, ids: list[int], excluded: dict[int, str]
) -> list[Provider]:
    providers = {
        p.id: p
        for p in session.scalars(
            select(Provider).where(Provider.id.in_(ids), Provider.tenant_id == kind.tenant_id)
        )
    }
    codes = c.provider_codes(session, providers) if facts.specialty_codes else {}
    out = []
    for pid in ids:
        provider = providers.get(pid)
        if provider is None:
            excluded[pid] = f"no provider {pid} for this client"
            continue
        problem = rules.offer_problem(facts, c.provider_facts(provider, codes.get(pid, frozenset())))
        if problem is not None:
            excluded[pid] = problem.message
            continue
        out.append(provider)
    return out


def _patient_eligible(
    session: Session,
    kind: AppointmentType,
    facts: rules.TypeFacts,
    providers: list[Provider],
    patient_id: int,
    day: date,
    now: datetime,
    excluded: dict[int, str],
    actor: Actor | None,
) -> list[Provider]:
    from careline.scheduling.booking import established_provider_ids, load_patient

    patient = load_patient(session, patient_id)
    c.same_tenant(kind.tenant_id, patient)
    if actor is not None:
        record(
            session,
            actor,
            "appointment.search",
            tenant_id=patient.tenant_id,
            object_type="patient",
            object_id=patient.id,
        )
    seen = established_provider_ids(session, patient, now)
    out = []
    for provider in providers:
        facts_p = c.provider_facts(provider)
        pf = rules.PatientFacts(
            age=rules.age_on(patient.dob, day), is_new=provider.id not in seen, has_referral=True
        )
        problems = rules.patient_problems(facts, facts_p, pf)
        if problems:
            excluded[provider.id] = problems[0].message
        else:
            out.append(provider)
    return out


def search_slots(
    session: Session,
    kind: AppointmentType,
    providers: Sequence[Provider],
    start_day: date,
    end_day: date,
    now: datetime,
    prefs: Preferences = Preferences(),
    *,
    limit: int = 20,
    per_provider: int | None = None,
    location_ids: Iterable[int] | None = None,
    distances: dict[int, float] | None = None,
    ignore_appointment_ids: Iterable[int] = (),
    include_appointments: bool = True,
) -> list[SlotView]:
    """Open times of these (already eligible) providers for the type: the core of every search."""
    if not providers:
        return []
    ids = [p.id for p in providers]
    exceptions = load_exceptions(
        session,
        kind.tenant_id,
        ids,
        _midnight_utc(start_day - timedelta(days=1)),
        _midnight_utc(end_day + timedelta(days=2)),
    )
    spec = rules.SearchSpec(
        type_id=kind.id,
        duration_minutes=kind.duration_minutes,
        date_from=start_day,
        date_to=end_day,
        now=now,
        # A start must lie after now (and at least the type's notice ahead).
        earliest=max(now + timedelta(seconds=1), now + timedelta(minutes=kind.min_notice_minutes)),
        latest_day_offset=kind.max_days_ahead,
        weekdays=prefs.weekdays,
        after_min=prefs.after_min,
        before_min=prefs.before_min,
        limit=limit,
        per_provider=per_provider,
    )
    found: list[rules.Slot] = []
    locations: dict[int, rules.LocationFacts] = {}
    names: dict[int, str] = {}
    zones: set[str] = set()
    remaining = list(ids)
    first = start_day
    # A few days at a time: the first open times are nearly always in the first days, so most
    # searches read two days of templates and appointments, not four weeks of them.
    for length in (*CHUNK_DAYS, None):
        last = end_day if length is None else min(end_day, first + timedelta(days=length - 1))
        days = {(first + timedelta(days=n)).weekday() for n in range(min(7, (last - first).days + 1))}
        if prefs.weekdays:
            days &= prefs.weekdays
        templates = (
            load_templates(session, kind.tenant_id, remaining, first, last, location_ids, days)
            if days
            else []
        )
        new_places = {t.location_id for t in templates} - set(locations)
        if new_places:
            more, more_names = load_locations(session, new_places, start_day, end_day, distances)
            locations.update(more)
            names.update(more_names)
            zones.update(f.tz for f in more.values())
        if templates:
            booked = (
                load_appointments(
                    session,
                    remaining,
                    _midnight_utc(first - timedelta(days=1)),
                    _midnight_utc(last + timedelta(days=2)),
                    now,
                    ignore_appointment_ids,
                )
                if include_appointments
                else {}
            )
            spec.date_from, spec.date_to = first, last
            found += rules.find_slots(spec, templates, locations, _with_appointments(exceptions, booked))
        if last >= end_day or (zones and _done(found, spec, last, sorted(zones), ids)):
            break
        if per_provider is not None:  # providers who have their times drop out of the next days
            counts = Counter(s.provider_id for s in found)
            remaining = [pid for pid in remaining if counts[pid] < per_provider]
            if not remaining:
                break
        first = last + timedelta(days=1)
    found.sort(key=lambda s: (s.start_at, s.distance_miles or 0.0, s.provider_id, s.location_id))
    if per_provider is None:
        found = found[:limit]
    labels = {p.id: rules.provider_label(p.first_name, p.last_name, p.credentials) for p in providers}
    return [
        SlotView(
            provider_id=s.provider_id,
            provider_name=labels[s.provider_id],
            location_id=s.location_id,
            location_name=names.get(s.location_id, ""),
            type_id=kind.id,
            type_name=kind.name,
            start_at=s.start_at,
            end_at=s.end_at,
            timezone=s.tz,
            distance_miles=s.distance_miles,
        )
        for s in found
    ]


def _done(
    found: list[rules.Slot], spec: rules.SearchSpec, last: date, zones: list[str], ids: list[int]
) -> bool:
    """Enough open times that no later day can change the answer."""
    if spec.per_provider is not None:
        counts = Counter(s.provider_id for s in found)
        return all(counts[pid] >= spec.per_provider for pid in ids)
    boundary = min(rules.local_midnight(last + timedelta(days=1), tz) for tz in zones)
    return sum(1 for s in found if s.start_at < boundary) >= spec.limit


def next_available(
    session: Session,
    provider_ids: Iterable[int],
    type_id: int,
    *,
    days: int = DEFAULT_DAYS,
    limit: int = 20,
    **filters: Any,
) -> list[SlotView]:
    """The earliest `limit` open times across these providers within `days` (the console's list).

    `filters` are find_availability's: location_id, near_zip, radius_miles, weekdays, time_of_day,
    after, before, date_from, patient_id + actor.
    """
    return find_availability(
        session, type_id=type_id, provider_ids=list(provider_ids), days=days, limit=limit, **filters
    ).slots


def next_available_by_provider(
    session: Session, provider_ids: Iterable[int], type_id: int, *, days: int = DEFAULT_DAYS, **filters: Any
) -> dict[int, SlotView | None]:
    """Each provider's first open time within `days` (None when they have none): find-a-doctor lists."""
    ids = list(dict.fromkeys(int(i) for i in provider_ids))
    found = find_availability(
        session, type_id=type_id, provider_ids=ids, days=days, per_provider=1, limit=len(ids) or 1, **filters
    ).slots
    out: dict[int, SlotView | None] = dict.fromkeys(ids)
    for slot in found:
        if out.get(slot.provider_id) is None:
            out[slot.provider_id] = slot
    return out
