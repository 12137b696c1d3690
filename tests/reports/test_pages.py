"""The dashboard pages, CSV export and monthly report show the independently computed figures."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.reports.dashboards import INTENT_LABELS
from tests.factories import signed_in
from tests.reports import expected as x
from tests.reports.history import END, START, build_history

RANGE = f"from={START}&to={END}"


@pytest.fixture
def history(sessions, world, clock):
    return build_history(sessions, world, per_day=6)


def _kpi(html: str, name: str) -> str:
    found = re.search(rf'data-kpi="{name}">([^<]*)<', html)
    assert found, f"no KPI {name}"
    return found.group(1)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_practice_managers_page_shows_the_figures_of_a_direct_query(app, world, history, db) -> None:
    e = x.load(db, [world.tenant_a.id], START, END)
    vol, svc, sat = x.volume(e), x.service(e), x.satisfaction(e)["all"]
    with signed_in(app, world.manager_a) as client:
        page = client.get(f"/reports?{RANGE}")
    assert page.status_code == 200
    html = page.text
    assert "What the call center did for Tenant A Health" in html
    assert _kpi(html, "received") == f"{vol['received']:,}"
    assert _kpi(html, "handled") == f"{vol['handled']:,}"
    assert _kpi(html, "booked") == str(x.outcomes(e)["appointment_booked"])
    assert _kpi(html, "csat") == _pct(sat["csat"])
    assert _kpi(html, "need_met") == _pct(sat["need_met"])
    assert _kpi(html, "nps") == f"{sat['nps']:+.0f}"
    assert _kpi(html, "service_level") == _pct(svc["service_level"])
    assert _kpi(html, "abandonment") == _pct(svc["abandonment"])
    assert html.count("<svg") >= 7 and "Contacts per day" in html
    # a practice manager sees neither per-agent figures nor callers' comments
    assert 'id="agents"' not in html and 'id="comments"' not in html and "Agent A" not in html


def test_every_table_exports_as_csv_with_the_same_figures(app, world, history, db) -> None:
    e = x.load(db, [world.tenant_a.id], START, END)
    with signed_in(app, world.manager_a) as client:
        page = client.get(f"/reports?{RANGE}").text
        links = sorted(set(re.findall(r'href="/reports/export/(\w+)\.csv\?([^"]+)"', page)))
        assert {name for name, _ in links} == {
            "summary",
            "daily",
            "channels",
            "reasons",
            "front_desk",
            "outcomes",
            "new_patients",
            "escalations",
            "red_flags",
            "satisfaction",
            "satisfaction_by_reason",
            "service",
        }
        for name, query in links:
            response = client.get(f"/reports/export/{name}.csv?{query.replace('&amp;', '&')}")
            assert response.status_code == 200 and response.text.count("\n") >= 2, name
        reasons = _csv(client.get(f"/reports/export/reasons.csv?{RANGE}"))
        summary = {r["Figure"]: r["Value"] for r in _csv(client.get(f"/reports/export/summary.csv?{RANGE}"))}
        daily = _csv(client.get(f"/reports/export/daily.csv?{RANGE}"))
        weeks = _csv(client.get(f"/reports/export/satisfaction.csv?{RANGE}"))
    want = x.reasons(e)
    assert {r["Reason"]: int(r["Reasons"]) for r in reasons} == {
        INTENT_LABELS[k]: want.get(k, 0) for k in INTENT_LABELS
    }
    vol, svc = x.volume(e), x.service(e)
    assert summary["Contacts received"] == str(vol["received"])
    assert summary["Average handle time"] == f"{vol['avg_handle_s']:.1f}"
    assert summary["Service level (30 s)"] == f"{svc['service_level'] * 100:.1f}"
    assert summary["Refill requests routed"] == str(x.routed(e, "refill"))
    esc = x.escalations(db, e)
    assert summary["Time to clinician, median"] == f"{esc['median']:.1f}"
    assert summary["Time to clinician, 90th percentile"] == f"{esc['p90']:.1f}"
    assert {r["Day"]: int(r["Received"]) for r in daily} == {str(d): n[0] for d, n in vol["daily"].items()}
    sat = x.satisfaction(e)["weeks"]
    for row in weeks:
        if int(row["Answered"]):
            week = next(w for w in sat if str(w) == row["Week of"])
            assert (
                row["NPS"] == f"{sat[week]['nps']:.1f}"
                and row["CSAT (%)"] == f"{sat[week]['csat'] * 100:.1f}"
            )


def test_a_practice_manager_sees_only_their_own_practice(app, world, history) -> None:
    with signed_in(app, world.manager_a) as client:
        assert client.get(f"/reports?tenant=tenant-b&{RANGE}").status_code == 404
        assert client.get(f"/reports/export/summary.csv?tenant=tenant-b&{RANGE}").status_code == 404
        assert client.get("/reports/monthly?tenant=tenant-b&month=2026-11").status_code == 404
        assert client.get(f"/reports?tenant=tenant-a&tenant=tenant-b&{RANGE}").status_code in (403, 404)
        assert client.get(f"/reports?location={history.locations['b']}&{RANGE}").status_code == 404
        assert client.get(f"/reports/export/comments.csv?{RANGE}").status_code == 404
        assert client.get(f"/reports/export/agents.csv?{RANGE}").status_code == 404
        assert client.get("/api/v1/reports/dashboard?tenant=tenant-b").status_code == 404
    with signed_in(app, world.agent_a) as client:
        assert client.get("/reports").status_code == 403


def test_the_supervisor_sees_clients_agents_and_audited_comments(app, world, history, db, sessions) -> None:
    from careline.db import transaction
    from tests.factories import make_user

    with transaction(sessions) as s:
        boss = make_user(s, "boss@test.example", "supervisor", ["tenant-a", "tenant-b"])
    e = x.load(db, [world.tenant_a.id, world.tenant_b.id], START, END)
    with signed_in(app, boss) as client:
        page = client.get(f"/reports?{RANGE}")
        assert page.status_code == 200
        comments = _csv(client.get(f"/reports/export/comments.csv?{RANGE}"))
        agents = _csv(client.get(f"/reports/export/agents.csv?{RANGE}"))
        clients = _csv(client.get(f"/reports/export/clients.csv?{RANGE}"))
        one = client.get(f"/reports?tenant=tenant-b&{RANGE}")
    html = page.text
    assert 'id="clients"' in html and 'id="agents"' in html and 'id="comments"' in html
    assert _kpi(html, "received") == f"{len(e.contacts):,}"
    want_comments = x.comments(e)
    assert len(comments) == len(want_comments)
    assert [r["Comment"] for r in comments] == [
        "'" + c if c[:1] in "=+-@" else c for _, c in want_comments
    ]  # a formula-looking comment is defused for spreadsheets
    want_agents = x.agents(e)
    assert sorted(int(r["Handled"]) for r in agents) == sorted(a["handled"] for a in want_agents.values())
    assert {r["Client"]: int(r["Received"]) for r in clients} == {
        "Tenant A Health": len(x.load(db, [world.tenant_a.id], START, END).contacts),
        "Tenant B Clinic": len(x.load(db, [world.tenant_b.id], START, END).contacts),
    }
    assert one.status_code == 200 and "Tenant B Clinic" in one.text
    actions = [
        a.action for a in db.scalars(select(AuditEvent).where(AuditEvent.actor == "boss@test.example"))
    ]
    assert "survey.comments.read" in actions and "survey.comments.export" in actions


def test_the_location_filter_narrows_every_figure(app, world, history, db) -> None:
    loc = history.locations["north"]
    e = x.load(db, [world.tenant_a.id], START, END, loc)
    with signed_in(app, world.manager_a) as client:
        page = client.get(f"/reports?{RANGE}&location={loc}")
        api = client.get(f"/api/v1/reports/dashboard?{RANGE}&location={loc}").json()
    assert "North Clinic" in page.text
    assert _kpi(page.text, "received") == f"{len(e.contacts):,}"
    assert api["volume"]["received"] == len(e.contacts)
    assert api["front_desk"]["information_given"] == x.outcomes(e)["information_given"]


def test_the_monthly_report_is_printable_and_matches_the_month(app, world, history, db) -> None:
    from datetime import date

    e = x.load(db, [world.tenant_a.id], date(2026, 11, 1), date(2026, 11, 30))
    with signed_in(app, world.manager_a) as client:
        page = client.get("/reports/monthly?tenant=tenant-a&month=2026-11")
        bad = client.get("/reports/monthly?tenant=tenant-a&month=November")
    assert page.status_code == 200
    assert "Tenant A Health: call-center report for November 2026" in page.text
    assert "@media print" in page.text and "window.print()" in page.text
    assert _kpi(page.text, "received") == f"{len(e.contacts):,}"
    assert bad.status_code == 422


def test_bad_filters_are_explained(app, world) -> None:
    with signed_in(app, world.manager_a) as client:
        assert client.get("/reports?from=yesterday").status_code == 422
        assert client.get("/reports?from=2026-11-10&to=2026-11-01").status_code == 422
        assert client.get("/reports?location=abc").status_code == 422
        assert client.get("/reports/export/nothing.csv").status_code == 404
        empty = client.get("/reports?from=2020-01-01&to=2020-01-31")
    assert empty.status_code == 200 and "no data in this range" in empty.text
