"""Survey rules: create one per consenting contact, deliver its link, store the answers exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careline.audit.service import Actor, record
from careline.channels.models import MessageChannel
from careline.channels.service import queue_message
from careline.contacts.models import Channel, Contact
from careline.db import get_scoped
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.kit.clock import utcnow
from careline.patients.models import Patient, PatientPhone
from careline.surveys import links
from careline.surveys.models import AnsweredVia, Survey, SurveyChannel
from careline.tenants.models import Tenant

# The questions, worded once for the web page and the voice channel.
QUESTIONS: list[dict[str, Any]] = [
    {
        "field": "csat",
        "text": "Overall, how satisfied are you with your call today?",
        "kind": "scale",
        "min": 1,
        "max": 5,
        "labels": {1: "Very unhappy", 5: "Very happy"},
    },
    {
        "field": "nps",
        "text": "How likely are you to recommend us to a friend or family member?",
        "kind": "scale",
        "min": 0,
        "max": 10,
        "labels": {0: "Not at all likely", 10: "Extremely likely"},
    },
    {"field": "need_met", "text": "Was your need met today?", "kind": "yes_no"},
    {
        "field": "comment",
        "text": "Anything you would like to tell us? (optional)",
        "kind": "text",
        "max_length": 2000,
    },
]
COMMENT_MAX = 2000


@dataclass(frozen=True)
class Answers:
    """Validated answers to the four questions."""

    csat: int
    nps: int
    need_met: bool
    comment: str | None


def _whole(value: object, field: str, low: int, high: int, label: str) -> int:
    if value is None or value == "":
        raise ValidationFailed(f"please answer: {label}", field=field)
    if isinstance(value, bool):
        raise ValidationFailed(f"{label} must be a number from {low} to {high}", field=field)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(f"{label} must be a number from {low} to {high}", field=field) from None
    if not low <= number <= high:
        raise ValidationFailed(f"{label} must be a number from {low} to {high}", field=field)
    return number


def _yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in {"yes", "y", "true", "1"}:
        return True
    if text in {"no", "n", "false", "0"}:
        return False
    raise ValidationFailed("please answer: was your need met today? (yes or no)", field="need_met")


def validate_answers(*, csat: object, nps: object, need_met: object, comment: object = None) -> Answers:
    """The same checks for the web page, the phone and the API; ValidationFailed names the field."""
    text = str(comment).strip() if comment is not None else ""
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(f"the comment is limited to {COMMENT_MAX} characters", field="comment")
    return Answers(
        csat=_whole(csat, "csat", 1, 5, "satisfaction (1 to 5)"),
        nps=_whole(nps, "nps", 0, 10, "likelihood to recommend (0 to 10)"),
        need_met=_yes_no(need_met),
        comment=text or None,
    )


# --------------------------------------------------------------------------- creating and sending


def survey_for_contact(session: Session, contact_id: int) -> Survey | None:
    """The contact's survey, if one was made."""
    return session.scalar(select(Survey).where(Survey.contact_id == contact_id))


@dataclass(frozen=True)
class Recipient:
    channel: SurveyChannel
    to: str | None
    patient_id: int | None


def recipient_for(session: Session, contact: Contact) -> Recipient:
    """Where the link goes: the caller's own number first (they agreed on this contact), then the
    patient's email, then the patient's primary phone; with none, the survey is kept unsent."""
    if contact.caller_number and contact.channel in (Channel.PHONE, Channel.SMS):
        return Recipient(SurveyChannel.SMS, contact.caller_number, contact.patient_id)
    patient = session.get(Patient, contact.patient_id) if contact.patient_id else None
    if patient is not None and patient.email:
        return Recipient(SurveyChannel.EMAIL, patient.email, patient.id)
    if patient is not None:
        phone = session.scalar(
            select(PatientPhone.e164)
            .where(PatientPhone.patient_id == patient.id)
            .order_by(PatientPhone.is_primary.desc(), PatientPhone.id)
            .limit(1)
        )
        if phone:
            return Recipient(SurveyChannel.SMS, phone, patient.id)
    if contact.caller_number:
        return Recipient(SurveyChannel.SMS, contact.caller_number, contact.patient_id)
    return Recipient(SurveyChannel.NONE, None, contact.patient_id)


def link_url(public_url: str, secret_key: str, survey_id: int) -> str:
    """The address printed in the SMS or email."""
    return f"{public_url.rstrip('/')}/survey/{links.make_token(secret_key, survey_id)}"


def create_survey(
    session: Session,
    contact: Contact,
    *,
    secret_key: str,
    public_url: str,
    link_days: int,
    actor: Actor | None = None,
) -> Survey:
    """Make the contact's survey and queue its link in the outbox; doing it twice changes nothing."""
    existing = survey_for_contact(session, contact.id)
    if existing is not None:
        return existing
    if not contact.survey_consent:
        raise Conflict("the caller did not agree to a survey on this contact")
    now = utcnow()
    target = recipient_for(session, contact)
    survey = Survey(
        tenant_id=contact.tenant_id,
        contact_id=contact.id,
        agent_user_id=contact.agent_user_id,
        channel=target.channel,
        created_at=now,
        expires_at=now + timedelta(days=link_days),
    )
    session.add(survey)
    session.flush()
    if target.channel is SurveyChannel.NONE:
        survey.delivery_note = "no phone number or email to send the link to"
    else:
        tenant = session.get(Tenant, contact.tenant_id)
        url = link_url(public_url, secret_key, survey.id)
        name = tenant.name if tenant else "CareLine"
        body = (
            f"{name}: thank you for your call. Would you tell us how we did? It takes a minute: {url} "
            f"(link valid {link_days} days)"
        )
        message = queue_message(
            session,
            tenant_id=contact.tenant_id,
            channel=MessageChannel.SMS if target.channel is SurveyChannel.SMS else MessageChannel.EMAIL,
            to=target.to,
            subject=f"{name}: how did we do?",
            body=body,
            related_type="survey",
            related_id=survey.id,
            patient_id=target.patient_id,
        )
        survey.outbox_message_id = message.id
        survey.sent_at = now
    record(
        session,
        actor or Actor("worker"),
        "survey.create",
        tenant_id=contact.tenant_id,
        object_type="survey",
        object_id=survey.id,
        detail={"contact_id": contact.id, "channel": str(target.channel)},
    )
    session.flush()
    return survey


# --------------------------------------------------------------------------- answering


class LinkOutcome:
    """What a survey link leads to (the page shows a message for each)."""

    OPEN = "open"
    INVALID = "invalid"
    EXPIRED = "expired"
    ANSWERED = "answered"


@dataclass(frozen=True)
class LinkState:
    outcome: str
    survey: Survey | None = None
    tenant_name: str | None = None


def open_link(session: Session, token: str, *, secret_key: str, link_days: int) -> LinkState:
    """Check a link: genuine (signature), in date (signed time and the survey's own expiry), unanswered."""
    check = links.read_token(secret_key, token, max_age_days=link_days)
    if check.problem is links.LinkProblem.EXPIRED:
        return LinkState(LinkOutcome.EXPIRED)
    if check.survey_id is None:
        return LinkState(LinkOutcome.INVALID)
    survey = session.get(Survey, check.survey_id)
    if survey is None:
        return LinkState(LinkOutcome.INVALID)
    tenant = session.get(Tenant, survey.tenant_id)
    name = tenant.name if tenant else None
    if survey.answered_at is not None:
        return LinkState(LinkOutcome.ANSWERED, survey, name)
    if utcnow() >= survey.expires_at:
        return LinkState(LinkOutcome.EXPIRED, survey, name)
    return LinkState(LinkOutcome.OPEN, survey, name)


class AlreadyAnswered(Conflict):
    """A second answer to the same survey."""


class SurveyExpired(Conflict):
    """An answer after the survey closed."""


def answer(session: Session, survey: Survey, answers: Answers, *, via: AnsweredVia, actor: Actor) -> Survey:
    """Store the answers once. The UPDATE only matches an unanswered row, so of two racing submits
    exactly one changes a row; the other is told the survey was already answered."""
    now = utcnow()
    if survey.answered_at is not None:
        raise AlreadyAnswered("thank you, we already have your answers")
    if now >= survey.expires_at:
        raise SurveyExpired("this survey has expired")
    result = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.answered_at.is_(None))
        .values(
            answered_at=now,
            via=via,
            csat=answers.csat,
            nps=answers.nps,
            need_met=answers.need_met,
            comment=answers.comment,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyAnswered("thank you, we already have your answers")
    session.refresh(survey)
    record(
        session,
        actor,
        "survey.answer",
        tenant_id=survey.tenant_id,
        object_type="survey",
        object_id=survey.id,
        detail={"via": str(via)},
    )
    return survey


def get_survey(session: Session, survey_id: int) -> Survey:
    """A survey of the caller's tenants, or NotFound."""
    return get_scoped(session, Survey, survey_id, what="survey")


def survey_of_contact(session: Session, contact_id: int) -> Survey:
    """The survey of one of the caller's contacts, or NotFound (also before the survey job has run)."""
    contact = session.scalar(select(Contact).where(Contact.id == contact_id))
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    survey = survey_for_contact(session, contact_id)
    if survey is None:
        raise NotFound(f"contact {contact_id} has no survey (yet)")
    return survey
