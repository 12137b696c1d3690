"""Enqueue, claim and finish jobs safely across processes.

Claiming: PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite's `BEGIN IMMEDIATE` (every app transaction)
makes the select-then-update a single writer's step. A claim is a lease: a worker that dies leaves
`locked_until` behind, and the job is claimable again once it passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careline.jobs.models import Job, JobStatus
from careline.kit.clock import utcnow


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    tenant_id: int | None = None,
    key: str | None = None,
    max_attempts: int = 5,
) -> Job:
    """Add a job due at `run_at` (now by default); a `key` makes it unique (one timer per escalation)."""
    job = Job(
        kind=kind,
        payload=payload or {},
        run_at=run_at or utcnow(),
        tenant_id=tenant_id,
        key=key,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job


def cancel(session: Session, key: str) -> bool:
    """Cancel a pending job by key (an escalation accepted before its timer fired)."""
    result = session.execute(
        update(Job).where(Job.key == key, Job.status == JobStatus.PENDING).values(status=JobStatus.CANCELLED)
    )
    return bool(result.rowcount)


def claim_due(
    session: Session,
    *,
    worker: str,
    limit: int = 10,
    lease: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
) -> Sequence[Job]:
    """Lease up to `limit` due jobs to this worker; no job is leased to two workers at once."""
    now = now or utcnow()
    due = (Job.status == JobStatus.PENDING) & (Job.run_at <= now) | (Job.status == JobStatus.RUNNING) & (
        Job.locked_until < now
    )
    stmt = select(Job).where(due).order_by(Job.run_at, Job.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    jobs = list(session.scalars(stmt))
    for job in jobs:
        job.status = JobStatus.RUNNING
        job.locked_until = now + lease
        job.locked_by = worker
        job.attempts += 1
    session.flush()
    return jobs


def finish(session: Session, job: Job) -> None:
    """Mark a leased job done."""
    job.status = JobStatus.DONE
    job.finished_at = utcnow()
    job.locked_until = None


def fail(session: Session, job: Job, error: str) -> None:
    """Record a failure; retry with backoff until max_attempts, then give up."""
    job.last_error = error[:2000]
    job.locked_until = None
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.FAILED
        job.finished_at = utcnow()
    else:
        job.status = JobStatus.PENDING
        job.run_at = utcnow() + timedelta(seconds=min(300, 5 * 2 ** (job.attempts - 1)))
