"""What one booking costs the database, and the paths its fewer statements take (one load of its
rows, PostgreSQL's INSERT ... ON CONFLICT DO NOTHING, the savepoint path behind it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine

from careline.errors import Conflict
from careline.kit.clock import utcnow
from careline.scheduling import booking
from careline.scheduling.models import Appointment, AppointmentStatus, CancelReason
from careline.web import routing
from tests.scheduling.conftest import book_body

API = "/api/v1/scheduling"
TUE_9 = "2026-12-08T15:00:00Z"  # Tuesday 09:00 in Chicago


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def log(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", log)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", log)


def test_a_booking_costs_few_statements(app, client, cal) -> None:
    client.get(f"{API}/types")  # the session's first use stamps it; not the booking's cost
    with statements(app.state.engine) as seen:
        r = client.post(f"{API}/appointments", json=book_body(cal, TUE_9))
    assert r.status_code == 201, r.text
    # who asks 1; provider, location, type, patient (with their mobile) and tenant 1; the day's
    # windows with the closure and the exceptions 1; the insert (PostgreSQL) or savepoint, clash
    # check, insert, release (SQLite); then plain INSERTs of rows, not objects: the history, the
    # email and the SMS (one statement), the event (on PostgreSQL its trigger sends the NOTIFY);
    # the audit chain 2 (PostgreSQL) or 3.
    listing = "\n".join(sql[:90] for sql in seen)
    if app.state.engine.dialect.name == "postgresql":
        assert len(seen) == 9, listing
        assert not any("SAVEPOINT" in sql for sql in seen) and "ON CONFLICT DO NOTHING" in seen[3], listing
        assert "FOR UPDATE" in seen[-2] and "audit_head" in seen[-1], listing  # the chain comes last
    else:
        assert len(seen) == 13, listing
        assert all("audit" in sql for sql in seen[-3:]), listing


def test_a_refused_booking_locks_and_writes_nothing_on_postgresql(app, client, cal, db, monkeypatch) -> None:
    assert client.post(f"{API}/appointments", json=book_body(cal, TUE_9)).status_code == 201
    ended: list[object] = []

    def end_unwritten(session) -> None:  # type: ignore[no-untyped-def]
        routing_end(session)
        if session.get_bind().dialect.name == "postgresql":
            ended.append(session.connection().connection.driver_connection.info.transaction_status)

    routing_end = routing.end_unwritten
    monkeypatch.setattr(routing, "end_unwritten", end_unwritten)
    with statements(app.state.engine) as seen:
        r = client.post(f"{API}/appointments", json=book_body(cal, TUE_9, patient=cal.bob))
    assert r.status_code == 409 and r.json()["reason"] == "provider_busy", r.text
    assert r.json()["alternatives"], r.text
    listing = "\n".join(sql[:90] for sql in seen)
    if app.state.engine.dialect.name == "postgresql":
        # the insert found the time taken, a plain read said by whom: no savepoint, no row lock, so
        # the request ends without a ROLLBACK (which would make psycopg drop its prepared statements)
        assert not any("SAVEPOINT" in sql or "FOR UPDATE" in sql for sql in seen), listing
        assert ended == [TransactionStatus.IDLE]  # committed, having written nothing: no ROLLBACK left
    else:
        assert any("SAVEPOINT" in sql for sql in seen), listing  # SQLite checks inside its savepoint
    assert db.query(Appointment).count() == 1


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("provider", "provider"),
        ("location", "location"),
        ("type_id", "appointment type"),
        ("patient", "patient"),
    ],
)
def test_a_missing_row_is_named_in_the_404(client, cal, field, what) -> None:
    r = client.post(f"{API}/appointments", json=book_body(cal, TUE_9, **{field: 999_999}))
    assert r.status_code == 404 and r.json()["message"].startswith(what), r.text


def test_an_expired_hold_in_the_way_is_released_by_the_booking(app, client, cal, clock, db) -> None:
    hold = client.post(f"{API}/holds", json=book_body(cal, TUE_9, minutes=5))
    assert hold.status_code == 201, hold.text
    clock.advance(minutes=6)
    r = client.post(f"{API}/appointments", json=book_body(cal, TUE_9, patient=cal.bob))
    assert r.status_code == 201, r.text
    old = db.get(Appointment, hold.json()["id"])
    assert old.status == AppointmentStatus.CANCELLED and old.cancel_reason == CancelReason.HOLD_EXPIRED


class _Deadlock(Exception):
    sqlstate = "40P01"


class _FakeSession:
    rolled_back = False

    def connection(self):  # type: ignore[no-untyped-def]
        return self

    def execute(self, _stmt, _params=None):  # type: ignore[no-untyped-def]
        from sqlalchemy.exc import OperationalError

        raise OperationalError("INSERT INTO appointments", {}, _Deadlock("deadlock detected"))

    def rollback(self) -> None:
        self.rolled_back = True


def test_a_deadlock_on_the_fast_path_starts_over_and_answers_409(monkeypatch) -> None:
    answered: list[str] = []

    def conflict(session, b, who):  # type: ignore[no-untyped-def]
        answered.append(who)
        return Conflict("busy")

    monkeypatch.setattr(booking, "conflict", conflict)
    session = _FakeSession()
    start = utcnow()
    fields = {"start_at": start, "end_at": start + timedelta(minutes=20)}
    with pytest.raises(Conflict):
        booking._insert_if_free(session, object(), fields)  # type: ignore[arg-type]
    assert session.rolled_back and answered == ["provider"]


def _whole_range(session, kind, provider, wanted, patient_id, count):  # type: ignore[no-untyped-def]
    """The alternatives as computed before: every open time from 3 days before to 14 after."""
    day = wanted.date()
    slots = booking._open_times(
        session, kind, provider, day - timedelta(days=3), day + timedelta(days=14), utcnow()
    )
    return booking.rules.nearest(booking._patient_free(session, slots, patient_id, ()), wanted, count)


@pytest.mark.parametrize(
    ("start", "count"),
    [
        ("2026-12-08T15:00:00Z", 5),  # Tuesday morning: the near days answer
        ("2026-12-12T18:00:00Z", 5),  # a Saturday: nearest are Friday's and Monday's
        ("2026-12-07T15:20:00Z", 5),  # today, minutes from now
        ("2026-12-09T16:00:00Z", 300),  # more than the near days hold: the whole range is read
        # Friday 18:00 (Chicago), Dr. Kim away Thursday and Friday: the near days (Thu-Mon) hold
        # only Monday's times, but Wednesday morning's, outside them, are nearer.
        ("2026-12-12T00:00:00Z", 5),
    ],
)
def test_the_alternatives_equal_those_of_the_whole_range(app, client, cal, clock, start, count) -> None:
    from datetime import datetime

    from careline.db import Scope, transaction
    from careline.directory.models import Provider
    from careline.scheduling.models import AppointmentType, CalendarException

    with transaction(app.state.sessions) as session:
        session.add(
            CalendarException(
                tenant_id=cal.tenant_id,
                provider_id=cal.kim,
                starts_at=datetime.fromisoformat("2026-12-10T06:00:00Z"),
                ends_at=datetime.fromisoformat("2026-12-12T06:00:00Z"),
                reason="away",
            )
        )

    for taken in ("2026-12-08T15:30:00Z", "2026-12-08T16:00:00Z", "2026-12-09T15:30:00Z"):
        assert (
            client.post(f"{API}/appointments", json=book_body(cal, taken, patient=cal.bob)).status_code == 201
        )
    wanted = datetime.fromisoformat(start)
    with transaction(app.state.sessions, Scope(frozenset({cal.tenant_id}))) as session:
        kind = session.get(AppointmentType, cal.office)
        provider = session.get(Provider, cal.kim)
        got = booking.alternatives(session, kind, provider, wanted, patient_id=cal.ann, count=count)
        expected = _whole_range(session, kind, provider, wanted, cal.ann, count)
    assert [(s.start_at, s.location_id) for s in got] == [(s.start_at, s.location_id) for s in expected]
    assert len(got) == min(count, len(expected)) and got
    if start == "2026-12-12T00:00:00Z":
        assert got[0].start_at.date().isoformat() == "2026-12-09"  # Wednesday, not Monday


@pytest.mark.parametrize(
    "zone", ["America/Chicago", "America/New_York", "America/Phoenix", "Pacific/Honolulu"]
)
def test_the_shared_vtimezone_is_what_icalendar_would_add(zone) -> None:
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from icalendar import Calendar, Event

    from careline.scheduling import notify

    day = date(2026, 12, 8)
    mine, theirs = Calendar(), Calendar()
    for cal in (mine, theirs):
        event = Event()
        event.add("dtstart", datetime(2026, 12, 8, 15, tzinfo=UTC).astimezone(ZoneInfo(zone)))
        cal.add_component(event)
    theirs.add_missing_timezones(first_date=day - timedelta(days=366), last_date=day + timedelta(days=366))
    assert notify.with_zones(mine, day) == theirs.to_ical()
    assert notify.with_zones(mine, day) == theirs.to_ical()  # again, from the cache
    assert notify._vtimezone_ical(zone, day) is notify._vtimezone_ical(zone, day)


@pytest.mark.parametrize(
    ("who", "where", "blocks"),
    [
        ("kim", "oak", True),  # Dr. Kim away at Oak Street
        ("kim", None, True),  # Dr. Kim away everywhere
        ("kim", "main", False),  # Dr. Kim away at Main only: Oak Street is still open
        (None, "oak", True),  # Oak Street closed for those hours
        (None, "main", False),  # Main closed: not where the visit is
        (None, None, True),  # the whole client closed (a holiday)
        ("lee", None, False),  # someone else away
    ],
)
def test_an_exception_in_the_way_refuses_the_time_and_no_other_does(
    client, cal, sessions, who, where, blocks
) -> None:
    """The open-time check asks about the exceptions in the same statement as the windows: each kind
    of exception that covers the asked time takes it out, and only those."""
    from careline.db import transaction
    from careline.scheduling.models import CalendarException
    from tests.scheduling.helpers import utc

    with transaction(sessions) as db:
        db.add(
            CalendarException(
                tenant_id=cal.tenant_id,
                provider_id=getattr(cal, who) if who else None,
                location_id=getattr(cal, where) if where else None,
                starts_at=utc(2026, 12, 8, 14, 50),  # Tuesday 08:50-09:10 in Chicago: overlaps 09:00
                ends_at=utc(2026, 12, 8, 15, 10),
            )
        )
    r = client.post(f"{API}/appointments", json=book_body(cal, TUE_9))
    if blocks:
        assert r.status_code == 422 and r.json()["violations"][0]["code"] == "not_open", r.text
        assert "9:00 AM" not in r.json()["message"].split("open starts that day:")[-1], r.text
    else:
        assert r.status_code == 201, r.text


def test_a_closed_location_refuses_the_day(client, cal, sessions) -> None:
    from datetime import date

    from careline.db import transaction
    from careline.directory.models import LocationClosure

    with transaction(sessions) as db:
        db.add(LocationClosure(tenant_id=cal.tenant_id, location_id=cal.oak, date=date(2026, 12, 8)))
    r = client.post(f"{API}/appointments", json=book_body(cal, TUE_9))
    assert r.status_code == 422 and r.json()["violations"][0]["code"] == "not_open", r.text
    assert "none that day" in r.json()["message"], r.text
