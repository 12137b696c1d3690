"""Escalation end to end: agent raises -> nurses alerted live -> re-alert on the durable timer ->
one nurse accepts -> guided questions -> outcome back on the contact, all audited."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.channels.models import OutboxMessage
from careline.contacts.models import Contact, ContactReason
from careline.db import make_engine, make_session_factory, transaction
from careline.escalations.models import Escalation
from careline.jobs import worker
from careline.jobs.models import Job, JobStatus
from careline.tenants.models import Tenant
from tests.factories import signed_in

RED = "I can't catch my breath and my left arm hurts"


def _raise(app, world, text: str = RED) -> tuple[int, dict]:
    with signed_in(app, world.agent_a) as agent:
        cid = agent.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).json()["id"]
        agent.post(f"/api/v1/contacts/{cid}/screen", json={"text": text})
        response = agent.post("/api/v1/escalations", json={"contact_id": cid})
        assert response.status_code == 201, response.text
    return cid, response.json()


def test_an_agent_escalates_and_nurses_see_it_first_with_the_evidence(app, world, db, clock) -> None:
    cid, esc = _raise(app, world)
    assert esc["urgency"] == "emergency" and esc["status"] == "open" and "breathing" in esc["kinds"]
    assert "Stay on the line" in esc["script"]
    with signed_in(app, world.nurse_a) as nurse:
        queue = nurse.get("/api/v1/escalations").json()
        assert [e["id"] for e in queue] == [esc["id"]]
        page = nurse.get("/nurse").text
        assert "<mark>can&#39;t catch my breath and my left arm hurts</mark>" in page and "Accept" in page
    reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == cid)).all()
    assert [(r.intent.value, r.outcome.value if r.outcome else None) for r in reason] == [
        ("clinical", "nurse_escalated")
    ]
    assert db.scalars(select(AuditEvent.action).where(AuditEvent.action == "escalation.raise")).all()


def test_the_nurse_channel_hears_the_escalation_live(app, world) -> None:
    from careline.db import SYSTEM, open_session
    from careline.jobs.events import latest_id

    session = open_session(app.state.sessions, SYSTEM)
    start = latest_id(session)
    session.close()
    _raise(app, world)
    with (
        signed_in(app, world.nurse_a) as nurse,
        nurse.stream("GET", f"/events/stream?channels=nurses&after={start}") as response,
    ):
        body = "".join(response.iter_text())
    kinds = [json.loads(line[5:])["kind"] for line in body.splitlines() if line.startswith("data:")]
    assert "escalation.raised" in kinds


def test_nobody_accepting_re_alerts_and_notifies_the_supervisor_and_on_call(
    app, world, sessions, db, clock
) -> None:
    with transaction(sessions) as s:
        s.get(Tenant, world.tenant_a.id).settings = {
            "oncall": {"name": "Dr. On Call", "phone": "+13125550177"}
        }
    _, esc = _raise(app, world)
    assert worker.run_due(sessions) == 0  # not yet due
    clock.advance(seconds=61)
    worker.load_handlers()
    assert worker.run_due(sessions) == 1
    row = db.get(Escalation, esc["id"])
    db.refresh(row)
    assert row.realerts == 1 and row.supervisor_notified_at is not None and row.oncall_notified_at is not None
    page = db.scalars(select(OutboxMessage).where(OutboxMessage.related_type == "escalation")).one()
    assert page.to == "+13125550177" and "without a nurse" in page.body
    clock.advance(seconds=61)
    assert worker.run_due(sessions) == 1
    db.refresh(row)
    assert row.realerts == 2  # it keeps re-alerting until someone accepts


def test_accepting_stops_the_clock_and_cancels_the_timer(app, world, sessions, db, clock) -> None:
    _, esc = _raise(app, world)
    clock.advance(seconds=20)
    with signed_in(app, world.nurse_a) as nurse:
        accepted = nurse.post(f"/api/v1/escalations/{esc['id']}/accept").json()
    assert accepted["status"] == "accepted" and accepted["time_to_clinician_seconds"] == 20
    clock.advance(seconds=120)
    worker.load_handlers()
    assert worker.run_due(sessions) == 0
    timers = db.scalars(select(Job).where(Job.kind == "escalation.timeout")).all()
    assert [t.status for t in timers] == [JobStatus.CANCELLED]


def test_a_restart_keeps_the_timer(app, world, database_url, clock) -> None:
    _, esc = _raise(app, world)
    clock.advance(seconds=61)
    engine = make_engine(database_url)  # a fresh process: nothing in memory survives
    try:
        worker.load_handlers()
        assert worker.run_due(make_session_factory(engine)) == 1
    finally:
        engine.dispose()
    with signed_in(app, world.nurse_a) as nurse:
        assert nurse.get(f"/api/v1/escalations/{esc['id']}").json()["realerts"] == 1


def test_two_nurses_accepting_at_once_one_wins(app, world, sessions) -> None:
    from tests.factories import make_user

    with transaction(sessions) as s:
        make_user(s, "nurse2.a@test.example", "nurse", ["tenant-a"])
    _, esc = _raise(app, world)
    from careline.accounts.models import User

    with transaction(sessions) as s:
        second = s.scalars(select(User).where(User.email == "nurse2.a@test.example")).one()

    def take(user) -> int:
        with signed_in(app, user) as nurse:
            return nurse.post(f"/api/v1/escalations/{esc['id']}/accept").status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = sorted(pool.map(take, [world.nurse_a, second]))
    assert codes == [200, 409]


def test_guided_questions_and_a_lower_disposition_needs_a_reason(app, world, db) -> None:
    cid, esc = _raise(app, world)
    eid = esc["id"]
    with signed_in(app, world.nurse_a) as nurse:
        nurse.post(f"/api/v1/escalations/{eid}/accept")
        question = nurse.get(f"/api/v1/escalations/{eid}/next-question").json()
        assert question and question["text"]
        nurse.post(f"/api/v1/escalations/{eid}/answers", json={"question_id": question["id"], "yes": False})
        assert nurse.get(f"/api/v1/escalations/{eid}/next-question").json()["id"] != question["id"]
        refused = nurse.post(f"/api/v1/escalations/{eid}/resolve", json={"disposition": "urgent"})
        assert refused.status_code == 422 and refused.json()["field"] == "reason"
        done = nurse.post(
            f"/api/v1/escalations/{eid}/resolve",
            json={
                "disposition": "urgent",
                "reason": "breathing eased at rest, no chest pain",
                "advice": "Seen within 4 hours at urgent care; call 911 if worse.",
            },
        )
        assert done.status_code == 200 and done.json()["final_disposition"] == "urgent"
    contact = db.get(Contact, cid)
    assert contact.disposition == "urgent" and contact.disposition_set_by == "person"
    with signed_in(app, world.agent_a) as agent:
        status = agent.get(f"/console/contacts/{cid}/escalation").text
    assert "Nurse outcome: urgent" in status
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "escalation")).all()
    assert {"escalation.raise", "escalation.accept", "escalation.resolve"} <= set(actions)


def test_an_agent_cannot_accept_and_another_tenants_nurse_cannot_see_it(app, world) -> None:
    _, esc = _raise(app, world)
    with signed_in(app, world.agent_a) as agent:
        assert agent.post(f"/api/v1/escalations/{esc['id']}/accept").status_code == 403
    with signed_in(app, world.agent_b) as other:
        assert other.get(f"/api/v1/escalations/{esc['id']}").status_code == 404
    with signed_in(app, world.manager_a) as manager:
        assert manager.get("/nurse").status_code == 403


def test_the_console_escalate_button_raises_once(app, world, db) -> None:
    with signed_in(app, world.agent_a) as agent:
        cid = agent.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).json()["id"]
        first = agent.post(
            f"/console/contacts/{cid}/escalate", data={"text": RED}, headers={"HX-Request": "true"}
        )
        again = agent.post(
            f"/console/contacts/{cid}/escalate", data={"text": RED}, headers={"HX-Request": "true"}
        )
    assert (
        "Nurse being alerted" in first.text and "Stay on the line" in first.text and again.status_code == 200
    )
    assert len(db.scalars(select(Escalation)).all()) == 1


def test_a_timer_that_fires_as_a_nurse_accepts_does_not_re_alert(app, world, sessions, db, clock) -> None:
    from sqlalchemy.orm.attributes import set_committed_value

    from careline.db import SYSTEM, open_session
    from careline.escalations import service as escalations
    from careline.escalations.models import EscalationStatus

    _, esc = _raise(app, world)
    clock.advance(seconds=61)
    stale = open_session(sessions, SYSTEM)
    try:
        seen = stale.get(Escalation, esc["id"])  # the timer's view, read before the accept
        stale.commit()  # (on SQLite its write lock would block the accept)
        with signed_in(app, world.nurse_a) as nurse:
            assert nurse.post(f"/api/v1/escalations/{esc['id']}/accept").status_code == 200
        for name, value in (("status", EscalationStatus.OPEN), ("realerts", 0), ("oncall_notified_at", None)):
            set_committed_value(seen, name, value)  # still what the timer read
        assert escalations.on_timeout(stale, esc["id"]) is False
        stale.commit()
    finally:
        stale.close()
    row = db.get(Escalation, esc["id"])
    db.refresh(row)
    assert row.status == "accepted" and row.realerts == 0 and row.oncall_notified_at is None
