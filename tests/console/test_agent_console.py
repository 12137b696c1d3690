"""The agent console, driven like a browser would (HTMX posts and redirects), without a browser."""

from __future__ import annotations

import re

from sqlalchemy import select

from careline.audit.service import Actor
from careline.contacts.models import Contact, ContactReason
from careline.db import transaction
from careline.patients import service as patients
from tests.factories import CSRF, signed_in

HX = {"HX-Request": "true"}


def _patient(sessions, world):
    with transaction(sessions) as s:
        return patients.create_patient(
            s,
            tenant_id=world.tenant_a.id,
            actor=Actor("test"),
            first_name="John",
            last_name="Smith",
            dob="1961-03-04",
            phones=["312-555-0142"],
        ).id


def _contact(client, world, number: str = "") -> int:
    response = client.post(
        "/console/contacts",
        data={"tenant_id": world.tenant_a.id, "caller_number": number, "csrf_token": CSRF},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_a_simulated_call_waits_in_the_queue_and_is_offered_to_the_available_agent(
    app, world, sessions, db
) -> None:
    from careline.queues import service as queues

    with transaction(sessions) as s:
        queues.ensure_default_queues(s, world.tenant_a.id)
        queues.set_skills(s, world.agent_a.id, ["general", "scheduling"])
    with signed_in(app, world.agent_a) as client:
        response = client.post("/console/simulate", data={"csrf_token": CSRF}, follow_redirects=True)
        assert "A simulated caller is waiting" in response.text
        contact = db.scalars(select(Contact)).one()
        assert contact.status == "queued" and contact.simulated and contact.tenant_id == world.tenant_a.id
        client.post("/queues/presence", data={"state": "available"}, headers=HX)
        strip = client.post("/queues/next", headers=HX).text
        assert "Caller waiting" in strip and f"/queues/offers/{contact.id}/accept" in strip
        taken = client.post(
            f"/queues/offers/{contact.id}/accept", data={"csrf_token": CSRF}, follow_redirects=True
        )
        assert taken.status_code == 200 and "Caller:" in taken.text
    db.expire_all()
    contact = db.get(Contact, contact.id)
    assert contact.status == "active" and contact.agent_user_id == world.agent_a.id


def test_typing_a_red_flag_shows_the_banner_with_the_evidence_marked(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, world)
        text = "move my thursday visit, my chest has felt crushed since 6 am"
        html = client.post(f"/console/contacts/{cid}/preview", data={"text": text}, headers=HX).text
    assert 'id="red-flag-banner"' in html and "RED FLAG" in html
    assert "<mark>chest has felt crushed</mark>" in html
    assert "+ reschedule" in html and "+ clinical" in html


def test_a_harmless_text_shows_no_banner(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, world)
        html = client.post(
            f"/console/contacts/{cid}/preview", data={"text": "where do I park"}, headers=HX
        ).text
    assert "RED FLAG" not in html and "+ location info" in html


def test_saving_the_note_adds_every_reason_and_outcomes_can_be_recorded(app, world, db) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, world)
        html = client.post(
            f"/console/contacts/{cid}/notes",
            headers=HX,
            data={"text": "I need to reschedule and also where do I park"},
        ).text
        assert "reschedule" in html and "location info" in html
        reason = db.scalars(select(ContactReason).where(ContactReason.intent == "location_info")).one()
        done = client.post(
            f"/console/contacts/{cid}/reasons/{reason.id}/outcome",
            headers=HX,
            data={"outcome": "information_given"},
        )
        assert "information given" in done.text
        chip = client.post(f"/console/contacts/{cid}/reasons", data={"intent": "billing"}, headers=HX)
        assert chip.status_code == 200 and "billing" in chip.text
    intents = sorted(r.intent.value for r in db.scalars(select(ContactReason)))
    assert intents == ["billing", "location_info", "reschedule"]


def test_the_agent_finds_and_identifies_the_caller(app, world, sessions, db) -> None:
    patient_id = _patient(sessions, world)
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, world, "(312) 555-0142")
        screen = client.get(f"/console/contacts/{cid}")
        assert "This number belongs to" in screen.text and "John Smith" in screen.text
        found = client.post(
            f"/console/contacts/{cid}/lookup", data={"name": "Jon Smyth", "dob": "3/4/1961"}, headers=HX
        )
        assert "Smith, John" in found.text
        done = client.post(
            f"/console/contacts/{cid}/identify",
            data={"patient_id": patient_id, "csrf_token": CSRF},
            follow_redirects=True,
        )
        assert "Full record" in done.text and "03/04/1961" in done.text
    assert db.get(Contact, cid).patient_id == patient_id


def test_wrap_up_ends_the_contact_and_returns_to_the_console(app, world, db) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, world)
        client.post(f"/console/contacts/{cid}/reasons", data={"intent": "billing"}, headers=HX)
        response = client.post(
            f"/console/contacts/{cid}/wrap-up",
            follow_redirects=True,
            data={"notes": "done", "survey_consent": "true", "csrf_token": CSRF},
        )
        assert response.status_code == 200 and f"Contact {cid} wrapped up" in response.text
        again = client.post(f"/console/contacts/{cid}/notes", data={"text": "more"}, headers=HX)
        assert again.status_code == 409
    contact = db.get(Contact, cid)
    assert contact.status == "ended" and contact.survey_consent is True


def test_a_practice_manager_has_no_console(app, world) -> None:
    with signed_in(app, world.manager_a) as client:
        assert client.get("/console").status_code == 403


def test_a_red_flag_in_what_the_caller_already_said_shows_the_banner_at_once(app, world, sessions) -> None:
    from careline.audit.service import Actor
    from careline.contacts import service as contacts
    from careline.contacts.service import By

    with transaction(sessions) as s:
        contact = contacts.start_contact(s, By(None, Actor("test")), tenant_id=world.tenant_a.id)
        contacts.add_caller_line(s, contact, By(None, Actor("test")), "my dad's face is drooping on one side")
        cid = contact.id
    with signed_in(app, world.agent_a) as client:
        page = client.get(f"/console/contacts/{cid}").text
    assert 'id="caller-screening"' in page and "RED FLAG" in page and "<mark>" in page


def test_find_a_doctor_starts_from_the_callers_words_only_when_they_asked_for_a_doctor(
    app, world, sessions
) -> None:
    from careline.audit.service import Actor
    from careline.contacts import service as contacts
    from careline.contacts.service import By

    by = By(None, Actor("test"))
    with transaction(sessions) as s:
        wants = contacts.start_contact(s, by, tenant_id=world.tenant_a.id)
        contacts.add_caller_line(s, wants, by, "I'm new here and need a family doctor who takes Blue Cross")
        billing = contacts.start_contact(s, by, tenant_id=world.tenant_a.id)
        contacts.add_caller_line(s, billing, by, "I have a question about my bill")
        ids = wants.id, billing.id
    with signed_in(app, world.agent_a) as client:
        asked = client.get(f"/console/contacts/{ids[0]}").text
        other = client.get(f"/console/contacts/{ids[1]}").text
    need = re.compile(r'id="m-need"[^>]*value="([^"]*)"')
    assert need.search(asked).group(1) == "I&#39;m new here and need a family doctor who takes Blue Cross"
    assert need.search(other).group(1) == ""


def test_an_urgent_symptom_is_said_at_once_with_one_click_to_a_nurse(app, world, sessions, db) -> None:
    from careline.escalations.models import Escalation, Urgency

    with signed_in(app, world.agent_a) as client:
        cid = _contact(client, world)
        text = "I got a spider bite on my arm and the redness keeps spreading"
        shown = client.post(f"/console/contacts/{cid}/preview", headers=HX, data={"text": text}).text
        assert 'id="urgent-banner"' in shown and 'role="alert"' in shown and "Get a nurse now" in shown
        assert "<mark>" in shown and 'id="red-flag-banner"' not in shown
        routine = client.post(
            f"/console/contacts/{cid}/preview", headers=HX, data={"text": "I have a cold"}
        ).text
        assert "urgent-banner" not in routine
        raised = client.post(f"/console/contacts/{cid}/escalate", headers=HX, data={"text": text})
        assert raised.status_code == 200
    esc = db.scalars(select(Escalation).where(Escalation.contact_id == cid)).one()
    assert esc.urgency == Urgency.URGENT and esc.status == "open"
