"""The in-memory directory index (matching/index.py): the same answers as the full scan, and never an
answer from a directory that has changed since it was loaded, whoever changed it."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import delete, insert, select, text, update

from careline.db import Scope, transaction
from careline.directory import service as directory
from careline.directory.models import (
    MATCHED_TABLES,
    Location,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.matching import candidates, index
from careline.matching.index import INDEXES, TenantIndex, stamp_of
from careline.matching.naive import full_scan
from careline.matching.service import MatchRequest, match
from tests.directory import factories as f
from tests.matching.world import ORTHO, random_directory, random_requests


class Spy:
    """Counts the calls of a function it wraps."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.inner(*args, **kwargs)


def _key(result) -> list[tuple]:
    return [(c.provider_id, round(c.score, 9), c.location_id, c.code, c.distance) for c in result.results]


def test_the_in_memory_walk_finds_what_a_full_scan_finds(sessions, world, monkeypatch) -> None:
    """600 random providers (random age groups and limits, some inactive, some closed locations),
    queried 60 ways with ages, plans, languages and genders, required or preferred: the in-memory walk
    gives the full scan's list, score, location and specialty for specialty, every time."""
    rng = random.Random(11)
    a = world.tenant_a.id
    zips, plans = random_directory(sessions, world, rng, ages=True)
    requests = random_requests(rng, zips, plans, ages=True) + random_requests(rng, zips, plans, ages=True)
    walked = Spy(TenantIndex.search)
    sql = Spy(candidates.search)
    monkeypatch.setattr(TenantIndex, "search", lambda self, *args: walked(self, *args))
    monkeypatch.setattr(index.candidates, "search", sql)
    seen = 0
    with transaction(sessions, Scope(frozenset({a}))) as s:
        for request in requests:
            fast = match(s, MatchRequest(tenant_id=a, **request))
            slow = match(s, MatchRequest(tenant_id=a, **request), search_with=full_scan)
            assert _key(fast) == _key(slow), request
            seen += len(fast.results)
    assert walked.calls == len(requests) and sql.calls == 0  # every request was answered in memory
    assert seen > 150


def _stamps(sessions, *tenants: int) -> list[tuple[str, int]]:
    with transaction(sessions) as s:
        return [stamp_of(s.connection(), t) for t in tenants]


def test_every_change_to_a_matched_table_moves_that_tenants_version_only(sessions, world) -> None:
    """INSERT, UPDATE and DELETE on each of the six tables the walk reads, made in plain SQL (as an
    import or a hand edit would), each move tenant A's version and leave tenant B's alone."""
    a, b = world.tenant_a.id, world.tenant_b.id
    with transaction(sessions) as s:
        f.provider(s, b, location_ids=[f.location(s, b).id])
        plan = f.plan(s, a).id
        linked = f.provider(s, a, location_ids=[f.location(s, a).id], languages=["en", "es"], plans=[plan])
        loose_location = f.location(s, a, zip="60601").id
        loose_provider = f.provider(s, a, specialties=[], languages=[]).id
    picks = {
        Provider.__table__: Provider.id == loose_provider,
        Location.__table__: Location.id == loose_location,
        **{
            model.__table__: model.provider_id == linked.id
            for model in (ProviderLocation, ProviderSpecialty, ProviderLanguage, ProviderPlan)
        },
    }
    assert {t.name for t in picks} == set(MATCHED_TABLES)  # every table the index reads, each tried
    for table, which in picks.items():
        with transaction(sessions) as s:
            row = dict(s.execute(select(table).where(which).limit(1)).mappings().one())
        for change in ("update", "delete", "insert"):
            (epoch, before), other = _stamps(sessions, a, b)
            with transaction(sessions) as s:
                if change == "update":
                    s.execute(update(table).where(table.c.id == row["id"]).values(tenant_id=a))
                elif change == "delete":
                    s.execute(delete(table).where(table.c.id == row["id"]))
                else:
                    s.execute(insert(table).values(**row))
            (epoch_after, after), other_after = _stamps(sessions, a, b)
            assert (epoch_after, other_after) == (epoch, other), (table.name, change)
            assert after > before, (table.name, change)


def test_emptying_a_table_moves_every_tenants_version(sessions, world, engine) -> None:
    """TRUNCATE on PostgreSQL (no row triggers fire: a statement trigger moves every tenant), a
    DELETE of every row on SQLite: both tenants' versions move."""
    a, b = world.tenant_a.id, world.tenant_b.id
    with transaction(sessions) as s:
        for tenant in (a, b):
            f.provider(s, tenant, plans=[f.plan(s, tenant).id])
    before = _stamps(sessions, a, b)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE provider_plans"))
        else:
            conn.execute(text("DELETE FROM provider_plans"))
    after = _stamps(sessions, a, b)
    assert [v for _, v in after] > [v for _, v in before]
    assert all(x[1] > y[1] for x, y in zip(after, before, strict=True))


@pytest.fixture
def knee(sessions, world) -> dict[str, int]:
    """Two orthopedists in the Loop, one a mile nearer the patient than the other."""
    a = world.tenant_a.id
    with transaction(sessions) as s:
        loop = f.location(s, a, zip="60601").id
        lincoln_park = f.location(s, a, zip="60614").id
        near = f.provider(s, a, last_name="Near", specialties=[ORTHO], location_ids=[lincoln_park]).id
        far = f.provider(s, a, last_name="Far", specialties=[ORTHO], location_ids=[loop]).id
    return {"near": near, "far": far, "loop": loop, "lincoln_park": lincoln_park}


def _ask(sessions, world) -> list[int]:
    a = world.tenant_a.id
    with transaction(sessions, Scope(frozenset({a}))) as s:
        request = MatchRequest(tenant_id=a, need="knee pain", zip="60614")
        fast = match(s, request)
        assert _key(fast) == _key(match(s, request, search_with=full_scan))
        return [c.provider_id for c in fast.results]


def test_a_match_after_a_change_answers_from_the_directory_as_it_is_now(sessions, world, knee) -> None:
    """Sync mode: the index is loaded, then a provider stops taking new patients (through the
    service), another's location closes (a plain UPDATE): each next match sees it, from a new index."""
    assert _ask(sessions, world) == [knee["near"], knee["far"]]
    with transaction(sessions) as s:
        first = INDEXES.held(s, world.tenant_a.id)
        directory.update_provider(s, knee["near"], {"accepting_new_patients": False})
    assert _ask(sessions, world) == [knee["far"]]
    with transaction(sessions) as s:
        second = INDEXES.held(s, world.tenant_a.id)
        s.execute(update(Location.__table__).where(Location.id == knee["loop"]).values(active=False))
    assert _ask(sessions, world) == []
    with transaction(sessions) as s:
        third = INDEXES.held(s, world.tenant_a.id)
    assert first is not None and second is not None and third is not None
    assert first.stamp[1] < second.stamp[1] < third.stamp[1]


def test_in_the_background_the_sql_walk_answers_until_the_new_version_is_loaded(
    sessions, world, knee, monkeypatch
) -> None:
    """The serving app's mode: a request never waits for a load; it is answered by the SQL walk
    while a thread loads the directory, and from memory once that version is held."""
    monkeypatch.setattr(INDEXES, "mode", "background")
    sql = Spy(candidates.search)
    loads = Spy(index.load)
    monkeypatch.setattr(index.candidates, "search", sql)
    monkeypatch.setattr(index, "load", loads)
    assert _ask(sessions, world) == [knee["near"], knee["far"]]
    assert sql.calls == 1  # nothing held yet: the SQL walk answered
    assert INDEXES.wait(30)
    assert _ask(sessions, world) == [knee["near"], knee["far"]]
    assert (sql.calls, loads.calls) == (1, 1)  # answered from memory, loaded once
    with transaction(sessions) as s:
        directory.update_provider(s, knee["near"], {"active": False})
    assert _ask(sessions, world) == [knee["far"]]  # the old index is not used: the SQL walk answers
    assert sql.calls == 2
    assert INDEXES.wait(30)
    assert _ask(sessions, world) == [knee["far"]]
    assert (sql.calls, loads.calls) == (2, 2)


def test_a_load_that_fails_leaves_the_sql_walk_answering(sessions, world, knee, monkeypatch, caplog) -> None:
    """A load that fails (the database went away mid-read, say) is logged; the SQL walk keeps
    answering, and the load is not tried again at every request but after RETRY_SECONDS."""
    monkeypatch.setattr(INDEXES, "mode", "background")

    def broken(conn, tenant_id):
        loads.calls += 1
        raise RuntimeError("connection lost")

    loads = Spy(None)
    monkeypatch.setattr(index, "load", broken)
    for _ in range(3):
        assert _ask(sessions, world) == [knee["near"], knee["far"]]
        assert INDEXES.wait(30)
    assert loads.calls == 1
    assert "loading the matching index of tenant" in caplog.text
    with transaction(sessions) as s:
        assert INDEXES.held(s, world.tenant_a.id) is None


def test_a_serving_process_loads_every_clients_directory_at_start(sessions, world, knee, engine, monkeypatch):
    """`careline serve` preloads each client's directory in a thread: the first search is answered
    from memory, not by the SQL walk."""
    with transaction(sessions) as s:
        f.provider(s, world.tenant_b.id, location_ids=[f.location(s, world.tenant_b.id).id])
    monkeypatch.setattr(INDEXES, "mode", "background")
    thread = INDEXES.preload(engine)
    assert thread is not None
    thread.join(30)
    assert INDEXES.wait(30)
    sql = Spy(candidates.search)
    monkeypatch.setattr(index.candidates, "search", sql)
    assert _ask(sessions, world) == [knee["near"], knee["far"]]
    assert sql.calls == 0
    with transaction(sessions) as s:
        held = [INDEXES.held(s, t.id) for t in (world.tenant_a, world.tenant_b)]
    assert all(h is not None and h.size == 2 - n for n, h in enumerate(held))  # B too: nobody searched it
