"""A generated contact history for report tests: several weeks, two tenants, every kind of row.

Made directly with the models (not through `careline simulate`), seeded, with the awkward cases on
purpose: contacts a minute either side of the range's local midnights, a DST change inside the range,
patients registered just before, during or just after their call, abandons before and after the
answer target, escalations waiting, withdrawn and raised twice, unanswered surveys, reasons and
appointments for two locations, tenant B's rows that tenant A must not see.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from careline.contacts.intents import Intent
from careline.contacts.models import Channel, Contact, ContactReason, ContactStatus, Outcome
from careline.db import transaction
from careline.directory.models import Location, Provider
from careline.escalations.models import Escalation, EscalationStatus, Urgency
from careline.patients.models import Patient, ReferralSource
from careline.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from careline.surveys.models import AnsweredVia, Survey, SurveyChannel
from careline.triage.model import Disposition
from tests.factories import World

START = date(2026, 10, 19)  # Monday; US DST ends Sunday 2026-11-01, inside the range
END = date(2026, 11, 29)  # Sunday: six whole weeks
INTENT_OUTCOMES = {
    Intent.SCHEDULE: [Outcome.APPOINTMENT_BOOKED, Outcome.WAITLISTED, Outcome.UNRESOLVED],
    Intent.RESCHEDULE: [Outcome.APPOINTMENT_RESCHEDULED],
    Intent.CANCEL: [Outcome.APPOINTMENT_CANCELLED],
    Intent.FIND_DOCTOR: [Outcome.REFERRAL_MADE, Outcome.INFORMATION_GIVEN],
    Intent.LOCATION_INFO: [Outcome.INFORMATION_GIVEN],
    Intent.REFILL: [Outcome.MESSAGE_TAKEN, Outcome.TRANSFERRED, Outcome.UNRESOLVED],
    Intent.RECORDS: [Outcome.ROUTED_OUTSIDE, Outcome.MESSAGE_TAKEN],
    Intent.BILLING: [Outcome.TRANSFERRED, Outcome.CALLBACK_SCHEDULED],
    Intent.CLINICAL: [Outcome.NURSE_ESCALATED],
}


@dataclass
class History:
    tenant_ids: list[int]
    locations: dict[str, int] = field(default_factory=dict)  # name -> id (tenant A)
    contacts: int = 0
    appointments: int = 0


def _utc(day: date, minutes: int, tz: str) -> datetime:
    local = datetime.combine(day, time.min) + timedelta(minutes=minutes)
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _location(db: Session, tenant_id: int, name: str, zip_code: str) -> Location:
    loc = Location(
        tenant_id=tenant_id,
        name=name,
        address_line1="1 Main St",
        city="Chicago",
        state="IL",
        zip=zip_code,
        lat=41.88,
        lon=-87.63,
        timezone="America/Chicago",
    )
    db.add(loc)
    db.flush()
    return loc


def build_history(
    sessions: sessionmaker[Session], world: World, *, seed: int = 11, per_day: int = 9
) -> History:
    """Contacts for tenants A and B from a week before START to a week after END."""
    rng = random.Random(seed)
    result = History([world.tenant_a.id, world.tenant_b.id])
    with transaction(sessions) as db:
        north = _location(db, world.tenant_a.id, "North Clinic", "60614")
        south = _location(db, world.tenant_a.id, "South Clinic", "60616")
        other = _location(db, world.tenant_b.id, "B Clinic", "10001")
        result.locations = {"north": north.id, "south": south.id, "b": other.id}
        booking = {t: _booking_kit(db, t) for t in (world.tenant_a.id, world.tenant_b.id)}
        tenants = [
            (
                world.tenant_a.id,
                world.tenant_a.timezone,
                [world.agent_a.id, world.nurse_a.id, world.supervisor_a.id],
                [north.id, south.id],
            ),
            (world.tenant_b.id, world.tenant_b.timezone, [world.agent_b.id], [other.id]),
        ]
        day = START - timedelta(days=7)
        while day <= END + timedelta(days=7):
            for tenant_id, tz, agents, locations in tenants:
                minutes = [rng.randint(7 * 60, 19 * 60) for _ in range(rng.randint(per_day // 2, per_day))]
                if day in (START, END + timedelta(days=1)):
                    minutes += [1]  # 00:01 local: inside on START, outside after END
                if day in (START - timedelta(days=1), END):
                    minutes += [24 * 60 - 1]  # 23:59 local: outside before START, inside on END
                for minute in minutes:
                    made = _contact(
                        db,
                        rng,
                        tenant_id,
                        tz,
                        agents,
                        locations,
                        _utc(day, minute, tz),
                        booking[tenant_id],
                        result.contacts,
                    )
                    result.contacts += 1
                    result.appointments += made
            day += timedelta(days=1)
    return result


def _contact(
    db: Session,
    rng: random.Random,
    tenant_id: int,
    tz: str,
    agents: list[int],
    locations: list[int],
    arrived: datetime,
    booking: tuple[int, int],
    serial: int,
) -> int:
    """One contact with its reasons, events and survey; returns the appointments made (0 or 1)."""
    channel = rng.choices([Channel.PHONE, Channel.SMS, Channel.CHAT, Channel.WEB], [70, 15, 10, 5])[0]
    queued = channel in (Channel.PHONE, Channel.CHAT) and rng.random() < 0.9
    fate = rng.random()
    contact = Contact(
        tenant_id=tenant_id,
        channel=channel,
        created_at=arrived,
        simulated=rng.random() < 0.3,
        caller_number="+13125550100",
    )
    if queued:
        contact.queued_at = arrived + timedelta(seconds=rng.choice([0, 0, 2]))
    wait = rng.choice([0, 5, 12, 29, 30, 31, 45, 90, 240]) + rng.random()
    start_wait = contact.queued_at or arrived
    if fate < 0.12:
        contact.status = ContactStatus.ABANDONED
        contact.abandoned_at = contact.ended_at = start_wait + timedelta(seconds=wait)
        db.add(contact)
        db.flush()
        return 0
    if fate < 0.14:  # still waiting: neither answered nor abandoned
        contact.status = ContactStatus.QUEUED
        db.add(contact)
        db.flush()
        return 0
    contact.agent_user_id = rng.choice(agents) if rng.random() < 0.97 else None
    contact.answered_at = start_wait + timedelta(seconds=wait)
    contact.ended_at = contact.answered_at + timedelta(seconds=rng.randint(60, 900))
    contact.status = ContactStatus.ENDED
    contact.survey_consent = rng.random() < 0.6
    roll = rng.random()
    if roll < 0.15:  # registered on this call, mostly; some just before it or after it ended
        when = rng.choice(["during", "during", "during", "before", "after"])
        created = {
            "during": contact.answered_at + timedelta(seconds=rng.randint(0, 59)),
            "before": arrived - timedelta(minutes=rng.randint(1, 30)),
            "after": contact.ended_at + timedelta(minutes=rng.randint(1, 30)),
        }[when]
        contact.patient_id = _patient(db, rng, tenant_id, created).id
    elif roll < 0.55:
        registered = arrived - timedelta(days=rng.randint(60, 900))
        contact.patient_id = _patient(db, rng, tenant_id, registered).id
    elif roll < 0.62:
        contact.new_patient = True
    if rng.random() < 0.08:
        contact.red_flag = True
        contact.red_flag_kinds = rng.choice([["cardiac"], ["stroke"], ["cardiac", "breathing"], []])
    db.add(contact)
    db.flush()
    made = 0
    for intent in rng.sample(list(INTENT_OUTCOMES), rng.choice([0, 1, 1, 1, 2, 3])):
        outcome = rng.choice(INTENT_OUTCOMES[intent]) if rng.random() < 0.9 else None
        detail = {}
        if outcome in (Outcome.APPOINTMENT_BOOKED, Outcome.INFORMATION_GIVEN, Outcome.REFERRAL_MADE):
            detail = {"location_id": rng.choice(locations)}
            if rng.random() < 0.2:
                detail = {"location_id": str(detail["location_id"])}  # stored as text by some client
        if outcome is Outcome.APPOINTMENT_BOOKED and contact.patient_id and not made and rng.random() < 0.6:
            # The booking is only on the appointment (scheduling's link), not in the reason's detail.
            start = datetime(2027, 1, 4, 14, tzinfo=UTC) + timedelta(hours=serial)
            where = int(detail.pop("location_id"))
            db.add(
                Appointment(
                    tenant_id=tenant_id,
                    provider_id=booking[0],
                    type_id=booking[1],
                    location_id=where,
                    patient_id=contact.patient_id,
                    start_at=start,
                    end_at=start + timedelta(minutes=20),
                    status=AppointmentStatus.BOOKED,
                    contact_id=contact.id,
                )
            )
            made = 1
        db.add(
            ContactReason(
                tenant_id=tenant_id,
                contact_id=contact.id,
                intent=intent,
                outcome=outcome,
                outcome_detail=detail,
            )
        )
    if contact.red_flag and rng.random() < 0.9:
        raised = contact.answered_at + timedelta(seconds=rng.randint(20, 200))
        fate = rng.choices(["accepted", "resolved", "open", "cancelled"], [50, 30, 10, 10])[0]
        esc = Escalation(
            tenant_id=tenant_id,
            contact_id=contact.id,
            raised_at=raised,
            urgency=Urgency.EMERGENCY,
            suggested_disposition=Disposition.EMERGENCY,
            kinds=list(contact.red_flag_kinds),
            status=EscalationStatus(fate),
        )
        if fate in ("accepted", "resolved"):
            esc.accepted_at = raised + timedelta(
                seconds=rng.randint(15, 400), milliseconds=rng.randint(0, 999)
            )
            esc.time_to_clinician_seconds = (esc.accepted_at - raised).total_seconds()
            esc.accepted_by_user_id = agents[0]
        db.add(esc)
        if fate == "cancelled" and rng.random() < 0.5:  # raised again after a withdrawn one
            again = raised + timedelta(seconds=90)
            db.add(
                Escalation(
                    tenant_id=tenant_id,
                    contact_id=contact.id,
                    raised_at=again,
                    urgency=Urgency.URGENT,
                    suggested_disposition=Disposition.URGENT,
                    status=EscalationStatus.ACCEPTED,
                    accepted_at=again + timedelta(seconds=42),
                    time_to_clinician_seconds=42.0,
                )
            )
    if contact.survey_consent:
        survey = Survey(
            tenant_id=tenant_id,
            contact_id=contact.id,
            agent_user_id=contact.agent_user_id,
            channel=SurveyChannel.SMS,
            created_at=contact.ended_at,
            sent_at=contact.ended_at,
            expires_at=contact.ended_at + timedelta(days=7),
        )
        if rng.random() < 0.55:
            survey.answered_at = contact.ended_at + timedelta(hours=rng.randint(1, 100))
            survey.via = rng.choice([AnsweredVia.LINK, AnsweredVia.PHONE])
            survey.csat = rng.choices([1, 2, 3, 4, 5], [5, 5, 15, 35, 40])[0]
            survey.nps = rng.choices(range(11), [2, 1, 1, 2, 2, 4, 6, 10, 14, 22, 36])[0]
            survey.need_met = rng.random() < 0.8 if rng.random() < 0.95 else None
            if rng.random() < 0.3:
                survey.comment = rng.choice(
                    ["Very helpful, thank you", "Long hold", "=cmd|' /C calc'!A0", "  ", "Booked fast"]
                )
        db.add(survey)
    db.flush()
    return made


def _booking_kit(db: Session, tenant_id: int) -> tuple[int, int]:
    """A provider and an appointment type to book against."""
    provider = Provider(
        tenant_id=tenant_id, npi=f"{1000000000 + tenant_id}", first_name="Dana", last_name="Doc"
    )
    kind = AppointmentType(tenant_id=tenant_id, name="Office visit", duration_minutes=20)
    db.add_all([provider, kind])
    db.flush()
    return provider.id, kind.id


def _patient(db: Session, rng: random.Random, tenant_id: int, created: datetime) -> Patient:
    patient = Patient(
        tenant_id=tenant_id,
        mrn=f"T{rng.randint(0, 10**9)}",
        first_name="Pat",
        last_name="Ient",
        last_name_key="ient",
        last_name_sound="I530",
        dob=date(1980, 1, 1),
        referral_source=rng.choice(list(ReferralSource)),
        created_at=created,
    )
    db.add(patient)
    db.flush()
    return patient
