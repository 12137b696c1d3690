"""The escalation's steps and times on the contact's timeline, audited queue reads, and a lost accept
race on the nurse console shown as a whole page."""

from __future__ import annotations

from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.contacts.models import ContactEvent
from tests.factories import signed_in

RED = "I can't catch my breath and my left arm hurts"


def _raise(app, world) -> dict:
    with signed_in(app, world.agent_a) as agent:
        cid = agent.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).json()["id"]
        agent.post(f"/api/v1/contacts/{cid}/screen", json={"text": RED})
        response = agent.post("/api/v1/escalations", json={"contact_id": cid})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_contact_timeline_keeps_the_escalation_times_and_advice(app, world, db, clock) -> None:
    esc = _raise(app, world)
    clock.advance(seconds=17)
    with signed_in(app, world.nurse_a) as nurse:
        nurse.post(f"/api/v1/escalations/{esc['id']}/accept")
        nurse.post(
            f"/api/v1/escalations/{esc['id']}/resolve",
            json={"disposition": "emergency", "advice": "Call 911 now; unlock the door."},
        )
    with signed_in(app, world.agent_a) as agent:
        timeline = agent.get(f"/api/v1/contacts/{esc['contact_id']}/timeline").json()
    steps = {e["kind"]: e["detail"] for e in timeline if e["kind"].startswith("escalation.")}
    assert list(steps) == ["escalation.raised", "escalation.accepted", "escalation.resolved"]
    assert steps["escalation.raised"]["urgency"] == "emergency"
    assert steps["escalation.accepted"]["time_to_clinician_seconds"] == 17
    assert steps["escalation.resolved"]["advice_given"] == "Call 911 now; unlock the door."
    kinds = db.scalars(select(ContactEvent.kind).where(ContactEvent.contact_id == esc["contact_id"])).all()
    assert kinds.count("escalation.raised") == 1


def test_reading_the_queue_is_audited_with_the_ids_shown(app, world, db) -> None:
    with signed_in(app, world.nurse_a) as nurse:
        assert nurse.get("/api/v1/escalations").json() == []
        esc = _raise(app, world)
        nurse.get("/api/v1/escalations")
        nurse.get("/nurse")
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "escalation.list")).all()
    assert [(r.detail["via"], r.detail["ids"]) for r in rows] == [
        ("api", [esc["id"]]),
        ("nurse console", [esc["id"]]),
    ]


def test_a_nurse_who_loses_the_accept_race_sees_the_console_with_the_reason(app, world, sessions) -> None:
    from careline.db import transaction
    from tests.factories import make_user

    with transaction(sessions) as s:
        second = make_user(s, "nurse4.a@test.example", "nurse", ["tenant-a"])
    esc = _raise(app, world)
    with signed_in(app, world.nurse_a) as nurse:
        assert nurse.post(f"/nurse/escalations/{esc['id']}/accept", follow_redirects=False).status_code == 303
    with signed_in(app, second) as late:
        page = late.post(f"/nurse/escalations/{esc['id']}/accept", follow_redirects=False)
    assert page.status_code == 409
    assert "<h1>Nurse console</h1>" in page.text and "already accepted" in page.text
