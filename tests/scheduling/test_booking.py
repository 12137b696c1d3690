"""Booking through the API: book, 409 with alternatives, rule messages, holds, reschedule, cancel,
the confirmation message and the .ics file."""

from __future__ import annotations

from icalendar import Calendar
from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.channels.models import MessageChannel, MessageStatus, OutboxMessage
from careline.jobs.models import Job, JobStatus
from careline.jobs.worker import load_handlers, run_due
from careline.scheduling.models import Appointment, AppointmentHistory, AppointmentStatus, CancelReason
from tests.scheduling import helpers as h
from tests.scheduling.conftest import book_body

API = "/api/v1/scheduling"
TUE_9 = "2026-12-08T15:00:00Z"  # Tuesday 09:00 in Chicago


def book(client, cal, start=TUE_9, **kw):
    return client.post(f"{API}/appointments", json=book_body(cal, start, **kw))


def test_booking_an_open_time_returns_the_appointment_in_local_time(client, cal, db) -> None:
    r = book(client, cal)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "booked"
    assert body["provider_name"] == "Dr. Kim" and body["location_name"] == "Oak Street"
    assert body["start_local"] == "2026-12-08T09:00:00-06:00"
    assert body["end_at"] == "2026-12-08T15:20:00Z"
    assert h.rows(db, AppointmentHistory, appointment_id=body["id"])[0].to_status == AppointmentStatus.BOOKED
    actions = [
        e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.object_id == str(body["id"])))
    ]
    assert "appointment.book" in actions


def test_the_same_time_twice_is_a_409_with_the_nearest_alternatives(client, cal) -> None:
    assert book(client, cal).status_code == 201
    r = book(client, cal, patient=cal.bob)
    assert r.status_code == 409
    body = r.json()
    assert body["reason"] == "provider_busy"
    assert "Dr. Kim is already booked at that time" in body["message"]
    starts = [a["start_at"] for a in body["alternatives"]]
    assert len(starts) == 5 and TUE_9.replace("Z", "+00:00") not in starts
    assert "2026-12-08T15:30:00+00:00" in starts  # the next start on the 15-minute grid after it
    assert all(a["provider_id"] == cal.kim for a in body["alternatives"])


def test_overlapping_types_of_different_lengths_conflict(client, cal) -> None:
    wed_9 = "2026-12-09T15:00:00Z"
    assert book(client, cal, wed_9, type_id=cal.office).status_code == 201  # 09:00-09:20
    # A 40-minute new-patient visit at 08:30 would run into it.
    r = book(client, cal, "2026-12-09T14:30:00Z", type_id=cal.new, patient=cal.bob)
    assert r.status_code == 409 and r.json()["reason"] == "provider_busy"
    # One at 08:15 ends at 08:55: fine; so is the next grid start after the office visit.
    assert book(client, cal, "2026-12-09T14:15:00Z", type_id=cal.new, patient=cal.bob).status_code == 201
    assert (
        book(client, cal, "2026-12-09T15:30:00Z", type_id=cal.new, patient=cal.kid).status_code == 422
    )  # age


def test_the_same_patient_cannot_be_in_two_places_at_once(client, cal) -> None:
    assert book(client, cal).status_code == 201
    r = book(client, cal, provider=cal.lee, type_id=cal.office)  # Ann with Dr. Lee at the same time
    assert r.status_code == 409
    assert r.json()["reason"] == "patient_busy"
    assert "this patient already has an appointment at that time" in r.json()["message"]


def test_booking_rules_give_clear_messages(client, cal) -> None:
    too_soon = book(client, cal, "2026-12-07T17:00:00Z", type_id=cal.new)  # today 11:00, needs 24 h
    assert too_soon.status_code == 422
    assert too_soon.json()["message"] == "too soon: New patient visit needs 24 hours' notice"
    too_far = book(client, cal, "2027-03-15T14:00:00Z", type_id=cal.new)  # 98 days out
    assert too_far.status_code == 422
    assert too_far.json()["message"] == "too far ahead: bookable up to 90 days out"
    child = book(client, cal, patient=cal.kid)
    assert child.json()["message"] == "Dr. Kim does not see patients under 18"
    not_new = book(client, cal, provider=cal.lee, type_id=cal.office, patient=cal.bob)
    assert not_new.json()["message"] == "Dr. Lee is not accepting new patients"
    assert not_new.json()["violations"][0]["code"] == "not_accepting_new"
    adult = book(client, cal, "2026-12-08T15:00:00Z", provider=cal.young, location=cal.main)
    assert adult.json()["message"] == "Dr. Young does not see patients 18 and over"
    referral = book(client, cal, type_id=cal.consult)
    assert referral.json()["message"] == "Ortho consult needs a referral; record it to book"
    assert book(client, cal, type_id=cal.consult, has_referral=True).status_code == 201
    follow = book(client, cal, "2026-12-09T15:00:00Z", type_id=cal.follow, patient=cal.bob)
    assert follow.json()["message"] == "Follow-up is for established patients; this patient is new to Dr. Kim"
    same_day = book(client, cal, "2026-12-08T16:00:00Z", type_id=cal.sick, patient=cal.bob)
    assert same_day.json()["message"] == "too far ahead: bookable up to today only"


def test_a_time_outside_the_calendar_is_refused_with_the_open_starts(client, cal) -> None:
    r = book(client, cal, "2026-12-08T19:00:00Z")  # Tuesday 13:00 at Oak Street: Dr. Kim is at Main then
    assert r.status_code == 422
    assert "Dr. Kim has no open Office visit time at Oak Street on Tue Dec 8 1:00 PM" in r.json()["message"]
    off_grid = book(client, cal, "2026-12-08T15:05:00Z")
    assert off_grid.status_code == 422 and "9:00 AM, 9:15 AM" in off_grid.json()["message"]
    naive = book(client, cal, "2026-12-08T09:00:00")
    assert naive.status_code == 422 and "offset" in naive.json()["message"]


def test_the_confirmation_is_queued_with_directions_and_preparation(client, cal, db) -> None:
    r = book(client, cal, "2026-12-09T15:00:00Z", type_id=cal.new)
    assert r.status_code == 201, r.text
    messages = h.rows(db, OutboxMessage, related_id=r.json()["id"])
    by_channel = {m.channel: m for m in messages}
    assert set(by_channel) == {MessageChannel.EMAIL, MessageChannel.SMS}
    email = by_channel[MessageChannel.EMAIL]
    assert email.to == "ann@example.com" and email.status == MessageStatus.QUEUED
    assert "Wednesday, December 9 at 9:00 AM CST" in email.body
    assert "Directions: Enter on Oak St, 2nd floor." in email.body
    assert "How to prepare: Bring your insurance card" in email.body
    assert email.attachments[0]["content_type"] == "text/calendar"
    assert by_channel[MessageChannel.SMS].to == "+13125550142"
    # Bob gave no consent: the message is kept, marked as having nowhere to go.
    r2 = book(client, cal, "2026-12-09T16:00:00Z", patient=cal.bob)
    (kept,) = h.rows(db, OutboxMessage, related_id=r2.json()["id"])
    assert kept.status == MessageStatus.NO_ADDRESS


def test_the_ics_file_carries_the_local_time_and_its_zone(client, cal) -> None:
    appt = book(client, cal).json()
    r = client.get(f"{API}/appointments/{appt['id']}.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    parsed = Calendar.from_ical(r.content)
    event = parsed.events[0]
    assert str(event.get("summary")) == "Office visit with Dr. Kim"
    assert event.decoded("dtstart").isoformat() == "2026-12-08T09:00:00-06:00"
    assert [tz.tz_name for tz in parsed.timezones] == ["America/Chicago"]
    assert "Oak Street" in str(event.get("location"))


def test_reschedule_moves_the_booking_atomically(client, cal, db) -> None:
    first = book(client, cal).json()
    r = client.post(f"{API}/appointments/{first['id']}/reschedule", json={"start_at": "2026-12-08T15:10:00Z"})
    # 09:10 overlaps the old 09:00-09:20 of the same patient and provider: allowed, the old is released.
    assert r.status_code == 422 or r.status_code == 200  # 09:10 is off the 15-minute grid
    r = client.post(f"{API}/appointments/{first['id']}/reschedule", json={"start_at": "2026-12-08T15:15:00Z"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["rescheduled_from_id"] == first["id"] and moved["start_local"] == "2026-12-08T09:15:00-06:00"
    old = db.get(Appointment, first["id"])
    assert old.status == AppointmentStatus.CANCELLED and old.cancel_reason == CancelReason.RESCHEDULED
    assert h.overlaps(db) == []


def test_a_failed_reschedule_keeps_the_old_booking(client, cal, db) -> None:
    mine = book(client, cal).json()
    book(client, cal, "2026-12-08T16:00:00Z", patient=cal.bob)  # Bob has 10:00
    r = client.post(f"{API}/appointments/{mine['id']}/reschedule", json={"start_at": "2026-12-08T16:00:00Z"})
    assert r.status_code == 409 and r.json()["alternatives"]
    # The old time shows among the alternatives: it is Ann's own, free for her move.
    assert "2026-12-08T15:00:00+00:00" in [a["start_at"] for a in r.json()["alternatives"]]
    db.rollback()
    assert db.get(Appointment, mine["id"]).status == AppointmentStatus.BOOKED


def test_cancel_needs_a_known_reason_and_frees_the_time(client, cal, db) -> None:
    appt = book(client, cal).json()
    bad = client.post(f"{API}/appointments/{appt['id']}/cancel", json={"reason": "bored"})
    assert bad.status_code == 422
    r = client.post(f"{API}/appointments/{appt['id']}/cancel", json={"reason": "patient_ill", "note": "flu"})
    assert (
        r.status_code == 200
        and r.json()["status"] == "cancelled"
        and r.json()["cancel_reason"] == "patient_ill"
    )
    again = client.post(f"{API}/appointments/{appt['id']}/cancel", json={"reason": "patient_ill"})
    assert again.status_code == 409
    assert book(client, cal, patient=cal.bob).status_code == 201
    cancelled = [
        m for m in h.rows(db, OutboxMessage, related_id=appt["id"]) if m.subject.startswith("Cancelled")
    ]
    assert cancelled


def test_a_hold_keeps_the_time_until_confirmed(client, cal, db) -> None:
    r = client.post(f"{API}/holds", json={**book_body(cal, TUE_9), "minutes": 5})
    assert r.status_code == 201, r.text
    hold = r.json()
    assert hold["status"] == "pending" and hold["hold_expires_at"] == "2026-12-07T15:05:00Z"
    assert book(client, cal, patient=cal.bob).status_code == 409  # held
    assert h.rows(db, OutboxMessage, related_id=hold["id"]) == []  # nothing sent for a hold
    confirmed = client.post(f"{API}/holds/{hold['id']}/confirm", json={})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "booked"
    assert client.post(f"{API}/holds/{hold['id']}/confirm", json={}).status_code == 409
    (job,) = h.rows(db, Job, key=f"scheduling.hold:{hold['id']}")
    assert job.status == JobStatus.CANCELLED


def test_an_expired_hold_frees_the_time_even_before_the_job_runs(client, cal, clock, db) -> None:
    hold = client.post(f"{API}/holds", json={**book_body(cal, TUE_9), "minutes": 2}).json()
    clock.advance(minutes=3)
    slots = client.get(
        f"{API}/availability",
        params={
            "type_id": cal.office,
            "provider_ids": [cal.kim],
            "date_from": "2026-12-08",
            "date_to": "2026-12-08",
        },
    )
    assert TUE_9.replace("Z", "+00:00").replace("+00:00", "Z") in [
        s["start_at"] for s in slots.json()["slots"]
    ]
    r = book(client, cal, patient=cal.bob)
    assert r.status_code == 201, r.text
    db.rollback()
    expired = db.get(Appointment, hold["id"])
    assert (
        expired.status == AppointmentStatus.CANCELLED and expired.cancel_reason == CancelReason.HOLD_EXPIRED
    )
    assert client.post(f"{API}/holds/{hold['id']}/confirm", json={}).status_code == 409
    assert h.overlaps(db) == []


def test_the_expiry_job_releases_a_hold_and_a_lapsed_hold_can_still_be_confirmed(
    client, cal, clock, sessions, db
):
    load_handlers()
    hold = client.post(f"{API}/holds", json={**book_body(cal, TUE_9), "minutes": 1}).json()
    assert run_due(sessions) == 0  # not due yet
    clock.advance(minutes=2)
    assert run_due(sessions) >= 1
    db.rollback()
    assert db.get(Appointment, hold["id"]).cancel_reason == CancelReason.HOLD_EXPIRED
    # Nobody took the time: confirming books it afresh.
    r = client.post(f"{API}/holds/{hold['id']}/confirm", json={})
    assert r.status_code == 200 and r.json()["status"] == "booked" and r.json()["id"] != hold["id"]


def test_release_and_status_changes(client, cal, clock) -> None:
    hold = client.post(f"{API}/holds", json=book_body(cal, TUE_9)).json()
    released = client.post(f"{API}/holds/{hold['id']}/release")
    assert released.status_code == 200 and released.json()["cancel_reason"] == "hold_released"
    appt = book(client, cal, "2026-12-07T15:15:00Z").json()  # today 09:15
    early = client.post(f"{API}/appointments/{appt['id']}/status", json={"status": "noshow"})
    assert early.status_code == 422
    clock.advance(minutes=20)
    assert client.post(f"{API}/appointments/{appt['id']}/status", json={"status": "arrived"}).json()[
        "status"
    ] == ("arrived")
    assert (
        client.post(f"{API}/appointments/{appt['id']}/status", json={"status": "fulfilled"}).status_code
        == 200
    )
    bad = client.post(f"{API}/appointments/{appt['id']}/status", json={"status": "noshow"})
    assert bad.status_code == 409


def test_listing_and_reading_appointments_is_audited(client, cal, db) -> None:
    appt = book(client, cal).json()
    listed = client.get(f"{API}/appointments", params={"patient_id": cal.ann})
    assert [a["id"] for a in listed.json()] == [appt["id"]]
    assert client.get(f"{API}/appointments").status_code == 422
    assert client.get(f"{API}/appointments/{appt['id']}").status_code == 200
    history = client.get(f"{API}/appointments/{appt['id']}/history").json()
    assert [x["to_status"] for x in history] == ["booked"]
    db.rollback()
    actions = {e.action for e in db.scalars(select(AuditEvent))}
    assert {"appointment.book", "appointment.list", "appointment.read"} <= actions


def test_another_tenants_rows_cannot_be_combined(client, cal) -> None:
    r = book(client, cal, patient=cal.b_patient)
    assert r.status_code == 404  # tenant B's patient does not exist for tenant A's agent
