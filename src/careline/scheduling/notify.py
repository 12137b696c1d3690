"""What the patient receives: the confirmation message (queued in the outbox) and the .ics file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from icalendar import Calendar, Event, Timezone
from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.channels.models import MessageChannel
from careline.channels.service import message_fields, queue_messages
from careline.directory.models import Location, Provider
from careline.kit.clock import utcnow
from careline.kit.phones import format_phone
from careline.patients.models import Patient, PatientPhone, PhoneKind
from careline.scheduling import rules
from careline.scheduling.models import (
    Appointment,
    AppointmentHistory,
    AppointmentStatus,
    AppointmentType,
    Modality,
)
from careline.tenants.models import Tenant

PRODID = "-//CareLine//Scheduling//EN"


@dataclass
class Details:
    appointment: Appointment
    provider: Provider
    location: Location
    kind: AppointmentType
    patient: Patient
    tenant: Tenant

    @property
    def provider_name(self) -> str:
        return rules.provider_label(
            self.provider.first_name, self.provider.last_name, self.provider.credentials
        )

    @property
    def address(self) -> str:
        loc = self.location
        street = ", ".join(p for p in (loc.address_line1, loc.address_line2) if p)
        return f"{loc.name}, {street}, {loc.city}, {loc.state} {loc.zip}"

    @property
    def telehealth(self) -> bool:
        return self.kind.modality == Modality.TELEHEALTH


def details(session: Session, appt: Appointment) -> Details:
    """The rows a message or a calendar file needs (from the session's identity map when loaded)."""
    return Details(
        appointment=appt,
        provider=session.get(Provider, appt.provider_id),  # type: ignore[arg-type]
        location=session.get(Location, appt.location_id),  # type: ignore[arg-type]
        kind=session.get(AppointmentType, appt.type_id),  # type: ignore[arg-type]
        patient=session.get(Patient, appt.patient_id),  # type: ignore[arg-type]
        tenant=session.get(Tenant, appt.tenant_id),  # type: ignore[arg-type]
    )


def when_text(d: Details, appt: Appointment | None = None) -> str:
    """'Tuesday, December 8 at 9:00 AM CST' on the location's clock."""
    local = (appt or d.appointment).start_at.astimezone(rules.get_zone(d.location.timezone))
    return local.strftime("%A, %B %-d at %-I:%M %p %Z")


def message_text(d: Details, what: str) -> tuple[str, str]:
    """Subject and body of a confirmation ('booked', 'rescheduled') or a cancellation."""
    first = d.patient.preferred_name or d.patient.first_name
    visit = f"{d.kind.name} with {d.provider_name}"
    contact = f" at {format_phone(d.tenant.phone)}" if d.tenant.phone else ""
    if what == "cancelled":
        subject = f"Cancelled: {d.kind.name} on {when_text(d)}"
        lines = [
            f"Hello {first},",
            f"Your {visit} on {when_text(d)} is cancelled.",
            f"To book a new time, call {d.tenant.name}{contact}.",
        ]
        return subject, "\n".join(lines)
    verb = "moved to" if what == "rescheduled" else "booked for"
    subject = f"{'Changed' if what == 'rescheduled' else 'Confirmed'}: {d.kind.name} on {when_text(d)}"
    lines = [f"Hello {first},", f"Your {visit} is {verb} {when_text(d)} ({d.kind.duration_minutes} minutes)."]
    if d.telehealth:
        lines.append("This is a video visit: we will send the link before it starts.")
    else:
        lines.append(f"Where: {d.address}")
        if d.location.directions:
            lines.append(f"Directions: {d.location.directions}")
        if d.location.parking:
            lines.append(f"Parking: {d.location.parking}")
    if d.kind.preparation:
        lines.append(f"How to prepare: {d.kind.preparation}")
    lines.append(f"To change or cancel, call {d.tenant.name}{contact}.")
    return subject, "\n".join(lines)


def _sequence(session: Session, appt: Appointment) -> int:
    rows = session.scalars(
        select(AppointmentHistory.id).where(AppointmentHistory.appointment_id == appt.id)
    ).all()
    return max(0, len(rows) - 1)


def appointment_ics(session: Session, appt: Appointment, sequence: int | None = None) -> bytes:
    """An iCalendar file for the visit in the location's zone (VTIMEZONE included), cancelled or not.

    SEQUENCE counts the appointment's changes (a new booking is 0)."""
    d = details(session, appt)
    zone = rules.get_zone(d.location.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cancelled = appt.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NOSHOW)
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"appointment-{appt.id}@careline")
    event.add("dtstamp", utcnow())
    event.add("dtstart", appt.start_at.astimezone(zone))
    event.add("dtend", appt.end_at.astimezone(zone))
    event.add("summary", f"{d.kind.name} with {d.provider_name}")
    event.add("location", "Video visit" if d.telehealth else d.address)
    _subject, body = message_text(d, "cancelled" if cancelled else "booked")
    event.add("description", body)
    event.add(
        "status",
        "CANCELLED"
        if cancelled
        else ("TENTATIVE" if appt.status == AppointmentStatus.PENDING else "CONFIRMED"),
    )
    event.add("sequence", _sequence(session, appt) if sequence is None else sequence)
    cal.add_component(event)
    return with_zones(cal, appt.start_at.date())


def with_zones(cal: Calendar, day: date) -> bytes:
    """The calendar as iCalendar text with the VTIMEZONEs cal.add_missing_timezones() would add
    (a year either side of the day, before the event, where it puts them), each built and written
    out once per zone and day: that walks the zone's transitions over two years and writing it out
    costs as much as the rest of the file, and it is the same for every visit that day."""
    zones = b"".join(_vtimezone_ical(tzid, day) for tzid in sorted(cal.get_missing_tzids()))
    head, event_begins, rest = cal.to_ical().partition(b"BEGIN:VEVENT\r\n")
    return head + zones + event_begins + rest


@lru_cache(maxsize=512)
def _vtimezone_ical(tzid: str, day: date) -> bytes:
    """The VTIMEZONE of a zone, valid a year either side of the day, as iCalendar text (nothing
    for a zone icalendar does not know: left out, as add_missing_timezones() does)."""
    try:
        zone = Timezone.from_tzid(
            tzid, first_date=day - timedelta(days=366), last_date=day + timedelta(days=366)
        )
    except ValueError:
        return b""
    return zone.to_ical()


def mobile_of(patient_id: Any) -> Any:
    """The patient's mobile number for texts (the primary one first) as a scalar subquery; a
    statement that loads the patient anyway can carry it as a column."""
    return (
        select(PatientPhone.e164)
        .where(PatientPhone.patient_id == patient_id, PatientPhone.kind == PhoneKind.MOBILE)
        .order_by(PatientPhone.is_primary.desc(), PatientPhone.id)
        .limit(1)
        .scalar_subquery()
    )


NOT_LOADED: Any = object()


def _recipients(
    session: Session, patient: Patient, mobile: str | None = NOT_LOADED
) -> list[tuple[MessageChannel, str | None]]:
    out: list[tuple[MessageChannel, str | None]] = []
    if patient.consent_email and patient.email:
        out.append((MessageChannel.EMAIL, patient.email))
    if patient.consent_sms:
        if mobile is NOT_LOADED:
            mobile = session.scalar(select(mobile_of(patient.id)))
        if mobile:
            out.append((MessageChannel.SMS, mobile))
    return out or [(MessageChannel.EMAIL, None)]  # kept as no_address so staff see nothing went out


def queue_confirmation(
    session: Session, appt: Appointment, what: str, mobile: str | None = NOT_LOADED
) -> None:
    """Queue the confirmation (or cancellation) by email and/or SMS, as the patient consented
    (`mobile`: their mobile number when the caller already read it with `mobile_of`)."""
    d = details(session, appt)
    subject, body = message_text(d, what)
    rows = []
    for channel, to in _recipients(session, d.patient, mobile):
        attachments = []
        if channel == MessageChannel.EMAIL:
            attachments.append(
                {
                    "filename": f"appointment-{appt.id}.ics",
                    "content_type": "text/calendar",
                    "content": appointment_ics(session, appt, 0 if what != "cancelled" else None).decode(),
                }
            )
        rows.append(
            message_fields(
                tenant_id=appt.tenant_id,
                channel=channel,
                to=to,
                subject=subject,
                body=body,
                related_type="appointment",
                related_id=appt.id,
                patient_id=appt.patient_id,
                attachments=attachments,
            )
        )
    queue_messages(session, rows)
