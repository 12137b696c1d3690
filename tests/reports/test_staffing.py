"""Staffing: forecast from the stored contacts, Erlang C per interval, the roster, what-if, page and CLI."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from careline.contacts.models import Contact
from careline.db import SYSTEM, open_session, transaction
from careline.errors import ValidationFailed
from careline.reports import erlang, staffing
from careline.reports.models import RosterSlot
from careline.tenants.models import Tenant
from tests.factories import signed_in
from tests.reports.history import END, START, build_history

WEEK = END + timedelta(days=1)  # Monday 2026-11-30, right after the history


@pytest.fixture
def history(sessions, world, clock):
    return build_history(sessions, world, per_day=10)


@pytest.fixture
def session(sessions):
    """Reads for the plans; ended (rollback) before each write so SQLite's write lock is free."""
    s = open_session(sessions, SYSTEM)
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def write(sessions, session):
    """A writing transaction that first ends the reading session's transaction."""

    def open_write():
        session.rollback()
        return transaction(sessions)

    return open_write


def _tenant(session, world) -> Tenant:
    return session.get(Tenant, world.tenant_a.id)


def test_the_forecast_is_the_mean_of_the_same_weekday_and_interval(world, history, session, db) -> None:
    tenant = _tenant(session, world)
    plan = staffing.plan_week(session, tenant, WEEK, history_weeks=4, today=date(2026, 12, 7))
    assert (
        plan.week_start == WEEK
        and plan.history_end == WEEK
        and plan.history_start == WEEK - timedelta(weeks=4)
    )
    zone = ZoneInfo(tenant.timezone)
    counts: Counter = Counter()
    handles = []
    for c in db.scalars(select(Contact).where(Contact.tenant_id == tenant.id)):
        local = c.created_at.astimezone(zone)
        if plan.history_start <= local.date() < plan.history_end:
            counts[(local.weekday(), (local.hour * 60 + local.minute) // 30 * 30)] += 1
            if c.answered_at and c.ended_at:
                handles.append((c.ended_at - c.answered_at).total_seconds())
    assert plan.history_contacts == sum(counts.values()) > 100
    assert math.isclose(plan.aht_s, statistics.fmean(handles)) and plan.aht_source == "history"
    assert len(plan.intervals) == 7 * 48
    for iv in plan.intervals:
        assert iv.forecast == counts[(iv.weekday, iv.minute_of_day)] / 4
        want = erlang.required_agents(iv.forecast, 1800, plan.aht_s, target_sl=0.8, target_s=30)
        assert (iv.agents, iv.required) == (want.agents, want.scheduled_agents)
        if iv.forecast:
            assert iv.service_level >= 0.8 and iv.occupancy <= 0.85
    assert plan.has_roster is False and all(i.scheduled is None for i in plan.intervals)
    assert plan.expected_service_level() >= 0.8


def test_the_target_and_assumptions_change_the_requirement(world, history, session) -> None:
    tenant = _tenant(session, world)
    loose = staffing.plan_week(
        session, tenant, WEEK, target=staffing.Target(0.5, 60), today=date(2026, 12, 7)
    )
    tight = staffing.plan_week(
        session, tenant, WEEK, target=staffing.Target(0.95, 10), today=date(2026, 12, 7)
    )
    given = staffing.plan_week(session, tenant, WEEK, aht_s=900, today=date(2026, 12, 7))
    assert loose.required_hours < tight.required_hours
    assert given.aht_source == "given" and given.aht_s == 900
    assert staffing.parse_target("0.8/30") == (0.8, 30) and staffing.parse_target("90/20") == (0.9, 20)
    for bad in ("0.8", "100/30", "0/30", "a/b", "0.8/-1"):
        with pytest.raises(ValidationFailed, match=r"target|level"):
            staffing.parse_target(bad)


def test_a_week_without_history_uses_the_default_handle_time(world, session) -> None:
    plan = staffing.plan_week(session, _tenant(session, world), date(2026, 12, 9), today=date(2026, 12, 7))
    assert plan.week_start == date(2026, 12, 7) and plan.history_contacts == 0
    assert plan.aht_source == "default" and plan.forecast_total == 0 and plan.required_hours == 0
    assert plan.expected_service_level() is None and plan.active_intervals() == []


def test_the_roster_is_compared_with_the_requirement(world, history, sessions, session, write) -> None:
    tenant = _tenant(session, world)
    base = staffing.plan_week(session, tenant, WEEK, today=date(2026, 12, 7))
    busy = max(base.intervals, key=lambda i: i.forecast)
    roster = {(i.weekday, i.minute_of_day): i.required for i in base.intervals if i.required}
    roster[(busy.weekday, busy.minute_of_day)] = busy.required - 1  # one short there
    with write() as s:
        kept = staffing.set_roster(
            s, world.tenant_a.id, WEEK + timedelta(days=2), roster, user_id=world.supervisor_a.id
        )
    assert kept == len(roster)
    plan = staffing.plan_week(session, tenant, WEEK, today=date(2026, 12, 7))
    assert plan.has_roster and plan.short_intervals == 1
    for iv in plan.intervals:
        assert iv.scheduled == roster.get((iv.weekday, iv.minute_of_day), 0)
        on_phone = math.floor(iv.scheduled * 0.7 + 1e-9)
        assert iv.scheduled_on_phone == on_phone
        assert math.isclose(
            iv.scheduled_service_level, erlang.service_level(iv.forecast, 1800, plan.aht_s, on_phone, 30)
        )
    assert plan.scheduled_hours == sum(roster.values()) / 2
    assert plan.expected_service_level(scheduled=True) < plan.expected_service_level()
    # replacing the week's roster drops the old rows; zeros are not stored
    with write() as s:
        staffing.set_roster(s, world.tenant_a.id, WEEK, {(0, 540): 3, (0, 570): 0})
    with write() as s:
        rows = s.scalars(select(RosterSlot).where(RosterSlot.tenant_id == world.tenant_a.id)).all()
        assert [(r.week_start, r.weekday, r.minute_of_day, r.agents) for r in rows] == [(WEEK, 0, 540, 3)]


def test_a_roster_entered_per_hour_covers_its_half_hours(world, history, sessions, session, write) -> None:
    tenant = _tenant(session, world)
    with write() as s:
        staffing.set_roster(s, world.tenant_a.id, WEEK, {(1, 9 * 60): 4}, interval_minutes=60)
    plan = staffing.plan_week(session, tenant, WEEK, interval_minutes=30, today=date(2026, 12, 7))
    scheduled = {(i.weekday, i.minute_of_day): i.scheduled for i in plan.intervals if i.scheduled}
    assert scheduled == {(1, 540): 4, (1, 570): 4}


def test_bad_rosters_are_refused(world, sessions, write) -> None:
    with write() as s:
        for cells in ({(7, 0): 1}, {(0, 1440): 1}, {(0, 15): 1}, {(0, 0): -1}, {(0, 0): 1.5}):
            with pytest.raises(ValidationFailed, match=r"interval|whole numbers"):
                staffing.set_roster(s, world.tenant_a.id, WEEK, cells)


def test_the_what_if_simulation_reports_the_service_a_roster_would_reach(
    world, history, sessions, session, write
) -> None:
    tenant = _tenant(session, world)
    # Staffed as Erlang C asks and callers who wait a long time: close to Erlang C's prediction.
    patient = staffing.what_if(
        staffing.plan_week(session, tenant, WEEK, today=date(2026, 12, 7)), patience_s=3600, replications=40
    )
    assert patient.what_if.staffing == "required" and patient.what_if.offered > 1000
    # Stated tolerance: 5 points of service level (random arrivals; see test_simulation for the tight check).
    assert abs(patient.what_if.service_level - patient.expected_service_level()) < 0.05
    # Nobody on the phones: every caller hangs up.
    with write() as s:
        staffing.set_roster(s, world.tenant_a.id, WEEK, {(0, 0): 1})
    empty = staffing.what_if(staffing.plan_week(session, tenant, WEEK, today=date(2026, 12, 7)))
    assert empty.what_if.staffing == "roster"
    assert empty.what_if.service_level == 0 and empty.what_if.abandonment_rate == 1
    # Same inputs, same answer.
    again = staffing.what_if(staffing.plan_week(session, tenant, WEEK, today=date(2026, 12, 7)))
    assert again.what_if == empty.what_if


def test_the_staffing_page_shows_required_only_until_a_roster_is_saved(app, world, history, db) -> None:
    url = f"/staffing?tenant=tenant-a&week={WEEK}"
    with signed_in(app, world.supervisor_a) as client:
        first = client.get(url)
        assert first.status_code == 200
        assert 'id="no-roster"' in first.text and "the chart shows the required agents only" in first.text
        assert "required (scheduled, with shrinkage)" in first.text and "scheduled (roster)" not in first.text
        filled = client.post(
            "/staffing/roster",
            data={
                "tenant": "tenant-a",
                "week": str(WEEK),
                "interval": "30",
                "action": "required",
                "csrf_token": "test-csrf-token",
            },
            follow_redirects=False,
        )
        assert filled.status_code == 303
        second = client.get(url)
        saved = client.post(
            "/staffing/roster",
            data={
                "tenant": "tenant-a",
                "week": str(WEEK),
                "interval": "30",
                "action": "save",
                "r_0_540": "7",
                "csrf_token": "test-csrf-token",
            },
            follow_redirects=False,
        )
        third = client.get(url + "&simulate=true")
        csv_text = client.get(f"/staffing/export.csv?tenant=tenant-a&week={WEEK}").text
        api = client.get(f"/api/v1/reports/staffing?tenant=tenant-a&week={WEEK}").json()
    assert 'id="no-roster"' not in second.text and "scheduled (roster)" in second.text
    assert saved.status_code == 303
    assert 'data-kpi="whatif_sl"' in third.text and 'value="7"' in third.text
    rows = db.scalars(select(RosterSlot)).all()
    assert [(r.weekday, r.minute_of_day, r.agents) for r in rows] == [(0, 540, 7)]
    assert csv_text.splitlines()[0].startswith("Local start,Forecast contacts,Agents on phones")
    assert len(csv_text.splitlines()) == 1 + 7 * 48
    assert api["has_roster"] is True and api["totals"]["scheduled_agent_hours"] == 3.5


def test_only_queue_managers_change_rosters_and_only_for_their_clients(app, world, history) -> None:
    body = {"tenant": "tenant-a", "week": str(WEEK), "action": "clear", "csrf_token": "test-csrf-token"}
    with signed_in(app, world.manager_a) as client:
        assert client.get(f"/staffing?tenant=tenant-a&week={WEEK}").status_code == 200
        assert client.post("/staffing/roster", data=body).status_code == 403
        assert client.get("/staffing?tenant=tenant-b").status_code == 404
    with signed_in(app, world.supervisor_a) as client:
        other = client.post("/staffing/roster", data={**body, "tenant": "tenant-b"})
        assert other.status_code == 404
        put = client.put(
            "/api/v1/reports/roster",
            json={
                "tenant": "tenant-b",
                "week_start": str(WEEK),
                "slots": [{"weekday": 0, "minute_of_day": 0, "agents": 1}],
            },
        )
        assert put.status_code == 404
        ok = client.put(
            "/api/v1/reports/roster",
            json={
                "tenant": "tenant-a",
                "week_start": str(WEEK),
                "slots": [{"weekday": 0, "minute_of_day": 0, "agents": 2}],
            },
        )
        assert ok.status_code == 200 and ok.json() == {
            "tenant": "tenant-a",
            "week_start": str(WEEK),
            "slots": 1,
        }


def test_the_staffing_command_prints_the_plan(
    monkeypatch, database_url, world, history, sessions, write
) -> None:
    from careline.cli import app as cli

    monkeypatch.setenv("CARELINE_DATABASE_URL", database_url)
    runner = CliRunner()
    text = runner.invoke(cli, ["staffing", "--tenant", "tenant-a", "--week", str(WEEK)])
    assert text.exit_code == 0, text.output
    assert "no roster for this week" in text.output and "target 80% in 30 s" in text.output
    as_json = runner.invoke(
        cli,
        [
            "staffing",
            "--tenant",
            "tenant-a",
            "--week",
            str(WEEK),
            "--target",
            "0.9/20",
            "--json",
            "--simulate",
        ],
    )
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["target"]["service_level"] == 0.9 and body["target"]["answer_seconds"] == 20
    assert len(body["intervals"]) == 7 * 48 and body["what_if"]["staffing"] == "required"
    with write() as s:
        tenant = s.get(Tenant, world.tenant_a.id)
        plan = staffing.plan_week(s, tenant, WEEK, target=staffing.Target(0.9, 20))
    assert body["totals"]["required_agent_hours"] == plan.required_hours
    bad = runner.invoke(cli, ["staffing", "--tenant", "nope", "--week", str(WEEK)])
    assert bad.exit_code == 2 and "no client 'nope'" in bad.output
    report = runner.invoke(
        cli,
        [
            "report",
            "--tenant",
            "tenant-a",
            "--from",
            str(START),
            "--to",
            str(END),
            "--table",
            "reasons",
            "--csv",
        ],
    )
    assert report.exit_code == 0 and report.output.startswith("Reason,Reasons")
