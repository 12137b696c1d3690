"""`careline simulate`: live traffic through the services, and a fast back-fill of past weeks with every
field reports need."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from careline.cli import app as cli
from careline.contacts import service as contacts
from careline.contacts.analyze import analyze
from careline.contacts.intents import Intent
from careline.contacts.models import Contact, ContactEvent, ContactReason, ContactStatus
from careline.db import transaction
from careline.escalations.models import Escalation
from careline.kit.timeutil import to_local
from careline.queues import service
from careline.queues import simulate as sim
from careline.queues.models import AgentPresence, EntryState, PresenceState, QueueEntry


@pytest.mark.parametrize("intent", [i for i in sim.PHRASES])
def test_every_simulated_phrase_reads_as_its_intent(intent: Intent) -> None:
    for phrase in sim.PHRASES[intent]:
        assert intent in [s.intent for s in analyze(phrase).intents], phrase


def test_the_red_flag_phrases_raise_their_red_flag() -> None:
    for phrase, kind in sim.RED_FLAG_PHRASES:
        assert kind in [str(f.kind) for f in analyze(phrase).screening.red_flags], phrase


def test_the_mix_matches_a_health_system_call_center() -> None:
    assert sum(sim.MIX.values()) == 100
    assert sim.MIX[Intent.SCHEDULE] == 35 and sim.MIX[Intent.RESCHEDULE] + sim.MIX[Intent.CANCEL] == 15
    assert set(sim.OUTCOMES) >= set(sim.MIX)


def test_the_arrival_curve_peaks_on_monday_morning() -> None:
    monday_9 = datetime(2026, 11, 30, 9)
    week = [monday_9.replace(hour=0) + timedelta(hours=h) for h in range(24 * 7)]
    assert max(week, key=sim.hourly_weight) == monday_9
    assert sim.hourly_weight(monday_9) > sim.hourly_weight(datetime(2026, 12, 2, 10)) > 0
    assert sim.hourly_weight(datetime(2026, 12, 6, 10)) < 0.2 * sim.hourly_weight(monday_9)  # Sunday
    assert sim.hourly_weight(datetime(2026, 11, 30, 3)) == 0
    assert sim.agents_needed(0) == 0 and sim.agents_needed(60) == 7  # 5.5 Erlangs + 0.5 * sqrt


def test_history_backfills_weeks_with_every_field_filled(sessions, world, db) -> None:
    end = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    result = sim.backfill_history(sessions, days=14, calls_per_hour=40, end=end, seed=3)
    rows = db.scalars(select(Contact)).all()
    assert result.contacts == len(rows) > 3000
    assert result.answered + result.abandoned == result.contacts
    assert all(c.simulated and c.created_at == c.queued_at and c.ended_at <= end for c in rows)
    answered = [c for c in rows if c.status is ContactStatus.ENDED]
    abandoned = [c for c in rows if c.status is ContactStatus.ABANDONED]
    assert len(answered) == result.answered and len(abandoned) == result.abandoned
    for c in answered:
        assert c.queued_at <= c.offered_at <= c.answered_at < c.wrap_up_at < c.ended_at
        assert c.agent_user_id and c.disposition is not None and c.abandoned_at is None
    for c in abandoned:
        assert (
            c.abandoned_at == c.ended_at > c.queued_at and c.answered_at is None and c.agent_user_id is None
        )
    assert 0.01 < len(abandoned) / len(rows) < 0.15
    handle = sorted(c.handle_seconds for c in answered)
    assert 240 <= handle[len(handle) // 2] <= 420  # the median call takes 4-7 minutes
    quick = sum(c.wait_seconds <= 30 for c in answered) / len(answered)
    assert 0.6 < quick < 0.99

    reasons = db.scalars(select(ContactReason)).all()
    assert {r.contact_id for r in reasons} == {c.id for c in answered}
    assert all(r.outcome is not None and r.disposition_code and r.resolved_at for r in reasons)
    first = Counter(r.intent for r in reasons)
    share = {i: first[i] / len(reasons) for i in first}
    assert 0.27 < share[Intent.SCHEDULE] < 0.40 and share[Intent.OUT_OF_SCOPE] < 0.03
    flagged = [c for c in answered if c.red_flag]
    assert 0.005 < len(flagged) / len(rows) < 0.03 and all(c.red_flag_kinds for c in flagged)
    escalations = db.scalars(select(Escalation)).all()
    assert sorted(e.contact_id for e in escalations) == sorted(c.id for c in flagged)
    assert all(e.accepted_at and e.resolved_at and e.time_to_clinician_seconds > 0 for e in escalations)
    assert 0.3 < sum(c.survey_consent for c in answered) / len(answered) < 0.8

    by_day = Counter(to_local(c.created_at, "America/Chicago").weekday() for c in rows)
    assert by_day[0] > by_day[2] > by_day[5] > by_day[6]  # Monday busiest, Sunday quietest
    entries = db.scalars(select(QueueEntry)).all()
    assert len(entries) == len(rows) and all(e.simulated for e in entries)
    assert Counter(e.state for e in entries) == {
        EntryState.ANSWERED: len(answered),
        EntryState.ABANDONED: len(abandoned),
    }
    with transaction(sessions) as s:
        stats = service.queue_stats(s, since=datetime(2026, 11, 1, tzinfo=UTC), now=end)
        assert sum(x.answered for x in stats) == len(answered) and sum(x.waiting for x in stats) == 0
    # Simulated staff never overlap their own calls.
    by_agent: dict[int, list[Contact]] = {}
    for c in answered:
        by_agent.setdefault(c.agent_user_id, []).append(c)
    for calls in by_agent.values():
        calls.sort(key=lambda c: c.answered_at)
        assert all(a.ended_at <= b.answered_at for a, b in itertools.pairwise(calls))


def test_history_refuses_nonsense(sessions, world) -> None:
    with pytest.raises(ValueError):
        sim.backfill_history(sessions, days=0, calls_per_hour=10)
    with pytest.raises(ValueError):
        sim.backfill_history(sessions, days=3, calls_per_hour=10, tenants=["nobody"])


def test_live_traffic_goes_through_the_services(sessions, world, clock, db) -> None:
    # Monday 9 AM in Chicago; the simulated agents answer, talk, record outcomes and wrap up.
    stats = sim.run_live(
        sessions,
        calls_per_hour=120,
        hours=0.25,
        seed=5,
        tenants=["tenant-a"],
        sleep=lambda seconds: clock.advance(seconds=seconds),
        tick=3,
    )
    assert stats.arrived > 30 and stats.answered + stats.abandoned == stats.arrived
    rows = db.scalars(select(Contact).where(Contact.tenant_id == world.tenant_a.id)).all()
    assert len(rows) == stats.arrived and all(c.simulated for c in rows)
    assert {c.status for c in rows} <= {ContactStatus.ENDED, ContactStatus.ABANDONED}
    ended = [c for c in rows if c.status is ContactStatus.ENDED]
    assert len(ended) == stats.answered and all(c.answered_at and c.agent_user_id for c in ended)
    reasons = db.scalars(
        select(ContactReason).where(ContactReason.contact_id.in_([c.id for c in ended]))
    ).all()
    assert reasons and all(r.outcome is not None for r in reasons)
    kinds = set(db.scalars(select(ContactEvent.kind).distinct()))
    assert {"caller.said", "contact.queued", "contact.answered", "reason.resolved", "contact.ended"} <= kinds
    states = set(db.scalars(select(AgentPresence.state)))
    assert states == {PresenceState.OFFLINE}  # the simulated staff signed off
    assert (
        db.scalar(
            select(func.count())
            .select_from(QueueEntry)
            .where(QueueEntry.state.in_([EntryState.WAITING, EntryState.OFFERED]))
        )
        == 0
    )
    with transaction(sessions) as s:
        timeline = [e.kind for e in contacts.timeline(s, s.get(Contact, ended[0].id))]
        assert timeline[:2] == ["contact.started", "caller.said"] and "contact.answered" in timeline


def test_the_cli_backfills_history(monkeypatch, database_url, world, db) -> None:
    monkeypatch.setenv("CARELINE_DATABASE_URL", database_url)
    result = CliRunner().invoke(
        cli, ["simulate", "--history", "2", "--calls-per-hour", "20", "--tenant", "tenant-b"]
    )
    assert result.exit_code == 0, result.output
    assert "simulated contacts" in result.output
    tenants = set(db.scalars(select(Contact.tenant_id).distinct()))
    assert tenants <= {world.tenant_b.id}
    bad = CliRunner().invoke(cli, ["simulate", "--history", "2", "--tenant", "nope"])
    assert bad.exit_code == 2 and "unknown tenant" in bad.output
