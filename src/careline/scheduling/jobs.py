"""Background work of scheduling: holds expire on time, freed time is offered to the waitlist."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careline.jobs.models import Job
from careline.jobs.worker import handler
from careline.scheduling import booking, waitlist


@handler(booking.HOLD_JOB)
def expire_hold(session: Session, job: Job) -> None:
    """Release a hold whose time ran out (availability already ignored it from that moment)."""
    booking.expire_hold(session, int(job.payload["appointment_id"]))


@handler(booking.WAITLIST_JOB)
def match_waitlist(session: Session, job: Job) -> None:
    """Offer freed time to the waitlist."""
    p = job.payload
    waitlist.match_freed_time(
        session,
        tenant_id=int(p["tenant_id"]),
        provider_id=int(p["provider_id"]),
        location_id=int(p["location_id"]),
        start_at=p["start_at"],
        end_at=p["end_at"],
        exclude_entry_ids=p.get("exclude_entry_ids") or (),
    )
