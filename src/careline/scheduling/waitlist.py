"""The waitlist: patients who want an earlier time, offered freed times as they come up.

When time frees up (a cancellation, a reschedule, an expired hold), a job looks for waiting
entries it suits, first come first served. A match becomes an offer: the time is held for the
patient (an ordinary hold, so nobody else takes it meanwhile), a message goes to the outbox and
an event to the agents' "queue" channel. Accepting confirms the hold and, when the entry named
the patient's current appointment, cancels that one (reason `rescheduled`); an offer that lapses
puts the entry back to waiting.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.audit.service import Actor, record
from careline.channels.models import MessageChannel
from careline.channels.service import queue_message
from careline.db import get_scoped, scope_of
from careline.directory.models import Location, Provider
from careline.errors import CareLineError, Conflict, NotFound, ValidationFailed
from careline.jobs import events
from careline.kit.clock import utcnow
from careline.scheduling import booking, rules
from careline.scheduling import common as c
from careline.scheduling.availability import Preferences, search_slots
from careline.scheduling.models import (
    Appointment,
    AppointmentStatus,
    CancelReason,
    WaitlistEntry,
    WaitlistStatus,
)

OFFER_MINUTES = 120  # how long an offered time is held for the patient
QUEUE_CHANNEL = "queue"
WAITLIST_ACTOR = Actor("waitlist")
MAX_OFFERS_PER_FREED_TIME = 5


def _audit(session: Session, actor: Actor, action: str, entry: WaitlistEntry, **detail: Any) -> None:
    record(
        session,
        actor,
        action,
        tenant_id=entry.tenant_id,
        object_type="waitlist_entry",
        object_id=entry.id,
        detail={"patient_id": entry.patient_id, **detail},
    )


def add_to_waitlist(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    type_id: int,
    provider_ids: Iterable[int] = (),
    location_id: int | None = None,
    earliest_date: date | str | None = None,
    latest_date: date | str | None = None,
    weekdays: Iterable[Any] = (),
    after: str | None = None,
    before: str | None = None,
    current_appointment_id: int | None = None,
    note: str = "",
) -> WaitlistEntry:
    """Put a patient on the waitlist for a type (and providers, place, days, hours they accept).

    With `current_appointment_id` the entry wants something earlier than that booking (the
    default latest date is the day before it) and accepting an offer moves the booking.
    """
    patient = booking.load_patient(session, patient_id)
    kind = c.load_type(session, type_id)
    c.same_tenant(patient.tenant_id, kind)
    ids = sorted({int(i) for i in provider_ids})
    if ids:
        found = set(
            session.scalars(
                select(Provider.id).where(Provider.id.in_(ids), Provider.tenant_id == patient.tenant_id)
            )
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationFailed(f"no provider {missing[0]} for this client", field="provider_ids")
    if location_id is not None:
        c.same_tenant(patient.tenant_id, c.load_location(session, location_id))
    current = None
    if current_appointment_id is not None:
        current = get_scoped(session, Appointment, current_appointment_id, what="appointment")
        if current.patient_id != patient.id or current.status != AppointmentStatus.BOOKED:
            raise ValidationFailed(
                "the current appointment must be this patient's booked one", field="current_appointment_id"
            )
    today = utcnow().date()
    earliest = c.day(earliest_date, "earliest_date", optional=True) or today
    latest = c.day(latest_date, "latest_date", optional=True)
    if latest is None:
        latest = (
            current.start_at.date() if current is not None else today + timedelta(days=kind.max_days_ahead)
        )
    if latest < earliest:
        raise ValidationFailed("latest_date is before earliest_date", field="latest_date")
    prefs = Preferences.of(weekdays, None, after, before)
    entry = WaitlistEntry(
        tenant_id=patient.tenant_id,
        patient_id=patient.id,
        type_id=kind.id,
        provider_ids=ids,
        location_id=location_id,
        earliest_date=earliest,
        latest_date=latest,
        weekdays=sorted(prefs.weekdays),
        after_local=c.clock(after, "after", optional=True),
        before_local=c.clock(before, "before", optional=True),
        current_appointment_id=current.id if current else None,
        status=WaitlistStatus.WAITING,
        note=c.text(note, "note", max_len=500),
        created_by_user_id=actor.user_id,
    )
    session.add(entry)
    session.flush()
    _audit(session, actor, "waitlist.add", entry)
    return entry


def get_entry(session: Session, entry_id: int, *, lock: bool = False) -> WaitlistEntry:
    pg = session.get_bind().dialect.name == "postgresql"
    entry = session.get(
        WaitlistEntry, int(entry_id), with_for_update=(lock and pg) or None, populate_existing=lock
    )
    if entry is None or not scope_of(session).allows(entry.tenant_id):
        raise NotFound(f"waitlist entry {entry_id} not found")
    return entry


def list_waitlist(
    session: Session,
    *,
    actor: Actor,
    patient_id: int | None = None,
    status: WaitlistStatus | str | None = None,
    tenant_ids: Iterable[int] | None = None,
    limit: int = 100,
) -> list[WaitlistEntry]:
    """Waitlist entries, oldest first (audited: they name patients)."""
    stmt = select(WaitlistEntry).order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    if patient_id is not None:
        stmt = stmt.where(WaitlistEntry.patient_id == patient_id)
    if status:
        try:
            stmt = stmt.where(WaitlistEntry.status == WaitlistStatus(str(status)))
        except ValueError as exc:
            raise ValidationFailed("unknown waitlist status", field="status") from exc
    if tenant_ids is not None:
        stmt = stmt.where(WaitlistEntry.tenant_id.in_(list(tenant_ids)))
    found = list(session.scalars(stmt.limit(max(1, min(limit, 1000)))))
    for tenant_id in {e.tenant_id for e in found}:
        rows = [e for e in found if e.tenant_id == tenant_id]
        record(
            session,
            actor,
            "waitlist.list",
            tenant_id=tenant_id,
            detail={
                "entry_ids": [e.id for e in rows][:200],
                "patient_ids": sorted({e.patient_id for e in rows})[:200],
            },
        )
    return found


def cancel_entry(session: Session, entry_id: int, *, actor: Actor) -> WaitlistEntry:
    """Take a patient off the waitlist (an open offer's hold is released)."""
    entry = get_entry(session, entry_id, lock=True)
    if entry.status in (WaitlistStatus.CANCELLED, WaitlistStatus.BOOKED):
        raise Conflict(f"this waitlist entry is already {entry.status}", field="status")
    if entry.status == WaitlistStatus.OFFERED and entry.offer_appointment_id:
        hold = booking.lock_appointment(session, entry.offer_appointment_id)
        if hold.status == AppointmentStatus.PENDING:
            booking.release_hold(session, hold.id, actor=actor)
    entry.status = WaitlistStatus.CANCELLED
    entry.updated_at = utcnow()
    session.flush()
    _audit(session, actor, "waitlist.cancel", entry)
    return entry


def accept_offer(session: Session, entry_id: int, *, actor: Actor) -> Appointment:
    """The patient takes the offered time: the hold becomes the booking (and the old one is moved)."""
    entry = get_entry(session, entry_id, lock=True)
    if entry.status != WaitlistStatus.OFFERED or entry.offer_appointment_id is None:
        raise Conflict(f"there is no open offer on this entry (it is {entry.status})", field="status")
    return booking.confirm_hold(session, entry.offer_appointment_id, actor=actor)


def decline_offer(session: Session, entry_id: int, *, actor: Actor) -> WaitlistEntry:
    """The patient says no to this time: release it, keep waiting (the time goes to the next entry)."""
    entry = get_entry(session, entry_id, lock=True)
    if entry.status != WaitlistStatus.OFFERED or entry.offer_appointment_id is None:
        raise Conflict(f"there is no open offer on this entry (it is {entry.status})", field="status")
    hold = booking.lock_appointment(session, entry.offer_appointment_id)
    if hold.status == AppointmentStatus.PENDING:
        booking.release_hold(session, hold.id, actor=actor)  # offer_lapsed puts the entry back to waiting
    else:
        offer_lapsed(session, hold)
    _audit(session, actor, "waitlist.decline", entry)
    return entry


def offer_lapsed(session: Session, hold: Appointment) -> None:
    """A hold ended without a booking: an entry it was offered to waits again."""
    entry = session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.offer_appointment_id == hold.id, WaitlistEntry.status == WaitlistStatus.OFFERED
        )
    )
    if entry is None:
        return
    entry.status = WaitlistStatus.WAITING
    entry.offer_appointment_id = None
    entry.offered_at = None
    entry.updated_at = utcnow()
    session.flush()


def offer_accepted_by_hold(session: Session, appt: Appointment) -> None:
    """A confirmed hold that was a waitlist offer: close the entry and move the old booking."""
    entry = session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.offer_appointment_id == appt.id, WaitlistEntry.status == WaitlistStatus.OFFERED
        )
    )
    if entry is None:
        return
    entry.status = WaitlistStatus.BOOKED
    entry.updated_at = utcnow()
    if entry.current_appointment_id is not None:
        old = booking.lock_appointment(session, entry.current_appointment_id)
        if old.status == AppointmentStatus.BOOKED and old.id != appt.id:
            appt.rescheduled_from_id = old.id
            booking.cancel(
                session,
                old.id,
                actor=WAITLIST_ACTOR,
                reason=CancelReason.RESCHEDULED,
                note=f"moved earlier to appointment {appt.id} from the waitlist",
            )
    session.flush()


def match_freed_time(
    session: Session,
    *,
    tenant_id: int,
    provider_id: int,
    location_id: int,
    start_at: datetime | str,
    end_at: datetime | str,
    exclude_entry_ids: Iterable[int] = (),
) -> list[WaitlistEntry]:
    """Offer time that just freed up to the waiting entries it suits, oldest entry first."""
    start, end = c.instant(start_at, "start_at"), c.instant(end_at, "end_at")
    provider = session.get(Provider, provider_id)
    location = session.get(Location, location_id)
    if provider is None or location is None or provider.tenant_id != tenant_id:
        return []
    local = start.astimezone(rules.get_zone(location.timezone))
    day = local.date()
    excluded = set(exclude_entry_ids)
    entries = session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.tenant_id == tenant_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.earliest_date <= day,
            WaitlistEntry.latest_date >= day,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    offered: list[WaitlistEntry] = []
    now = utcnow()
    for entry in entries:
        if len(offered) >= MAX_OFFERS_PER_FREED_TIME:
            break
        if entry.id in excluded or not _suits(entry, provider_id, location_id, day):
            continue
        slot = _first_slot(session, entry, provider, location_id, day, start, end, now)
        if slot is None:
            continue
        if _offer(session, entry, slot):
            offered.append(entry)
    return offered


def _suits(entry: WaitlistEntry, provider_id: int, location_id: int, day: date) -> bool:
    if entry.provider_ids and provider_id not in {int(i) for i in entry.provider_ids}:
        return False
    if entry.location_id is not None and entry.location_id != location_id:
        return False
    return not (entry.weekdays and day.weekday() not in {int(d) for d in entry.weekdays})


def _first_slot(
    session: Session,
    entry: WaitlistEntry,
    provider: Provider,
    location_id: int,
    day: date,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Any:
    kind = c.load_type(session, entry.type_id)
    if rules.offer_problem(c.type_facts(kind), c.provider_facts(provider, _codes(session, provider))):
        return None
    prefs = Preferences.of(entry.weekdays, None, entry.after_local, entry.before_local)
    slots = search_slots(
        session, kind, [provider], day, day, now, prefs, limit=200, location_ids=[location_id]
    )
    current = session.get(Appointment, entry.current_appointment_id) if entry.current_appointment_id else None
    # Times the freed visit blocked; those starting inside it (its own start first) before the rest.
    slots = sorted(slots, key=lambda sl: (not (start <= sl.start_at < end), sl.start_at))
    for slot in slots:
        if not (slot.start_at < end and slot.end_at > start):
            continue  # only the time that just freed up
        if current is not None and slot.start_at >= current.start_at:
            continue  # not earlier than what they have
        return slot
    return None


def _codes(session: Session, provider: Provider) -> frozenset[str]:
    return c.provider_codes(session, [provider.id]).get(provider.id, frozenset())


def _offer(session: Session, entry: WaitlistEntry, slot: Any) -> bool:
    current = session.get(Appointment, entry.current_appointment_id) if entry.current_appointment_id else None
    try:
        hold = booking.book(
            session,
            actor=WAITLIST_ACTOR,
            provider_id=slot.provider_id,
            location_id=slot.location_id,
            type_id=slot.type_id,
            patient_id=entry.patient_id,
            start_at=slot.start_at,
            has_referral=bool(current and current.has_referral),
            hold_minutes=OFFER_MINUTES,
        )
    except CareLineError:
        return False  # the patient's rules say no, or someone was faster: try the next entry
    entry.status = WaitlistStatus.OFFERED
    entry.offer_appointment_id = hold.id
    entry.offered_at = utcnow()
    entry.updated_at = entry.offered_at
    session.flush()
    _notify_offer(session, entry, hold)
    _audit(session, WAITLIST_ACTOR, "waitlist.offer", entry, appointment_id=hold.id)
    return True


def _notify_offer(session: Session, entry: WaitlistEntry, hold: Appointment) -> None:
    from careline.scheduling.notify import _recipients, details, when_text

    d = details(session, hold)
    assert hold.hold_expires_at is not None
    until = hold.hold_expires_at.astimezone(rules.get_zone(d.location.timezone)).strftime("%-I:%M %p %Z")
    contact = f" at {d.tenant.phone}" if d.tenant.phone else ""
    body = (
        f"Hello {d.patient.preferred_name or d.patient.first_name}, an earlier time opened up: "
        f"{d.kind.name} with {d.provider_name} on {when_text(d)} at {d.location.name}. "
        f"It is held for you until {until}. Call {d.tenant.name}{contact} to take it."
    )
    for channel, to in _recipients(session, d.patient):
        queue_message(
            session,
            tenant_id=entry.tenant_id,
            channel=channel if to else MessageChannel.SMS,
            to=to,
            subject=f"Earlier time available: {d.kind.name}",
            body=body,
            related_type="waitlist_entry",
            related_id=entry.id,
            patient_id=entry.patient_id,
        )
    events.publish(
        session,
        QUEUE_CHANNEL,
        "waitlist.offer",
        {
            "entry_id": entry.id,
            "appointment_id": hold.id,
            "patient_id": entry.patient_id,
            "provider_id": hold.provider_id,
            "start_at": hold.start_at.isoformat(),
            "expires_at": hold.hold_expires_at.isoformat(),
            "task": "call the patient to confirm the offered time",
        },
        tenant_id=entry.tenant_id,
    )
