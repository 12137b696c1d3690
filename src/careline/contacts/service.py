"""Contact lifecycle: start, identify the caller, capture reasons, record what was done, wrap up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.audit.service import Actor, record
from careline.contacts.analyze import Analysis, analyze
from careline.contacts.intents import Intent
from careline.contacts.models import (
    OPEN_STATUSES,
    Channel,
    Contact,
    ContactEvent,
    ContactReason,
    ContactStatus,
    Outcome,
)
from careline.db import get_scoped
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.jobs import events
from careline.jobs.service import enqueue
from careline.kit.clock import utcnow
from careline.kit.phones import normalize_phone
from careline.patients.models import Patient, PatientPhone
from careline.tenants.models import Tenant
from careline.triage.model import Disposition, never_lower


@dataclass(frozen=True)
class By:
    """Who acts on a contact: the user (for the timeline) and the audit actor."""

    user_id: int | None
    actor: Actor


def _event(session: Session, contact: Contact, kind: str, by: By, **detail: Any) -> None:
    session.add(
        ContactEvent(
            tenant_id=contact.tenant_id,
            contact_id=contact.id,
            kind=kind,
            actor_user_id=by.user_id,
            detail=detail,
        )
    )
    events.publish(
        session,
        f"contact:{contact.id}",
        kind,
        {"contact_id": contact.id, **detail},
        tenant_id=contact.tenant_id,
    )


def _phone_or_none(raw: str | None, field: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalize_phone(raw)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=field) from exc


def tenant_for_dialed_number(session: Session, dialed: str) -> Tenant | None:
    """The client whose published number the caller dialled."""
    number = _phone_or_none(dialed, "dialed_number")
    return session.scalar(select(Tenant).where(Tenant.phone == number))


def start_contact(
    session: Session,
    by: By,
    *,
    tenant_id: int | None = None,
    channel: Channel = Channel.PHONE,
    caller_number: str | None = None,
    dialed_number: str | None = None,
    caller_name: str | None = None,
    status: ContactStatus = ContactStatus.ACTIVE,
    simulated: bool = False,
) -> Contact:
    """Open a contact; the tenant comes from the number dialled or is chosen by the agent."""
    if tenant_id is None and dialed_number:
        tenant = tenant_for_dialed_number(session, dialed_number)
        tenant_id = tenant.id if tenant else None
    if tenant_id is None:
        raise ValidationFailed("choose the client this contact is for", field="tenant_id")
    now = utcnow()
    contact = Contact(
        tenant_id=tenant_id,
        channel=channel,
        caller_number=_phone_or_none(caller_number, "caller_number"),
        dialed_number=_phone_or_none(dialed_number, "dialed_number"),
        caller_name=caller_name,
        status=status,
        simulated=simulated,
        created_at=now,
    )
    if status is ContactStatus.ACTIVE:
        contact.agent_user_id, contact.answered_at = by.user_id, now
    elif status is ContactStatus.QUEUED:
        contact.queued_at = now
    session.add(contact)
    session.flush()
    _event(session, contact, "contact.started", by, status=str(status), channel=str(channel))
    return contact


def get_contact(session: Session, contact_id: int) -> Contact:
    """A contact of the caller's tenants, or NotFound."""
    contact = session.scalar(select(Contact).where(Contact.id == contact_id))
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    return contact


def _require_open(contact: Contact) -> None:
    if contact.status not in OPEN_STATUSES:
        raise Conflict(f"contact {contact.id} is {contact.status}; it can no longer be changed")


def caller_matches(session: Session, contact: Contact) -> list[Patient]:
    """Patients of the contact's tenant whose phone is the caller's number (returning callers)."""
    if not contact.caller_number:
        return []
    stmt = (
        select(Patient)
        .join(PatientPhone, PatientPhone.patient_id == Patient.id)
        .where(PatientPhone.e164 == contact.caller_number, Patient.tenant_id == contact.tenant_id)
        .order_by(Patient.last_name, Patient.first_name)
    )
    return list(session.scalars(stmt).unique())


def identify(
    session: Session, contact: Contact, by: By, *, patient_id: int | None, new_patient: bool = False
) -> None:
    """Attach the caller's patient record (or mark a new patient still to register)."""
    _require_open(contact)
    if patient_id is not None:
        patient = get_scoped(session, Patient, patient_id, what="patient")
        if patient.tenant_id != contact.tenant_id:
            raise ValidationFailed("that patient belongs to another client", field="patient_id")
        record(
            session,
            by.actor,
            "patient.identify",
            tenant_id=contact.tenant_id,
            object_type="patient",
            object_id=patient.id,
            detail={"contact_id": contact.id},
        )
    contact.patient_id, contact.new_patient = patient_id, new_patient and patient_id is None
    _event(session, contact, "contact.identified", by, patient_id=patient_id, new_patient=contact.new_patient)


def screen_text(
    session: Session,
    contact: Contact,
    by: By,
    text: str,
    *,
    age_years: float | None = None,
    sex: str | None = None,
    pregnant: bool | None = None,
    add_reasons: bool = True,
) -> Analysis:
    """Analyse what the caller said: flag red flags on the contact and add the intents as reasons."""
    _require_open(contact)
    result = analyze(text, age_years=age_years, sex=sex, pregnant=pregnant)
    screening = result.screening
    if screening.red_flag:
        contact.red_flag = True
        kinds = {str(f.kind) for f in screening.red_flags if f.kind} | set(contact.red_flag_kinds or [])
        contact.red_flag_kinds = sorted(kinds)
    if contact.disposition_set_by != "person":
        contact.disposition = never_lower(contact.disposition, screening.disposition)
        contact.disposition_set_by = "screening"
    if add_reasons:
        have = {r.intent for r in reasons_of(session, contact)}
        for scored in result.intents:
            if scored.intent not in have:
                session.add(
                    ContactReason(
                        tenant_id=contact.tenant_id,
                        contact_id=contact.id,
                        intent=scored.intent,
                        text=text[:2000],
                        detected=True,
                    )
                )
    if screening.red_flag:
        _event(
            session,
            contact,
            "contact.red_flag",
            by,
            kinds=contact.red_flag_kinds,
            evidence=[f.evidence for f in screening.red_flags],
        )
    session.flush()
    return result


def add_reason(
    session: Session, contact: Contact, by: By, *, intent: Intent, text: str = ""
) -> ContactReason:
    """Add a reason the agent heard (agents can always add one the classifier missed)."""
    _require_open(contact)
    reason = ContactReason(
        tenant_id=contact.tenant_id, contact_id=contact.id, intent=intent, text=text[:2000]
    )
    session.add(reason)
    session.flush()
    _event(session, contact, "reason.added", by, reason_id=reason.id, intent=str(intent))
    return reason


def reasons_of(session: Session, contact: Contact) -> list[ContactReason]:
    """The contact's reasons in the order they were raised."""
    session.flush()
    stmt = select(ContactReason).where(ContactReason.contact_id == contact.id).order_by(ContactReason.id)
    return list(session.scalars(stmt))


def get_reason(session: Session, contact: Contact, reason_id: int) -> ContactReason:
    """One reason of this contact, or NotFound."""
    reason = session.get(ContactReason, reason_id)
    if reason is None or reason.contact_id != contact.id:
        raise NotFound(f"reason {reason_id} is not part of contact {contact.id}")
    return reason


def record_outcome(
    session: Session,
    contact: Contact,
    by: By,
    reason: ContactReason,
    *,
    outcome: Outcome,
    detail: dict[str, Any] | None = None,
    disposition_code: str | None = None,
) -> ContactReason:
    """Record what was done for one reason: booked, referred, informed, transferred, routed outside..."""
    _require_open(contact)
    reason.outcome, reason.outcome_detail = outcome, detail or {}
    reason.disposition_code = disposition_code or str(outcome)
    reason.resolved_at = utcnow()
    _event(
        session, contact, "reason.resolved", by, reason_id=reason.id, outcome=str(outcome), **(detail or {})
    )
    session.flush()
    return reason


def set_disposition(
    session: Session, contact: Contact, by: By, disposition: Disposition, *, reason: str | None = None
) -> None:
    """A person sets the clinical disposition; lowering the screener's needs a stated reason."""
    if contact.disposition and disposition.rank < Disposition(contact.disposition).rank and not reason:
        raise ValidationFailed("say why the disposition is lower than suggested", field="reason")
    contact.disposition, contact.disposition_set_by = disposition, "person"
    _event(session, contact, "contact.disposition", by, disposition=str(disposition), reason=reason)


def add_note(session: Session, contact: Contact, by: By, note: str) -> None:
    """Append to the contact's notes, stamped with the time."""
    _require_open(contact)
    stamp = utcnow().strftime("%H:%M")
    contact.notes = (contact.notes + "\n" if contact.notes else "") + f"[{stamp}] {note.strip()}"
    _event(session, contact, "contact.note", by)


def transfer(
    session: Session,
    contact: Contact,
    by: By,
    *,
    target: str,
    department_id: int | None = None,
    reason_id: int | None = None,
    warm: bool = True,
) -> None:
    """Transfer the caller (to a department or person); recorded on the reason it served."""
    _require_open(contact)
    detail = {"target": target, "department_id": department_id, "warm": warm}
    if reason_id is not None:
        record_outcome(
            session,
            contact,
            by,
            get_reason(session, contact, reason_id),
            outcome=Outcome.TRANSFERRED,
            detail=detail,
        )
    _event(session, contact, "contact.transferred", by, **detail)


def wrap_up(
    session: Session,
    contact: Contact,
    by: By,
    *,
    notes: str | None = None,
    survey_consent: bool = False,
    dispositions: dict[int, str] | None = None,
    outcomes: dict[int, Outcome] | None = None,
) -> Contact:
    """End the conversation: every reason gets an outcome, then the contact ends.

    `outcomes` gives the agent's disposition for reasons not resolved during the call (message taken,
    information given...); any reason still without one is recorded as unresolved. `dispositions`
    are the client's own disposition codes per reason, when it uses them.
    """
    _require_open(contact)
    now = utcnow()
    reasons = reasons_of(session, contact)
    unknown = set(outcomes or {}) - {r.id for r in reasons}
    if unknown:
        raise ValidationFailed(f"not reasons of this contact: {sorted(unknown)}", field="outcomes")
    for reason in reasons:
        code = (dispositions or {}).get(reason.id)
        chosen = (outcomes or {}).get(reason.id)
        if reason.outcome is None and chosen is not None:
            record_outcome(session, contact, by, reason, outcome=Outcome(chosen), detail={"at_wrap_up": True})
        if reason.outcome is None:
            reason.outcome, reason.resolved_at = Outcome.UNRESOLVED, now
        if code:
            reason.disposition_code = code[:40]
    if notes:
        add_note(session, contact, by, notes)
    contact.survey_consent = survey_consent
    contact.wrap_up_at = contact.wrap_up_at or now
    contact.ended_at = now
    contact.status = ContactStatus.ENDED
    _event(session, contact, "contact.ended", by, survey_consent=survey_consent)
    if survey_consent:  # careline.surveys.jobs makes the survey and queues its link (SMS or email)
        enqueue(session, "survey.send", {"contact_id": contact.id}, tenant_id=contact.tenant_id)
    session.flush()
    return contact


def abandon(session: Session, contact: Contact, by: By) -> None:
    """The caller hung up before anyone answered."""
    if contact.status not in (ContactStatus.QUEUED, ContactStatus.OFFERED):
        raise Conflict(f"only a waiting contact can be abandoned; this one is {contact.status}")
    contact.status, contact.abandoned_at, contact.ended_at = ContactStatus.ABANDONED, utcnow(), utcnow()
    _event(session, contact, "contact.abandoned", by)


def list_open(session: Session, *, agent_user_id: int | None = None, limit: int = 50) -> list[Contact]:
    """Open contacts, newest first (optionally one agent's)."""
    stmt = select(Contact).where(Contact.status.in_(OPEN_STATUSES)).order_by(Contact.id.desc()).limit(limit)
    if agent_user_id is not None:
        stmt = stmt.where(Contact.agent_user_id == agent_user_id)
    return list(session.scalars(stmt))


def add_caller_line(session: Session, contact: Contact, by: By, text: str) -> None:
    """Record what the caller said (a transcript line or a chat message) on the timeline."""
    _event(session, contact, "caller.said", by, text=text[:2000])


def caller_lines(session: Session, contact: Contact) -> list[str]:
    """What the caller said, in order."""
    stmt = select(ContactEvent.detail).where(
        ContactEvent.contact_id == contact.id, ContactEvent.kind == "caller.said"
    )
    return [d.get("text", "") for d in session.scalars(stmt.order_by(ContactEvent.id))]


def timeline(session: Session, contact: Contact) -> list[ContactEvent]:
    """The contact's events in order."""
    stmt = select(ContactEvent).where(ContactEvent.contact_id == contact.id).order_by(ContactEvent.id)
    return list(session.scalars(stmt))
