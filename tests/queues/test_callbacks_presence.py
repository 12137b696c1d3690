"""Callbacks (the caller keeps their place and is called back) and agents' presence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import ContactStatus, Outcome
from careline.db import transaction
from careline.errors import Conflict, ValidationFailed
from careline.jobs.models import Job
from careline.queues import service
from careline.queues.models import (
    AgentPresence,
    CallbackStatus,
    EntryKind,
    EntryState,
    PresenceState,
    QueueEntry,
)
from tests.queues import helpers as h


def test_a_waiting_caller_who_asks_for_a_callback_keeps_their_place(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"], available=False)
        patient_caller = h.waiting(db, world.tenant_a.id, q.id, number="3125550181")
        contacts.add_reason(db, patient_caller, h.SYSTEM, intent=Intent.SCHEDULE)
        place = service.open_entry(db, patient_caller.id).entered_at
        clock.advance(seconds=30)
        behind = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=90)
        callback = service.create_callback(db, h.SYSTEM, contact_id=patient_caller.id)
        # The caller hung up without being counted as abandoned; their reason waits for the call.
        assert patient_caller.status is ContactStatus.ENDED and patient_caller.abandoned_at is None
        assert contacts.reasons_of(db, patient_caller)[0].outcome is Outcome.CALLBACK_SCHEDULED
        assert callback.number == "+13125550181" and callback.place_at == place
        assert callback.status is CallbackStatus.QUEUED and callback.attempts == 1
        outbound = contacts.get_contact(db, callback.outbound_contact_id)
        assert outbound.direction == "outbound" and outbound.caller_number == "+13125550181"
        entry = service.open_entry(db, outbound.id)
        assert entry.kind is EntryKind.CALLBACK and entry.entered_at == place and entry.queue_id == q.id
        service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        assert service.current_offer(db, agent.id).contact.id == outbound.id  # ahead of `behind`
        service.accept(db, h.by(agent), outbound.id)
        assert callback.status is CallbackStatus.IN_PROGRESS
        service.complete_callback(db, h.by(agent), callback, reached=True, note="booked Tuesday")
        assert callback.status is CallbackStatus.COMPLETED and callback.completed_by_user_id == agent.id
        assert outbound.status is ContactStatus.ENDED
        service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        assert service.current_offer(db, agent.id).contact.id == behind.id
        left = db.query(QueueEntry).filter_by(contact_id=patient_caller.id).one()
        assert left.state is EntryState.CALLBACK


def test_a_callback_for_later_waits_for_its_due_time(sessions, world, clock) -> None:
    from careline.jobs.worker import load_handlers, run_due

    load_handlers()
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        callback = service.create_callback(
            db,
            h.SYSTEM,
            tenant_id=world.tenant_a.id,
            number="(312) 555-0190",
            queue_id=q.id,
            due_at=clock.now + timedelta(hours=2),
            note="results question",
        )
        assert callback.status is CallbackStatus.PENDING and service.current_offer(db, agent.id) is None
        assert db.query(Job).filter_by(kind="queues.callback_due").one().run_at == callback.due_at
        callback_id = callback.id
    clock.advance(hours=2, seconds=1)
    assert run_due(sessions) == 1
    with transaction(sessions) as db:
        callback = service.get_callback(db, callback_id)
        assert callback.status is CallbackStatus.QUEUED
        assert service.current_offer(db, agent.id).contact.id == callback.outbound_contact_id


def test_no_answer_tries_again_until_the_attempts_run_out(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        callback = service.create_callback(
            db, h.SYSTEM, tenant_id=world.tenant_a.id, number="3125550191", queue_id=q.id, max_attempts=2
        )
        for attempt in (1, 2):
            assert callback.attempts == attempt
            service.accept(db, h.by(agent), callback.outbound_contact_id)
            service.complete_callback(db, h.by(agent), callback, reached=False)
            service.set_presence(db, agent.id, PresenceState.AVAILABLE)
            if attempt == 1:
                assert callback.status is CallbackStatus.PENDING
                assert callback.due_at == clock.now + service.CALLBACK_RETRY
                assert service.current_offer(db, agent.id) is None
                clock.advance(minutes=15)
                service.dispatch(db)
        assert callback.status is CallbackStatus.FAILED and callback.result == "no answer"
        with pytest.raises(Conflict):
            service.complete_callback(db, h.by(agent), callback, reached=True)


def test_a_callback_can_be_cancelled_while_it_waits(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        callback = service.create_callback(
            db, h.SYSTEM, tenant_id=world.tenant_a.id, number="3125550192", queue_id=q.id
        )
        service.cancel_callback(db, h.SYSTEM, callback)
        assert callback.status is CallbackStatus.CANCELLED
        assert service.open_entry(db, callback.outbound_contact_id) is None
        assert service.list_callbacks(db, open_only=True) == []


def test_a_callback_needs_a_number_and_a_client(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        with pytest.raises(ValidationFailed):
            service.create_callback(db, h.SYSTEM, tenant_id=world.tenant_a.id)
        with pytest.raises(ValidationFailed):
            service.create_callback(db, h.SYSTEM, number="3125550100")
        with pytest.raises(ValidationFailed):
            service.create_callback(db, h.SYSTEM, tenant_id=world.tenant_a.id, number="12")


def test_presence_states_and_times(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        user = world.agent_a.id
        assert service.get_presence(db, user).state is PresenceState.OFFLINE
        service.set_presence(db, user, PresenceState.AVAILABLE)
        became_free = clock.now
        clock.advance(minutes=3)
        service.set_presence(db, user, PresenceState.AVAILABLE)  # no change: still idle since then
        presence = db.get(AgentPresence, user)
        assert presence.since == became_free and presence.last_idle_at == became_free
        service.set_presence(db, user, PresenceState.BREAK, reason="lunch")
        assert (presence.state, presence.reason, presence.since) == (PresenceState.BREAK, "lunch", clock.now)
        clock.advance(minutes=30)
        service.set_presence(db, user, "available")
        assert presence.last_idle_at == clock.now and presence.reason == ""
        service.set_presence(db, user, PresenceState.OFFLINE)
        assert presence.state is PresenceState.OFFLINE


def test_going_on_break_hands_my_offer_back(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        leaving = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        clock.advance(seconds=1)
        staying = h.agent(db, ["scheduling"])
        assert service.current_offer(db, leaving.id).contact.id == contact.id
        service.set_presence(db, leaving.id, PresenceState.BREAK)
        service.dispatch(db)
        assert service.current_offer(db, staying.id).contact.id == contact.id


def test_i_cannot_go_available_while_still_on_a_live_contact(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        q = h.queue(db, world.tenant_a.id)
        agent = h.agent(db, ["scheduling"])
        contact = h.waiting(db, world.tenant_a.id, q.id)
        service.accept(db, h.by(agent), contact.id)
        with pytest.raises(Conflict, match="wrap up"):
            service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        service.set_presence(db, agent.id, PresenceState.WRAP_UP)
        contacts.wrap_up(db, contact, h.by(agent))
        service.set_presence(db, agent.id, PresenceState.AVAILABLE)
        assert db.get(AgentPresence, agent.id).current_contact_id is None


def test_offer_next_needs_me_available(sessions, world, clock) -> None:
    with transaction(sessions) as db, pytest.raises(Conflict, match="available"):
        service.offer_next(db, world.agent_a.id)


def test_skills_are_replaced_and_cleaned(sessions, world) -> None:
    with transaction(sessions) as db:
        assert service.set_skills(
            db, world.agent_a.id, ["Scheduling", "nurse line", "billing", "billing"]
        ) == [
            "billing",
            "nurse_line",
            "scheduling",
        ]
        assert service.set_skills(db, world.agent_a.id, ["spanish"]) == ["spanish"]
        assert service.skills_of(db, world.agent_a.id) == ["spanish"]
        with pytest.raises(ValidationFailed):
            service.set_skills(db, world.agent_a.id, ["no/slashes"])


def test_the_standard_queues_follow_the_directory(sessions, world) -> None:
    from tests.directory import factories as dirf

    with transaction(sessions) as db:
        tid = world.tenant_a.id
        dirf.department(
            db, tid, name="Nurse Advice Line", kind="nurse_line", queue="nurse_triage", intents=["clinical"]
        )
        dirf.department(db, tid, name="Refill Line", kind="pharmacy", queue="refills", intents=["refill"])
        skills = {q.skill for q in service.ensure_default_queues(db, tid)}
        assert skills == {
            "general",
            "scheduling",
            "referrals",
            "billing",
            "spanish",
            "nurse_triage",
            "refills",
        }
        assert len(service.ensure_default_queues(db, tid)) == 7  # idempotent
        assert service.nurse_queue(db, tid).skill == "nurse_triage"
