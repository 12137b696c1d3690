"""Tied crowds: many providers with the same score at one distance (a downtown hospital, a ZIP's offices
on one centroid). Among equals the ranking orders by distance, then last name, first name and id
(`rules._order`), so the top of the list is the first names of the alphabet, whatever order the rows
come in: the walk must give what the naive full scan gives, name for name."""

from __future__ import annotations

import random

import pytest

from careline.db import Scope, transaction
from careline.matching import candidates
from careline.matching.naive import full_scan
from careline.matching.service import MatchRequest, match
from tests.directory import factories as f

ALLERGY, DERM = "207K00000X", "207N00000X"


@pytest.fixture
def crowd(sessions, world) -> list[tuple[str, str, int]]:
    """60 allergists on the Loop's centroid (two offices, the same distance from anyone), all scoring
    the same for a patient there, made in reverse name order (ids do not follow names): repeated last
    names, one full name twice (the id decides), some with a second, secondary specialty; and a few
    allergists 3 miles away who score less. Returns (last, first, id) of the crowd."""
    a = world.tenant_a.id
    rng = random.Random(5)
    lasts = ["Abbott", "Brown", "Brown", "Chen", "Diaz", "Evans", "Garcia", "Kim", "Lee", "Nguyen", "Patel"]
    people = [(rng.choice(lasts), rng.choice(["Ann", "Bo", "Cy", "Di", "Ed"])) for _ in range(58)]
    people += [("Brown", "Ann"), ("Brown", "Ann")]
    people.sort(reverse=True)
    out = []
    with transaction(sessions) as s:
        offices = [f.location(s, a, zip="60601").id for _ in range(2)]
        far = f.location(s, a, zip="60614").id
        for n, (last, first) in enumerate(people):
            p = f.provider(
                s,
                a,
                last_name=last,
                first_name=first,
                specialties=[ALLERGY] + ([DERM] if n % 7 == 0 else []),
                location_ids=[offices[n % 2]] + ([far] if n % 5 == 0 else []),
                gender="female",
                accepting_new_patients=True,
                telehealth=False,
            )
            out.append((last, first, p.id))
        for last in ("Aardvark", "Aaronson", "Abel"):  # first by name, but farther: they rank below
            f.provider(s, a, last_name=last, first_name="Al", specialties=[ALLERGY], location_ids=[far])
    return sorted(out)


@pytest.mark.parametrize("small", [False, True, "index"])
def test_a_tied_crowd_is_ordered_by_name_as_the_full_scan_orders_it(
    sessions, world, crowd, monkeypatch, small
) -> None:
    """The top 10 of a crowd of equals are its first 10 by last name, first name and id, as the naive
    scan says: by the SQL walk, also with small batches (the large-batch probe and the other ends
    taken), and in memory (matching/index.py)."""
    from careline.matching.index import INDEXES

    monkeypatch.setattr(INDEXES, "mode", "sync" if small == "index" else "off")
    if small is True:
        monkeypatch.setattr(candidates, "SMALL_BATCH", 5)
        monkeypatch.setattr(candidates, "FIRST_BATCH", 1)
    a = world.tenant_a.id
    with transaction(sessions, Scope(frozenset({a}))) as s:
        for limit in (10, 5, 25):
            request = MatchRequest(tenant_id=a, need="allergist near me", zip="60601", limit=limit)
            walked = match(s, request)
            scanned = match(s, request, search_with=full_scan)
            got = [(c.provider_id, round(c.score, 9), c.location_id, c.code) for c in walked.results]
            assert got == [(c.provider_id, round(c.score, 9), c.location_id, c.code) for c in scanned.results]
            assert [c.provider_id for c in walked.results] == [pid for _, _, pid in crowd[:limit]]
            assert len({round(c.score, 9) for c in walked.results}) == 1  # a tie, broken by name
