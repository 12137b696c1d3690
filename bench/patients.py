"""Caller-lookup latency on a 200,000-patient world: p50/p95 of lookup_by_phone and lookup_by_name_dob.

The world is built once with the demo's bulk loader into a scratch SQLite file under /tmp (about
20 seconds) and reused; pass --url for PostgreSQL (an empty, migrated database is seeded first).
Queries are drawn from real rows and typed the way callers give them: other phone formats, names
with a nickname, a typo, a sound-alike spelling or first and last swapped, dates as M/D/YYYY.

Run: .venv/bin/python bench/patients.py [--patients N] [--queries N] [--url URL] [--rebuild]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from careline.audit.service import Actor
from careline.db import Scope, make_engine, make_session_factory, open_session, transaction
from careline.demo.seed import seed_demo
from careline.kit.phones import format_phone
from careline.migrate import upgrade
from careline.patients import rules
from careline.patients.models import Patient, PatientPhone
from careline.patients.service import lookup_by_name_dob, lookup_by_phone
from careline.tenants.models import Tenant

ACTOR = Actor("bench")


def world(url: str, patients: int, rebuild: bool) -> sessionmaker[Session]:
    """The session factory of a seeded world with about `patients` patients (built when missing)."""
    if url.startswith("sqlite:///") and rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with transaction(factory) as db:
        have = db.scalar(select(func.count()).select_from(Patient)) or 0
        tenants = db.scalar(select(func.count()).select_from(Tenant)) or 0
    if have == 0 and tenants == 0:
        started = time.perf_counter()
        seed_demo(factory, seed=7, cheap_hash=True, patients=patients)
        print(f"built a world of {patients:,} patients in {time.perf_counter() - started:.1f} s")
    elif abs(have - patients) > patients // 10:
        print(f"note: the world has {have:,} patients, not {patients:,}; use --rebuild to remake it")
    return factory


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _spoken_name(first: str, last: str, rng: random.Random) -> str:
    """How a caller (or the agent typing) might give the name."""
    roll = rng.random()
    if roll < 0.25:
        return f"{first} {last}"
    if roll < 0.45:
        variants = sorted(rules.nickname_variants(first) - {rules.name_key(first)})
        return f"{(rng.choice(variants).title() if variants else first)} {last}"
    if roll < 0.7:
        return f"{first} {_typo(last, rng)}"
    if roll < 0.85:
        return f"{last} {first}"
    return f"{_typo(first, rng)} {last}"


Named = tuple[str, str, int]  # typed name, typed DOB, the patient it was drawn from


def queries(factory: sessionmaker[Session], n: int, seed: int = 11) -> tuple[list[str], list[Named]]:
    """Phone strings and (name, dob, expected id) drawn from the stored patients."""
    rng = random.Random(seed)
    with transaction(factory) as db:
        top = db.scalar(select(func.max(Patient.id))) or 0
        ids = sorted({rng.randint(1, top) for _ in range(n * 2)})[: n * 2]
        rows = db.execute(
            select(Patient.id, Patient.first_name, Patient.last_name, Patient.dob, Patient.tenant_id).where(
                Patient.id.in_(ids)
            )
        ).all()
        numbers = list(db.scalars(select(PatientPhone.e164).where(PatientPhone.patient_id.in_(ids))))
    formats: list[Callable[[str], str]] = [
        format_phone,
        lambda e: format_phone(e).replace("(", "").replace(") ", ".").replace("-", "."),
        lambda e: f"+1 {e[2:5]} {e[5:8]} {e[8:]}",
        lambda e: e[2:],
    ]
    phones = [rng.choice(formats)(rng.choice(numbers)) for _ in range(n)]
    names = [
        (_spoken_name(r.first_name, r.last_name, rng), f"{r.dob.month}/{r.dob.day}/{r.dob.year}", r.id)
        for r in rng.sample(rows, min(n, len(rows)))
    ]
    return phones, names


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    p50 = statistics.median(ms)
    print(f"{label:<32} n={len(ms):<4} p50={p50:7.2f} ms  p95={p95:7.2f} ms  max={ms[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--url", default=None, help="database URL (default: a SQLite file under /tmp)")
    parser.add_argument("--rebuild", action="store_true", help="remake the SQLite world")
    args = parser.parse_args()
    url = args.url or f"sqlite:////tmp/careline-bench-patients-{args.patients}.db"
    factory = world(url, args.patients, args.rebuild)
    phones, names = queries(factory, args.queries)
    with transaction(factory) as db:
        tenant_ids = frozenset(db.scalars(select(Tenant.id)))
    # As in a request: one scoped session per lookup, its audit rows queued and (here) rolled back.
    found = {"name": 0}

    def phone_lookup(raw: str) -> Callable[[], object]:
        def run() -> object:
            with open_session(factory, Scope(tenant_ids)) as s:
                return lookup_by_phone(s, raw, actor=ACTOR)

        return run

    def name_lookup(name: str, dob: str | None, expect: int) -> Callable[[], object]:
        def run() -> object:
            with open_session(factory, Scope(tenant_ids)) as s:
                result = lookup_by_name_dob(s, name, dob, actor=ACTOR)
                found["name"] += bool(result) and result[0].patient.id == expect
                return result

        return run

    print(f"world: {url.split('@')[-1]}")
    for raw in phones[:10]:  # warm caches (ZIP index, nicknames, statement cache)
        phone_lookup(raw)()
    report("lookup_by_phone", [timed(phone_lookup(p), 1)[0] for p in phones])
    report("lookup_by_name_dob (name + DOB)", [timed(name_lookup(n, d, i), 1)[0] for n, d, i in names])
    with_dob = found["name"] / len(names)
    found["name"] = 0
    few = names[:100]
    report("lookup_by_name_dob (name only)", [timed(name_lookup(n, None, i), 1)[0] for n, _d, i in few])
    print(
        f"the drawn patient ranked first: {with_dob:.0%} with the DOB, {found['name'] / len(few):.0%} without"
    )


if __name__ == "__main__":
    main()
