"""Demo directory: locations, plans, departments, outside resources and providers for the three tenants.

The default world has ~300 providers at 32 hand-written locations (directory_world.yaml). With
`options.providers` (e.g. 100,000 for benchmarks) that many providers are spread over the tenants
(mostly lakeshore) with one extra location per ~40 providers on real ZIPs of a wider region.
Providers and generated locations go in with bulk inserts in chunks, so big worlds take seconds.
Everything is drawn from one seeded generator (and Faker's name lists), so a seed gives one world.
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from datetime import date
from enum import Enum
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml
from faker import Faker
from sqlalchemy import JSON, insert, select
from sqlalchemy.orm import Session

from careline.directory import reference, service
from careline.directory.models import (
    Gender,
    Location,
    LocationClosure,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.directory.rules import parse_hours_text
from careline.kit import geo
from careline.kit.clock import utcnow
from careline.kit.npi import generate_npi
from careline.tenants.models import Tenant

WORLD = yaml.safe_load((Path(__file__).with_name("directory_world.yaml")).read_text(encoding="utf-8"))
CHUNK = 5000
DEFAULT_PROVIDERS = {"lakeshore": 246, "northside-ortho": 48, "maple-family": 6}
LARGE_SHARE = {"lakeshore": 0.82, "northside-ortho": 0.12, "maple-family": 0.06}
PROVIDERS_PER_LOCATION = 40
REGION = {"lakeshore": ("60602", 60.0), "northside-ortho": ("60660", 30.0), "maple-family": ("60525", 20.0)}
BRAND = {
    "lakeshore": "Lakeshore",
    "northside-ortho": "Northside Orthopedics",
    "maple-family": "Maple Family Practice",
}
AREA_CODES = {"Chicago": ("312", "773", "872")}
SUBURB_AREA_CODES = ("847", "630", "708")

PEOPLE = WORLD["providers"]
MIX: dict[str, dict[str, float]] = PEOPLE["mix"]
MAPLE_FIXED: list[str] = PEOPLE["maple_fixed"]
SECOND: dict[str, list[str]] = PEOPLE["second"]
CREDENTIALS: dict[str, list[str]] = PEOPLE["credentials"]
LANGUAGES: dict[str, float] = PEOPLE["languages"]
CONDITIONS: dict[str, list[str]] = PEOPLE["conditions"]
SCHOOLS: list[str] = PEOPLE["schools"]
ACCESS: list[str] = PEOPLE["access"]
STREETS: list[str] = PEOPLE["streets"]


class _Weighted:
    """Values with cumulative weights: one random() and a bisect per draw."""

    def __init__(self, items: dict[Any, float] | Sequence[Any]) -> None:
        if isinstance(items, dict):
            self.values, weights = list(items), list(items.values())
        else:
            self.values, weights = list(items), [1.0] * len(items)
        self.cum = list(accumulate(weights))

    def draw(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


LANGUAGE_POOL = _Weighted(LANGUAGES)


@cache
def _names() -> tuple[_Weighted, _Weighted, _Weighted]:
    p = Faker("en_US").provider("faker.providers.person")
    return (
        _Weighted(dict(p.first_names_female)),
        _Weighted(dict(p.first_names_male)),
        _Weighted(dict(p.last_names)),
    )


def _chunks(rows: list[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _bulk(db: Session, model: type, rows: list[dict]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany in chunks on SQLite.

    (psycopg's executemany still pays a round trip per row, and multi-row VALUES statements cost
    SQLAlchemy more to compile than they save; COPY loads 100,000s of rows a second.)
    """
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    if db.get_bind().dialect.name != "postgresql":
        for chunk in _chunks(rows):
            db.execute(insert(table), chunk)
        return
    columns = list(rows[0])
    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    raw = db.connection().connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c])
                    if c in as_json
                    else row[c].value
                    if isinstance(row[c], Enum)
                    else row[c]
                    for c in columns
                ]
            )


def _phone(rng: random.Random, city: str) -> str:
    area = rng.choice(AREA_CODES.get(city, SUBURB_AREA_CODES))
    return f"+1{area}5550{rng.randrange(100, 200)}"


def _closures(hours_kind: str) -> list[dict[str, str]]:
    return [
        {"date": day, "reason": reason}
        for day, reason, always in WORLD["holidays"]
        if always or hours_kind != "urgent"
    ]


def _seed_places(db: Session, rng: random.Random, tenant: Tenant, spec: dict) -> dict[str, Any]:
    """Plans, hand-written locations, departments and outside resources of one tenant."""
    wanted = spec["plans"]
    plans = {}
    for name, payer, plan_type in WORLD["plans"]:
        if wanted == "all" or name in wanted:
            plans[name] = service.create_plan(
                db, tenant_id=tenant.id, name=name, payer=payer, plan_type=plan_type
            )
    locations = []
    for name, street, zip5, hours, parking, directions in spec["locations"]:
        info = geo.require_zip(zip5)
        locations.append(
            service.create_location(
                db,
                tenant_id=tenant.id,
                name=name,
                address_line1=street,
                zip=zip5,
                phone=_phone(rng, info.city.title()),
                hours=WORLD["hours"][hours],
                parking=parking,
                directions=directions,
                accessibility=rng.choice(ACCESS),
                closures=_closures(hours),
            )
        )
    by_name = {loc.name: loc.id for loc in locations}
    for name, kind, where, phone, transfer, queue, hours, intents, description in spec["departments"]:
        service.create_department(
            db,
            tenant_id=tenant.id,
            name=name,
            kind=kind,
            location_id=by_name.get(where) if where else None,
            phone=phone,
            transfer_number=transfer,
            queue=queue,
            hours=hours,
            intents=intents,
            description=description,
        )
    resources = service.seed_default_resources(db, tenant.id)
    return {
        "plans": plans,
        "locations": locations,
        "departments": len(spec["departments"]),
        "resources": resources,
    }


def _extra_locations(db: Session, rng: random.Random, tenant: Tenant, count: int) -> list[int]:
    """`count` generated locations on real ZIPs of the tenant's region, bulk-inserted with closures."""
    if count <= 0:
        return []
    center, miles = REGION[tenant.slug]
    zips = geo.zips_near(center, miles, standard_only=True)
    seen: dict[str, int] = {}
    rows, kinds = [], []
    now = utcnow()
    for i in range(count):
        info = zips[i % len(zips)]
        city = info.city.title()
        seen[city] = seen.get(city, 0) + 1
        kind = rng.choice(["clinic", "clinic", "clinic_sat", "clinic_late", "office", "urgent"])
        kinds.append(kind)
        label = "Urgent Care" if kind == "urgent" else "Clinic"
        rows.append(
            {
                "tenant_id": tenant.id,
                "name": f"{BRAND[tenant.slug]} {city} {label} {seen[city]}",
                "address_line1": f"{rng.randrange(100, 9900)} {rng.choice(STREETS)}",
                "city": city,
                "state": info.state,
                "zip": info.zip,
                "lat": info.lat,
                "lon": info.lon,
                "timezone": info.timezone,
                "phone": _phone(rng, city),
                "parking": rng.choice(["Free surface lot.", "Street parking.", "Paid garage next door."]),
                "directions": f"Near {rng.choice(STREETS)}.",
                "accessibility": rng.choice(ACCESS),
                "hours": parse_hours_text(WORLD["hours"][kind]),
                "active": True,
                "created_at": now,
            }
        )
    _bulk(db, Location, rows)
    named = select(Location.name, Location.id).where(Location.tenant_id == tenant.id)
    by_name = dict(db.execute(named).all())
    ids = [by_name[row["name"]] for row in rows]
    closures = [
        {
            "tenant_id": tenant.id,
            "location_id": loc_id,
            "date": date.fromisoformat(c["date"]),
            "reason": c["reason"],
        }
        for loc_id, kind in zip(ids, kinds, strict=True)
        for c in _closures(kind)
    ]
    _bulk(db, LocationClosure, closures)
    return ids


def _credentials(rng: random.Random, code: str) -> str:
    if code in CREDENTIALS:
        return rng.choice(CREDENTIALS[code])
    return "DO" if rng.random() < 0.18 else "MD"


def _provider(rng: random.Random, tenant: Tenant, code: str, npis: set[str]) -> dict[str, Any]:
    """One provider's columns and lists, drawn in a fixed order from `rng`."""
    female, male, last = _names()
    spec = reference.specialties()[code]
    codes = [code]
    if code in SECOND and rng.random() < 0.15:
        codes.append(rng.choice(SECOND[code]))
    roll = rng.random()
    gender = Gender.FEMALE if roll < 0.55 else Gender.MALE if roll < 0.99 else Gender.NONBINARY
    first = (
        female if gender is Gender.FEMALE else male if gender is Gender.MALE else rng.choice([female, male])
    ).draw(rng)
    npi = generate_npi(rng)
    while npi in npis:
        npi = generate_npi(rng)
    npis.add(npi)
    langs = ["en", *sorted({LANGUAGE_POOL.draw(rng) for _ in range(2) if rng.random() < 0.3})]
    peds, adult, geri = (
        spec.age in ("pediatric", "any"),
        spec.age in ("adult", "any"),
        spec.age in ("adult", "any"),
    )
    min_age = max_age = None
    if code in ("207Q00000X", "363LF0000X") and rng.random() < 0.2:
        peds, min_age = False, 18
    if spec.age == "pediatric":
        max_age = rng.choice([18, 18, 21])
    if code in ("207RG0300X", "207QG0300X"):
        adult, min_age = False, 65
    if code == "363LP0200X":
        max_age = 18
    reasons = list(spec.reasons)
    for extra in codes[1:]:
        reasons += [r for r in reference.specialties()[extra].reasons if r not in reasons]
    visit_reasons = rng.sample(reasons, min(len(reasons), rng.randint(3, 6)))
    pool = CONDITIONS.get(spec.group, [])
    conditions = rng.sample(pool, min(len(pool), rng.randint(0, 4))) if pool else []
    last_name = last.draw(rng)
    title = "Dr. " if _credentials_is_doctor(code) else ""
    bio = (
        f"{title}{first} {last_name} practises {spec.plain} at {tenant.name}. "
        f"Trained at {rng.choice(SCHOOLS)}; special interest in {rng.choice(visit_reasons)}."
    )
    return {
        "row": {
            "tenant_id": tenant.id,
            "npi": npi,
            "first_name": first,
            "last_name": last_name,
            "credentials": _credentials(rng, code),
            "gender": gender,
            "bio": bio,
            "accepting_new_patients": rng.random() < 0.8,
            "telehealth": rng.random() < (0.9 if spec.group == "behavioral_health" else 0.35),
            "sees_pediatric": peds,
            "sees_adult": adult,
            "sees_geriatric": geri,
            "min_age": min_age,
            "max_age": max_age,
            "visit_reasons": visit_reasons,
            "conditions": conditions,
            "active": rng.random() > 0.01,
            "created_at": utcnow(),
        },
        "codes": codes,
        "languages": langs,
    }


def _credentials_is_doctor(code: str) -> bool:
    return code not in CREDENTIALS or code in ("103T00000X", "213E00000X", "152W00000X")


def _seed_providers(
    db: Session,
    rng: random.Random,
    tenant: Tenant,
    count: int,
    location_ids: list[int],
    plans: dict[str, int],
    npis: set[str],
) -> int:
    """Draw and bulk-insert `count` providers with specialties, languages, locations and plans."""
    mix = _Weighted(MIX[tenant.slug])
    drawn = []
    for i in range(count):
        code = MAPLE_FIXED[i] if tenant.slug == "maple-family" and i < len(MAPLE_FIXED) else mix.draw(rng)
        p = _provider(rng, tenant, code, npis)
        hub = location_ids[0]
        home = location_ids[rng.randrange(len(location_ids))]
        places = [home]
        if rng.random() < 0.25 and len(location_ids) > 1:
            places.append(location_ids[(location_ids.index(home) + 1) % len(location_ids)])
        if reference.specialties()[code].group in ("specialist", "surgery") and rng.random() < 0.5:
            places.append(hub)
        p["locations"] = list(dict.fromkeys(places))
        p["plans"] = [
            (plan_id, not ("Medicaid" in name and rng.random() < 0.3))
            for name, plan_id in plans.items()
            if rng.random() < (0.6 if "Medicaid" in name else 0.85)
        ]
        drawn.append(p)
    # Core inserts without RETURNING are the fast path on both databases; ids come back by NPI.
    _bulk(db, Provider, [p["row"] for p in drawn])
    by_npi = dict(db.execute(select(Provider.npi, Provider.id).where(Provider.tenant_id == tenant.id)).all())
    ids = [by_npi[p["row"]["npi"]] for p in drawn]
    tid = tenant.id
    spec_rows, lang_rows, loc_rows, plan_rows = [], [], [], []
    for pid, p in zip(ids, drawn, strict=True):
        spec_rows += [
            {"tenant_id": tid, "provider_id": pid, "taxonomy_code": c, "is_primary": n == 0}
            for n, c in enumerate(p["codes"])
        ]
        lang_rows += [{"tenant_id": tid, "provider_id": pid, "language": lang} for lang in p["languages"]]
        loc_rows += [{"tenant_id": tid, "provider_id": pid, "location_id": loc} for loc in p["locations"]]
        plan_rows += [
            {"tenant_id": tid, "provider_id": pid, "plan_id": pl, "accepting_new": ok}
            for pl, ok in p["plans"]
        ]
    for table, rows in (
        (ProviderSpecialty, spec_rows),
        (ProviderLanguage, lang_rows),
        (ProviderLocation, loc_rows),
        (ProviderPlan, plan_rows),
    ):
        _bulk(db, table, rows)
    return len(ids)


def _sizes(options: Any, present: list[str]) -> dict[str, int]:
    if options.providers is None:
        return {slug: DEFAULT_PROVIDERS[slug] for slug in present}
    total = max(0, int(options.providers))
    shares = {slug: LARGE_SHARE[slug] for slug in present}
    scale = sum(shares.values()) or 1.0
    sizes = {slug: int(total * share / scale) for slug, share in shares.items()}
    if present:
        sizes[present[0]] += total - sum(sizes.values())
    return sizes


def seed_directory(db: Session, options: Any) -> dict[str, int]:
    """Add the demo directory to the tenants seeded before it; returns counts of what it made."""
    rng = random.Random(f"careline-directory-{options.seed}")
    tenants = {t.slug: t for t in db.scalars(select(Tenant).where(Tenant.slug.in_(list(WORLD["tenants"]))))}
    present = [slug for slug in WORLD["tenants"] if slug in tenants]
    sizes = _sizes(options, present)
    counts = {"locations": 0, "providers": 0, "insurance_plans": 0, "departments": 0, "outside_resources": 0}
    npis: set[str] = set()
    for slug in present:
        tenant = tenants[slug]
        made = _seed_places(db, rng, tenant, WORLD["tenants"][slug])
        location_ids = [loc.id for loc in made["locations"]]
        if options.providers is not None:
            wanted = math.ceil(sizes[slug] / PROVIDERS_PER_LOCATION)
            location_ids += _extra_locations(db, rng, tenant, wanted - len(location_ids))
        plans = {name: plan.id for name, plan in made["plans"].items()}
        counts["providers"] += _seed_providers(db, rng, tenant, sizes[slug], location_ids, plans, npis)
        counts["locations"] += len(location_ids)
        counts["insurance_plans"] += len(plans)
        counts["departments"] += made["departments"]
        counts["outside_resources"] += made["resources"]
    db.flush()
    return counts
