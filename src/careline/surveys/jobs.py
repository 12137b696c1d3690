"""The "survey.send" job: contacts.service.wrap_up enqueues it when the caller agreed to a survey."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careline.config import Settings
from careline.contacts.models import Contact
from careline.jobs.models import Job
from careline.jobs.worker import WORKER_ACTOR, handler
from careline.surveys import service

SEND_KIND = "survey.send"


def current_settings() -> Settings:
    """The worker's settings (the same environment as the app's), for the secret and the public address."""
    return Settings()


@handler(SEND_KIND)
def send_survey(session: Session, job: Job) -> None:
    """Create the contact's survey and queue its link; a contact deleted meanwhile is skipped."""
    contact = session.get(Contact, int(job.payload["contact_id"]))
    if contact is None or not contact.survey_consent:
        return
    settings = current_settings()
    service.create_survey(
        session,
        contact,
        secret_key=settings.secret_key,
        public_url=settings.public_url,
        link_days=settings.survey_link_days,
        actor=WORKER_ACTOR,
    )
