"""Every dashboard figure against an independent computation over a generated history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from careline.db import SYSTEM, open_session
from careline.reports import metrics
from tests.reports import expected as x
from tests.reports.history import END, START, build_history


@pytest.fixture
def history(sessions, world, clock):
    return build_history(sessions, world)


def _selections(world, history):
    a, b = world.tenant_a.id, world.tenant_b.id
    return [
        ([a], START, END, None),
        ([a, b], START, END, None),
        ([a], START, END, history.locations["north"]),
        ([a, b], date(2026, 11, 1), date(2026, 11, 1), None),  # the DST day alone
        ([b], END, END, None),  # one day: the 23:59 contact is in, the next 00:01 is out
    ]


@pytest.fixture
def session(sessions):
    s = open_session(sessions, SYSTEM)
    yield s
    s.rollback()
    s.close()


def test_volume_and_queue_service_match_the_rows(world, history, session, db) -> None:
    for tenant_ids, start, end, loc in _selections(world, history):
        d = metrics.dashboard(session, tenant_ids, start, end, loc)
        e = x.load(db, tenant_ids, start, end, loc)
        assert e.contacts, "the selection should not be empty"
        want = x.volume(e)
        v = d.volume
        assert (v.received, v.handled, v.abandoned, v.simulated) == (
            want["received"],
            want["handled"],
            want["abandoned"],
            want["simulated"],
        )
        assert x.close(v.avg_handle_s, want["avg_handle_s"])
        assert {k: n for k, n in v.by_channel.items() if n} == dict(want["by_channel"])
        assert {day.day: [day.received, day.handled, day.abandoned] for day in v.daily} == want["daily"]
        s, ws = d.service, x.service(e)
        assert (s.offered, s.answered, s.abandoned, s.answered_within_target, s.abandoned_before_target) == (
            ws["offered"],
            ws["answered"],
            ws["abandoned"],
            ws["within"],
            ws["early"],
        )
        for ours, theirs in [
            (s.service_level, ws["service_level"]),
            (s.asa_s, ws["asa"]),
            (s.abandonment_rate, ws["abandonment"]),
            (s.longest_wait_s, ws["longest"]),
        ]:
            assert x.close(ours, theirs), (tenant_ids, start, end, loc)


def test_the_range_edges_follow_each_tenants_local_midnight(world, history, session, db) -> None:
    for tenant in (world.tenant_a, world.tenant_b):
        one_day = metrics.volume(session, [tenant.id], START, START)
        assert one_day.received == len(x.load(db, [tenant.id], START, START).contacts)
        whole = metrics.volume(session, [tenant.id], START, END).received
        rest = metrics.volume(session, [tenant.id], START + timedelta(days=1), END).received
        assert whole == one_day.received + rest  # ranges tile: nothing lost or doubled at midnight


def test_reasons_work_off_the_desk_and_new_patients_match_the_rows(world, history, session, db) -> None:
    for tenant_ids, start, end, loc in _selections(world, history):
        d = metrics.dashboard(session, tenant_ids, start, end, loc)
        e = x.load(db, tenant_ids, start, end, loc)
        assert {k: n for k, n in d.reasons.by_intent.items() if n} == dict(x.reasons(e))
        assert d.reasons.total == len(e.reasons)
        assert d.reasons.contacts_with_reasons == len({r.contact_id for r in e.reasons})
        outcomes = x.outcomes(e)
        f = d.front_desk
        assert {k: n for k, n in f.by_outcome.items() if n} == dict(outcomes)
        assert f.appointments_booked == outcomes["appointment_booked"]
        assert f.appointments_rescheduled == outcomes["appointment_rescheduled"]
        assert f.appointments_cancelled == outcomes["appointment_cancelled"]
        assert f.referrals_made == outcomes["referral_made"]
        assert f.information_given == outcomes["information_given"]
        assert f.refills_routed == x.routed(e, "refill")
        assert f.records_routed == x.routed(e, "records")
        assert f.unresolved == outcomes["unresolved"]
        assert f.resolved == sum(outcomes.values()) - outcomes["unresolved"]
        sources, unregistered = x.new_patients(db, e)
        assert {k: n for k, n in d.new_patients.by_referral_source.items() if n} == dict(sources)
        assert d.new_patients.registered == sum(sources.values())
        assert d.new_patients.unregistered_new_callers == unregistered


def test_red_flags_and_time_to_clinician_match_the_escalations(world, history, session, db) -> None:
    checked = 0
    for tenant_ids, start, end, loc in _selections(world, history):
        d = metrics.dashboard(session, tenant_ids, start, end, loc).escalations
        want = x.escalations(db, x.load(db, tenant_ids, start, end, loc))
        assert (d.red_flag_contacts, d.escalated, d.accepted, d.pending, d.withdrawn) == (
            want["red_flag_contacts"],
            want["escalated"],
            want["accepted"],
            want["pending"],
            want["withdrawn"],
        )
        assert d.by_kind == dict(want["by_kind"])
        assert x.close(d.median_s, want["median"]) and x.close(d.p90_s, want["p90"])
        assert x.close(d.worst_s, want["worst"])
        checked += want["accepted"]
    assert checked > 5, "the history should contain accepted escalations"


def test_satisfaction_and_its_weekly_trend_match_the_surveys(world, history, session, db) -> None:
    for tenant_ids, start, end, loc in _selections(world, history):
        d = metrics.dashboard(session, tenant_ids, start, end, loc).satisfaction
        want = x.satisfaction(x.load(db, tenant_ids, start, end, loc))
        assert d.sent == want["sent"] and d.answered == want["all"]["answered"]
        for name in ("csat_avg", "csat", "nps", "need_met"):
            assert x.close(getattr(d.scores, name), want["all"][name]), name
        by_reason = x.satisfaction_by_intent(x.load(db, tenant_ids, start, end, loc))
        assert set(d.by_intent) == set(by_reason)
        for intent, sc in d.by_intent.items():
            for name in ("answered", "csat", "nps", "need_met"):
                assert x.close(getattr(sc, name), by_reason[intent][name]), (intent, name)
        got = {w.week: w.scores for w in d.trend if w.scores.answered}
        assert set(got) == set(want["weeks"])
        for week, sc in got.items():
            for name in ("answered", "csat_avg", "csat", "nps", "need_met"):
                assert x.close(getattr(sc, name), want["weeks"][week][name]), (week, name)


def test_per_agent_figures_and_comments_match_the_rows(world, history, session, db) -> None:
    for tenant_ids, start, end, loc in _selections(world, history):
        d = metrics.dashboard(session, tenant_ids, start, end, loc, per_agent=True, with_comments=True)
        e = x.load(db, tenant_ids, start, end, loc)
        want = x.agents(e)
        assert {a.user_id for a in d.agents} == set(want)
        for a in d.agents:
            assert a.handled == want[a.user_id]["handled"]
            assert x.close(a.avg_handle_s, want[a.user_id]["aht"])
            for name in ("answered", "csat", "nps", "need_met"):
                assert x.close(getattr(a.scores, name), want[a.user_id]["scores"][name])
        assert [(c.survey_id, c.comment) for c in d.comments] == x.comments(e)
        assert all(c.reasons == x.reasons_of(e, c.contact_id) for c in d.comments)


def test_a_location_also_counts_contacts_whose_booking_is_only_on_the_appointment(
    world, history, session, db
) -> None:
    from sqlalchemy import select

    from careline.scheduling.models import Appointment

    assert history.appointments > 10
    loc = history.locations["south"]
    booked = set(db.scalars(select(Appointment.contact_id).where(Appointment.location_id == loc)))
    e = x.load(db, [world.tenant_a.id], START, END, loc)
    counted = metrics.volume(session, [world.tenant_a.id], START, END, loc).received
    assert counted == len(e.contacts)
    only_by_appointment = booked & {c.id for c in e.contacts}
    assert only_by_appointment, "some contacts reach the location only through their appointment"


def test_tenant_b_rows_never_reach_tenant_a_figures(world, history, session, db) -> None:
    a_only = metrics.dashboard(session, [world.tenant_a.id], START, END)
    both = metrics.dashboard(session, [world.tenant_a.id, world.tenant_b.id], START, END)
    b_only = metrics.dashboard(session, [world.tenant_b.id], START, END)
    assert a_only.volume.received + b_only.volume.received == both.volume.received
    assert a_only.satisfaction.answered + b_only.satisfaction.answered == both.satisfaction.answered
    # tenant B's location filters tenant A down to nothing
    assert metrics.volume(session, [world.tenant_a.id], START, END, history.locations["b"]).received == 0


def test_the_tenant_scope_still_applies_under_the_report_queries(world, history, sessions) -> None:
    """A session scoped to tenant A asked about A and B sees only A (the scope filter is not bypassed)."""
    from careline.db import Scope

    scoped = open_session(sessions, Scope(frozenset({world.tenant_a.id})))
    try:
        both = metrics.dashboard(scoped, [world.tenant_a.id, world.tenant_b.id], START, END)
    finally:
        scoped.close()
    system = open_session(sessions, SYSTEM)
    try:
        a_only = metrics.dashboard(system, [world.tenant_a.id], START, END)
    finally:
        system.close()
    assert both.volume.received == a_only.volume.received
    assert both.satisfaction.answered == a_only.satisfaction.answered


def test_an_empty_range_gives_dashes_not_zeros(world, session) -> None:
    d = metrics.dashboard(session, [world.tenant_a.id], date(2020, 1, 1), date(2020, 1, 7))
    assert d.volume.received == 0 and len(d.volume.daily) == 7
    assert d.service.service_level is None and d.service.asa_s is None
    assert d.satisfaction.scores.csat is None and d.satisfaction.scores.nps is None
    assert d.escalations.median_s is None


def test_percentile_is_nearest_rank() -> None:
    assert metrics.percentile([], 0.9) is None
    assert metrics.percentile([5], 0.9) == 5
    assert metrics.percentile(list(range(1, 11)), 0.9) == 9
    assert metrics.percentile(list(range(1, 12)), 0.9) == 10
    assert metrics.percentile([30, 10, 20], 0.5) == 20
