"""Seed the demo: idempotent with --if-empty, reproducible with --seed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from careline.accounts import service as accounts
from careline.audit.service import Actor, record
from careline.db import transaction
from careline.demo.directory import seed_directory
from careline.demo.patients import seed_patients
from careline.demo.queues import seed_queues
from careline.demo.scheduling import seed_scheduling
from careline.tenants.models import Tenant
from careline.tenants.service import create_tenant

DEMO_PASSWORD = "careline-demo"  # noqa: S105 - the published demo login

TENANTS = [
    ("lakeshore", "Lakeshore Health", "health_system", "+13125550100"),
    ("northside-ortho", "Northside Orthopedics & Sports Medicine", "specialty_group", "+13125550140"),
    ("maple-family", "Maple Family Practice", "practice", "+17735550170"),
]

STAFF = [
    ("admin@careline.demo", "Avery Admin", "admin", []),
    ("agent@careline.demo", "Alex Rivera", "agent", ["lakeshore", "northside-ortho", "maple-family"]),
    ("nurse@careline.demo", "Nora Patel, RN", "nurse", ["lakeshore", "northside-ortho", "maple-family"]),
    (
        "supervisor@careline.demo",
        "Sam Okafor",
        "supervisor",
        ["lakeshore", "northside-ortho", "maple-family"],
    ),
    ("manager@lakeshore.demo", "Morgan Lee", "practice_manager", ["lakeshore"]),
]


@dataclass(frozen=True)
class DemoOptions:
    """How big a world to build; None means the realistic default of each extension."""

    seed: int = 7
    providers: int | None = None
    patients: int | None = None


@dataclass
class SeedResult:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """What was done and how to sign in."""
        head = "demo data seeded" if self.created else "demo data already present; nothing changed"
        lines = [head] + [f"  {k}: {v}" for k, v in self.counts.items()]
        lines.append(f"demo logins (password: {DEMO_PASSWORD}):")
        lines += [f"  {role:<17} {email}" for email, role in self.logins]
        return "\n".join(lines)


def _seed_core(db: Session, cheap_hash: bool) -> dict[str, int]:
    for slug, name, kind, phone in TENANTS:
        create_tenant(db, slug=slug, name=name, kind=kind, timezone="America/Chicago").phone = phone
    for email, name, role, tenants in STAFF:
        accounts.create_user(
            db,
            email=email,
            name=name,
            role=role,
            password=DEMO_PASSWORD,
            tenant_slugs=tenants,
            cheap_hash=cheap_hash,
        )
    return {"tenants": len(TENANTS), "staff": len(STAFF)}


def seed_demo(
    factory: sessionmaker[Session],
    *,
    seed: int = 7,
    if_empty: bool = False,
    cheap_hash: bool = False,
    providers: int | None = None,
    patients: int | None = None,
    history_days: int = 0,
) -> SeedResult:
    """Build the demo world in one transaction; with if_empty, skip when tenants exist.

    `history_days` then back-fills that many past days of simulated calls (with their new patients
    and surveys), so the queues, dashboards and staffing pages show figures from the first visit."""
    options = DemoOptions(seed=seed, providers=providers, patients=patients)
    logins = [(email, role) for email, _n, role, _t in STAFF]
    with transaction(factory) as db:
        if db.scalar(select(func.count()).select_from(Tenant)):
            if if_empty:
                return SeedResult(created=False, logins=logins)
            raise ValueError("the database already has tenants; run `careline demo` on an empty database")
        counts = _seed_core(db, cheap_hash)
        for extend in EXTENSIONS:
            counts.update(extend(db, options))
        record(db, Actor("demo"), "demo.seed", detail={"seed": seed, **counts})
    if history_days > 0:
        counts.update(seed_history(factory, days=history_days, seed=seed))
    return SeedResult(created=True, counts=counts, logins=logins)


DEMO_CALLS_PER_HOUR = 30  # a weekday business hour, all the demo's clients together


def seed_history(factory: sessionmaker[Session], *, days: int, seed: int = 7) -> dict[str, int]:
    """Past calls with everything they leave behind (separate transactions: the calls come in batches)."""
    from careline.demo.history import enrich_history
    from careline.queues.simulate import backfill_history

    calls = backfill_history(factory, days=days, calls_per_hour=DEMO_CALLS_PER_HOUR, seed=seed)
    with transaction(factory) as db:
        extra = enrich_history(db, seed=seed)
    return {"history_contacts": calls.contacts, **extra.counts()}


# Each domain adds its part of the world, in order: f(db, options) -> counts of what it made.
EXTENSIONS: list[Callable[[Session, DemoOptions], dict[str, int]]] = [
    seed_directory,  # first: later domains name its providers, plans and locations
    seed_patients,  # after the directory: patients name its plans, PCPs and locations' ZIPs
    seed_scheduling,  # after patients: calendars for the directory's providers, visits for its patients
    seed_queues,  # after the directory: its departments name queues; demo staff get their skills
]
