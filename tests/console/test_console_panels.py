"""The console's panels: next steps per reason, and booking from the contact with the outcome recorded."""

from __future__ import annotations

import re

from sqlalchemy import select

from careline.contacts.models import Contact, ContactReason
from careline.scheduling.models import Appointment
from tests.factories import CSRF, signed_in
from tests.scheduling.conftest import build_cal

HX = {"HX-Request": "true"}


def _contact(client, tenant_id: int) -> int:
    response = client.post(
        "/console/contacts", data={"tenant_id": tenant_id, "csrf_token": CSRF}, follow_redirects=False
    )
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_next_steps_follow_the_reasons_and_record_the_information_given(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        saved = client.post(
            f"/console/contacts/{cid}/notes",
            headers=HX,
            data={"text": "where do I park at the Oak Street office"},
        )
        assert saved.headers["HX-Trigger"] == "reasons-changed"
        steps = client.get(f"/console/contacts/{cid}/steps", headers=HX).text
        assert "Free lot behind." in steps and "Enter on Oak St, 2nd floor." in steps
        reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == cid)).one()
        location_id = re.search(r'name="location_id" value="(\d+)"', steps).group(1)
        done = client.post(
            f"/console/contacts/{cid}/steps/record",
            headers=HX,
            data={"reason_id": reason.id, "outcome": "information_given", "location_id": location_id},
        )
        assert done.status_code == 200 and done.headers["HX-Trigger"] == "step-recorded"
        assert "Recorded for location info: information given." in done.text
        # A later refresh of the panel still says what was done for that reason.
        again = client.get(f"/console/contacts/{cid}/steps", headers=HX).text
        assert "Recorded: information given" in again and "Recorded for" not in again
    db.expire_all()
    reason = db.get(ContactReason, reason.id)
    assert reason.outcome == "information_given" and reason.outcome_detail == {
        "location_id": int(location_id)
    }


def test_the_agent_books_the_next_open_time_and_the_reason_is_marked_booked(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        client.post(f"/console/contacts/{cid}/identify", data={"patient_id": cal.ann, "csrf_token": CSRF})
        client.post(f"/console/contacts/{cid}/reasons", data={"intent": "schedule"}, headers=HX)
        slots = client.post(
            f"/console/contacts/{cid}/schedule/search",
            headers=HX,
            data={"type_id": cal.office, "location_id": cal.oak},
        ).text
        assert "book-slot" in slots
        fields = dict(
            re.findall(r'name="(provider_id|location_id|type_id|start_at)" value="([^"]+)"', slots)[:4]
        )
        booked = client.post(f"/console/contacts/{cid}/schedule/book", headers=HX, data=fields)
        assert "Booked:" in booked.text and "Free lot behind." in booked.text
        again = client.post(f"/console/contacts/{cid}/schedule/book", headers=HX, data=fields)
        assert (
            "Nearest open times instead" in again.text
        )  # the same time is taken: alternatives, no double booking
    appt = db.scalars(select(Appointment).where(Appointment.contact_id == cid)).one()
    assert appt.patient_id == cal.ann
    reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == cid)).one()
    assert reason.outcome == "appointment_booked" and reason.outcome_detail["appointment_id"] == appt.id
    assert db.get(Contact, cid).patient_id == cal.ann


def test_booking_needs_an_identified_caller(app, world, sessions, clock) -> None:
    cal = build_cal(world, sessions)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        response = client.post(
            f"/console/contacts/{cid}/schedule/book",
            headers=HX,
            data={
                "provider_id": cal.kim,
                "location_id": cal.oak,
                "type_id": cal.office,
                "start_at": "2026-12-08T15:00:00+00:00",
            },
        )
    assert response.status_code == 422 and "identify the caller" in response.text
