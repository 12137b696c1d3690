"""The database itself refuses double bookings, whatever code writes (PostgreSQL exclusion constraints,
SQLite triggers): no service, no lock in this process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from careline.db import transaction
from careline.scheduling.models import Appointment, AppointmentStatus
from tests.scheduling import helpers as h

START = h.utc(2026, 12, 8, 15)


def _row(
    cal, *, minutes: int = 0, length: int = 20, provider=None, patient=None, status="booked"
) -> Appointment:
    start = START + timedelta(minutes=minutes)
    return Appointment(
        tenant_id=cal.tenant_id,
        provider_id=provider or cal.kim,
        location_id=cal.oak,
        patient_id=patient or cal.ann,
        type_id=cal.office,
        start_at=start,
        end_at=start + timedelta(minutes=length),
        status=AppointmentStatus(status),
    )


def _insert(sessions, *rows: Appointment) -> None:
    with transaction(sessions) as db:
        db.add_all(rows)


@pytest.mark.parametrize(
    ("minutes", "length", "who"),
    [
        (0, 20, "provider"),
        (10, 40, "provider"),
        (-30, 31, "provider"),
        (0, 20, "patient"),
        (19, 5, "patient"),
    ],
)
def test_overlaps_are_refused_by_the_database(cal, sessions, minutes: int, length: int, who: str) -> None:
    _insert(sessions, _row(cal))
    other = (
        _row(cal, minutes=minutes, length=length, patient=cal.bob)
        if who == "provider"
        else _row(cal, minutes=minutes, length=length, provider=cal.lee)
    )
    with pytest.raises(IntegrityError, match=f"{who}_overlap|overlaps \\({who}\\)"):
        _insert(sessions, other)


def test_back_to_back_cancelled_and_other_people_are_fine(cal, sessions, db) -> None:
    _insert(sessions, _row(cal))
    _insert(
        sessions,
        _row(cal, minutes=20, patient=cal.bob),  # starts as the first ends
        _row(cal, minutes=-20, patient=cal.kid),  # ends as the first starts
        _row(cal, patient=cal.bob, minutes=0, status="cancelled"),
        _row(cal, provider=cal.lee, patient=cal.bob, minutes=40),
    )
    assert h.overlaps(db) == []


def test_reactivating_a_cancelled_overlap_is_refused(cal, sessions) -> None:
    _insert(sessions, _row(cal), _row(cal, patient=cal.bob, status="cancelled"))
    with pytest.raises(IntegrityError), transaction(sessions) as db:
        db.execute(
            update(Appointment)
            .where(Appointment.patient_id == cal.bob)
            .values(status=AppointmentStatus.BOOKED)
            .execution_options(synchronize_session=False)
        )


def test_a_day_long_visit_is_refused(cal, sessions) -> None:
    with pytest.raises(IntegrityError):
        _insert(sessions, _row(cal, length=24 * 60 + 1))
