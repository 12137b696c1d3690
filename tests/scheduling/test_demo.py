"""Demo calendars: every provider gets weekly hours, tenants get types and holidays, visits are booked
without a single overlap, and the demo world answers searches and takes bookings."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from careline.audit.service import Actor
from careline.db import Scope, transaction
from careline.demo import scheduling as demo
from careline.demo.seed import seed_demo
from careline.directory.models import Provider, ProviderLocation
from careline.scheduling import service
from careline.scheduling.models import (
    Appointment,
    AppointmentType,
    AvailabilityTemplate,
    CalendarException,
    ExceptionKind,
)
from careline.tenants.models import Tenant
from tests.scheduling import helpers as h

SMALL = {"patients": 300, "providers": 40}


def test_the_demo_world_has_calendars_and_bookings(sessions, db, clock, monkeypatch) -> None:
    monkeypatch.setattr(demo, "LARGE_BOOKED_PROVIDERS", 10)  # a big world books a sample of providers
    result = seed_demo(sessions, seed=5, cheap_hash=True, **SMALL)
    counts = result.counts
    assert counts["appointment_types"] == 20  # 7 types, no ortho consult at the family practice
    assert counts["availability_templates"] > 40 * 8
    assert counts["appointments"] > 50
    assert h.overlaps(db) == []
    with_places = set(
        db.scalars(
            select(ProviderLocation.provider_id)
            .join(Provider, Provider.id == ProviderLocation.provider_id)
            .where(Provider.active.is_(True))
        )
    )
    with_hours = set(db.scalars(select(AvailabilityTemplate.provider_id)))
    assert with_places == with_hours  # every active provider who practises somewhere
    held = db.scalars(
        select(AvailabilityTemplate).where(AvailabilityTemplate.release_at_local == "10:00")
    ).all()
    assert held and all(t.start_local == "13:00" and t.release_days_before == 0 for t in held)
    holidays = db.scalars(
        select(CalendarException).where(CalendarException.kind == ExceptionKind.HOLIDAY)
    ).all()
    assert {e.reason for e in holidays} >= {"Christmas Day", "New Year's Day"}
    booked_providers = db.scalar(select(func.count(func.distinct(Appointment.provider_id))))
    assert booked_providers <= 3 * 10  # the sample, per tenant


def test_the_demo_world_answers_and_books(sessions, clock) -> None:
    seed_demo(sessions, seed=6, cheap_hash=True, **SMALL)
    with transaction(sessions) as db:
        tenant = db.scalar(select(Tenant).where(Tenant.slug == "lakeshore"))
        kind = db.scalar(
            select(AppointmentType).where(
                AppointmentType.tenant_id == tenant.id, AppointmentType.name == "Telehealth visit"
            )
        )
        providers = list(db.scalars(select(AvailabilityTemplate.provider_id).distinct().limit(20)))
    with transaction(sessions, Scope(frozenset({tenant.id}))) as db:
        found = service.find_availability(db, type_id=kind.id, provider_ids=providers, limit=5)
        assert found.slots or found.excluded  # telehealth: only providers who offer it
        office = db.scalar(
            select(AppointmentType).where(
                AppointmentType.tenant_id == tenant.id, AppointmentType.name == "Same-day sick visit"
            )
        )
        firsts = service.next_available_by_provider(db, providers, office.id, days=1)
        assert set(firsts) == set(providers)
    with transaction(sessions, Scope(frozenset({tenant.id}))) as db:
        kind = service.create_type(db, tenant_id=tenant.id, name="Demo check", duration_minutes=15)
        slot = service.find_availability(db, type_id=kind.id, provider_ids=providers, limit=1).slots[0]
        from careline.patients.models import Patient

        patient = db.scalar(
            select(Patient.id).where(Patient.tenant_id == tenant.id, Patient.dob < date(2000, 1, 1)).limit(1)
        )
        try:
            appt = service.book(
                db,
                actor=Actor("test"),
                provider_id=slot.provider_id,
                location_id=slot.location_id,
                type_id=kind.id,
                patient_id=patient,
                start_at=slot.start_at,
            )
        except service.BookingRefused as refused:  # a pediatrician, or a closed panel: fine for a demo
            assert refused.violations
        else:
            assert appt.status == "booked"
