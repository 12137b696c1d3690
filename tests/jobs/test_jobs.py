"""Durable jobs: claimed once, retried with backoff, re-leased after a crash, kept across restarts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from careline.db import SYSTEM, make_engine, make_session_factory, open_session, transaction
from careline.jobs import service, worker
from careline.jobs.models import Job, JobStatus


def _enqueue(sessions, n: int = 1, **kwargs):
    with transaction(sessions) as s:
        return [service.enqueue(s, "test.kind", {"i": i}, **kwargs).id for i in range(n)]


def test_a_job_is_not_claimed_before_it_is_due(sessions, clock) -> None:
    _enqueue(sessions, run_at=clock.now + timedelta(seconds=60))
    with transaction(sessions) as s:
        assert service.claim_due(s, worker="w1") == []
    clock.advance(seconds=61)
    with transaction(sessions) as s:
        assert len(service.claim_due(s, worker="w1")) == 1


def test_a_claimed_job_is_not_claimed_again_until_its_lease_runs_out(sessions, clock) -> None:
    _enqueue(sessions)
    with transaction(sessions) as s:
        assert len(service.claim_due(s, worker="w1", lease=timedelta(seconds=30))) == 1
    with transaction(sessions) as s:
        assert service.claim_due(s, worker="w2") == []
    clock.advance(seconds=31)  # w1 died holding it
    with transaction(sessions) as s:
        again = service.claim_due(s, worker="w2")
        assert len(again) == 1 and again[0].attempts == 2 and again[0].locked_by == "w2"


def test_concurrent_workers_never_claim_the_same_job(sessions) -> None:
    _enqueue(sessions, 60)

    def claim(i: int) -> list[int]:
        got = []
        for _ in range(10):
            with transaction(sessions) as s:
                got += [j.id for j in service.claim_due(s, worker=f"w{i}", limit=3)]
        return got

    with ThreadPoolExecutor(max_workers=6) as pool:
        claimed = [job_id for ids in pool.map(claim, range(6)) for job_id in ids]
    assert len(claimed) == 60 and len(set(claimed)) == 60


def test_a_failing_job_is_retried_with_backoff_then_marked_failed(sessions, db, clock) -> None:
    calls = []

    @worker.handler("test.flaky")
    def flaky(session, job) -> None:
        calls.append(job.attempts)
        raise RuntimeError("downstream unavailable")

    with transaction(sessions) as s:
        job_id = service.enqueue(s, "test.flaky", max_attempts=3).id
    for _ in range(3):
        assert worker.run_due(sessions, worker="w") == 1
        clock.advance(minutes=10)
    assert worker.run_due(sessions, worker="w") == 0
    job = db.get(Job, job_id)
    assert calls == [1, 2, 3]
    assert job.status == JobStatus.FAILED and "downstream unavailable" in job.last_error


def test_the_worker_runs_the_handler_and_marks_the_job_done(sessions, db) -> None:
    seen = []
    worker.HANDLERS["test.ok"] = lambda session, job: seen.append(job.payload["x"])
    with transaction(sessions) as s:
        job_id = service.enqueue(s, "test.ok", {"x": 42}).id
    assert worker.run_due(sessions) == 1
    assert seen == [42] and db.get(Job, job_id).status == JobStatus.DONE


def test_pending_jobs_survive_a_restart(database_url, sessions) -> None:
    ids = _enqueue(sessions, 2)
    restarted = make_engine(database_url)  # a new process: new engine, nothing shared in memory
    try:
        factory = make_session_factory(restarted)
        session = open_session(factory, SYSTEM)
        pending = session.scalars(select(Job.id).where(Job.status == JobStatus.PENDING)).all()
        session.close()
        assert sorted(pending) == sorted(ids)
    finally:
        restarted.dispose()


def test_cancel_by_key_stops_a_timer(sessions, db, clock) -> None:
    _enqueue(sessions, key="escalation:1:timeout", run_at=clock.now + timedelta(seconds=60))
    with transaction(sessions) as s:
        assert service.cancel(s, "escalation:1:timeout") is True
    clock.advance(seconds=61)
    with transaction(sessions) as s:
        assert service.claim_due(s, worker="w") == []
