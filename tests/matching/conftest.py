"""Fixtures for the matching tests: the hand-made Chicago directory and a quick way to run a match."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from careline.audit.service import Actor
from careline.db import Scope, transaction
from careline.matching.service import MatchRequest, MatchResult, match
from tests.matching.world import Chicago, build


@pytest.fixture
def chicago(sessions, world) -> Chicago:
    return build(sessions, world)


@pytest.fixture
def find(sessions, world, chicago) -> Callable[..., MatchResult]:
    """Run a match as a tenant-A user would (scoped session, committed like a request)."""

    def run(**fields) -> MatchResult:
        fields.setdefault("tenant_id", world.tenant_a.id)
        with transaction(sessions, Scope(frozenset({world.tenant_a.id}))) as s:
            return match(s, MatchRequest(**fields), actor=Actor("test", user_id=world.agent_a.id))

    return run


def names(result: MatchResult, chicago: Chicago) -> list[str]:
    """The short names of the results, best first."""
    return [chicago.name_of(c.provider_id) for c in result.results]
