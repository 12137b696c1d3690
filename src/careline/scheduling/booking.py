"""Booking, holds, rescheduling, cancelling: every change that takes or frees a provider's time.

The database decides conflicts. Each write that takes time runs in a SAVEPOINT: release expired
holds that overlap (so a late expiry job never blocks a booking), check for an overlap (the
SQLite guarantee inside its BEGIN IMMEDIATE transaction, and a fast clear answer everywhere),
insert. On PostgreSQL the exclusion constraints reject whatever a concurrent transaction slipped
in between; on SQLite the triggers do the same for any writer. Any of these becomes a 409
`Conflict` carrying the nearest open alternatives.

A new booking or hold on PostgreSQL first tries one `INSERT ... ON CONFLICT DO NOTHING` with the
exclusion constraints as arbiters; only when that inserts nothing (the time looks taken, maybe by
an expired hold) does it take the savepoint path above.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, make_transient_to_detached

from careline.audit.service import Actor, record
from careline.db import get_scoped, insert_rows, read_rows, scope_of
from careline.directory.models import Location, Provider
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.jobs import events
from careline.jobs import service as jobs
from careline.kit.clock import utcnow
from careline.patients.models import Patient
from careline.scheduling import common as c
from careline.scheduling import rules
from careline.scheduling.availability import Preferences, SlotView, search_slots
from careline.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentHistory,
    AppointmentStatus,
    AppointmentType,
    CancelReason,
)
from careline.scheduling.notify import NOT_LOADED, mobile_of, queue_confirmation
from careline.tenants.models import Tenant

HOLD_MINUTES = 5
MAX_HOLD_MINUTES = 24 * 60  # waitlist offers hold longer than an agent's 5 minutes
ALTERNATIVES = 5
HOLD_JOB = "scheduling.expire_hold"
WAITLIST_JOB = "scheduling.waitlist_match"
EVENT_CHANNEL = "scheduling"
S = AppointmentStatus


class BookingRefused(ValidationFailed):
    """The booking breaks one or more rules; `violations` lists each with its code and message."""

    def __init__(self, violations: list[rules.Violation]) -> None:
        first = violations[0]
        message = "; ".join(v.message for v in violations)
        super().__init__(
            message,
            field=first.field,
            extra={
                "violations": [{"code": v.code, "message": v.message, "field": v.field} for v in violations]
            },
        )
        self.violations = violations


class _Clash(Exception):
    def __init__(self, who: str) -> None:
        super().__init__(who)
        self.who = who  # "provider" or "patient"


@dataclass
class Booking:
    """The rows one booking needs, loaded and checked."""

    provider: Provider
    location: Location
    kind: AppointmentType
    patient: Patient
    start: datetime
    end: datetime
    tenant: Tenant | None = None  # held so the session keeps it for the confirmation
    mobile: Any = NOT_LOADED  # the patient's mobile for the confirmation text, when read with the rows


# --- loading and checks -----------------------------------------------------------------------------


def load_patient(session: Session, patient_id: Any) -> Patient:
    return get_scoped(session, Patient, int(patient_id), what="patient")


def load_rows(
    session: Session, provider_id: Any, location_id: Any, type_id: Any, patient_id: Any
) -> tuple[Provider, Location, AppointmentType, Patient, Tenant | None, Any]:
    """The four rows a booking needs, and the provider's tenant and the patient's mobile number (for
    the confirmation), in one statement; when one is missing or out of scope, each is loaded alone
    so the 404 names it."""
    ids = (
        c.as_id(provider_id, "provider_id"),
        c.as_id(location_id, "location_id"),
        c.as_id(type_id, "type_id"),
        c.as_id(patient_id, "patient_id"),
    )
    row = session.execute(
        _rows_query(), {"provider_id": ids[0], "location_id": ids[1], "type_id": ids[2], "patient_id": ids[3]}
    ).first()
    if row is not None:
        return row[0], row[1], row[2], row[3], row[4], row[5]
    return (
        c.load_provider(session, ids[0]),
        c.load_location(session, ids[1]),
        c.load_type(session, ids[2]),
        load_patient(session, ids[3]),
        None,
        NOT_LOADED,
    )


@lru_cache(maxsize=1)
def _rows_query() -> Select:
    """load_rows()'s statement, built once; the ids are bound parameters."""
    return (
        select(Provider, Location, AppointmentType, Patient, Tenant, mobile_of(Patient.id))
        .join(Tenant, Tenant.id == Provider.tenant_id)
        .join(Location, Location.id == bindparam("location_id"))  # one row each: joined by their ids
        .join(AppointmentType, AppointmentType.id == bindparam("type_id"))
        .join(Patient, Patient.id == bindparam("patient_id"))
        .where(Provider.id == bindparam("provider_id"))
    )


def established_provider_ids(session: Session, patient: Patient, now: datetime) -> set[int]:
    """Providers who have seen the patient within the last three years (or are their PCP)."""
    since = now - timedelta(days=365 * rules.ESTABLISHED_YEARS)
    stmt = (
        select(Appointment.provider_id)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status.in_([S.BOOKED, S.ARRIVED, S.FULFILLED]),
            Appointment.start_at < now,
            Appointment.start_at >= since,
        )
        .distinct()
    )
    seen = set(session.scalars(stmt))
    if patient.pcp_provider_id is not None:
        seen.add(patient.pcp_provider_id)
    return seen


def lock_appointment(session: Session, appointment_id: Any) -> Appointment:
    """Load an appointment for change: a row lock on PostgreSQL (SQLite's transaction already is one)."""
    pg = session.get_bind().dialect.name == "postgresql"
    appt = session.get(Appointment, int(appointment_id), with_for_update=pg or None, populate_existing=True)
    if appt is None or not scope_of(session).allows(appt.tenant_id):
        raise NotFound(f"appointment {appointment_id} not found")
    return appt


def prepare(
    session: Session,
    *,
    provider_id: Any,
    location_id: Any,
    type_id: Any,
    patient_id: Any,
    start_at: Any,
    has_referral: bool,
    now: datetime,
    check_patient: bool = True,
) -> Booking:
    """Load the rows and apply every booking rule; BookingRefused (422) lists what is wrong."""
    provider, location, kind, patient, tenant, mobile = load_rows(
        session, provider_id, location_id, type_id, patient_id
    )
    c.same_tenant(provider.tenant_id, location, kind, patient)
    start = c.instant(start_at, "start_at")
    if start.second or start.microsecond:
        raise ValidationFailed("appointments start on a whole minute", field="start_at")
    end = start + timedelta(minutes=kind.duration_minutes)
    booking = Booking(provider, location, kind, patient, start, end, tenant, mobile)
    facts = c.type_facts(kind)
    codes = (
        c.provider_codes(session, [provider.id]).get(provider.id, frozenset())
        if facts.specialty_codes
        else frozenset()
    )
    pfacts = c.provider_facts(provider, codes)
    problems: list[rules.Violation] = []
    offer = rules.offer_problem(facts, pfacts)
    if offer is not None:
        problems.append(offer)
    timing = rules.timing_problem(facts, start, now, location.timezone)
    if timing is not None:
        problems.append(timing)
    if check_patient:
        local_day = start.astimezone(rules.get_zone(location.timezone)).date()
        # New or established only matters for some types and for providers closed to new patients.
        matters = facts.patient_kind != "any" or not provider.accepting_new_patients
        patient_facts = rules.PatientFacts(
            age=rules.age_on(patient.dob, local_day),
            is_new=matters and provider.id not in established_provider_ids(session, patient, now),
            has_referral=has_referral,
        )
        problems += rules.patient_problems(facts, pfacts, patient_facts)
    if problems:
        raise BookingRefused(problems)
    _check_open(session, booking, now)
    return booking


@lru_cache(maxsize=1)
def _open_check_statement() -> Select:
    """_check_open()'s statement, built once: the provider's windows at the location on the day's
    weekday, each row also saying whether the location is closed that day and whether a calendar
    exception takes the asked time out (the provider's, theirs at that location, the location's,
    or the whole tenant's: what `load_exceptions` would load and `start_is_open` would find)."""
    from careline.directory.models import LocationClosure
    from careline.scheduling.availability import TEMPLATE_COLUMNS, in_effect
    from careline.scheduling.models import AvailabilityTemplate as T
    from careline.scheduling.models import CalendarException as X

    day, location_id, provider_id = bindparam("day"), bindparam("location_id"), bindparam("provider_id")
    closure = LocationClosure
    closed = select(closure.id).where(closure.location_id == location_id, closure.date == day)
    away = select(X.id).where(
        X.tenant_id == bindparam("tenant_id"),
        X.starts_at < bindparam("end_at"),
        X.ends_at > bindparam("start_at"),
        or_(X.provider_id == provider_id, X.provider_id.is_(None)),
        or_(X.location_id == location_id, X.location_id.is_(None)),
    )
    return select(*TEMPLATE_COLUMNS, closed.exists(), away.exists()).where(
        T.provider_id == provider_id,
        T.tenant_id == bindparam("tenant_id"),
        *in_effect(day, day),
        T.location_id == location_id,
        T.weekday == bindparam("weekday"),
    )


def _check_open(session: Session, b: Booking, now: datetime) -> None:
    """The time must be an open start in the provider's calendar there (ignoring other bookings)."""
    from careline.scheduling.availability import template_facts

    tz = b.location.timezone
    local = b.start.astimezone(rules.get_zone(tz))
    day = local.date()
    # One statement: the day's windows there, with the closure and the exceptions (with no window
    # the time is not open anyway); the tenant is in it.
    params = {
        "tenant_id": b.provider.tenant_id,
        "provider_id": b.provider.id,
        "day": day,
        "location_id": b.location.id,
        "weekday": day.weekday(),
        "start_at": b.start,
        "end_at": b.end,
    }
    rows = read_rows(session, _open_check_statement(), params).all()
    templates = [template_facts(row) for row in rows]
    if templates and not rows[0][-1]:  # windows that day, and no exception in the way
        closed = bool(rows[0][-2])
        place = rules.LocationFacts(b.location.id, tz, frozenset({day}) if closed else frozenset())
        free = rules.BusyIndex()  # the exceptions were asked about above; bookings are the database's
        if rules.start_is_open(b.start, b.kind.duration_minutes, b.kind.id, templates, place, free, now):
            return
    slots = search_slots(
        session,
        b.kind,
        [b.provider],
        day,
        day,
        now,
        limit=10_000,
        location_ids=[b.location.id],
        include_appointments=False,
    )
    who = rules.provider_label(b.provider.first_name, b.provider.last_name, b.provider.credentials)
    when = local.strftime("%a %b %-d %-I:%M %p")
    raise BookingRefused(
        [
            rules.Violation(
                "not_open",
                f"{who} has no open {b.kind.name} time at {b.location.name} on {when}"
                + (f"; open starts that day: {_starts_text(slots, tz)}" if slots else "; none that day"),
                "start_at",
            )
        ]
    )


def _starts_text(slots: list[SlotView], tz: str, most: int = 6) -> str:
    zone = rules.get_zone(tz)
    shown = [s.start_at.astimezone(zone).strftime("%-I:%M %p") for s in slots[:most]]
    return ", ".join(shown) + (" ..." if len(slots) > most else "")


# --- taking time ------------------------------------------------------------------------------------


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _clear_the_way(session: Session, appt: Appointment, now: datetime, ignore: Iterable[int]) -> str | None:
    """Look at the active appointments overlapping this provider's or patient's new time (one query,
    row-locked on PostgreSQL in id order, so concurrent bookers never deadlock): expired holds lose
    their time now, not when the job runs; anything else is a clash ("provider" or "patient").

    This is SQLite's guarantee (its BEGIN IMMEDIATE transaction makes check-then-insert atomic) and
    a fast, clear answer on PostgreSQL, whose exclusion constraints catch what a concurrent
    transaction commits in between."""
    stmt = select(Appointment).where(*_in_the_way(appt)).order_by(Appointment.id)
    if _is_pg(session):
        stmt = stmt.with_for_update()
    skip = {i for i in ignore if i is not None}
    clash = None
    for other in session.scalars(stmt.execution_options(populate_existing=True)):
        if other.id in skip:
            continue
        if _expired_hold(other.status, other.hold_expires_at, now):
            expire_hold_row(session, other, now)
        elif other.provider_id == appt.provider_id:
            clash = "provider"
        else:
            clash = clash or "patient"
    return clash


def _in_the_way(appt: Appointment) -> tuple[Any, ...]:
    """Conditions of the active appointments overlapping the provider's or the patient's new time."""
    return (
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at < appt.end_at,
        Appointment.start_at > appt.start_at - timedelta(days=1),  # visits are at most a day long
        Appointment.end_at > appt.start_at,
        or_(Appointment.provider_id == appt.provider_id, Appointment.patient_id == appt.patient_id),
    )


def _expired_hold(status: AppointmentStatus, expires: datetime | None, now: datetime) -> bool:
    """A hold whose time has run out (its job may not have released it yet)."""
    return status == S.PENDING and expires is not None and expires <= now


def _busy(session: Session, appt: Appointment, now: datetime) -> str | None:
    """Who is busy at `appt`'s time by what is committed now ("provider", "patient" or None), locking
    and changing nothing; holds past their expiry do not count (the locking path releases them)."""
    stmt = select(Appointment.provider_id, Appointment.status, Appointment.hold_expires_at).where(
        *_in_the_way(appt)
    )
    clash = None
    for provider_id, status, expires in read_rows(session, stmt):  # the ids were checked
        if _expired_hold(status, expires, now):
            continue
        if provider_id == appt.provider_id:
            return "provider"
        clash = "patient"
    return clash


def _clash_of(exc: Exception) -> str | None:
    text = str(getattr(exc, "orig", exc))
    if "patient_overlap" in text or "overlaps (patient)" in text:
        return "patient"
    if "provider_overlap" in text or "overlaps (provider)" in text:
        return "provider"
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in ("40P01", "40001"):  # deadlock or serialization failure: another booking won the race
        return "provider"
    return None


def occupy(
    session: Session,
    appt: Appointment,
    *,
    before: Callable[[], None] | None = None,
    ignore: Iterable[int] = (),
    insert: bool = True,
) -> None:
    """Make `appt` take its time, or raise _Clash; all or nothing (a SAVEPOINT).

    `before` runs first inside the savepoint (a reschedule releases the old visit there, so the
    old time is never free unless the new one was taken). With insert=False `appt` is an existing
    row whose status was just made active.
    """
    now = utcnow()
    try:
        with session.begin_nested():
            if before is not None:
                before()
                session.flush()
            clash = _clear_the_way(session, appt, now, [appt.id, *ignore])
            if clash is not None:
                raise _Clash(clash)
            if insert:
                session.add(appt)
            session.flush()
    except (IntegrityError, OperationalError) as exc:
        who = _clash_of(exc)
        if who is None:
            raise
        raise _Clash(who) from exc


@lru_cache(maxsize=1)
def _insert_statement() -> Any:
    """_insert_if_free()'s statement, built once; the new row's fields are its parameters. A plain
    statement on the table, run on the connection: the ORM's bulk-insert path costs as much again."""
    table = Appointment.__table__
    return pg_insert(table).on_conflict_do_nothing().returning(*table.c)


@lru_cache(maxsize=1)
def _attribute_of_column() -> tuple[tuple[str, str], ...]:
    return tuple((prop.key, prop.columns[0].key) for prop in sa_inspect(Appointment).column_attrs)


def _as_loaded(session: Session, row: Any) -> Appointment:
    """The inserted row as the session's own object, as if loaded (it is in the database already)."""
    values = row._mapping
    appt = Appointment(**{attr: values[column] for attr, column in _attribute_of_column()})
    make_transient_to_detached(appt)
    session.add(appt)
    return appt


def _insert_if_free(session: Session, b: Booking, fields: dict[str, Any]) -> Appointment | None:
    """PostgreSQL's fast path: one INSERT ... ON CONFLICT DO NOTHING, the exclusion constraints
    being the arbiters (a concurrent booking of the same time is waited for, then decides).

    The new appointment, or None when the time looked taken: occupy() then looks in a savepoint,
    so an expired hold in the way is released and a real clash named (provider or patient).
    """
    try:
        row = session.connection().execute(_insert_statement(), fields).first()
        return None if row is None else _as_loaded(session, row)
    except (IntegrityError, OperationalError) as exc:
        who = _clash_of(exc)  # a deadlock with a concurrent booking: it won the race
        if who is None:
            raise
        session.rollback()  # no savepoint here: start over to answer with the alternatives
        raise conflict(session, b, who) from None


def alternatives(
    session: Session,
    kind: AppointmentType,
    provider: Provider,
    wanted: datetime,
    *,
    patient_id: int | None = None,
    ignore: Iterable[int] = (),
    count: int = ALTERNATIVES,
) -> list[SlotView]:
    """The open times of this provider and type nearest to `wanted` (any of their locations), from
    three days before to two weeks after.

    The days around `wanted` are read first: when the `count` nearest open times there are all
    nearer than the edge of those days (any zone), no time outside them can be nearer, and the
    answer is the same as from the whole range, read only when that does not hold.
    """
    now = utcnow()
    day = wanted.date()
    ignore = list(ignore)  # read up to four times below
    near = _open_times(
        session, kind, provider, day - timedelta(days=2), day + timedelta(days=2), now, ignore=ignore
    )
    best = rules.nearest(_patient_free(session, near, patient_id, ignore), wanted, count)
    # Local dates day-2 .. day+2 hold every instant from midnight UTC of day-1 to that of day+2.
    reach = min(
        wanted - datetime.combine(day - timedelta(days=1), datetime.min.time(), UTC),
        datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC) - wanted,
    )
    if len(best) == count and all(abs(s.start_at - wanted) < reach for s in best):
        return best  # type: ignore[return-value]
    slots = _open_times(
        session, kind, provider, day - timedelta(days=3), day + timedelta(days=14), now, ignore=ignore
    )
    return rules.nearest(_patient_free(session, slots, patient_id, ignore), wanted, count)  # type: ignore[arg-type]


def _open_times(
    session: Session,
    kind: AppointmentType,
    provider: Provider,
    first: date,
    last: date,
    now: datetime,
    *,
    ignore: Iterable[int] = (),
) -> list[SlotView]:
    return search_slots(
        session, kind, [provider], first, last, now, Preferences(), limit=400, ignore_appointment_ids=ignore
    )


def _patient_free(
    session: Session, slots: list[SlotView], patient_id: int | None, ignore: Iterable[int]
) -> list[SlotView]:
    """The slots that do not overlap the patient's other active appointments."""
    if patient_id is None or not slots:
        return slots
    busy = [
        (s, e)
        for s, e in read_rows(  # the patient was checked
            session,
            select(Appointment.start_at, Appointment.end_at).where(
                Appointment.patient_id == patient_id,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.end_at > slots[0].start_at,
                Appointment.start_at < slots[-1].end_at,
                Appointment.id.not_in(list(ignore) or [0]),
            ),
        )
    ]
    return [s for s in slots if not any(b0 < s.end_at and b1 > s.start_at for b0, b1 in busy)]


def slot_json(slot: SlotView) -> dict[str, Any]:
    """An open time as JSON (also the 409's alternatives)."""
    return {
        "provider_id": slot.provider_id,
        "provider_name": slot.provider_name,
        "location_id": slot.location_id,
        "location_name": slot.location_name,
        "type_id": slot.type_id,
        "type_name": slot.type_name,
        "start_at": slot.start_at.isoformat(),
        "end_at": slot.end_at.isoformat(),
        "start_local": slot.start_local.isoformat(),
        "timezone": slot.timezone,
        "distance_miles": slot.distance_miles,
    }


def conflict(session: Session, b: Booking, who: str, ignore: Iterable[int] = ()) -> Conflict:
    """The 409: who is busy, and the nearest open times instead."""
    label = rules.provider_label(b.provider.first_name, b.provider.last_name, b.provider.credentials)
    message = (
        f"{label} is already booked at that time"
        if who == "provider"
        else "this patient already has an appointment at that time"
    )
    alts = alternatives(session, b.kind, b.provider, b.start, patient_id=b.patient.id, ignore=ignore)
    return Conflict(
        message + (" - nearest open times are listed" if alts else " - no open time nearby"),
        field="start_at",
        extra={"reason": f"{who}_busy", "alternatives": [slot_json(s) for s in alts]},
    )


def _keep(appt: Appointment, b: Booking) -> None:
    """Hold on to the rows the booking loaded (the session keeps objects only while referenced)."""
    appt.provider, appt.location, appt.patient, appt.appointment_type = (
        b.provider,
        b.location,
        b.patient,
        b.kind,
    )


def add_history(
    session: Session,
    appt: Appointment,
    from_status: AppointmentStatus | None,
    actor: Actor,
    note: str = "",
) -> None:
    row = {
        "tenant_id": appt.tenant_id,
        "appointment_id": appt.id,
        "from_status": from_status,
        "to_status": appt.status,
        "by_user_id": actor.user_id,
        "actor": actor.label[:200],
        "note": note[:500],
    }
    insert_rows(session, AppointmentHistory, [row])  # a row, written now: nothing reads it back as an object


def _audit(session: Session, actor: Actor, action: str, appt: Appointment, **detail: Any) -> None:
    record(
        session,
        actor,
        action,
        tenant_id=appt.tenant_id,
        object_type="appointment",
        object_id=appt.id,
        detail={
            "patient_id": appt.patient_id,
            "provider_id": appt.provider_id,
            "start_at": appt.start_at.isoformat(),
            **detail,
        },
    )


def _publish(session: Session, kind: str, appt: Appointment, **extra: Any) -> None:
    events.publish(
        session,
        EVENT_CHANNEL,
        kind,
        {
            "appointment_id": appt.id,
            "provider_id": appt.provider_id,
            "location_id": appt.location_id,
            "start_at": appt.start_at.isoformat(),
            "status": str(appt.status),
            **extra,
        },
        tenant_id=appt.tenant_id,
    )


def hold_job_key(appointment_id: int) -> str:
    return f"scheduling.hold:{appointment_id}"


def _queue_waitlist_match(session: Session, appt: Appointment, exclude_entry_ids: Iterable[int] = ()) -> None:
    jobs.enqueue(
        session,
        WAITLIST_JOB,
        {
            "tenant_id": appt.tenant_id,
            "provider_id": appt.provider_id,
            "location_id": appt.location_id,
            "start_at": appt.start_at.isoformat(),
            "end_at": appt.end_at.isoformat(),
            "exclude_entry_ids": list(exclude_entry_ids),
        },
        tenant_id=appt.tenant_id,
    )


# --- the operations ---------------------------------------------------------------------------------


def book(
    session: Session,
    *,
    actor: Actor,
    provider_id: int,
    location_id: int,
    type_id: int,
    patient_id: int,
    start_at: datetime | str,
    has_referral: bool = False,
    referral_source: str | None = None,
    note: str | None = None,
    contact_id: int | None = None,
    hold_minutes: int | None = None,
) -> Appointment:
    """Book an open time for a patient (status booked), or with `hold_minutes` hold it (pending).

    Raises BookingRefused (422, with `violations`) when a rule says no, Conflict (409, with
    `alternatives`) when the provider or the patient is already busy then. Audited; a booking
    queues its confirmation (outbox) and a hold its expiry job.
    """
    now = utcnow()
    b = prepare(
        session,
        provider_id=provider_id,
        location_id=location_id,
        type_id=type_id,
        patient_id=patient_id,
        start_at=start_at,
        has_referral=has_referral,
        now=now,
    )
    holding = hold_minutes is not None
    if holding:
        minutes = c.integer(hold_minutes, "minutes", low=1, high=MAX_HOLD_MINUTES)
        assert minutes is not None
    fields = {
        "tenant_id": b.provider.tenant_id,
        "provider_id": b.provider.id,
        "location_id": b.location.id,
        "patient_id": b.patient.id,
        "type_id": b.kind.id,
        "start_at": b.start,
        "end_at": b.end,
        "status": S.PENDING if holding else S.BOOKED,
        "hold_expires_at": now + timedelta(minutes=minutes) if holding else None,
        "booked_by_user_id": actor.user_id,
        "booked_by": actor.label[:200],
        "contact_id": contact_id,
        "has_referral": bool(has_referral),
        "referral_source": c.text(referral_source, "referral_source", max_len=200) or None,
        "note": c.text(note, "note", max_len=2000) or None,
    }
    pg = _is_pg(session)
    appt = _insert_if_free(session, b, fields) if pg else None
    if appt is None:  # SQLite, or the time looked taken: the full path, in a savepoint
        appt = Appointment(**fields)
        who = _busy(session, appt, now) if pg else None
        if who is not None:  # taken for sure: answered having written and locked nothing
            raise conflict(session, b, who)
        try:
            occupy(session, appt)
        except _Clash as clash:
            raise conflict(session, b, clash.who) from None
    _keep(appt, b)
    add_history(session, appt, None, actor, "held" if holding else "booked")
    if holding:
        assert appt.hold_expires_at is not None
        jobs.enqueue(
            session,
            HOLD_JOB,
            {"appointment_id": appt.id},
            run_at=appt.hold_expires_at,
            tenant_id=appt.tenant_id,
            key=hold_job_key(appt.id),
        )
        _audit(session, actor, "appointment.hold", appt, expires_at=appt.hold_expires_at.isoformat())
        _publish(session, "appointment.held", appt)
    else:
        _audit(session, actor, "appointment.book", appt)
        _after_booked(session, appt, "booked", b.mobile)
    return appt


def _after_booked(session: Session, appt: Appointment, what: str, mobile: Any = NOT_LOADED) -> None:
    queue_confirmation(session, appt, what, mobile)
    _publish(session, f"appointment.{what}", appt)


def confirm_hold(
    session: Session,
    hold_id: int,
    *,
    actor: Actor,
    has_referral: bool | None = None,
    note: str | None = None,
) -> Appointment:
    """Turn a hold into a booking. A hold past its expiry that nobody took is still confirmed; one
    whose time was released is booked again if the time is still free, else 409 with alternatives."""
    hold = lock_appointment(session, hold_id)
    if hold.status == S.BOOKED:
        raise Conflict("this hold was already confirmed", field="hold_id", extra={"appointment_id": hold.id})
    if has_referral is not None:
        hold.has_referral = bool(has_referral)
    if note:
        hold.note = c.text(note, "note", max_len=2000)
    if hold.status == S.PENDING:
        hold.status = S.BOOKED
        hold.hold_expires_at = None
        hold.updated_at = utcnow()
        session.flush()
        jobs.cancel(session, hold_job_key(hold.id))
        add_history(session, hold, S.PENDING, actor, "hold confirmed")
        _audit(session, actor, "appointment.book", hold, from_hold=True)
        _after_booked(session, hold, "booked")
        _offer_taken(session, hold)
        return hold
    if hold.status == S.CANCELLED and hold.cancel_reason == CancelReason.HOLD_EXPIRED:
        return book(
            session,
            actor=actor,
            provider_id=hold.provider_id,
            location_id=hold.location_id,
            type_id=hold.type_id,
            patient_id=hold.patient_id,
            start_at=hold.start_at,
            has_referral=hold.has_referral,
            referral_source=hold.referral_source,
            note=hold.note,
            contact_id=hold.contact_id,
        )
    raise Conflict(f"this hold is no longer active ({hold.status})", field="hold_id")


def _offer_taken(session: Session, appt: Appointment) -> None:
    from careline.scheduling.waitlist import offer_accepted_by_hold

    offer_accepted_by_hold(session, appt)


def release_hold(session: Session, hold_id: int, *, actor: Actor) -> Appointment:
    """Let a hold go before it expires (the patient said no)."""
    hold = lock_appointment(session, hold_id)
    if hold.status != S.PENDING:
        raise Conflict(f"this hold is no longer active ({hold.status})", field="hold_id")
    return _cancel_row(
        session, hold, actor, CancelReason.HOLD_RELEASED, None, audit_action="appointment.release"
    )


def expire_hold_row(session: Session, hold: Appointment, now: datetime) -> None:
    """Mark one expired hold cancelled (hold_expired); the job and late bookings both come here."""
    from careline.scheduling.waitlist import offer_lapsed

    hold.status = S.CANCELLED
    hold.cancel_reason = CancelReason.HOLD_EXPIRED
    hold.updated_at = now
    session.flush()
    add_history(session, hold, S.PENDING, Actor("scheduling"), "hold expired")
    jobs.cancel(session, hold_job_key(hold.id))
    offer_lapsed(session, hold)


def expire_hold(session: Session, hold_id: int) -> bool:
    """The expiry job: release the hold if it is still pending and due; True when it did."""
    hold = session.get(Appointment, hold_id, with_for_update=_is_pg(session) or None, populate_existing=True)
    now = utcnow()
    if hold is None or hold.status != S.PENDING or hold.hold_expires_at is None or hold.hold_expires_at > now:
        return False
    expire_hold_row(session, hold, now)
    _publish(session, "appointment.hold_expired", hold)
    _queue_waitlist_match(session, hold)
    return True


def reschedule(
    session: Session,
    appointment_id: int,
    *,
    actor: Actor,
    start_at: datetime | str,
    provider_id: int | None = None,
    location_id: int | None = None,
    type_id: int | None = None,
    note: str | None = None,
) -> Appointment:
    """Move a booked visit to a new time (and optionally provider, location, type), atomically.

    The new appointment is taken in the same savepoint that releases the old one, so either both
    happen or neither: the patient never loses the old time without getting the new one.
    Returns the new appointment (`rescheduled_from_id` points at the old, now cancelled).
    """
    old = lock_appointment(session, appointment_id)
    if old.status != S.BOOKED:
        raise Conflict(
            f"only a booked appointment can be rescheduled; this one is {old.status}", field="status"
        )
    now = utcnow()
    b = prepare(
        session,
        provider_id=provider_id or old.provider_id,
        location_id=location_id or old.location_id,
        type_id=type_id or old.type_id,
        patient_id=old.patient_id,
        start_at=start_at,
        has_referral=old.has_referral,
        now=now,
        check_patient=(provider_id or old.provider_id) != old.provider_id
        or (type_id or old.type_id) != old.type_id,
    )
    new = Appointment(
        tenant_id=old.tenant_id,
        provider_id=b.provider.id,
        location_id=b.location.id,
        patient_id=old.patient_id,
        type_id=b.kind.id,
        start_at=b.start,
        end_at=b.end,
        status=S.BOOKED,
        booked_by_user_id=actor.user_id,
        booked_by=actor.label[:200],
        contact_id=old.contact_id,
        has_referral=old.has_referral,
        referral_source=old.referral_source,
        note=c.text(note, "note", max_len=2000) or old.note,
        rescheduled_from_id=old.id,
    )
    _keep(new, b)

    def release_old() -> None:
        old.status = S.CANCELLED
        old.cancel_reason = CancelReason.RESCHEDULED
        old.updated_at = now

    try:
        occupy(session, new, before=release_old, ignore=[old.id])
    except _Clash as clash:
        session.refresh(old)
        raise conflict(session, b, clash.who, ignore=[old.id]) from None
    add_history(session, old, S.BOOKED, actor, f"rescheduled to appointment {new.id}")
    add_history(session, new, None, actor, f"rescheduled from appointment {old.id}")
    _audit(
        session,
        actor,
        "appointment.reschedule",
        new,
        from_appointment_id=old.id,
        from_start_at=old.start_at.isoformat(),
    )
    _after_booked(session, new, "rescheduled", b.mobile)
    _queue_waitlist_match(session, old)
    _move_waitlist_links(session, old, new)
    return new


def _move_waitlist_links(session: Session, old: Appointment, new: Appointment) -> None:
    from careline.scheduling.models import WaitlistEntry

    session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.current_appointment_id == old.id)
        .values(current_appointment_id=new.id)
        .execution_options(synchronize_session=False)
    )


def cancel(
    session: Session,
    appointment_id: int,
    *,
    actor: Actor,
    reason: CancelReason | str,
    note: str | None = None,
) -> Appointment:
    """Cancel a booked visit (or a hold) with a reason code; frees the time for the waitlist."""
    try:
        code = CancelReason(str(reason).strip().lower())
    except ValueError as exc:
        allowed = ", ".join(r.value for r in CancelReason if r not in (CancelReason.HOLD_EXPIRED,))
        raise ValidationFailed(f"reason must be one of: {allowed}", field="reason") from exc
    appt = lock_appointment(session, appointment_id)
    if appt.status not in (S.BOOKED, S.PENDING, S.PROPOSED):
        raise Conflict(f"this appointment is {appt.status} and cannot be cancelled", field="status")
    return _cancel_row(session, appt, actor, code, note, audit_action="appointment.cancel")


def _cancel_row(
    session: Session,
    appt: Appointment,
    actor: Actor,
    reason: CancelReason,
    note: str | None,
    *,
    audit_action: str,
) -> Appointment:
    was = appt.status
    appt.status = S.CANCELLED
    appt.cancel_reason = reason
    appt.cancel_note = c.text(note, "note", max_len=500) or None
    appt.updated_at = utcnow()
    session.flush()
    add_history(session, appt, was, actor, f"cancelled: {reason}")
    _audit(session, actor, audit_action, appt, reason=str(reason))
    if was == S.PENDING:
        jobs.cancel(session, hold_job_key(appt.id))
        from careline.scheduling.waitlist import offer_lapsed

        offer_lapsed(session, appt)
    if was == S.BOOKED and reason != CancelReason.RESCHEDULED:  # a move sends the new time instead
        queue_confirmation(session, appt, "cancelled")
    _publish(session, "appointment.cancelled", appt, reason=str(reason))
    _queue_waitlist_match(session, appt)
    return appt


STATUS_MOVES = {
    S.ARRIVED: {S.BOOKED},
    S.FULFILLED: {S.BOOKED, S.ARRIVED},
    S.NOSHOW: {S.BOOKED},
}


def set_status(
    session: Session, appointment_id: int, status: AppointmentStatus | str, *, actor: Actor
) -> Appointment:
    """Check-in and outcome: booked -> arrived -> fulfilled, or booked -> noshow (after the start)."""
    try:
        target = AppointmentStatus(str(status))
    except ValueError as exc:
        raise ValidationFailed("status must be arrived, fulfilled or noshow", field="status") from exc
    if target not in STATUS_MOVES:
        raise ValidationFailed(
            "status must be arrived, fulfilled or noshow (use cancel, reschedule or confirm for the rest)",
            field="status",
        )
    appt = lock_appointment(session, appointment_id)
    if appt.status not in STATUS_MOVES[target]:
        raise Conflict(f"a {appt.status} appointment cannot become {target}", field="status")
    if target == S.NOSHOW and appt.start_at > utcnow():
        raise ValidationFailed("a no-show can only be recorded after the start time", field="status")
    was = appt.status
    appt.status = target
    appt.updated_at = utcnow()
    session.flush()
    add_history(session, appt, was, actor, str(target))
    _audit(session, actor, "appointment.status", appt, status=str(target))
    _publish(session, f"appointment.{target}", appt)
    return appt


# --- reading ----------------------------------------------------------------------------------------


def get_appointment(session: Session, appointment_id: int, *, actor: Actor) -> Appointment:
    """One appointment (audited as appointment.read)."""
    appt = get_scoped(session, Appointment, appointment_id, what="appointment")
    _audit(session, actor, "appointment.read", appt)
    return appt


def list_appointments(
    session: Session,
    *,
    actor: Actor,
    patient_id: int | None = None,
    provider_id: int | None = None,
    location_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    statuses: Iterable[AppointmentStatus | str] | None = None,
    limit: int = 100,
) -> list[Appointment]:
    """Appointments by patient, provider or location and UTC date range, by start (audited)."""
    if patient_id is None and provider_id is None and location_id is None:
        raise ValidationFailed("give a patient_id, provider_id or location_id", field="patient_id")
    stmt = select(Appointment).order_by(Appointment.start_at, Appointment.id)
    if patient_id is not None:
        stmt = stmt.where(Appointment.patient_id == patient_id)
    if provider_id is not None:
        stmt = stmt.where(Appointment.provider_id == provider_id)
    if location_id is not None:
        stmt = stmt.where(Appointment.location_id == location_id)
    if date_from is not None:
        stmt = stmt.where(Appointment.start_at >= datetime.combine(date_from, datetime.min.time(), UTC))
    if date_to is not None:
        end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), UTC)
        stmt = stmt.where(Appointment.start_at < end)
    if statuses:
        try:
            wanted = [AppointmentStatus(str(s)) for s in statuses]
        except ValueError as exc:
            raise ValidationFailed("unknown status", field="status") from exc
        stmt = stmt.where(Appointment.status.in_(wanted))
    found = list(session.scalars(stmt.limit(max(1, min(limit, 1000)))))
    tenants = {a.tenant_id for a in found}
    for tenant_id in tenants:
        rows = [a for a in found if a.tenant_id == tenant_id]
        record(
            session,
            actor,
            "appointment.list",
            tenant_id=tenant_id,
            object_type="patient" if patient_id else None,
            object_id=patient_id,
            detail={
                "appointment_ids": [a.id for a in rows][:200],
                "count": len(rows),
                "patient_ids": sorted({a.patient_id for a in rows})[:200],
            },
        )
    return found


def history(session: Session, appointment_id: int) -> list[AppointmentHistory]:
    """Status changes of one appointment, oldest first."""
    return list(
        session.scalars(
            select(AppointmentHistory)
            .where(AppointmentHistory.appointment_id == appointment_id)
            .order_by(AppointmentHistory.id)
        )
    )
