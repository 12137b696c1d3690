"""Tenant-B scheduling objects for the generated route tests (tests/routes.py merges these)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy.orm import Session

from careline.scheduling import config
from careline.scheduling.models import (
    Appointment,
    AppointmentStatus,
    CalendarException,
    WaitlistEntry,
)
from tests.factories import World
from tests.routes import FormBody
from tests.scheduling import helpers as h

START = h.utc(2030, 1, 7, 15)  # far from any test clock


def _calendar(world: World, db: Session) -> tuple[int, int, int, int]:
    """A location, a provider working there Mondays, a type and a patient, all in tenant B."""
    tenant = world.tenant_b.id
    place = h.location(db, tenant, zip5="10001")
    doctor = h.provider(db, tenant, locations=[place])
    kind = h.kind(db, tenant, f"Visit {doctor.id}", 20)
    patient = h.patient(db, tenant, "Bea", f"Other{doctor.id}")
    return place.id, doctor.id, kind, patient


def appointment_type(world: World, db: Session) -> int:
    return _calendar(world, db)[2]


def template(world: World, db: Session) -> int:
    place, doctor, _kind, _patient = _calendar(world, db)
    row = config.create_template(
        db,
        provider_id=doctor,
        location_id=place,
        weekday=0,
        start_local="08:00",
        end_local="12:00",
        effective_from=date(2026, 1, 1),
    )
    return row.id


def exception(world: World, db: Session) -> int:
    _place, doctor, _kind, _patient = _calendar(world, db)
    row = CalendarException(
        tenant_id=world.tenant_b.id, provider_id=doctor, starts_at=START, ends_at=START + timedelta(hours=4)
    )
    db.add(row)
    db.flush()
    return row.id


def _appointment(world: World, db: Session, status: AppointmentStatus) -> int:
    place, doctor, kind, patient = _calendar(world, db)
    row = Appointment(
        tenant_id=world.tenant_b.id,
        provider_id=doctor,
        location_id=place,
        patient_id=patient,
        type_id=kind,
        start_at=START,
        end_at=START + timedelta(minutes=20),
        status=status,
        hold_expires_at=START if status == AppointmentStatus.PENDING else None,
    )
    db.add(row)
    db.flush()
    return row.id


def appointment(world: World, db: Session) -> int:
    return _appointment(world, db, AppointmentStatus.BOOKED)


def hold(world: World, db: Session) -> int:
    return _appointment(world, db, AppointmentStatus.PENDING)


def waitlist_entry(world: World, db: Session) -> int:
    _place, _doctor, kind, patient = _calendar(world, db)
    row = WaitlistEntry(
        tenant_id=world.tenant_b.id,
        patient_id=patient,
        type_id=kind,
        earliest_date=date(2030, 1, 1),
        latest_date=date(2030, 2, 1),
    )
    db.add(row)
    db.flush()
    return row.id


OTHER_TENANT_OBJECT: dict[str, Callable[[World, Session], int]] = {
    "appointment_type_id": appointment_type,
    "calendar_template_id": template,
    "calendar_exception_id": exception,
    "appointment_id": appointment,
    "hold_id": hold,
    "waitlist_entry_id": waitlist_entry,
}

P = "/api/v1/scheduling"
SAMPLE_BODIES: dict[tuple[str, str], dict | FormBody] = {
    ("POST", f"{P}/appointments/{{appointment_id}}/reschedule"): {"start_at": "2030-01-07T16:00:00Z"},
    ("POST", f"{P}/appointments/{{appointment_id}}/cancel"): {"reason": "patient_request"},
    ("POST", f"{P}/appointments/{{appointment_id}}/status"): {"status": "arrived"},
    ("POST", "/scheduling/appointments/{appointment_id}/cancel"): FormBody({"reason": "patient_request"}),
    ("POST", "/scheduling/appointments/{appointment_id}/reschedule"): FormBody(
        {"start_at": "2030-01-07T16:00:00Z"}
    ),
}
