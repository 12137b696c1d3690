"""Live figures match a direct count; the API and pages work end to end."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from careline.contacts import service as contacts
from careline.contacts.models import Contact, ContactStatus
from careline.db import transaction
from careline.queues import service
from careline.queues.models import AgentPresence, PresenceState
from tests.factories import signed_in
from tests.queues import helpers as h


def test_live_figures_match_a_direct_count(sessions, world, clock, db) -> None:
    rng = random.Random(5)
    with transaction(sessions) as s:
        q = h.queue(s, world.tenant_a.id, service_level_seconds=30)
        other = h.queue(s, world.tenant_a.id, "billing")
        agent = h.agent(s, ["scheduling"], available=False)
        h.agent(s, ["scheduling"], available=False)
        h.agent(s, ["billing"], available=False)
        on_break = h.agent(s, ["scheduling"], available=False)
        service.set_presence(s, on_break.id, PresenceState.BREAK)
        h.waiting(s, world.tenant_a.id, other.id)
        for _ in range(40):
            contact = h.waiting(s, world.tenant_a.id, q.id)
            clock.advance(seconds=rng.randint(1, 70))
            fate = rng.random()
            if fate < 0.6:
                service.set_presence(s, agent.id, PresenceState.AVAILABLE)
                offer = service.current_offer(s, agent.id)
                service.accept(s, h.by(agent), offer.contact.id)
                contacts.wrap_up(s, offer.contact, h.by(agent))
                service.set_presence(s, agent.id, PresenceState.WRAP_UP)
            elif fate < 0.85:
                service.abandon(s, contact, h.SYSTEM)
            clock.advance(seconds=rng.randint(1, 20))
        stats = service.queue_stats(s, [q])[0]
        queue_id, target = q.id, q.service_level_seconds

    # The direct count, from the contacts themselves.
    rows = db.execute(
        select(Contact.status, Contact.queued_at, Contact.answered_at, Contact.abandoned_at).where(
            Contact.id.in_(
                select(service.QueueEntry.contact_id).where(service.QueueEntry.queue_id == queue_id)
            )
        )
    ).all()
    waiting = [r for r in rows if r.status in (ContactStatus.QUEUED, ContactStatus.OFFERED)]
    answered = [r for r in rows if r.answered_at is not None]
    abandoned = [r for r in rows if r.status is ContactStatus.ABANDONED]
    quick = [r for r in answered if (r.answered_at - r.queued_at).total_seconds() <= target]
    late_abandoned = [r for r in abandoned if (r.abandoned_at - r.queued_at).total_seconds() > target]
    assert stats.waiting == len(waiting) > 0
    assert stats.longest_wait_seconds == (clock.now - min(r.queued_at for r in waiting)).total_seconds()
    assert stats.answered == len(answered) and stats.abandoned == len(abandoned)
    assert stats.entered == len(rows) == 40
    assert stats.service_level == round(len(quick) / (len(answered) + len(late_abandoned)), 4)
    assert stats.abandonment_rate == round(len(abandoned) / (len(answered) + len(abandoned)), 4)
    waits = [(r.answered_at - r.queued_at).total_seconds() for r in answered]
    assert stats.average_answer_seconds == round(sum(waits) / len(waits), 1)
    assert stats.agents == {"available": 0, "on_contact": 0, "wrap_up": 1, "break": 1, "offline": 1}


def test_figures_count_only_today_in_the_clients_zone(sessions, world, clock) -> None:
    with transaction(sessions) as s:
        q = h.queue(s, world.tenant_a.id)
        yesterday = h.waiting(s, world.tenant_a.id, q.id)
        service.abandon(s, yesterday, h.SYSTEM)
        clock.advance(hours=16)  # 07:00 Chicago -> the next local day
        h.waiting(s, world.tenant_a.id, q.id)
        stats = service.queue_stats(s, [q])[0]
        assert (stats.entered, stats.abandoned, stats.waiting) == (1, 0, 1)
        assert stats.service_level is None and stats.abandonment_rate is None
        week = service.queue_stats(s, [q], since=clock.now - timedelta(days=7))[0]
        assert (week.entered, week.abandoned) == (2, 1)


def test_the_offer_flow_through_the_api(app, sessions, world, clock) -> None:
    with transaction(sessions) as s:
        q = h.queue(s, world.tenant_a.id)
        service.set_skills(s, world.agent_a.id, ["scheduling"])
    with signed_in(app, world.agent_a) as client:
        assert client.get("/api/v1/presence").json()["state"] == "offline"
        assert client.post("/api/v1/queue/offer").status_code == 409
        response = client.put("/api/v1/presence", json={"state": "available"})
        assert response.status_code == 200 and response.json()["skills"] == ["scheduling"]
        assert client.post("/api/v1/queue/offer").json() == {"offer": None}
        start = client.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).json()
        # An agent can put a contact in line (here their own, handing it on).
        entry = client.post(f"/api/v1/contacts/{start['id']}/enqueue", json={"queue_id": q.id})
        assert entry.status_code == 201 and entry.json()["queue_id"] == q.id
        with transaction(sessions) as s:
            s.get(AgentPresence, world.agent_a.id).current_contact_id = None
        client.put("/api/v1/presence", json={"state": "available"})
        offer = client.post("/api/v1/queue/offer").json()["offer"]
        assert offer["contact_id"] == start["id"] and offer["queue"] == q.name
        assert client.get("/api/v1/queue/offer").json()["offer"]["contact_id"] == start["id"]
        declined = client.post(f"/api/v1/queue/offers/{start['id']}/decline").json()
        assert declined["offer"]["contact_id"] == start["id"]  # nobody else is free: it comes back
        accepted = client.post(f"/api/v1/queue/offers/{start['id']}/accept")
        assert accepted.json() == {
            "contact_id": start["id"],
            "status": "active",
            "agent_user_id": world.agent_a.id,
        }
        assert client.post(f"/api/v1/queue/offers/{start['id']}/accept").status_code == 409
        assert client.put("/api/v1/presence", json={"state": "available"}).status_code == 409
        stats = client.get(f"/api/v1/queues/{q.id}/stats").json()
        assert stats["answered"] == 1 and stats["waiting"] == 0
        assert [s["queue_id"] for s in client.get("/api/v1/queue/stats").json()] == [q.id]


def test_abandon_through_the_api(app, sessions, world, clock, client) -> None:
    with transaction(sessions) as s:
        q = h.queue(s, world.tenant_a.id)
        contact = h.waiting(s, world.tenant_a.id, q.id)
    assert client.post(f"/api/v1/contacts/{contact.id}/abandon").json()["status"] == "abandoned"
    assert client.post(f"/api/v1/contacts/{contact.id}/abandon").status_code == 409


def test_supervisors_manage_queues_and_skills(app, sessions, world) -> None:
    with signed_in(app, world.supervisor_a) as client:
        body = {"tenant_id": world.tenant_a.id, "name": "Referrals", "skill": "referrals"}
        created = client.post("/api/v1/queues", json=body)
        assert created.status_code == 201 and created.json()["service_level_seconds"] == 30
        assert client.post("/api/v1/queues", json=body).status_code == 409
        other = {**body, "tenant_id": world.tenant_b.id}
        assert client.post("/api/v1/queues", json=other).status_code == 404
        queue_id = created.json()["id"]
        patched = client.patch(
            f"/api/v1/queues/{queue_id}", json={"priority": 5, "service_level_seconds": 20}
        )
        assert patched.json()["priority"] == 5 and patched.json()["service_level_seconds"] == 20
        assert client.patch(f"/api/v1/queues/{queue_id}", json={"skill": "a b/c"}).status_code == 422
        assert [q["name"] for q in client.get("/api/v1/queues").json()] == ["Referrals"]
        skills = client.put(
            f"/api/v1/agents/{world.agent_a.id}/skills", json={"skills": ["referrals", "spanish"]}
        )
        assert skills.json()["skills"] == ["referrals", "spanish"]
        assert (
            client.put(f"/api/v1/agents/{world.agent_b.id}/skills", json={"skills": ["x"]}).status_code == 404
        )
        agents = {a["user_id"]: a for a in client.get("/api/v1/agents").json()}
        assert world.agent_b.id not in agents
        assert agents[world.agent_a.id]["skills"] == ["referrals", "spanish"]
        assert agents[world.agent_a.id]["state"] == "offline"


def test_callbacks_through_the_api(app, sessions, world, clock, client) -> None:
    with transaction(sessions) as s:
        q = h.queue(s, world.tenant_a.id)
    due = (clock.now + timedelta(hours=1)).isoformat()
    created = client.post(
        "/api/v1/callbacks",
        json={"tenant_id": world.tenant_a.id, "number": "312-555-0133", "due_at": due, "queue_id": q.id},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending" and body["number"] == "+13125550133"
    assert [c["id"] for c in client.get("/api/v1/callbacks?open=true").json()] == [body["id"]]
    assert client.get("/api/v1/callbacks?status=completed").json() == []
    done = client.post(f"/api/v1/callbacks/{body['id']}/complete", json={"reached": True, "note": "spoke"})
    assert done.json()["status"] == "completed"
    assert client.post(f"/api/v1/callbacks/{body['id']}/cancel").status_code == 409
    bad = client.post("/api/v1/callbacks", json={"tenant_id": world.tenant_b.id, "number": "3125550133"})
    assert bad.status_code == 422


def test_the_strip_shows_my_offer_and_accepting_opens_the_contact(app, sessions, world, clock) -> None:
    with transaction(sessions) as s:
        q = h.queue(s, world.tenant_a.id, name="Scheduling line")
        service.set_skills(s, world.agent_a.id, ["scheduling"])
        service.set_presence(s, world.agent_a.id, PresenceState.AVAILABLE)
        contact = h.waiting(s, world.tenant_a.id, q.id, red_flag=True)
    with signed_in(app, world.agent_a) as client:
        page = client.get("/queues/strip")
        assert page.status_code == 200
        assert "Scheduling line: 1" in page.text and "Accept" in page.text and "red flag" in page.text
        assert f'sse-connect="/events/stream?channels=user:{world.agent_a.id}"' in page.text
        accepted = client.post(f"/queues/offers/{contact.id}/accept", headers={"HX-Request": "true"})
        assert (
            accepted.status_code == 204
            and accepted.headers["HX-Redirect"] == f"/console/contacts/{contact.id}"
        )
        body = client.get("/queues/strip/body").text
        assert f"My contact {contact.id}" in body and "Accept" not in body
        hx = {"HX-Request": "true"}
        refused = client.post("/queues/presence", data={"state": "available"}, headers=hx)
        assert refused.status_code == 200 and "wrap up contact" in refused.text
        assert "selected>Break" in client.post("/queues/presence", data={"state": "break"}, headers=hx).text
        # Without htmx (the script not loaded yet, or none) the same forms post plainly and come back.
        plain = client.post("/queues/presence", data={"state": "available"}, follow_redirects=False)
        assert plain.status_code == 409 and "wrap up contact" in plain.text
        plain = client.post("/queues/presence", data={"state": "offline"}, follow_redirects=False)
        assert plain.status_code == 303 and plain.headers["location"] == "/console"
        assert "selected>Offline" in client.get("/console").text


def test_the_queues_page_shows_live_figures_and_lets_supervisors_manage(app, sessions, world, clock) -> None:
    with transaction(sessions) as s:
        q = h.queue(s, world.tenant_a.id, name="Nurse line", skill="nurse")
        h.waiting(s, world.tenant_a.id, q.id)
    with signed_in(app, world.supervisor_a) as client:
        page = client.get("/queues")
        assert page.status_code == 200 and "Nurse line" in page.text and "Agents" in page.text
        assert "Queues" in page.text  # the navigation entry
        figures = client.get("/queues/figures").text
        assert "Nurse line" in figures and "no calls yet" in figures
        response = client.post("/queues/defaults", follow_redirects=False)
        assert response.status_code == 303
        response = client.post(
            f"/queues/{q.id}/edit", data={"priority": "7", "active": "true"}, follow_redirects=False
        )
        assert response.status_code == 303
        response = client.post(
            f"/queues/agents/{world.agent_a.id}/skills",
            data={"skills": "nurse, spanish"},
            follow_redirects=False,
        )
        assert response.status_code == 303
    with transaction(sessions) as s:
        assert service.get_queue(s, q.id).priority == 7
        assert service.skills_of(s, world.agent_a.id) == ["nurse", "spanish"]
        assert {x.skill for x in service.list_queues(s, tenant_id=world.tenant_a.id)} >= {
            "general",
            "spanish",
        }
    with signed_in(app, world.agent_a) as client:
        page = client.get("/queues")
        assert page.status_code == 200 and "Nurse line" in page.text and "Add queue" not in page.text
