"""Tenant-B objects for the generated route tests (tests/routes.py), and survey helpers for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from careline.contacts.models import Contact, ContactStatus
from careline.kit.clock import utcnow
from careline.surveys.models import Survey, SurveyChannel
from tests.factories import World


def make_survey(db: Session, tenant_id: int, *, agent_user_id: int | None = None, days: int = 7) -> Survey:
    """An ended, consenting contact with an unanswered survey (made directly, no outbox)."""
    now = utcnow()
    contact = Contact(
        tenant_id=tenant_id,
        status=ContactStatus.ENDED,
        survey_consent=True,
        agent_user_id=agent_user_id,
        answered_at=now - timedelta(minutes=5),
        ended_at=now,
    )
    db.add(contact)
    db.flush()
    survey = Survey(
        tenant_id=tenant_id,
        contact_id=contact.id,
        agent_user_id=agent_user_id,
        channel=SurveyChannel.SMS,
        created_at=now,
        sent_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.add(survey)
    db.flush()
    return survey


def _other_tenants_survey(world: World, db: Session) -> int:
    return make_survey(db, world.tenant_b.id).id


OTHER_TENANT_OBJECT: dict[str, Callable[[World, Session], int | str]] = {
    "survey_id": _other_tenants_survey,
}

SAMPLE_BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/surveys/{survey_id}/answers"): {"csat": 5, "nps": 9, "need_met": True},
}
