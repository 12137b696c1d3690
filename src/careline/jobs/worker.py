"""The worker loop: claim due jobs, run their handler, record the outcome. `careline worker` runs it;
`careline serve` also runs one in a thread, so a single `make run` process handles timers."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from careline.audit.service import Actor
from careline.db import SYSTEM, open_session
from careline.jobs import service
from careline.jobs.models import Job

log = logging.getLogger("careline.worker")

Handler = Callable[[Session, Job], None]
HANDLERS: dict[str, Handler] = {}
WORKER_ACTOR = Actor("worker")


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of this kind."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def worker_name() -> str:
    """host:pid, to see who holds a lease."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _run_one(factory: sessionmaker[Session], job_id: int) -> None:
    session = open_session(factory, SYSTEM)
    try:
        job = session.get(Job, job_id)
        if job is None:
            return
        fn = HANDLERS.get(job.kind)
        if fn is None:
            service.fail(session, job, f"no handler for job kind {job.kind!r}")
        else:
            fn(session, job)
            service.finish(session, job)
        session.commit()
    except Exception as exc:
        session.rollback()
        log.exception("job %s failed", job_id)
        with session.begin():
            job = session.get(Job, job_id)
            if job is not None:
                service.fail(session, job, repr(exc))
    finally:
        session.close()


def run_due(factory: sessionmaker[Session], *, worker: str | None = None, limit: int = 20) -> int:
    """Claim and run the jobs due now; returns how many ran."""
    session = open_session(factory, SYSTEM)
    try:
        ids = [j.id for j in service.claim_due(session, worker=worker or worker_name(), limit=limit)]
        session.commit()
    finally:
        session.close()
    for job_id in ids:
        _run_one(factory, job_id)
    return len(ids)


def load_handlers() -> None:
    """Import the modules that register handlers (kept here so the worker knows every kind)."""
    for module in HANDLER_MODULES:
        __import__(module)


# Domains that define job handlers list their module here.
HANDLER_MODULES: list[str] = [
    "careline.surveys.jobs",
    "careline.scheduling.jobs",
    "careline.queues.jobs",
    "careline.escalations.jobs",
]


def run_forever(
    factory: sessionmaker[Session],
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    **kwargs: Any,
) -> None:
    """Poll for due jobs until stopped."""
    load_handlers()
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            ran = run_due(factory, **kwargs)
        except Exception:
            log.exception("worker poll failed")
            ran = 0
        if not ran:
            stop.wait(interval)


def start_thread(factory: sessionmaker[Session], *, interval: float = 1.0) -> threading.Event:
    """Run the worker in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=run_forever,
        args=(factory,),
        kwargs={"interval": interval, "stop": stop},
        name="careline-worker",
        daemon=True,
    ).start()
    return stop
