"""Worker handlers: an offer's lease ran out, or a callback fell due. Both re-route the queues (the next
offer_next or enqueue in any process would do it too; the worker makes it happen without one)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careline.jobs.models import Job
from careline.jobs.worker import handler
from careline.queues import service


@handler("queues.offer_expiry")
def offer_expired(session: Session, job: Job) -> None:
    """Return expired offers to their queues and offer them to the next agents."""
    service.dispatch(session)


@handler("queues.callback_due")
def callback_due(session: Session, job: Job) -> None:
    """Put due callbacks in their queues and offer them."""
    service.dispatch(session)
