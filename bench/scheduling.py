"""Benchmark scheduling on the large demo world: next-available latency and booking throughput.

Run: .venv/bin/python bench/scheduling.py [--db URL] [--providers 100000] [--patients 200000]
     [--searches 200] [--bookings 2000] [--threads 32] [--pool N] [--rebuild]

- Builds (once) a scratch PostgreSQL database with `careline demo --providers N --patients M`, then
  reuses it (`--rebuild` starts over). The demo books visits for a sample of providers; the bench
  books its own 400 providers to ~35% over the next 4 weeks so the searched calendars are busy.
- Next available: `find_availability` for one visit type across 50 providers (a different random
  set each time) over 4 weeks, first 20 open times; in-process, timed around the service call in
  its own scoped transaction, like a request. Also each provider's first time (find-a-doctor),
  and the same search through the HTTP API.
- Booking: two `uvicorn careline.app:create_app --factory` processes on the same database; a
  light client (asyncio, one keep-alive connection per concurrent caller, a few tens of
  microseconds of CPU a call, so it leaves the two cores to the app and PostgreSQL) posts bookings
  of distinct open times plus 10% deliberate duplicates that must be refused; reports bookings per
  second, the 409s, CPU per request of the app processes and of PostgreSQL, and the overlap check
  (must be zero).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.live starts the app processes

import httpx2 as httpx  # noqa: E402
from sqlalchemy import func, select, text, update  # noqa: E402

from careline.accounts import service as accounts  # noqa: E402
from careline.accounts.models import User  # noqa: E402
from careline.db import Scope, make_engine, make_session_factory, transaction  # noqa: E402
from careline.demo.scheduling import book_visits  # noqa: E402
from careline.directory.models import Provider  # noqa: E402
from careline.kit.clock import utcnow  # noqa: E402
from careline.patients.models import Patient  # noqa: E402
from careline.scheduling import service  # noqa: E402
from careline.scheduling.models import (  # noqa: E402
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AvailabilityTemplate,
    CancelReason,
)
from careline.tenants.models import Tenant  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/careline_bench"
SEARCH_POOL = 400  # providers the searches draw their 50 from (booked ~35% by the bench)
BOOKING_PROVIDERS = 300


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def ensure_world(url: str, providers: int, patients: int, rebuild: bool) -> None:
    """Create and seed the scratch database unless it already holds a world of that size."""
    name = url.rsplit("/", 1)[1]
    admin = make_engine(_admin_url(url))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if exists and rebuild:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            have = conn.execute(text("SELECT count(*) FROM providers")).scalar()
    except Exception:
        have = None
    engine.dispose()
    if have and have >= providers:
        print(f"reusing {name}: {have:,} providers")
        return
    env = {**os.environ, "CARELINE_DATABASE_URL": url}
    careline = str(ROOT / ".venv" / "bin" / "careline")
    started = time.perf_counter()
    subprocess.run([careline, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [careline, "demo", "--providers", str(providers), "--patients", str(patients)], env=env, check=True
    )
    print(f"built the demo world in {time.perf_counter() - started:.0f} s")


def settle(url: str) -> None:
    """VACUUM ANALYZE: what autovacuum does to a live database after a bulk load (statistics for the
    planner, hint bits set), so the figures are not those of a table nobody has read yet."""
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def prepare(factory, rng: random.Random) -> dict:
    """The bench's tenant, type, providers (booked ~35% for 4 weeks) and patients."""
    with transaction(factory) as db:
        tenant = db.scalar(select(Tenant).where(Tenant.slug == "lakeshore"))
        assert tenant is not None, "no lakeshore tenant: is this the demo world?"
        kind = db.scalar(
            select(AppointmentType).where(
                AppointmentType.tenant_id == tenant.id, AppointmentType.name == "Bench visit"
            )
        )
        if kind is None:
            kind = service.create_type(
                db,
                tenant_id=tenant.id,
                name="Bench visit",
                duration_minutes=20,
                min_notice_minutes=0,
                max_days_ahead=90,
            )
        with_calendar = list(
            db.scalars(
                select(AvailabilityTemplate.provider_id)
                .where(AvailabilityTemplate.tenant_id == tenant.id)
                .distinct()
                .order_by(AvailabilityTemplate.provider_id)
            )
        )
        chosen = rng.sample(with_calendar, SEARCH_POOL + BOOKING_PROVIDERS * 3)
        search_pool = chosen[:SEARCH_POOL]
        # Bookings go to providers whose rules take any adult (the load is the point, not the 422s).
        takes_adults = set(
            db.scalars(
                select(Provider.id).where(
                    Provider.id.in_(chosen[SEARCH_POOL:]),
                    Provider.accepting_new_patients.is_(True),
                    Provider.sees_adult.is_(True),
                    Provider.min_age.is_(None),
                    Provider.max_age.is_(None),
                )
            )
        )
        booking_pool = [p for p in chosen[SEARCH_POOL:] if p in takes_adults][:BOOKING_PROVIDERS]
        already = db.scalar(
            select(func.count()).select_from(Appointment).where(Appointment.provider_id.in_(search_pool))
        )
        # Adults with no active visit: the bench's own bookings never collide with the demo's.
        # Earlier runs' bench bookings are let go (a scratch database: straight to cancelled), so
        # every run starts from the same calendars and the same free patients.
        released = db.execute(
            update(Appointment)
            .where(Appointment.type_id == kind.id, Appointment.status.in_(ACTIVE_STATUSES))
            .values(status=AppointmentStatus.CANCELLED, cancel_reason=CancelReason.OTHER, updated_at=utcnow())
        ).rowcount
        if released:
            print(f"released {released:,} bench visits of earlier runs")
        has_visit = (
            select(Appointment.patient_id)
            .where(Appointment.tenant_id == tenant.id, Appointment.status.in_(ACTIVE_STATUSES))
            .distinct()
        )
        patient_ids = list(
            db.scalars(
                select(Patient.id).where(
                    Patient.tenant_id == tenant.id,
                    Patient.dob < date(2000, 1, 1),
                    Patient.id.not_in(has_visit),
                )
            )
        )
        rng.shuffle(patient_ids)
        if already < SEARCH_POOL * 20:
            types = {
                t.name: t.id
                for t in db.scalars(select(AppointmentType).where(AppointmentType.tenant_id == tenant.id))
                if t.name in ("Follow-up visit", "New patient visit", "Annual physical")
            }
            made = book_visits(
                db,
                tenant_id=tenant.id,
                provider_ids=search_pool,
                patient_ids=patient_ids[len(patient_ids) // 2 :],
                type_ids=types,
                first_day=utcnow().date(),
                days=28,
                seed="bench",
            )
            print(f"booked {made:,} visits for the {SEARCH_POOL} searched providers (4 weeks, ~35%)")
        agent = db.scalar(select(User).where(User.email == "agent@careline.demo"))
        assert agent is not None
        _token, secret = accounts.create_token(db, agent, "bench")
        total = db.scalar(select(func.count()).select_from(Appointment))
        print(
            f"world: {db.scalar(select(func.count()).select_from(Provider)):,} providers, "
            f"{db.scalar(select(func.count()).select_from(Patient)):,} patients, {total:,} appointments"
        )
        return {
            "tenant_id": tenant.id,
            "type_id": kind.id,
            "search_pool": search_pool,
            "booking_pool": booking_pool,
            "patients": patient_ids[: len(patient_ids) // 2],
            "token": secret,
        }


def bench_search(factory, world: dict, rng: random.Random, rounds: int) -> None:
    scope = Scope(frozenset({world["tenant_id"]}))
    sets = [rng.sample(world["search_pool"], 50) for _ in range(rounds)]
    for ids in sets[:5]:  # warm up caches and the connection pool
        with transaction(factory, scope) as db:
            service.find_availability(db, type_id=world["type_id"], provider_ids=ids, days=28, limit=20)
    for label, per_provider in (("next 20 open times", None), ("first time per provider", 1)):
        times, found = [], []
        for ids in sets:
            started = time.perf_counter()
            with transaction(factory, scope) as db:
                result = service.find_availability(
                    db,
                    type_id=world["type_id"],
                    provider_ids=ids,
                    days=28,
                    limit=20 if per_provider is None else 50,
                    per_provider=per_provider,
                )
            times.append((time.perf_counter() - started) * 1000)
            found.append(len(result.slots))
        print(
            f"next-available, 50 providers x 4 weeks, {label}: p50 {statistics.median(times):.1f} ms, "
            f"p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms ({rounds} searches, "
            f"{statistics.mean(found):.0f} times found on average)"
        )


def bench_search_http(server_url: str, world: dict, rng: random.Random, rounds: int) -> None:
    headers = {"Authorization": f"Bearer {world['token']}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=30) as client:
        times = []
        for i in range(rounds + 5):
            ids = rng.sample(world["search_pool"], 50)
            started = time.perf_counter()
            r = client.get(
                "/api/v1/scheduling/availability",
                params={"type_id": world["type_id"], "provider_ids": ids, "limit": 20},
            )
            assert r.status_code == 200, r.text
            if i >= 5:
                times.append((time.perf_counter() - started) * 1000)
    print(
        f"next-available through the API (one client): p50 {statistics.median(times):.1f} ms, "
        f"p95 {pct(times, 95):.1f} ms"
    )


def open_times(factory, world: dict, wanted: int) -> list[dict]:
    """Distinct open times of the booking providers, spread over the coming days."""
    scope = Scope(frozenset({world["tenant_id"]}))
    out: list[dict] = []
    last_end: dict[int, object] = {}
    with transaction(factory, scope) as db:
        for start in range(0, len(world["booking_pool"]), 50):
            ids = world["booking_pool"][start : start + 50]
            result = service.find_availability(
                db,
                type_id=world["type_id"],
                provider_ids=ids,
                days=28,
                limit=500,
                date_from=utcnow().date() + timedelta(days=1),
            )
            for s in result.slots:
                if s.start_at < last_end.get(s.provider_id, s.start_at):
                    continue  # 15-minute grid, 20-minute visits: keep the times that do not overlap
                last_end[s.provider_id] = s.end_at
                out.append(
                    {
                        "provider_id": s.provider_id,
                        "location_id": s.location_id,
                        "start_at": s.start_at.isoformat(),
                    }
                )
            if len(out) >= wanted:
                break
    return out[:wanted]


class _Connection:
    """One keep-alive HTTP/1.1 connection: JSON in, status and body out (Content-Length bodies)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        extra = "" if body is None else f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + data)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status, length, close = int(lines[0].split(" ", 2)[1]), 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                raise RuntimeError("chunked responses are not expected from these routes")
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def load(
    urls: Sequence[str],
    headers: dict[str, str],
    calls: Sequence[tuple[str, str, dict | None]],
    concurrency: int,
) -> list[tuple[int, float]]:
    """Send the calls with `concurrency` callers, each on its own connection to urls[i % len(urls)];
    (status, milliseconds) per call, in the calls' order."""
    results: list[tuple[int, float]] = [(0, 0.0)] * len(calls)
    todo = iter(enumerate(calls))

    async def caller(n: int) -> None:
        host, port = urls[n % len(urls)].removeprefix("http://").split(":")
        conn = _Connection(host, int(port), headers)
        try:
            for i, (method, path, body) in todo:
                started = time.perf_counter()
                status, _ = await conn.request(method, path, body)
                results[i] = (status, (time.perf_counter() - started) * 1000)
        finally:
            conn.close()

    async def run() -> None:
        await asyncio.gather(*(caller(n) for n in range(concurrency)))

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())
    return results


def _cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time of these processes so far."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _postgres_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving this database (the app processes' pooled connections)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith("postgres: ") and f" {database} " in cmdline:
                pids.append(int(entry))
    return pids


def measure(
    label: str, servers: list, database: str, headers: dict[str, str], calls: list, concurrency: int
) -> tuple:
    """Run the calls; print rate, CPU per request (the app processes; PostgreSQL's backends of this
    database) and the load average; return (results, seconds)."""
    app_pids = [s.proc.pid for s in servers]
    pg_pids = _postgres_pids(database)
    app0, pg0, me0 = _cpu_seconds(app_pids), _cpu_seconds(pg_pids), time.process_time()
    started = time.perf_counter()
    results = load([s.url for s in servers], headers, calls, concurrency)
    elapsed = time.perf_counter() - started
    # Backends that connected meanwhile (the pools grow under load) count whole.
    pg_pids = sorted(set(pg_pids) | set(_postgres_pids(database)))
    app1, pg1, me1 = _cpu_seconds(app_pids), _cpu_seconds(pg_pids), time.process_time()
    n = len(calls)
    print(
        f"{label}: {n / elapsed:.0f} requests/s; CPU per request: app {(app1 - app0) * 1000 / n:.1f} ms, "
        f"PostgreSQL {(pg1 - pg0) * 1000 / n:.1f} ms, this client {(me1 - me0) * 1000 / n:.2f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return results, elapsed


def bench_booking(
    url: str, factory, world: dict, rng: random.Random, count: int, threads: int, pool: int | None = None
) -> None:
    from tests.live import LiveServer

    slots = open_times(factory, world, count)
    patients = rng.sample(world["patients"], len(slots) + len(slots) // 10)
    bodies = [
        {**slot, "type_id": world["type_id"], "patient_id": patient}
        for slot, patient in zip(slots, patients, strict=False)
    ]
    dupes = [
        {**b, "patient_id": p}
        for b, p in zip(rng.sample(bodies, len(bodies) // 10), patients[len(slots) :], strict=False)
    ]
    calls = bodies + dupes
    rng.shuffle(calls)
    print(
        f"booking: {len(bodies):,} open times + {len(dupes):,} deliberate duplicates, "
        f"{threads} concurrent callers, 2 app processes"
    )
    # --pool N keeps N connections per process and opens no others (none closed and reopened as
    # the load varies); by default the processes run with the settings' pool (5 kept, 10 more).
    settings = {"db_pool_size": str(pool), "db_max_overflow": "0"} if pool else {}
    with ThreadPoolExecutor(2) as starter:
        servers = list(starter.map(lambda _: LiveServer(url, **settings), range(2)))
    try:
        bench_search_http(servers[0].url, world, rng, 50)
        headers = {"Authorization": f"Bearer {world['token']}"}
        types = ("GET", "/api/v1/scheduling/types", None)
        load([s.url for s in servers], headers, [types] * 40, 4)  # warm up each process
        # The ceiling of this machine for the lightest signed-in API call, for scale.
        database = url.rsplit("/", 1)[1]
        measure(
            "for scale: GET /api/v1/scheduling/types", servers, database, headers, [types] * 2000, threads
        )
        posts = [("POST", "/api/v1/scheduling/appointments", body) for body in calls]
        results, elapsed = measure("booking", servers, database, headers, posts, threads)
    finally:
        for s in servers:
            s.stop()
    codes = Counter(status for status, _ in results)
    latencies = [ms for _, ms in results]
    ok = codes.get(201, 0)
    print(
        f"booking throughput: {ok / elapsed:.0f} bookings/s ({ok:,} booked, "
        f"{codes.get(409, 0):,} refused with 409, "
        f"other {dict((k, v) for k, v in codes.items() if k not in (201, 409))}) in {elapsed:.1f} s; "
        f"{len(calls) / elapsed:.0f} requests/s; latency p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {pct(latencies, 95):.0f} ms"
    )
    assert codes.get(409, 0) >= len(dupes), "every deliberate duplicate must be refused"
    with transaction(factory) as db:
        overlaps = db.execute(
            text(
                """
                SELECT count(*) FROM appointments a JOIN appointments b
                  ON a.provider_id = b.provider_id AND a.id < b.id
                 AND a.start_at < b.end_at AND b.start_at < a.end_at
                WHERE a.status IN ('pending','booked','arrived','fulfilled')
                  AND b.status IN ('pending','booked','arrived','fulfilled')
                """
            )
        ).scalar()
        patient_overlaps = db.execute(
            text(
                """
                SELECT count(*) FROM appointments a JOIN appointments b
                  ON a.patient_id = b.patient_id AND a.id < b.id
                 AND a.start_at < b.end_at AND b.start_at < a.end_at
                WHERE a.status IN ('pending','booked','arrived','fulfilled')
                  AND b.status IN ('pending','booked','arrived','fulfilled')
                """
            )
        ).scalar()
    print(f"double bookings after the run: {overlaps} (provider), {patient_overlaps} (patient)")
    assert overlaps == 0 and patient_overlaps == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("CARELINE_BENCH_DB_URL", DEFAULT_DB))
    parser.add_argument("--providers", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=32, help="concurrent callers (connections)")
    parser.add_argument(
        "--pool", type=int, help="PostgreSQL connections per app process (none opened beyond)"
    )
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the scratch database")
    args = parser.parse_args()
    if not args.db.startswith("postgresql"):
        raise SystemExit("the scheduling bench runs on PostgreSQL (give --db postgresql+psycopg://...)")
    print(f"machine: {os.cpu_count()} CPUs (shared by PostgreSQL, both app processes and this client)")
    ensure_world(args.db, args.providers, args.patients, args.rebuild)
    rng = random.Random(20261127)
    engine = make_engine(args.db)
    factory = make_session_factory(engine)
    world = prepare(factory, rng)
    settle(args.db)
    if args.searches:
        bench_search(factory, world, rng, args.searches)
    if args.bookings:
        bench_booking(args.db, factory, world, rng, args.bookings, args.threads, args.pool)
    engine.dispose()


if __name__ == "__main__":
    main()
