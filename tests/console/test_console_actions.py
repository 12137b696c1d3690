"""Everything else an agent does without leaving the contact: register a new caller, move, cancel or
waitlist their visits, transfer them to a person, and wrap up with an outcome per reason."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from careline.contacts.models import Contact, ContactEvent, ContactReason
from careline.db import transaction
from careline.patients.models import Patient, PatientPhone
from careline.queues import service as queues
from careline.queues.models import AgentPresence, PresenceState
from careline.scheduling import service as scheduling
from careline.scheduling.models import Appointment, WaitlistEntry
from tests.directory import factories as dirf
from tests.factories import CSRF, signed_in
from tests.scheduling.conftest import build_cal
from tests.scheduling.helpers import ACTOR

HX = {"HX-Request": "true"}


def _contact(client, tenant_id: int, number: str = "") -> int:
    response = client.post(
        "/console/contacts",
        data={"tenant_id": tenant_id, "caller_number": number, "csrf_token": CSRF},
        follow_redirects=False,
    )
    return int(response.headers["location"].rsplit("/", 1)[1])


def _booked(sessions, cal, patient_id: int, *, provider_id: int | None = None) -> Appointment:
    """Book the first open office visit at Oak Street for the patient."""
    with transaction(sessions) as s:
        found = scheduling.find_availability(
            s,
            type_id=cal.office,
            location_id=cal.oak,
            provider_ids=[provider_id] if provider_id else None,
            limit=1,
        )
        slot = found.slots[0]
        appt = scheduling.book(
            s,
            actor=ACTOR,
            provider_id=slot.provider_id,
            location_id=slot.location_id,
            type_id=cal.office,
            patient_id=patient_id,
            start_at=slot.start_at,
        )
        s.expunge(appt)
        return appt


def _identified(client, cal, patient_id: int) -> int:
    cid = _contact(client, cal.tenant_id)
    client.post(f"/console/contacts/{cid}/identify", data={"patient_id": patient_id, "csrf_token": CSRF})
    return cid


# ------------------------------------------------------------------------------ new patient


def test_a_new_caller_is_registered_from_the_contact_with_the_number_they_called_from(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id, "(312) 555-0177")
        page = client.get(f"/console/contacts/{cid}").text
        assert "New patient: register them here" in page and 'value="(312) 555-0177"' in page
        done = client.post(
            f"/console/contacts/{cid}/register",
            headers=HX,
            data={
                "first_name": "Nora",
                "last_name": "Newman",
                "dob": "4/5/1990",
                "zip": "60601",
                "preferred_language": "es",
                "referral_source": "web_search",
                "consent_sms": "true",
            },
        )
        assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/console/contacts/{cid}"
        page = client.get(f"/console/contacts/{cid}").text
        assert "Nora" in page and "Full record" in page and "New patient: register" not in page
    contact = db.get(Contact, cid)
    patient = db.get(Patient, contact.patient_id)
    assert contact.new_patient is True
    assert (patient.last_name, patient.preferred_language, patient.zip) == ("Newman", "es", "60601")
    assert patient.referral_source == "web_search" and patient.consent_sms is True
    phones = db.scalars(select(PatientPhone.e164).where(PatientPhone.patient_id == patient.id)).all()
    assert phones == ["+13125550177"]


def test_registration_errors_come_back_in_the_form_with_what_was_typed(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    before = db.scalar(select(Patient.id).order_by(Patient.id.desc()).limit(1))
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        bad = client.post(
            f"/console/contacts/{cid}/register",
            headers=HX,
            data={"first_name": "Nora", "last_name": "Newman", "dob": "2/30/1990", "zip": "60601"},
        )
        assert bad.status_code == 422
        assert 'role="alert"' in bad.text and 'value="Newman"' in bad.text and 'value="60601"' in bad.text
        bad_zip = client.post(
            f"/console/contacts/{cid}/register",
            headers=HX,
            data={"first_name": "Nora", "last_name": "Newman", "dob": "4/5/1990", "zip": "00000"},
        )
        assert bad_zip.status_code == 422 and "zip" in bad_zip.text.lower()
    assert db.scalar(select(Patient.id).order_by(Patient.id.desc()).limit(1)) == before
    assert db.get(Contact, cid).patient_id is None


def test_a_caller_who_is_already_registered_is_offered_instead_of_a_duplicate(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        form = {"first_name": "Ann", "last_name": "Archer", "dob": "5/1/1980"}
        dup = client.post(f"/console/contacts/{cid}/register", headers=HX, data=form)
        assert dup.status_code == 409 and "look like this one" in dup.text
        assert f'"patient_id": "{cal.ann}"' in dup.text and "This is the caller" in dup.text
        assert "register a new patient anyway" in dup.text
        picked = client.post(f"/console/contacts/{cid}/identify", headers=HX, data={"patient_id": cal.ann})
        assert picked.status_code == 204 and picked.headers["HX-Redirect"] == f"/console/contacts/{cid}"
        assert db.get(Contact, cid).patient_id == cal.ann
        # A second caller with the same name and birthday who really is someone else.
        other = _contact(client, cal.tenant_id)
        anyway = client.post(
            f"/console/contacts/{other}/register", headers=HX, data={**form, "confirm_new": "true"}
        )
        assert anyway.status_code == 204
    db.expire_all()
    assert db.get(Contact, other).patient_id not in (None, cal.ann)


# ------------------------------------------------------------------------------ visits


def test_the_callers_upcoming_visits_are_listed_with_their_actions(app, world, sessions, clock) -> None:
    cal = build_cal(world, sessions)
    appt = _booked(sessions, cal, cal.ann)
    with signed_in(app, world.agent_a) as client:
        unknown = _contact(client, cal.tenant_id)
        assert "Identify the caller" in client.get(f"/console/contacts/{unknown}/appointments").text
        cid = _identified(client, cal, cal.ann)
        listed = client.get(f"/console/contacts/{cid}/appointments").text
        assert f'id="appt-{appt.id}"' in listed and "Office visit" in listed and "Oak Street" in listed
        assert "Reschedule" in listed and "Cancel visit" in listed and "Waitlist for earlier" in listed
        bob = _identified(client, cal, cal.bob)
        assert "No upcoming visits" in client.get(f"/console/contacts/{bob}/appointments").text


def test_cancelling_a_visit_from_the_contact_records_the_reason_and_frees_the_time(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    appt = _booked(sessions, cal, cal.ann)
    with signed_in(app, world.agent_a) as client:
        cid = _identified(client, cal, cal.ann)
        client.post(f"/console/contacts/{cid}/reasons", data={"intent": "cancel"}, headers=HX)
        bad = client.post(
            f"/console/contacts/{cid}/appointments/{appt.id}/cancel", headers=HX, data={"reason": "bored"}
        )
        assert bad.status_code == 422 and "reason must be one of" in bad.text
        done = client.post(
            f"/console/contacts/{cid}/appointments/{appt.id}/cancel",
            headers=HX,
            data={"reason": "patient_ill"},
        )
        assert done.status_code == 200 and "Cancelled: Office visit" in done.text
        assert done.headers["HX-Trigger"] == "visits-changed" and "No upcoming visits" in done.text
        again = client.post(
            f"/console/contacts/{cid}/appointments/{appt.id}/cancel",
            headers=HX,
            data={"reason": "patient_ill"},
        )
        assert again.status_code == 409
    db.expire_all()
    row = db.get(Appointment, appt.id)
    assert row.status == "cancelled" and row.cancel_reason == "patient_ill"
    reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == cid)).one()
    assert reason.intent == "cancel" and reason.outcome == "appointment_cancelled"
    assert reason.outcome_detail == {"appointment_id": appt.id, "reason": "patient_ill"}


def test_an_agent_cannot_touch_a_visit_that_is_not_the_callers(app, world, sessions, clock, db) -> None:
    cal = build_cal(world, sessions)
    bobs = _booked(sessions, cal, cal.bob)
    with signed_in(app, world.agent_a) as client:
        cid = _identified(client, cal, cal.ann)
        for action, data in (("cancel", {"reason": "patient_ill"}), ("times", {})):
            response = client.post(
                f"/console/contacts/{cid}/appointments/{bobs.id}/{action}", headers=HX, data=data
            )
            assert response.status_code == 422 and "not the caller" in response.text
    db.expire_all()
    assert db.get(Appointment, bobs.id).status == "booked"


def test_rescheduling_from_the_contact_moves_the_visit_atomically(app, world, sessions, clock, db) -> None:
    cal = build_cal(world, sessions)
    appt = _booked(sessions, cal, cal.ann, provider_id=cal.kim)
    with signed_in(app, world.agent_a) as client:
        cid = _identified(client, cal, cal.ann)
        times = client.post(
            f"/console/contacts/{cid}/appointments/{appt.id}/times",
            headers=HX,
            data={"same_provider": "true"},
        ).text
        assert "Move here" in times and "Book</button>" not in times
        assert f"/appointments/{appt.id}/reschedule" in times
        slots = re.findall(r'name="(provider_id|location_id|type_id|start_at)" value="([^"]+)"', times)
        fields = dict(slots[4:8])  # the second open time (the first is the visit's own neighbour)
        assert fields["provider_id"] == str(cal.kim)
        moved = client.post(
            f"/console/contacts/{cid}/appointments/{appt.id}/reschedule", headers=HX, data=fields
        )
        assert moved.status_code == 200 and "Moved to" in moved.text
        assert moved.headers["HX-Trigger"] == "visits-changed"
        # The old visit is gone: moving it again is refused with a message, nothing else changes.
        stale = client.post(
            f"/console/contacts/{cid}/appointments/{appt.id}/reschedule", headers=HX, data=fields
        )
        assert stale.status_code in (409, 422)
    db.expire_all()
    old = db.get(Appointment, appt.id)
    new = db.scalars(select(Appointment).where(Appointment.rescheduled_from_id == appt.id)).one()
    assert old.status == "cancelled" and old.cancel_reason == "rescheduled"
    assert new.status == "booked" and new.start_at.isoformat() == fields["start_at"].replace("Z", "+00:00")
    reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == cid)).one()
    assert reason.intent == "reschedule" and reason.outcome == "appointment_rescheduled"


def test_moving_to_a_taken_time_keeps_the_visit_and_offers_the_nearest_times(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    appt = _booked(sessions, cal, cal.ann, provider_id=cal.kim)
    taken = _booked(sessions, cal, cal.bob, provider_id=cal.kim)
    with signed_in(app, world.agent_a) as client:
        cid = _identified(client, cal, cal.ann)
        clash = client.post(
            f"/console/contacts/{cid}/appointments/{appt.id}/reschedule",
            headers=HX,
            data={
                "provider_id": cal.kim,
                "location_id": taken.location_id,
                "type_id": cal.office,
                "start_at": taken.start_at.isoformat(),
            },
        )
        assert clash.status_code == 409 and clash.headers["HX-Retarget"] == f"#appt-{appt.id}-times"
        assert "Nearest open times instead" in clash.text and "Move here" in clash.text
    db.expire_all()
    assert db.get(Appointment, appt.id).status == "booked"


def test_the_caller_goes_on_the_waitlist_for_an_earlier_time_or_a_first_opening(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    appt = _booked(sessions, cal, cal.ann)
    with signed_in(app, world.agent_a) as client:
        unknown = _contact(client, cal.tenant_id)
        refused = client.post(
            f"/console/contacts/{unknown}/waitlist", headers=HX, data={"type_id": cal.office}
        )
        assert refused.status_code == 422 and "identify the caller" in refused.text
        cid = _identified(client, cal, cal.ann)
        earlier = client.post(
            f"/console/contacts/{cid}/waitlist", headers=HX, data={"appointment_id": appt.id}
        )
        assert earlier.status_code == 200 and "an earlier time than the booked visit" in earlier.text
        bob = _identified(client, cal, cal.bob)
        first = client.post(
            f"/console/contacts/{bob}/waitlist",
            headers=HX,
            data={"type_id": cal.office, "location_id": cal.oak, "time_of_day": "morning"},
        )
        assert first.status_code == 200 and "the first matching opening" in first.text
    entries = {e.patient_id: e for e in db.scalars(select(WaitlistEntry))}
    assert entries[cal.ann].current_appointment_id == appt.id
    assert entries[cal.bob].location_id == cal.oak and entries[cal.bob].before_local == "12:00"
    outcomes = db.scalars(select(ContactReason.outcome).where(ContactReason.contact_id.in_([cid, bob])))
    assert set(outcomes) == {"waitlisted"}


# ------------------------------------------------------------------------------ transfer


def test_a_transfer_to_a_person_or_department_is_recorded_on_a_reason(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    with transaction(sessions) as s:
        billing = dirf.department(s, cal.tenant_id, name="Billing office", transfer_number="3125550160")
        other = dirf.department(s, world.tenant_b.id, name="B billing")
        billing_id, other_id = billing.id, other.id
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        page = client.get(f"/console/contacts/{cid}").text
        assert "Billing office" in page and "B billing" not in page
        empty = client.post(f"/console/contacts/{cid}/transfer", headers=HX, data={"target": "  "})
        assert empty.status_code == 422 and "who or where" in empty.text
        foreign = client.post(
            f"/console/contacts/{cid}/transfer", headers=HX, data={"department_id": other_id}
        )
        assert foreign.status_code == 422
        client.post(f"/console/contacts/{cid}/reasons", data={"intent": "billing"}, headers=HX)
        done = client.post(
            f"/console/contacts/{cid}/transfer",
            headers=HX,
            data={"department_id": billing_id, "warm": "true", "note": "disputes a bill"},
        )
        assert done.status_code == 200 and "Warm transfer to Billing office" in done.text
        assert "(312) 555-0160" in done.text
        person = client.post(
            f"/console/contacts/{cid}/transfer", headers=HX, data={"target": "Dr. Patel's nurse Jo"}
        )
        assert "Transferred to Dr. Patel&#39;s nurse Jo" in person.text  # escaped
    reasons = {r.intent: r for r in db.scalars(select(ContactReason).where(ContactReason.contact_id == cid))}
    assert reasons["billing"].outcome == "transferred"
    assert reasons["billing"].outcome_detail["department_id"] == billing_id
    assert reasons["speak_to_staff"].outcome_detail["target"] == "Dr. Patel's nurse Jo"
    kinds = db.scalars(select(ContactEvent.kind).where(ContactEvent.contact_id == cid)).all()
    assert kinds.count("contact.transferred") == 2
    with signed_in(app, world.agent_a) as client:
        shown = client.get(f"/console/contacts/{cid}/timeline", headers=HX).text
    assert 'contact transferred <span class="muted">→ Billing office</span>' in shown


# ------------------------------------------------------------------------------ wrap-up


def test_wrap_up_takes_an_outcome_per_open_reason_and_sets_where_the_agent_goes(
    app, world, sessions, clock, db
) -> None:
    cal = build_cal(world, sessions)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        client.post(f"/console/contacts/{cid}/reasons", data={"intent": "billing"}, headers=HX)
        client.post(f"/console/contacts/{cid}/reasons", data={"intent": "records"}, headers=HX)
        ids = dict(
            db.execute(
                select(ContactReason.intent, ContactReason.id).where(ContactReason.contact_id == cid)
            ).all()
        )
        form = client.get(f"/console/contacts/{cid}/wrap-reasons").text
        assert form.count('name="reason_outcome"') == 2 and "message taken" in form
        unknown = client.post(
            f"/console/contacts/{cid}/wrap-up",
            data={"csrf_token": CSRF, "reason_id": [999999], "reason_outcome": ["message_taken"]},
            follow_redirects=False,
        )
        assert unknown.status_code == 422
        assert db.get(Contact, cid).status == "active"
        done = client.post(
            f"/console/contacts/{cid}/wrap-up",
            data={
                "csrf_token": CSRF,
                "reason_id": [ids["billing"], ids["records"]],
                "reason_outcome": ["message_taken", "unresolved"],
                "next_state": "break",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == f"/console?done={cid}"
    db.expire_all()
    reasons = {r.intent: r for r in db.scalars(select(ContactReason).where(ContactReason.contact_id == cid))}
    assert reasons["billing"].outcome == "message_taken" and reasons["records"].outcome == "unresolved"
    assert db.get(Contact, cid).status == "ended"
    assert db.get(AgentPresence, world.agent_a.id).state == PresenceState.BREAK


def test_after_wrap_up_a_ready_agent_is_offered_the_next_caller(app, world, sessions, clock, db) -> None:
    cal = build_cal(world, sessions)
    with transaction(sessions) as s:
        queues.ensure_default_queues(s, cal.tenant_id)
        queues.set_skills(s, world.agent_a.id, ["general", "scheduling"])
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        waiting = client.post(
            "/console/simulate", data={"tenant_id": cal.tenant_id, "csrf_token": CSRF}, follow_redirects=False
        )
        assert waiting.status_code == 303
        client.post(
            f"/console/contacts/{cid}/wrap-up",
            data={"csrf_token": CSRF, "next_state": "available"},
            follow_redirects=False,
        )
    db.expire_all()
    presence = db.get(AgentPresence, world.agent_a.id)
    assert presence.state == PresenceState.AVAILABLE and presence.offer_contact_id is not None


@pytest.mark.parametrize("state", ["on_contact", "nonsense"])
def test_wrap_up_refuses_a_next_state_it_cannot_set(app, world, sessions, clock, db, state) -> None:
    cal = build_cal(world, sessions)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        response = client.post(
            f"/console/contacts/{cid}/wrap-up",
            data={"csrf_token": CSRF, "next_state": state},
            follow_redirects=False,
        )
    if state == "nonsense":
        assert response.status_code == 422 and db.get(Contact, cid).status == "active"
    else:  # staying "on a contact" after it ended makes no sense: the agent is left as they were
        assert response.status_code == 303


# ------------------------------------------------------------------------------ directory


def test_the_directory_search_finds_departments_open_first_and_outside_resources(
    world, sessions, clock, db
) -> None:
    from careline.directory import service as directory
    from careline.queues.routing import search_directory

    with transaction(sessions) as s:
        a = world.tenant_a.id
        directory.seed_default_resources(s, a)
        always = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        dirf.department(s, a, name="Radiology scheduling", kind="radiology", intents=[], hours=always)
        dirf.department(
            s,
            a,
            name="Radiology after hours",
            kind="radiology",
            intents=[],
            hours={"sun": [["01:00", "02:00"]]},
        )
        dirf.department(s, a, name="Patient billing", kind="billing", intents=["billing"], hours=always)
        dirf.department(s, world.tenant_b.id, name="Radiology B", kind="radiology", intents=[])
    found = search_directory(db, a, "radiol")
    names = [d["name"] for d in found["departments"]]
    assert names == [
        "Radiology scheduling",
        "Radiology after hours",
    ]  # open now first, the other tenant's never
    assert found["departments"][0]["open_now"] and not found["departments"][1]["open_now"]
    by_intent = search_directory(db, a, "I have a question about my bill")
    assert [d["name"] for d in by_intent["departments"]] == ["Patient billing"]
    poison = search_directory(db, a, "my son swallowed bleach")
    assert poison["resources"][0]["name"].startswith("Poison Control")
    assert search_directory(db, a, "pharm")["resources"][0]["name"] == "Your pharmacy"
    assert search_directory(db, a, "zz") == {"departments": [], "resources": []}


def test_the_agent_routes_a_caller_outside_from_the_search(app, world, sessions, clock, db) -> None:
    from careline.directory import service as directory
    from careline.directory.models import OutsideResource

    cal = build_cal(world, sessions)
    with transaction(sessions) as s:
        directory.seed_default_resources(s, cal.tenant_id)
        directory.seed_default_resources(s, world.tenant_b.id)
    poison_a, poison_b = (
        db.scalar(
            select(OutsideResource.id).where(
                OutsideResource.tenant_id == tid, OutsideResource.name.startswith("Poison")
            )
        )
        for tid in (cal.tenant_id, world.tenant_b.id)
    )
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, cal.tenant_id)
        hits = client.get(f"/console/contacts/{cid}/directory", params={"q": "poison"}, headers=HX).text
        assert "Poison Control" in hits and "Caller routed here" in hits
        none = client.get(f"/console/contacts/{cid}/directory", params={"q": "xylophone"}, headers=HX).text
        assert "Nothing in the directory matches" in none
        foreign = client.post(
            f"/console/contacts/{cid}/route-outside", headers=HX, data={"resource_id": poison_b}
        )
        assert foreign.status_code == 422
        done = client.post(
            f"/console/contacts/{cid}/route-outside", headers=HX, data={"resource_id": poison_a}
        )
        assert done.status_code == 200 and "Caller routed to Poison Control" in done.text
    reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == cid)).one()
    assert reason.intent == "out_of_scope" and reason.outcome == "routed_outside"
    assert reason.outcome_detail["resource_id"] == poison_a
