"""The durable timer: an escalation nobody accepted in time re-alerts (run by the job worker)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careline.escalations import service
from careline.jobs.models import Job
from careline.jobs.worker import handler


@handler(service.TIMEOUT_JOB)
def escalation_timeout(session: Session, job: Job) -> None:
    """Re-alert when the escalation is still waiting; a no-op once accepted, resolved or cancelled."""
    service.on_timeout(
        session, int(job.payload["escalation_id"]), emergency_seconds=int(job.payload["seconds"])
    )
