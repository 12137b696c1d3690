"""A match's next openings read scheduling's tables provider by provider. On a SQLite file nobody has
run ANALYZE on, those reads must still take a provider index, not the tenant's (which at 100,000
providers means a million weekly windows, ~0.2 s a match); and `refresh_statistics` gives the planner
statistics after an upgrade or the demo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, text

from careline.db import Scope, make_engine, make_session_factory, open_session
from careline.migrate import refresh_statistics, upgrade
from careline.scheduling.availability import load_appointments, load_exceptions, load_templates
from careline.scheduling.common import provider_codes


def _plans(url: str) -> dict[str, str]:
    """The query plan of each per-provider read, as a request's scoped session sends it."""
    engine = make_engine(url)
    sent: list[tuple[str, object]] = []
    event.listen(
        engine, "before_cursor_execute", lambda c, cur, stmt, params, ctx, many: sent.append((stmt, params))
    )
    start = datetime(2026, 12, 7, tzinfo=UTC)
    names = ("templates", "appointments", "exceptions", "codes")
    with open_session(make_session_factory(engine), Scope(frozenset({1}))) as s:
        load_templates(s, 1, [11, 12, 13], date(2026, 12, 7), date(2026, 12, 8))
        load_appointments(s, [11, 12, 13], start, start + timedelta(days=2), start)
        load_exceptions(s, 1, [11, 12, 13], start, start + timedelta(days=2))
        provider_codes(s, [11, 12, 13])
    reads = [(stmt, params) for stmt, params in sent if stmt.lstrip().upper().startswith("SELECT")]
    assert len(reads) == len(names)
    out = {}
    with engine.connect() as conn:
        for name, (stmt, params) in zip(names, reads, strict=True):
            out[name] = " | ".join(
                row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params)
            )
    engine.dispose()
    return out


def test_scheduling_reads_take_a_provider_index_without_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    plans = _plans(url)
    assert "ix_availability_templates_tenant_id_provider_id" in plans["templates"], plans
    # (provider, start) or (provider, tenant, start): the search names providers already checked.
    assert "USING INDEX ix_appointments_provider_" in plans["appointments"], plans
    assert "ix_calendar_exceptions_tenant_ends" in plans["exceptions"], plans
    # Not the tenant's index (every row of the tenant): the scope's criteria used to lead there.
    assert "(provider_id=?)" in plans["codes"] and "tenant" not in plans["codes"], plans


def test_refresh_statistics_gives_sqlite_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    upgrade(url)
    engine = make_engine(url, immediate=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenants (id, slug, name, kind, timezone, phone, active, settings, created_at)"
                " VALUES (1, 't', 'T', 'health_system', 'America/Chicago', '', 1, '{}', '2026-12-07')"
            )
        )
        assert not conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")).all()
    refresh_statistics(url)
    with engine.connect() as conn:
        tables = {row[0] for row in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
    engine.dispose()
    assert "tenants" in tables
    # The plans stay on the provider indexes with statistics too.
    assert "ix_availability_templates_tenant_id_provider_id" in _plans(url)["templates"]
