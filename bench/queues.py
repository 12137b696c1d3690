"""Queues: how fast the history back-fill is at the demo size, how fast live figures and routing are.

1. `careline simulate --history DAYS` on a fresh demo world (SQLite under /tmp, or --url PostgreSQL).
2. queue_stats over every queue with that history behind it (p50/p95).
3. Routing: CALLERS waiting, AGENTS available; enqueue -> offer -> accept -> wrap-up per caller (per
   second through the services, one process).

Run: .venv/bin/python bench/queues.py [--days 28] [--calls-per-hour 120] [--url URL]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sqlalchemy import func, select, text

from careline.audit.service import Actor
from careline.contacts import service as contacts
from careline.contacts.models import Contact, ContactStatus
from careline.db import make_engine, make_session_factory, transaction
from careline.demo.seed import seed_demo
from careline.migrate import upgrade
from careline.queues import service
from careline.queues import simulate as sim
from careline.queues.models import PresenceState
from careline.tenants.models import Tenant

BY = contacts.By(user_id=None, actor=Actor("bench"))


def fresh(url: str):
    """A migrated, demo-seeded database (SQLite files are remade; PostgreSQL must be empty)."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with transaction(factory) as db:
        if db.scalar(select(func.count()).select_from(Tenant)):
            raise SystemExit("the database is not empty; give an empty one")
    seed_demo(factory, seed=7, cheap_hash=True)
    return factory


def routing(factory, callers: int, agents: int) -> float:
    """Callers per second through enqueue, offer, accept and wrap-up."""
    with transaction(factory) as db:
        tenant = db.scalar(select(Tenant).order_by(Tenant.id))
        queue = service.ensure_default_queues(db, tenant.id)[0]
        staff, _ = sim.sim_staff(db, [tenant], agents)
        for user_id in staff:
            service.set_skills(db, user_id, [queue.skill])
            service.set_presence(db, user_id, PresenceState.OFFLINE)
        waiting = []
        for _ in range(callers):
            contact = contacts.start_contact(db, BY, tenant_id=tenant.id, status=ContactStatus.QUEUED)
            service.enqueue(db, contact, BY, queue_id=queue.id, route=False)
            waiting.append(contact.id)
    started = time.perf_counter()
    done = 0
    for user_id in staff:
        with transaction(factory) as db:
            service.set_presence(db, user_id, PresenceState.AVAILABLE)
    while done < callers:
        for user_id in staff:
            with transaction(factory) as db:
                offer = service.offer_next(db, user_id)
                if offer is None:
                    continue
                by = contacts.By(user_id=user_id, actor=Actor("bench agent", user_id=user_id))
                contact = service.accept(db, by, offer.contact.id)
                contacts.wrap_up(db, contact, by)
                service.set_presence(db, user_id, PresenceState.WRAP_UP)
                service.set_presence(db, user_id, PresenceState.AVAILABLE)
                done += 1
    return callers / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="sqlite:////tmp/careline-bench-queues.db")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--calls-per-hour", type=float, default=120)
    parser.add_argument("--callers", type=int, default=300)
    parser.add_argument("--agents", type=int, default=20)
    args = parser.parse_args()

    factory = fresh(args.url)
    result = sim.backfill_history(factory, days=args.days, calls_per_hour=args.calls_per_hour)
    print(f"history: {args.days} days at {args.calls_per_hour:g} calls/busy hour -> {result.summary()}")
    print(f"  {result.contacts / result.seconds:,.0f} contacts per second")

    with transaction(factory) as db:
        if args.url.startswith("postgresql"):
            db.execute(text("ANALYZE"))
        first = db.scalar(select(func.min(Contact.created_at)))
    for label, since in (("today", None), (f"all {args.days} days", first)):
        timings = []
        with transaction(factory) as db:
            for _ in range(20):
                t0 = time.perf_counter()
                stats = service.queue_stats(db, since=since)
                timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        answered = sum(s.answered for s in stats)
        print(
            f"queue_stats, {label}: {len(stats)} queues, {answered:,} answered entries: "
            f"p50 {statistics.median(timings):.0f} ms, p95 {timings[int(len(timings) * 0.95) - 1]:.0f} ms"
        )
    rate = routing(factory, args.callers, args.agents)
    print(f"routing: {args.callers} callers, {args.agents} agents: {rate:.0f} callers/s (offer to wrap-up)")


if __name__ == "__main__":
    main()
