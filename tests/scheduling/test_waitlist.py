"""The waitlist: freed time is offered (held) to the first waiting patient it suits."""

from __future__ import annotations

from careline.channels.models import OutboxMessage
from careline.jobs.models import Event
from careline.jobs.worker import load_handlers, run_due
from careline.scheduling.models import Appointment, AppointmentStatus, CancelReason, WaitlistEntry
from tests.scheduling import helpers as h
from tests.scheduling.conftest import book_body

API = "/api/v1/scheduling"


def _book(client, cal, start, **kw):
    r = client.post(f"{API}/appointments", json=book_body(cal, start, **kw))
    assert r.status_code == 201, r.text
    return r.json()


def _wait(client, cal, **kw):
    r = client.post(f"{API}/waitlist", json={"type_id": cal.office, **kw})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_cancellation_is_offered_to_the_waiting_patient_who_then_takes_it(
    client, cal, sessions, db
) -> None:
    load_handlers()
    blocker = _book(client, cal, "2026-12-08T15:00:00Z", patient=cal.bob)  # Tue 09:00
    later = _book(client, cal, "2026-12-10T15:00:00Z")  # Ann has Thursday 09:00
    entry = _wait(
        client,
        cal,
        patient_id=cal.ann,
        provider_ids=[cal.kim],
        current_appointment_id=later["id"],
        after="08:30",
    )
    assert entry["status"] == "waiting" and entry["latest_date"] == "2026-12-10"
    client.post(f"{API}/appointments/{blocker['id']}/cancel", json={"reason": "patient_request"})
    assert run_due(sessions) >= 1
    offered = client.get(f"{API}/waitlist/{entry['id']}").json()
    assert offered["status"] == "offered"
    hold = db.get(Appointment, offered["offer_appointment_id"])
    assert hold.status == AppointmentStatus.PENDING and hold.patient_id == cal.ann
    assert hold.start_at == h.utc(2026, 12, 8, 15)  # exactly the freed time
    messages = h.rows(db, OutboxMessage, related_type="waitlist_entry", related_id=entry["id"])
    assert messages and "an earlier time opened up" in messages[0].body
    assert [e.kind for e in h.rows(db, Event, channel="queue")] == ["waitlist.offer"]
    taken = client.post(f"{API}/waitlist/{entry['id']}/accept")
    assert taken.status_code == 200 and taken.json()["status"] == "booked"
    assert taken.json()["rescheduled_from_id"] == later["id"]
    db.rollback()
    old = db.get(Appointment, later["id"])
    assert old.status == AppointmentStatus.CANCELLED and old.cancel_reason == CancelReason.RESCHEDULED
    assert db.get(WaitlistEntry, entry["id"]).status == "booked"
    assert h.overlaps(db) == []


def test_declining_returns_to_waiting_and_the_time_goes_to_the_next_patient(
    client, cal, sessions, db
) -> None:
    load_handlers()
    blocker = _book(
        client, cal, "2026-12-08T15:00:00Z", patient=cal.kid, provider=cal.young, location=cal.main
    )
    first = _wait(client, cal, patient_id=cal.ann, provider_ids=[cal.young], type_id=cal.office)
    second = _wait(client, cal, patient_id=cal.kid, provider_ids=[cal.young])
    client.post(f"{API}/appointments/{blocker['id']}/cancel", json={"reason": "patient_request"})
    run_due(sessions)
    # Ann is an adult and Dr. Young sees children only: the offer skips her for the child.
    assert client.get(f"{API}/waitlist/{first['id']}").json()["status"] == "waiting"
    assert client.get(f"{API}/waitlist/{second['id']}").json()["status"] == "offered"
    declined = client.post(f"{API}/waitlist/{second['id']}/decline")
    assert declined.status_code == 200 and declined.json()["status"] == "waiting"
    assert client.post(f"{API}/waitlist/{second['id']}/decline").status_code == 409
    gone = client.post(f"{API}/waitlist/{second['id']}/cancel")
    assert gone.json()["status"] == "cancelled"
    listed = client.get(f"{API}/waitlist", params={"patient_id": cal.kid}).json()
    assert [e["status"] for e in listed] == ["cancelled"]


def test_an_offer_that_lapses_puts_the_entry_back(client, cal, sessions, clock, db) -> None:
    load_handlers()
    blocker = _book(client, cal, "2026-12-08T15:00:00Z", patient=cal.bob)
    entry = _wait(client, cal, patient_id=cal.ann, provider_ids=[cal.kim])
    client.post(f"{API}/appointments/{blocker['id']}/cancel", json={"reason": "weather"})
    run_due(sessions)
    assert client.get(f"{API}/waitlist/{entry['id']}").json()["status"] == "offered"
    clock.advance(minutes=121)
    run_due(sessions)
    db.rollback()
    assert db.get(WaitlistEntry, entry["id"]).status == "waiting"


def test_waitlist_input_is_checked(client, cal) -> None:
    r = client.post(f"{API}/waitlist", json={"type_id": cal.office, "patient_id": cal.b_patient})
    assert r.status_code == 404
    bad = client.post(
        f"{API}/waitlist",
        json={
            "type_id": cal.office,
            "patient_id": cal.ann,
            "earliest_date": "2026-12-20",
            "latest_date": "2026-12-10",
        },
    )
    assert bad.status_code == 422 and bad.json()["field"] == "latest_date"
