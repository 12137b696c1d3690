"""Escalation rules around the main flow: queue order, urgent timers, on-call without a number,
cancelling, who may work an escalation, the guided questions' ceiling, and tenant-limited alerts."""

from __future__ import annotations

import json

from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.channels.models import MessageStatus, OutboxMessage
from careline.db import SYSTEM, open_session, transaction
from careline.escalations.models import Escalation
from careline.jobs import worker
from careline.jobs.events import latest_id
from careline.jobs.models import Job, JobStatus
from tests.factories import make_user, signed_in

RED = "I can't catch my breath and my left arm hurts"
MILD = "I have had a sore throat and a runny nose since Monday"


def _contact(agent, world, text: str) -> int:
    cid = agent.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).json()["id"]
    agent.post(f"/api/v1/contacts/{cid}/screen", json={"text": text})
    return cid


def _raise(app, world, text: str = RED) -> dict:
    with signed_in(app, world.agent_a) as agent:
        response = agent.post("/api/v1/escalations", json={"contact_id": _contact(agent, world, text)})
    assert response.status_code == 201, response.text
    return response.json()


def _events_after(app, user, start: int, channel: str) -> list[dict]:
    with (
        signed_in(app, user) as client,
        client.stream("GET", f"/events/stream?channels={channel}&after={start}") as response,
    ):
        body = "".join(response.iter_text())
    return [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]


def test_emergencies_come_before_urgent_ones_then_the_longest_waiting(app, world, clock) -> None:
    urgent = _raise(app, world, MILD)
    clock.advance(seconds=5)
    first = _raise(app, world)
    clock.advance(seconds=5)
    second = _raise(app, world)
    assert urgent["urgency"] == "urgent" and urgent["suggested_disposition"] == "urgent"
    with signed_in(app, world.nurse_a) as nurse:
        queue = nurse.get("/api/v1/escalations").json()
    assert [e["id"] for e in queue] == [first["id"], second["id"], urgent["id"]]
    assert [e["waiting_seconds"] for e in queue] == [5, 0, 10]


def test_raising_again_returns_the_open_escalation(app, world, db) -> None:
    with signed_in(app, world.agent_a) as agent:
        cid = _contact(agent, world, RED)
        first = agent.post("/api/v1/escalations", json={"contact_id": cid}).json()
        again = agent.post("/api/v1/escalations", json={"contact_id": cid}).json()
    assert again["id"] == first["id"]
    assert len(db.scalars(select(Escalation)).all()) == 1
    assert len(db.scalars(select(Job).where(Job.kind == "escalation.timeout")).all()) == 1


def test_an_urgent_escalation_waits_thirty_minutes_before_re_alerting(
    app, world, sessions, db, clock
) -> None:
    esc = _raise(app, world, MILD)
    worker.load_handlers()
    clock.advance(seconds=61)
    assert worker.run_due(sessions) == 0
    clock.advance(minutes=29)
    assert worker.run_due(sessions) == 1
    assert db.get(Escalation, esc["id"]).realerts == 1


def test_without_an_on_call_number_the_page_is_kept_for_follow_up_and_sent_once(
    app, world, sessions, db, clock
) -> None:
    esc = _raise(app, world)
    start = _latest(app)
    worker.load_handlers()
    for _ in range(3):
        clock.advance(seconds=61)
        assert worker.run_due(sessions) == 1
    row = db.get(Escalation, esc["id"])
    assert row.realerts == 3
    pages = db.scalars(select(OutboxMessage).where(OutboxMessage.related_id == esc["id"])).all()
    assert [(p.to, p.status) for p in pages] == [(None, MessageStatus.NO_ADDRESS)]
    realerts = db.scalars(select(AuditEvent).where(AuditEvent.action == "escalation.realert")).all()
    assert [a.detail["realerts"] for a in realerts] == [1, 2, 3]
    # the supervisors' wallboard hears every re-alert
    heard = _events_after(app, world.supervisor_a, start, "wallboard")
    assert [e["kind"] for e in heard].count("escalation.realert") == 3
    with signed_in(app, world.agent_a) as agent:
        status = agent.get(f"/console/contacts/{esc['contact_id']}/escalation").text
    assert "re-alerted 3" in status and "Stay on the line" in status


def _latest(app) -> int:
    session = open_session(app.state.sessions, SYSTEM)
    try:
        return latest_id(session)
    finally:
        session.close()


def test_cancelling_stops_the_timer_and_needs_a_reason(app, world, sessions, db, clock) -> None:
    esc = _raise(app, world)
    with signed_in(app, world.agent_a) as agent:
        assert agent.post(f"/api/v1/escalations/{esc['id']}/cancel", json={"reason": ""}).status_code == 422
        done = agent.post(
            f"/api/v1/escalations/{esc['id']}/cancel", json={"reason": "caller hung up; 911 called"}
        )
        assert done.status_code == 200 and done.json()["status"] == "cancelled"
        again = agent.post(f"/api/v1/escalations/{esc['id']}/cancel", json={"reason": "twice"})
        assert again.status_code == 409
        assert "Escalation cancelled" in agent.get(f"/console/contacts/{esc['contact_id']}/escalation").text
    clock.advance(seconds=120)
    worker.load_handlers()
    assert worker.run_due(sessions) == 0
    timers = db.scalars(select(Job).where(Job.kind == "escalation.timeout")).all()
    assert [t.status for t in timers] == [JobStatus.CANCELLED]
    with signed_in(app, world.nurse_a) as nurse:
        assert nurse.get("/api/v1/escalations").json() == []
        assert nurse.post(f"/api/v1/escalations/{esc['id']}/accept").status_code == 409


def test_only_the_nurse_who_accepted_works_the_escalation(app, world, sessions) -> None:
    esc = _raise(app, world)
    eid = esc["id"]
    with transaction(sessions) as s:
        other = make_user(s, "nurse3.a@test.example", "nurse", ["tenant-a"])
    with signed_in(app, world.nurse_a) as nurse:
        question = nurse.get(f"/api/v1/escalations/{eid}/next-question").json()
        before = nurse.post(
            f"/api/v1/escalations/{eid}/answers", json={"question_id": question["id"], "yes": False}
        )
        assert before.status_code == 409  # accept first
        assert nurse.post(f"/api/v1/escalations/{eid}/accept").status_code == 200
    with signed_in(app, other) as second:
        assert (
            second.post(
                f"/api/v1/escalations/{eid}/answers", json={"question_id": question["id"], "yes": True}
            )
        ).status_code == 409
        assert (
            second.post(f"/api/v1/escalations/{eid}/resolve", json={"disposition": "emergency"})
        ).status_code == 409
    with signed_in(app, world.nurse_a) as nurse:
        wrong = nurse.post(f"/api/v1/escalations/{eid}/answers", json={"question_id": "no.such", "yes": True})
        assert wrong.status_code == 422 and wrong.json()["field"] == "question_id"


def test_a_yes_never_lowers_and_ends_the_questions_and_higher_needs_no_reason(app, world, db) -> None:
    esc = _raise(app, world, MILD)  # urgent (a person escalated a self-care complaint)
    eid = esc["id"]
    with signed_in(app, world.nurse_a) as nurse:
        nurse.post(f"/api/v1/escalations/{eid}/accept")
        asked = []
        while (question := nurse.get(f"/api/v1/escalations/{eid}/next-question").json())[
            "if_yes"
        ] != "routine":
            assert question["if_yes"] in ("emergency", "urgent")  # most serious first
            asked.append(question["id"])
            nurse.post(
                f"/api/v1/escalations/{eid}/answers", json={"question_id": question["id"], "yes": False}
            )
        answered = nurse.post(
            f"/api/v1/escalations/{eid}/answers", json={"question_id": question["id"], "yes": True}
        ).json()
        assert asked and answered["suggested_disposition"] == "urgent"  # a routine "yes" does not lower it
        assert nurse.get(f"/api/v1/escalations/{eid}/next-question").json() is None  # the first yes decides
        lower = nurse.post(f"/api/v1/escalations/{eid}/resolve", json={"disposition": "routine"})
        assert lower.status_code == 422 and lower.json()["field"] == "reason"
        done = nurse.post(f"/api/v1/escalations/{eid}/resolve", json={"disposition": "emergency"})
    assert done.status_code == 200 and done.json()["lower_reason"] is None
    assert db.get(Escalation, eid).final_disposition == "emergency"


def test_an_ended_contact_cannot_be_escalated(app, world) -> None:
    with signed_in(app, world.agent_a) as agent:
        cid = _contact(agent, world, RED)
        ended = agent.post(f"/api/v1/contacts/{cid}/wrap-up", json={})
        assert ended.status_code == 200 and ended.json()["status"] == "ended", ended.text
        refused = agent.post("/api/v1/escalations", json={"contact_id": cid})
    assert refused.status_code == 409 and "call the caller back" in refused.text


def test_only_the_raising_tenants_nurses_hear_the_alert(app, world, sessions) -> None:
    with transaction(sessions) as s:
        nurse_b = make_user(s, "nurse.b@test.example", "nurse", ["tenant-b"])
    start = _latest(app)
    esc = _raise(app, world)
    assert "escalation.raised" in [e["kind"] for e in _events_after(app, world.nurse_a, start, "nurses")]
    assert _events_after(app, nurse_b, start, "nurses") == []
    with signed_in(app, nurse_b) as other:
        assert other.get("/api/v1/escalations").json() == []
        assert other.post(f"/api/v1/escalations/{esc['id']}/accept").status_code == 404
        assert other.get("/nurse").status_code == 200 and "No escalations waiting" in other.get("/nurse").text


def test_a_practice_manager_can_neither_raise_nor_read_escalations(app, world) -> None:
    esc = _raise(app, world)
    with signed_in(app, world.manager_a) as manager:
        assert manager.get("/api/v1/escalations").status_code == 403
        assert manager.get(f"/api/v1/escalations/{esc['id']}").status_code == 403
        assert manager.post("/api/v1/escalations", json={"contact_id": esc["contact_id"]}).status_code == 403


def test_reading_an_escalation_is_audited(app, world, db) -> None:
    esc = _raise(app, world)
    with signed_in(app, world.nurse_a) as nurse:
        nurse.get(f"/api/v1/escalations/{esc['id']}")
        nurse.get(f"/nurse/escalations/{esc['id']}")
    reads = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "escalation.read", AuditEvent.object_id == str(esc["id"])
        )
    ).all()
    assert len(reads) == 2
