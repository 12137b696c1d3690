"""Races through the HTTP API against two real app processes sharing the test database.

Each test fires dozens of requests at once from a thread pool, spread over two uvicorn processes,
and then checks: exactly one winner, everyone else a 409, and no overlapping active appointments
left in the database (the invariant query). Runs on SQLite and on PostgreSQL like every db test.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from sqlalchemy import select

from careline.accounts import service as accounts
from careline.accounts.models import User
from careline.db import transaction
from careline.scheduling.models import Appointment, AppointmentStatus
from tests.live import LiveServer
from tests.scheduling import helpers as h
from tests.scheduling.conftest import build_cal

pytestmark = pytest.mark.slow
API = "/api/v1/scheduling"
CHICAGO = ZoneInfo("America/Chicago")
WORKERS = 32


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[list[LiveServer]]:
    """Two app processes on free ports against the same database (started together)."""
    with ThreadPoolExecutor(2) as pool:
        started = list(pool.map(lambda _: LiveServer(database_url), range(2)))
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def live(world, sessions, servers):
    """The calendar world, and an API client per server signed in with the tenant-A agent's token."""
    cal = build_cal(world, sessions)
    with transaction(sessions) as db:
        _token, secret = accounts.create_token(db, db.get(User, world.agent_a.id), "race")
    headers = {"Authorization": f"Bearer {secret}"}
    clients = [
        httpx.Client(
            base_url=s.url, headers=headers, timeout=60, limits=httpx.Limits(max_connections=WORKERS)
        )
        for s in servers
    ]
    yield cal, clients
    for client in clients:
        client.close()


def _day() -> date:
    """A weekday at least two days ahead in Chicago (past any notice, well inside the horizon)."""
    day = datetime.now(CHICAGO).date() + timedelta(days=2)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return day


def _at(day: date, hh: int, mm: int = 0) -> str:
    return datetime.combine(day, time(hh, mm), CHICAGO).astimezone(UTC).isoformat()


def _fire(clients: list[httpx.Client], calls: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """Send every call at once, alternating between the two servers."""
    servers = itertools.cycle(clients)
    jobs = [(next(servers), method, path, body) for method, path, body in calls]
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda j: j[0].request(j[1], j[2], json=j[3]), jobs))


def _patients(sessions, cal, n: int) -> list[int]:
    with transaction(sessions) as db:
        return [h.patient(db, cal.tenant_id, "Racer", f"Number{i}", "1970-01-01") for i in range(n)]


def _active(db, **where) -> list[Appointment]:
    db.rollback()
    stmt = select(Appointment).where(Appointment.status.in_(["pending", "booked", "arrived", "fulfilled"]))
    for key, value in where.items():
        stmt = stmt.where(getattr(Appointment, key) == value)
    return list(db.scalars(stmt))


def test_sixty_bookings_of_the_same_and_overlapping_times_one_wins(live, sessions, db) -> None:
    cal, clients = live
    day = _day()
    patients = _patients(sessions, cal, 60)
    # Every request covers 09:15-09:20: 20-minute visits at 09:00 and 09:15, 40-minute ones too.
    shapes = [(9, 0, cal.office), (9, 15, cal.office), (9, 0, cal.new), (9, 15, cal.new)]
    calls = []
    for i, patient in enumerate(patients):
        hh, mm, kind = shapes[i % len(shapes)]
        body = {
            "provider_id": cal.kim,
            "location_id": cal.oak,
            "type_id": kind,
            "patient_id": patient,
            "start_at": _at(day, hh, mm),
        }
        calls.append(("POST", f"{API}/appointments", body))
    responses = _fire(clients, calls)
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 409: 59}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    losers = [r.json() for r in responses if r.status_code == 409]
    assert all(body["reason"] == "provider_busy" and body["alternatives"] for body in losers)
    assert len(_active(db, provider_id=cal.kim)) == 1
    assert h.overlaps(db) == []


def test_one_patient_booked_with_fifty_providers_at_once_gets_one(live, sessions, db) -> None:
    cal, clients = live
    day = _day()
    with transaction(sessions) as s:
        oak = s.get(h.Location, cal.oak)
        doctors = [h.provider(s, cal.tenant_id, f"Race{i}", locations=[oak]).id for i in range(50)]
        for doctor in doctors:
            h.weekly(s, doctor, cal.oak, str(day.weekday()), "08:00", "12:00")
    calls = [
        (
            "POST",
            f"{API}/appointments",
            {
                "provider_id": d,
                "location_id": cal.oak,
                "type_id": cal.office,
                "patient_id": cal.bob,
                "start_at": _at(day, 10),
            },
        )
        for d in doctors
    ]
    responses = _fire(clients, calls)
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 49}
    assert {r.json()["reason"] for r in responses if r.status_code == 409} == {"patient_busy"}
    assert len(_active(db, patient_id=cal.bob)) == 1
    assert h.overlaps(db) == []


def test_reschedules_racing_each_other_and_new_bookings(live, sessions, db) -> None:
    cal, clients = live
    day = _day()
    first = clients[0].post(
        f"{API}/appointments",
        json={
            "provider_id": cal.kim,
            "location_id": cal.oak,
            "type_id": cal.office,
            "patient_id": cal.bob,
            "start_at": _at(day, 9),
        },
    )
    assert first.status_code == 201, first.text
    appt = first.json()["id"]
    others = _patients(sessions, cal, 25)
    target = _at(day, 10)
    calls = [("POST", f"{API}/appointments/{appt}/reschedule", {"start_at": target}) for _ in range(25)]
    calls += [
        (
            "POST",
            f"{API}/appointments",
            {
                "provider_id": cal.kim,
                "location_id": cal.oak,
                "type_id": cal.office,
                "patient_id": p,
                "start_at": target,
            },
        )
        for p in others
    ]
    responses = _fire(clients, calls)
    codes = Counter(r.status_code for r in responses)
    assert codes[200] + codes[201] == 1 and codes[409] == 49, codes
    at_ten = [a for a in _active(db, provider_id=cal.kim) if a.start_at == datetime.fromisoformat(target)]
    assert len(at_ten) == 1
    # Bob still has exactly one visit: the old one (if a booking won) or the moved one.
    assert len(_active(db, patient_id=cal.bob)) == 1
    assert h.overlaps(db) == []
    # Now twenty moves of the same visit to twenty different times: only one can happen.
    current = _active(db, patient_id=cal.bob)[0].id
    moves = [("POST", f"{API}/appointments/{current}/reschedule", {"start_at": _at(day, 11, 0)})]
    moves += [
        ("POST", f"{API}/appointments/{current}/reschedule", {"start_at": _at(day, 8, m)})
        for m in (0, 15, 30, 45)
    ] * 5
    responses = _fire(clients, moves[:20])
    assert Counter(r.status_code for r in responses)[200] == 1
    assert len(_active(db, patient_id=cal.bob)) == 1
    assert h.overlaps(db) == []


def test_confirming_a_hold_races_bookings_of_its_time(live, sessions, db) -> None:
    cal, clients = live
    day = _day()
    held = clients[0].post(
        f"{API}/holds",
        json={
            "provider_id": cal.kim,
            "location_id": cal.oak,
            "type_id": cal.office,
            "patient_id": cal.bob,
            "start_at": _at(day, 9),
            "minutes": 5,
        },
    )
    assert held.status_code == 201, held.text
    hold_id = held.json()["id"]
    others = _patients(sessions, cal, 25)
    calls = [("POST", f"{API}/holds/{hold_id}/confirm", {}) for _ in range(25)]
    calls += [
        (
            "POST",
            f"{API}/appointments",
            {
                "provider_id": cal.kim,
                "location_id": cal.oak,
                "type_id": cal.office,
                "patient_id": p,
                "start_at": _at(day, 9),
            },
        )
        for p in others
    ]
    responses = _fire(clients, calls)
    confirms, bookings = responses[:25], responses[25:]
    assert Counter(r.status_code for r in confirms) == {200: 1, 409: 24}
    assert Counter(r.status_code for r in bookings) == {409: 25}  # the hold kept the time
    (kept,) = _active(db, provider_id=cal.kim)
    assert kept.id == hold_id and kept.status == AppointmentStatus.BOOKED
    assert h.overlaps(db) == []


def test_an_expired_hold_races_its_confirmation_against_new_bookings(live, sessions, db) -> None:
    cal, clients = live
    day = _day()
    start = datetime.fromisoformat(_at(day, 9))
    with transaction(sessions) as s:
        stale = Appointment(
            tenant_id=cal.tenant_id,
            provider_id=cal.kim,
            location_id=cal.oak,
            patient_id=cal.bob,
            type_id=cal.office,
            start_at=start,
            end_at=start + timedelta(minutes=20),
            status=AppointmentStatus.PENDING,
            hold_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        s.add(stale)
        s.flush()
        hold_id = stale.id
    others = _patients(sessions, cal, 25)
    calls = []
    for p in others:  # interleave: confirm, book, confirm, book...
        calls.append(("POST", f"{API}/holds/{hold_id}/confirm", {}))
        calls.append(
            (
                "POST",
                f"{API}/appointments",
                {
                    "provider_id": cal.kim,
                    "location_id": cal.oak,
                    "type_id": cal.office,
                    "patient_id": p,
                    "start_at": _at(day, 9),
                },
            )
        )
    responses = _fire(clients, calls)
    wins = [r for r in responses if r.status_code in (200, 201)]
    assert len(wins) == 1, Counter(r.status_code for r in responses)
    assert Counter(r.status_code for r in responses)[409] == 49
    assert len(_active(db, provider_id=cal.kim)) == 1
    assert h.overlaps(db) == []
