"""Find-a-doctor latency on the 100,000-provider demo world: p50/p95 of a full match on SQLite and on
PostgreSQL, and the same requests done by a naive full scan, as a ratio.

A full match is what POST /api/v1/match does: map the words to specialties, find the candidates near
home or work, rank them with reasons, and ask scheduling for the next new-patient opening of the top
10. The requests are timed as the serving app answers them: from the tenant's directory held in memory
(matching/index.py; its load time and the process's memory are printed), then again by the SQL walk
alone (candidates.search: what a process answers with while it loads a new version of the directory),
and the two answers compared. The naive baseline (matching/naive.py) loads every provider,
specialty, location link and location of the tenant (and the plan's or language's rows when asked)
with plain Core selects and filters in Python; the tests check both give the same answer, and this
bench checks it again on the requests it times.

The worlds are built once with `careline demo --providers N --patients N` into a scratch SQLite file
under /tmp and a scratch PostgreSQL database (several minutes each), then reused (and migrated);
--rebuild remakes them. The PostgreSQL database gets random_page_cost = 1.1, the usual setting on
SSDs, and VACUUM (ANALYZE) after the load, as `careline demo` does. Requests are drawn from the demo's
patients (their home and work ZIPs, plan, language, age) and a list of plain-words needs, for the
largest client (lakeshore, ~82% of the providers).

Run: .venv/bin/python bench/match.py [--providers N] [--patients N] [--queries N] [--naive N]
                                     [--sqlite PATH] [--pg URL | --no-pg] [--rebuild] [--analyze]

The SQLite world is left without table statistics, as a database nobody has run ANALYZE on (one that
grew through the app; `careline db upgrade` and `careline demo` now run it): the indexes are chosen
to plan well without them, and this keeps that honest. --analyze times a copy with statistics.
Each request's wall-clock and this process's CPU time are printed: on a shared machine the CPU time
is the steadier figure. The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from careline.db import Scope, make_engine, make_session_factory, open_session, transaction
from careline.demo.seed import seed_demo
from careline.kit.clock import FrozenClock, utcnow
from careline.matching import service
from careline.matching.index import INDEXES
from careline.matching.naive import full_scan
from careline.matching.service import MatchRequest, match
from careline.migrate import refresh_statistics, upgrade
from careline.patients.models import Patient
from careline.tenants.models import Tenant

NEEDS = [
    "knee pain after a fall",
    "need a physical",
    "pregnant, first visit",
    "my son's asthma",
    "I need a dermatologist",
    "anxiety and trouble sleeping",
    "heart palpitations",
    "my daughter needs her school physical",
    "back pain for a month",
    "new to the area, looking for a family doctor",
    "is there an allergist near me",
    "high blood pressure follow up",
    "eye exam",
    "sprained ankle",
    "acid reflux",
]
DOWNTOWN = ("60601", "60602", "60603", "60604", "60605", "60606", "60607", "60611", "60654", "60661")


def _pg_database(url: str, rebuild: bool) -> None:
    """Create the scratch PostgreSQL database (dropped first with --rebuild)."""
    name = make_url(url).database
    admin = make_engine(str(make_url(url).set(database="postgres").render_as_string(hide_password=False)))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if rebuild:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        # The usual setting for PostgreSQL on SSDs (or in memory): random reads cost about what
        # sequential ones do. With the default 4 the planner hashes a specialty's every row rather than
        # look up the few providers of a batch of locations (~10 ms instead of ~3 ms a batch).
        conn.execute(text(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1'))
    admin.dispose()


def world(url: str, providers: int, patients: int, rebuild: bool) -> sessionmaker[Session]:
    """The session factory of a seeded world (built when missing)."""
    if url.startswith("sqlite:///") and rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    if url.startswith("postgresql"):
        _pg_database(url, rebuild)
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as db:
        tenants = db.scalar(select(func.count()).select_from(Tenant)) or 0
    if tenants == 0:
        started = time.perf_counter()
        seed_demo(factory, seed=7, cheap_hash=True, providers=providers, patients=patients)
        if url.startswith("postgresql"):
            # What `careline demo` does after its bulk load (and autovacuum would do later; it is off
            # on some benchmark servers): statistics, and the visibility map for index-only scans.
            # The SQLite world is left without statistics, as a database nobody has analyzed.
            refresh_statistics(url, vacuum=True)
        took = time.perf_counter() - started
        print(f"built a world of {providers:,} providers in {took:.0f} s: {_where(url)}")
    return factory


def _where(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def requests(factory: sessionmaker[Session], n: int, seed: int = 11) -> tuple[int, list[MatchRequest]]:
    """The tenant's id and n requests drawn from its patients and the needs."""
    rng = random.Random(seed)
    with transaction(factory) as db:
        tenant = db.scalar(select(Tenant).where(Tenant.slug == "lakeshore"))
        rows = db.execute(
            select(
                Patient.zip,
                Patient.work_zip,
                Patient.insurance_plan_id,
                Patient.preferred_language,
                Patient.dob,
            )
            .where(Patient.tenant_id == tenant.id, Patient.zip.is_not(None))
            .order_by(Patient.id)
        ).all()
    out = []
    for _ in range(n):
        p = rng.choice(rows)
        language = p.preferred_language if p.preferred_language and p.preferred_language != "en" else None
        out.append(
            MatchRequest(
                tenant_id=tenant.id,
                need=rng.choice(NEEDS),
                zip=p.zip,
                work_zip=p.work_zip or (rng.choice(DOWNTOWN) if rng.random() < 0.3 else None),
                plan_id=p.insurance_plan_id if rng.random() < 0.5 else None,
                language=language,
                language_required=rng.random() < 0.7,
                age=(2026 - p.dob.year) if rng.random() < 0.6 else None,
                gender=rng.choice([None, None, None, "female", "male"]),
                telehealth=rng.random() < 0.2,
                soonest=rng.random() < 0.2,
            )
        )
    return tenant.id, out


def timed(run: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock and this process's CPU milliseconds of one call, and its result."""
    started, cpu = time.perf_counter(), time.process_time()
    result = run()
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000, result


def pct(ms: list[float], p: float) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class _Stopwatch:
    """Time spent inside scheduling's next-available during each match (to show the split)."""

    def __init__(self) -> None:
        self.ms = 0.0
        self.inner = service.next_available_for

    def __call__(self, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            self.ms += (time.perf_counter() - started) * 1000


def line(label: str, what: str, ms: list[float], cpu: list[float] | None = None) -> str:
    text = (
        f"{label:<11} {what:<34} n={len(ms):<4} p50={statistics.median(ms):7.1f} ms"
        f"  p95={pct(ms, 0.95):7.1f} ms  max={max(ms):7.1f} ms"
    )
    if cpu:
        text += f"  (client CPU p50={statistics.median(cpu):.1f} p95={pct(cpu, 0.95):.1f})"
    return text


def _rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    path = Path("/proc/self/statm")
    return int(path.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20 if path.exists() else 0.0


def bench(label: str, factory: sessionmaker[Session], n: int, naive: int) -> None:
    """Time the requests as the serving app answers them (the tenant's directory in memory, loaded
    by a thread while the first requests take the SQL walk), then the same requests by the SQL walk
    alone (what a process answers while it loads a new version), then a few by the naive scan."""
    with transaction(factory) as db:
        scope = Scope(frozenset(db.scalars(select(Tenant.id))))
    tenant_id, reqs = requests(factory, n + 20)
    watch = _Stopwatch()
    service.next_available_for = watch  # type: ignore[assignment]

    def once(req: MatchRequest, **kw: object) -> Callable[[], object]:
        def run() -> object:
            with open_session(factory, scope) as s:  # one request: its own session, rolled back
                return match(s, req, **kw)  # type: ignore[arg-type]

        return run

    def timed_run(what: str) -> tuple[list[object], list[float]]:
        for req in reqs[:20]:  # warm up: ZIP table, vocabulary, statement caches, pages
            once(req)()
        full, cpu, sched, results = [], [], [], []
        for req in reqs[20:]:
            watch.ms = 0.0
            took, used, result = timed(once(req))
            full.append(took)
            cpu.append(used)
            sched.append(watch.ms)
            results.append(result)
        empty = sum(1 for r in results if not r.results)  # type: ignore[attr-defined]
        opened = sum(1 for r in results for c in r.results if c.next_available is not None)  # type: ignore[attr-defined]
        print(line(label, what, full, cpu) + f"  [{empty} empty; {opened} results with an opening]")
        print(line(label, "  of which matching", [f - s for f, s in zip(full, sched, strict=True)]))
        print(line(label, "  of which next available (sched.)", sched))
        return results, full

    INDEXES.clear()
    INDEXES.mode = "background"  # as `careline serve` runs
    before = _rss_mb()
    once(reqs[0])()  # answered by the SQL walk; starts loading the tenant's directory
    if not INDEXES.wait(600):
        raise SystemExit("the directory index did not load in 10 minutes")
    with open_session(factory, scope) as s:
        held = INDEXES.held(s, tenant_id)
    if held is None:
        raise SystemExit("the directory index failed to load (see the log)")
    print(
        f"{label:<11} directory in memory: {held.size:,} providers of the tenant,"
        f" loaded in {held.seconds:.1f} s; process memory {before:,.0f} -> {_rss_mb():,.0f} MB"
    )
    fast, fast_ms = timed_run("full match")
    INDEXES.mode = "off"
    walked, _ = timed_run("full match by the SQL walk (no index)")
    same_walk = sum(
        [c.provider_id for c in a.results] == [c.provider_id for c in b.results]  # type: ignore[attr-defined]
        for a, b in zip(fast, walked, strict=True)
    )
    print(f"{label:<11} in memory and SQL walk: same answer {same_walk}/{len(fast)}")
    naive_ms, same = [], 0
    for req, result in zip(reqs[20 : 20 + naive], fast, strict=False):
        took, _cpu, slow = timed(once(req, search_with=full_scan))
        naive_ms.append(took)
        same += [c.provider_id for c in slow.results] == [c.provider_id for c in result.results]  # type: ignore[attr-defined]
    if naive_ms:
        print(line(label, "naive full scan (same requests)", naive_ms))
        n50 = statistics.median(naive_ms)
        print(f"{label:<11} naive p50 / full match p50, p95 (in memory):"
              f" {n50 / statistics.median(fast_ms):,.0f}x, {n50 / pct(fast_ms, 0.95):,.0f}x;"
              f" same answer {same}/{len(naive_ms)}")  # fmt: skip
    service.next_available_for = watch.inner  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--providers", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--naive", type=int, default=10, help="requests also run as a naive full scan")
    parser.add_argument("--sqlite", default=None, help="SQLite file (default under /tmp)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/careline_bench_match")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--rebuild", action="store_true", help="remake the worlds")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE on the SQLite world first (as PRAGMA optimize would)",
    )
    args = parser.parse_args()
    print(f"load average at the start: {_load()} ({os.cpu_count()} CPUs)")
    sqlite_path = args.sqlite or f"/tmp/careline-bench-match-{args.providers}.db"  # noqa: S108 - scratch
    targets = [("SQLite", f"sqlite:///{sqlite_path}")]
    FrozenClock(utcnow()).install()  # one "now" for the run: the naive scan must give the same openings
    if not args.no_pg:
        targets.append(("PostgreSQL", args.pg))
    for label, url in targets:
        factory = world(url, args.providers, args.patients, args.rebuild)
        if args.analyze and url.startswith("sqlite"):
            # A copy with statistics, so the default world stays as a fresh deployment has it.
            stats_path = sqlite_path.removesuffix(".db") + "-analyzed.db"
            if args.rebuild or not Path(stats_path).exists():
                with closing(sqlite3.connect(sqlite_path)) as raw:
                    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                shutil.copyfile(sqlite_path, stats_path)
                with closing(sqlite3.connect(stats_path)) as raw:
                    raw.execute("ANALYZE")
                    raw.commit()
            factory = make_session_factory(make_engine(f"sqlite:///{stats_path}"))
            label += "+stats"
        bench(label, factory, args.queries, args.naive)
    print(f"load average at the end: {_load()} ({os.cpu_count()} CPUs)")


def _load() -> str:
    """The 1, 5 and 15 minute load averages."""
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


if __name__ == "__main__":
    main()
