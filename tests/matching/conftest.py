"""Fixtures for the matching tests: the hand-made Chicago directory and a quick way to run a match."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from careline.audit.service import Actor
from careline.db import Scope, transaction
from careline.matching.service import MatchRequest, MatchResult, match
from tests.matching.world import Chicago, build


@pytest.fixture(autouse=True)
def _fresh_row_counts() -> None:
    """Every test empties the database, so the counts the walk keeps from another test's rows go."""
    from careline.matching.candidates import ROW_COUNTS

    ROW_COUNTS.clear()


@pytest.fixture
def chicago(sessions, world) -> Chicago:
    return build(sessions, world)


@pytest.fixture(params=["index", "sql"])
def find(request, sessions, world, chicago, monkeypatch) -> Callable[..., MatchResult]:
    """Run a match as a tenant-A user would (scoped session, committed like a request): once with
    the tenant's directory in memory (matching/index.py), once by the SQL walk (candidates.search)."""
    from careline.matching.index import INDEXES

    monkeypatch.setattr(INDEXES, "mode", "sync" if request.param == "index" else "off")

    def run(**fields) -> MatchResult:
        fields.setdefault("tenant_id", world.tenant_a.id)
        with transaction(sessions, Scope(frozenset({world.tenant_a.id}))) as s:
            return match(s, MatchRequest(**fields), actor=Actor("test", user_id=world.agent_a.id))

    return run


def names(result: MatchResult, chicago: Chicago) -> list[str]:
    """The short names of the results, best first."""
    return [chicago.name_of(c.provider_id) for c in result.results]


@pytest.fixture
def calendars(sessions, world, chicago, clock) -> dict[str, int]:
    """New-patient visits: Dr. Olsen today (Monday) afternoon, Dr. Ortiz from next Monday morning."""
    from careline.scheduling import config

    with transaction(sessions) as s:
        new = config.create_type(
            s, tenant_id=world.tenant_a.id, name="New patient", duration_minutes=30, patient_kind="new"
        ).id
        config.create_type(
            s, tenant_id=world.tenant_a.id, name="Follow-up", duration_minutes=15, patient_kind="established"
        )
        for who, where, start, end, since in (
            ("oscar", "op", "13:00", "17:00", date(2026, 1, 1)),
            ("olivia", "loop", "09:00", "12:00", date(2026, 12, 14)),
        ):
            config.create_template(
                s,
                provider_id=chicago.doc[who],
                location_id=chicago.loc[where],
                weekday=0,
                start_local=start,
                end_local=end,
                effective_from=since,
            )
    return {"new": new}
