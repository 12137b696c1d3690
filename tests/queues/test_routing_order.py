"""Routing: escalations and due callbacks first, then the longest-waiting caller, each to the
longest-idle agent who has the skill and serves the client; offers are leases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import Contact, ContactStatus
from careline.db import transaction
from careline.errors import Conflict
from careline.jobs import events
from careline.jobs.models import Job
from careline.queues import service
from careline.queues.models import AgentPresence, EntryState, PresenceState, QueueEntry
from tests.queues import helpers as h


def _offers(db, *agents) -> list[int | None]:
    out = []
    for agent in agents:
        offer = service.current_offer(db, agent.id)
        out.append(offer.contact.id if offer else None)
    return out


def test_the_longest_waiting_contact_goes_to_the_longest_idle_agent(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        first_free = h.agent(db, ["scheduling"])
        clock.advance(seconds=5)
        second_free = h.agent(db, ["scheduling"])
        clock.advance(seconds=5)
        early = h.waiting(db, world.tenant_a.id, q.id, route=False)
        clock.advance(seconds=5)
        late = h.waiting(db, world.tenant_a.id, q.id, route=False)
        offered = service.dispatch(db)
        assert [e.contact_id for e in offered] == [early.id, late.id]
        assert _offers(db, first_free, second_free) == [early.id, late.id]
        assert early.status is ContactStatus.OFFERED and early.offered_at == clock.now


def test_a_contact_arriving_is_offered_at_once_to_the_longest_idle_agent(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        longest = h.agent(db, ["scheduling"])
        clock.advance(seconds=30)
        h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        assert _offers(db, longest) == [contact.id]


def test_escalations_then_due_callbacks_then_the_longest_waiting(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"], available=False)
        oldest = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=60)
        callback = service.create_callback(
            db, h.SYSTEM, tenant_id=world.tenant_a.id, number="3125550177", queue_id=q.id
        )
        clock.advance(seconds=60)
        flagged = h.waiting(db, world.tenant_a.id, q.id, red_flag=True)
        service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        order = []
        for _ in range(3):
            offer = service.current_offer(db, agent.id)
            order.append(offer.contact.id)
            service.accept(db, h.by(agent), offer.contact.id)
            contacts.wrap_up(db, contacts.get_contact(db, offer.contact.id), h.by(agent))
            service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        assert order == [flagged.id, callback.outbound_contact_id, oldest.id]


def test_an_explicit_escalation_jumps_the_line(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"], available=False)
        h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=30)
        urgent = contacts.start_contact(
            db, h.SYSTEM, tenant_id=world.tenant_a.id, status=ContactStatus.QUEUED
        )
        service.enqueue(db, urgent, h.SYSTEM, queue_id=q.id, escalate=True)
        service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        assert _offers(db, agent) == [urgent.id]


def test_a_higher_priority_queue_is_served_first(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        low = h.queue(db, world.tenant_a.id, "scheduling")
        high = h.queue(db, world.tenant_a.id, "billing", priority=10)
        agent = h.agent(db, ["scheduling", "billing"], available=False)
        h.waiting(db, world.tenant_a.id, low.id)
        clock.advance(seconds=30)
        billing = h.waiting(db, world.tenant_a.id, high.id)
        service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        assert _offers(db, agent) == [billing.id]


def test_skills_and_clients_are_respected(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id, "spanish")
        billing_only = h.agent(db, ["billing"])
        other_client = h.agent(db, ["spanish"], tenants=("tenant-b",))
        clock.advance(seconds=5)
        speaks_spanish = h.agent(db, ["spanish"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        assert _offers(db, billing_only, other_client, speaks_spanish) == [None, None, contact.id]


def test_an_agent_without_the_skill_is_never_offered_and_the_contact_waits(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id, "nurse")
        agent = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        assert service.offer_next(db, agent.id) is None
        assert service.open_entry(db, contact.id).state is EntryState.WAITING


def test_an_agent_holds_one_offer_at_a_time(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        first = h.waiting(db, world.tenant_a.id, q.id)
        second = h.waiting(db, world.tenant_a.id, q.id)
        assert service.offer_next(db, agent.id).contact.id == first.id
        assert service.offer_next(db, agent.id).contact.id == first.id
        assert service.open_entry(db, second.id).state is EntryState.WAITING


def test_an_unaccepted_offer_expires_goes_back_and_is_offered_to_the_next_agent(
    sessions, world, clock
) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        absent = h.agent(db, ["scheduling"])
        clock.advance(seconds=5)
        present = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        assert _offers(db, absent, present) == [contact.id, None]
        clock.advance(seconds=19)
        assert service.expire_offers(db) == 0
        clock.advance(seconds=2)
        service.dispatch(db)
        assert _offers(db, absent, present) == [None, contact.id]
        missed = db.get(AgentPresence, absent.id)
        assert missed.state is PresenceState.BREAK and missed.reason == "missed an offer"
        with pytest.raises(Conflict):
            service.accept(db, h.by(absent), contact.id)
        entry = service.open_entry(db, contact.id)
        assert entry.offers == 2 and entry.offered_to_user_id == present.id


def test_the_worker_returns_an_expired_offer_without_anyone_asking(sessions, world, clock) -> None:
    from careline.jobs.worker import load_handlers, run_due

    load_handlers()
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        absent = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=1)
        present = h.agent(db, ["scheduling"])
    clock.advance(seconds=21)
    assert run_due(sessions) >= 1
    with transaction(sessions) as db:
        assert _offers(db, absent, present) == [None, contact.id]
        assert db.query(Job).filter(Job.kind == "queues.offer_expiry").count() == 2


def test_an_expired_offer_cannot_be_accepted_even_before_it_is_swept(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=25)
        with pytest.raises(Conflict, match="expired"):
            service.accept(db, h.by(agent), contact.id)


def test_accepting_makes_the_contact_mine_and_puts_me_on_it(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=4)
        service.accept(db, h.by(agent), contact.id)
        assert contact.status is ContactStatus.ACTIVE and contact.agent_user_id == agent.id
        assert contact.answered_at == clock.now and contact.wait_seconds == 4
        presence = db.get(AgentPresence, agent.id)
        assert presence.state is PresenceState.ON_CONTACT and presence.current_contact_id == contact.id
        entry = db.query(QueueEntry).filter_by(contact_id=contact.id).one()
        assert entry.state is EntryState.ANSWERED and entry.answered_by_user_id == agent.id
        kinds = [e.kind for e in contacts.timeline(db, contact)]
        assert kinds == ["contact.started", "contact.queued", "contact.answered"]
        with pytest.raises(Conflict):
            service.accept(db, h.by(agent), contact.id)


def test_another_agent_cannot_take_my_offer(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        other = h.agent(db, ["scheduling"])
        with pytest.raises(Conflict):
            service.accept(db, h.by(other), contact.id)


def test_declining_passes_it_on_and_sends_me_to_the_back_of_the_line(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        first = h.agent(db, ["scheduling"])
        clock.advance(seconds=5)
        second = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=1)
        service.decline(db, h.by(first), contact.id)
        assert _offers(db, first, second) == [None, contact.id]
        assert db.get(AgentPresence, first.id).state is PresenceState.AVAILABLE
        later = h.waiting(db, world.tenant_a.id, q.id)
        assert _offers(db, first) == [later.id]


def test_a_lone_agent_who_declines_is_offered_it_again(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        service.decline(db, h.by(agent), contact.id)
        assert _offers(db, agent) == [contact.id]


def test_the_caller_hanging_up_withdraws_the_offer(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        service.abandon(db, contact, h.SYSTEM)
        assert contact.status is ContactStatus.ABANDONED and contact.abandoned_at == clock.now
        assert _offers(db, agent) == [None]
        assert db.query(QueueEntry).filter_by(contact_id=contact.id).one().state is EntryState.ABANDONED
        assert events.read_since(db, 0, [f"user:{agent.id}"], None)[-1].kind == "offer.withdrawn"


def test_moving_to_another_queue_keeps_the_place_in_line(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        scheduling = h.queue(db, world.tenant_a.id, "scheduling")
        billing = h.queue(db, world.tenant_a.id, "billing")
        agent = h.agent(db, ["billing"], available=False)
        moved = h.waiting(db, world.tenant_a.id, scheduling.id)
        clock.advance(seconds=60)
        h.waiting(db, world.tenant_a.id, billing.id)
        service.enqueue(db, moved, h.SYSTEM, queue_id=billing.id)
        service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        assert _offers(db, agent) == [moved.id]
        states = [
            e.state for e in db.query(QueueEntry).filter_by(contact_id=moved.id).order_by(QueueEntry.id)
        ]
        assert states == [EntryState.MOVED, EntryState.OFFERED]
        with pytest.raises(Conflict):
            service.enqueue(db, moved, h.SYSTEM, queue_id=billing.id)


def test_an_agent_hands_a_live_contact_to_another_queue(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        scheduling = h.queue(db, world.tenant_a.id, "scheduling")
        nurse = h.queue(db, world.tenant_a.id, "nurse")
        scheduler = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, scheduling.id)
        service.accept(db, h.by(scheduler), contact.id)
        service.enqueue(db, contact, h.by(scheduler), queue_id=nurse.id)
        assert contact.status is ContactStatus.QUEUED
        presence = db.get(AgentPresence, scheduler.id)
        assert presence.state is PresenceState.WRAP_UP and presence.current_contact_id is None
        nurse_user = h.agent(db, ["nurse"], role="nurse")
        assert _offers(db, nurse_user) == [contact.id]


def test_the_queue_is_chosen_from_the_contact(sessions, world, clock) -> None:
    from careline.patients.service import create_patient

    with transaction(sessions) as db:
        tid = world.tenant_a.id
        general = h.queue(db, tid, "general")
        scheduling = h.queue(db, tid, "scheduling")
        spanish = h.queue(db, tid, "spanish")
        nurse = h.queue(db, tid, "nurse")
        contact = contacts.start_contact(db, h.SYSTEM, tenant_id=tid, status=ContactStatus.QUEUED)
        assert service.queue_for_contact(db, contact).id == general.id
        contacts.add_reason(db, contact, h.SYSTEM, intent=Intent.SCHEDULE)
        assert service.queue_for_contact(db, contact).id == scheduling.id
        patient = create_patient(
            db,
            tenant_id=tid,
            actor=h.SYSTEM.actor,
            first_name="Ana",
            last_name="Ruiz",
            dob="1980-02-03",
            preferred_language="es",
            confirm_new=True,
        )
        contact.patient_id = patient.id
        assert service.queue_for_contact(db, contact).id == spanish.id
        contact.red_flag = True
        assert service.queue_for_contact(db, contact).id == nurse.id


def test_a_client_without_queues_cannot_queue(sessions, world, clock) -> None:
    from careline.errors import ValidationFailed

    with transaction(sessions) as db:
        contact = contacts.start_contact(
            db, h.SYSTEM, tenant_id=world.tenant_b.id, status=ContactStatus.QUEUED
        )
        with pytest.raises(ValidationFailed):
            service.enqueue(db, contact, h.SYSTEM)


def test_an_ended_contact_cannot_join_a_queue(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        contact = contacts.start_contact(db, h.SYSTEM, tenant_id=world.tenant_a.id)
        contacts.wrap_up(db, contact, h.SYSTEM)
        with pytest.raises(Conflict):
            service.enqueue(db, contact, h.SYSTEM, queue_id=q.id)


def test_a_closed_queue_is_not_routed(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        contact = h.waiting(db, world.tenant_a.id, q.id)
        service.update_queue(db, q.id, {"active": False})
        agent = h.agent(db, ["scheduling"])
        assert _offers(db, agent) == [None]
        service.update_queue(db, q.id, {"active": True})
        service.dispatch(db)
        assert _offers(db, agent) == [contact.id]


def test_a_disabled_agent_gets_no_offers(sessions, world, clock) -> None:
    from careline.accounts.service import set_active

    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        set_active(db, agent, False)
        contact = h.waiting(db, world.tenant_a.id, q.id)
        assert service.open_entry(db, contact.id).state is EntryState.WAITING


def test_offers_are_announced_on_the_agents_channel_and_the_queue_channel(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        start = events.latest_id(db)
        contact = h.waiting(db, world.tenant_a.id, q.id)
        mine = events.read_since(db, start, [f"user:{agent.id}"], frozenset({world.tenant_a.id}))
        assert [(e.kind, e.payload["contact_id"]) for e in mine] == [("offer.new", contact.id)]
        queue_kinds = [
            e.kind for e in events.read_since(db, start, ["queue"], frozenset({world.tenant_b.id}))
        ]
        assert "queue.offered" not in queue_kinds  # another client's listeners hear nothing of it
        queue_kinds = [
            e.kind for e in events.read_since(db, start, ["queue"], frozenset({world.tenant_a.id}))
        ]
        assert queue_kinds == ["queue.entered", "queue.offered"]


def test_callers_time_in_queue_is_recorded_on_the_contact(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        contact = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=42)
        agent = h.agent(db, ["scheduling"])
        service.accept(db, h.by(agent), contact.id)
        stored = db.get(Contact, contact.id)
        assert stored.queued_at + timedelta(seconds=42) == stored.answered_at
