"""The demo directory: realistic mixes, valid data, one world per seed, big worlds on request."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, func, select

from careline.db import transaction
from careline.demo.directory import seed_directory
from careline.demo.seed import DemoOptions
from careline.directory import service
from careline.directory.models import (
    Department,
    InsurancePlan,
    Location,
    LocationClosure,
    OutsideResource,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.kit.npi import is_valid_npi
from careline.kit.phones import normalize_phone
from careline.tenants.service import create_tenant

SLUGS = ("lakeshore", "northside-ortho", "maple-family")
TABLES = (ProviderSpecialty, ProviderLanguage, ProviderLocation, ProviderPlan, Provider, Department,
          LocationClosure, Location, InsurancePlan, OutsideResource)  # fmt: skip


def _tenants(sessions) -> dict[str, int]:
    with transaction(sessions) as db:
        return {slug: create_tenant(db, slug=slug, name=slug.title()).id for slug in SLUGS}


def _seed(sessions, seed: int, providers: int | None = None) -> dict[str, int]:
    with transaction(sessions) as db:
        return seed_directory(db, DemoOptions(seed=seed, providers=providers))


def _wipe(sessions) -> None:
    with transaction(sessions) as db:
        for table in TABLES:
            db.execute(delete(table))


def _snapshot(sessions) -> list[tuple]:
    with transaction(sessions) as db:
        rows = []
        for p in service.search_providers(db, active=None, limit=500)[0]:
            rows.append(
                (
                    p.npi, p.first_name, p.last_name, p.credentials, str(p.gender),
                    tuple(s.taxonomy_code for s in p.specialties), tuple(x.language for x in p.languages),
                    tuple(link.location.name for link in p.location_links),
                    tuple((link.plan.name, link.accepting_new) for link in p.plan_links),
                    tuple(p.visit_reasons), p.accepting_new_patients,
                )
            )  # fmt: skip
        return sorted(rows)


def test_the_default_world_is_realistic_and_valid(sessions, world, db) -> None:
    tenants = _tenants(sessions)
    counts = _seed(sessions, seed=7)
    assert counts["providers"] == 300 and counts["locations"] == 32
    per_tenant = dict(db.execute(select(Provider.tenant_id, func.count()).group_by(Provider.tenant_id)).all())
    assert per_tenant[tenants["lakeshore"]] > 200 and 30 < per_tenant[tenants["northside-ortho"]] < 80
    assert per_tenant[tenants["maple-family"]] == 6
    locs = dict(db.execute(select(Location.tenant_id, func.count()).group_by(Location.tenant_id)).all())
    assert locs[tenants["lakeshore"]] >= 20 and 3 <= locs[tenants["northside-ortho"]] <= 6
    assert 1 <= locs[tenants["maple-family"]] <= 2
    assert all(is_valid_npi(n) for n in db.scalars(select(Provider.npi)))
    assert all(normalize_phone(p) == p and p[5:9] == "5550" for p in db.scalars(select(Location.phone)))
    primary = Counter(
        db.execute(
            select(Provider.tenant_id, ProviderSpecialty.taxonomy_code)
            .join(ProviderSpecialty, ProviderSpecialty.provider_id == Provider.id)
            .where(ProviderSpecialty.is_primary.is_(True))
        ).all()
    )
    lakeshore_primary_care = sum(
        n for (t, code), n in primary.items()
        if t == tenants["lakeshore"] and code in ("207Q00000X", "207R00000X", "208000000X", "363LF0000X")
    )  # fmt: skip
    assert lakeshore_primary_care > per_tenant[tenants["lakeshore"]] * 0.35
    maple = sorted(code for (t, code), n in primary.items() for _ in range(n) if t == tenants["maple-family"])
    assert maple == ["207Q00000X"] * 4 + ["208000000X", "363LF0000X"]
    northside = {code for (t, code) in primary if t == tenants["northside-ortho"]}
    assert northside <= {
        c for c in northside if c.startswith(("207X", "2251", "225X", "208V", "2081", "207QS", "363A"))
    }
    with transaction(sessions) as s:  # every tenant can route billing and out-of-scope callers
        for tid in tenants.values():
            assert service.department_for_intent(s, tid, "billing") is not None
            assert service.resources_for(s, tid, "poison")
        center = next(loc for loc in service.list_locations(s, q="Medical Center")[0])
        assert center.closures and center.parking and center.directions and center.hours["mon"]


def test_the_same_seed_builds_the_same_providers_and_another_seed_does_not(sessions, world) -> None:
    _tenants(sessions)
    _seed(sessions, seed=11, providers=150)
    first = _snapshot(sessions)
    _wipe(sessions)
    _seed(sessions, seed=11, providers=150)
    assert _snapshot(sessions) == first
    _wipe(sessions)
    _seed(sessions, seed=12, providers=150)
    assert _snapshot(sessions) != first
    assert len(first) == 150


def test_a_benchmark_size_spreads_providers_and_adds_locations(sessions, world, db) -> None:
    tenants = _tenants(sessions)
    counts = _seed(sessions, seed=3, providers=2000)
    assert counts["providers"] == 2000
    per_tenant = dict(db.execute(select(Provider.tenant_id, func.count()).group_by(Provider.tenant_id)).all())
    assert sum(per_tenant.values()) == 2000 and per_tenant[tenants["lakeshore"]] > 1500
    lakeshore_locations = db.scalar(select(func.count()).where(Location.tenant_id == tenants["lakeshore"]))
    assert lakeshore_locations == -(-per_tenant[tenants["lakeshore"]] // 40) == 41  # one per ~40 providers
    names = list(db.scalars(select(Location.name)))
    assert len(names) == len(set(names))
    orphans = db.scalar(
        select(func.count())
        .select_from(Provider)
        .where(~Provider.id.in_(select(ProviderLocation.provider_id)))
    )
    assert orphans == 0
