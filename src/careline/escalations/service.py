"""The escalation rules: raise from a contact, alert nurses live, re-alert on a durable timer, accept
(exactly one nurse wins), guided questions, resolve with a disposition that a lower choice must justify."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careline.audit.service import record
from careline.channels.service import queue_message
from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import OPEN_STATUSES, Contact, ContactEvent, ContactReason, Outcome
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.escalations.models import Escalation, EscalationStatus, TriageAnswer, Urgency
from careline.jobs import events
from careline.jobs import service as jobs
from careline.jobs.worker import WORKER_ACTOR
from careline.kit.clock import utcnow
from careline.tenants.models import Tenant
from careline.triage.model import Disposition, max_disposition
from careline.triage.protocols import Question
from careline.triage.rules import questions_for, screen

TIMEOUT_JOB = "escalation.timeout"
URGENT_TIMEOUT = timedelta(minutes=30)
ACTIVE = (EscalationStatus.OPEN, EscalationStatus.ACCEPTED)


@cache
def _scripts() -> dict[str, dict[str, str]]:
    return yaml.safe_load((Path(__file__).with_name("scripts.yaml")).read_text(encoding="utf-8"))


def script_for(esc: Escalation) -> str:
    """The words the agent says while the caller waits for the nurse."""
    by_urgency = _scripts()[str(esc.urgency)]
    for kind in esc.kinds or []:
        if kind in by_urgency:
            return by_urgency[kind]
    return by_urgency["default"]


def _publish(session: Session, esc: Escalation, kind: str, **extra: Any) -> None:
    payload = {"escalation_id": esc.id, "contact_id": esc.contact_id, "status": str(esc.status), **extra}
    for channel in ("nurses", "wallboard", f"contact:{esc.contact_id}"):
        events.publish(session, channel, kind, payload, tenant_id=esc.tenant_id)


def _on_contact(session: Session, esc: Escalation, kind: str, user_id: int | None, **detail: Any) -> None:
    """The step on the contact's own timeline too, with its times (the live event is `_publish`'s)."""
    session.add(
        ContactEvent(
            tenant_id=esc.tenant_id,
            contact_id=esc.contact_id,
            kind=kind,
            actor_user_id=user_id,
            detail={"escalation_id": esc.id, **detail},
        )
    )


def audit_listed(session: Session, actor: Any, shown: list[Escalation], *, via: str) -> None:
    """One `escalation.list` audit row per tenant whose callers' words were shown (none for an empty list)."""
    by_tenant: dict[int, list[int]] = {}
    for esc in shown:
        by_tenant.setdefault(esc.tenant_id, []).append(esc.id)
    for tenant_id, ids in sorted(by_tenant.items()):
        record(
            session,
            actor,
            "escalation.list",
            tenant_id=tenant_id,
            object_type="escalation",
            detail={"via": via, "ids": ids},
        )


def _timeout(esc: Escalation, emergency_seconds: int) -> timedelta:
    if esc.urgency is Urgency.EMERGENCY:
        return timedelta(seconds=emergency_seconds)
    return URGENT_TIMEOUT


def _arm_timer(session: Session, esc: Escalation, emergency_seconds: int) -> None:
    esc.timer_key = f"escalation:{esc.id}:timeout:{esc.realerts}"
    jobs.enqueue(
        session,
        TIMEOUT_JOB,
        {"escalation_id": esc.id, "seconds": emergency_seconds},
        run_at=utcnow() + _timeout(esc, emergency_seconds),
        tenant_id=esc.tenant_id,
        key=esc.timer_key,
    )


def open_for_contact(session: Session, contact_id: int) -> Escalation | None:
    """The contact's escalation still waiting or in progress, if any."""
    stmt = select(Escalation).where(Escalation.contact_id == contact_id, Escalation.status.in_(ACTIVE))
    return session.scalars(stmt.order_by(Escalation.id.desc())).first()


def latest_for_contact(session: Session, contact_id: int) -> Escalation | None:
    """The contact's most recent escalation."""
    stmt = select(Escalation).where(Escalation.contact_id == contact_id).order_by(Escalation.id.desc())
    return session.scalars(stmt).first()


def _clinical_reason(session: Session, contact: Contact, by: contacts.By) -> ContactReason:
    for reason in contacts.reasons_of(session, contact):
        if reason.intent is Intent.CLINICAL:
            return reason
    return contacts.add_reason(session, contact, by, intent=Intent.CLINICAL)


def _what_was_said(session: Session, contact: Contact) -> str:
    """The caller's words on record: transcript lines, else the screened reason texts, else the notes."""
    lines = contacts.caller_lines(session, contact)
    if not lines:
        lines = list(dict.fromkeys(r.text for r in contacts.reasons_of(session, contact) if r.text))
    return "\n".join(lines) or contact.notes


def raise_escalation(
    session: Session, by: contacts.By, contact: Contact, *, text: str = "", emergency_seconds: int = 60
) -> Escalation:
    """Hand the contact to a clinician now (returns the open escalation if there already is one)."""
    if contact.status not in OPEN_STATUSES:
        raise Conflict(f"contact {contact.id} has ended; call the caller back instead")
    existing = open_for_contact(session, contact.id)
    if existing is not None:
        return existing
    text = text.strip() or _what_was_said(session, contact)
    screening = screen(text)
    kinds = sorted({str(f.kind) for f in screening.red_flags if f.kind} | set(contact.red_flag_kinds or []))
    # An escalation is never less than urgent: a person decided a clinician is needed.
    suggested = max_disposition(screening.disposition, contact.disposition, Disposition.URGENT)
    urgency = Urgency.EMERGENCY if suggested is Disposition.EMERGENCY or kinds else Urgency.URGENT
    esc = Escalation(
        tenant_id=contact.tenant_id,
        contact_id=contact.id,
        raised_by_user_id=by.user_id,
        raised_at=utcnow(),
        urgency=urgency,
        text=text[:5000],
        kinds=kinds,
        evidence=[f.to_dict() for f in screening.red_flags],
        advice=screening.advice,
        suggested_disposition=Disposition.EMERGENCY if urgency is Urgency.EMERGENCY else suggested,
        last_alert_at=utcnow(),
    )
    session.add(esc)
    session.flush()
    _arm_timer(session, esc, emergency_seconds)
    reason = _clinical_reason(session, contact, by)
    contacts.record_outcome(
        session, contact, by, reason, outcome=Outcome.NURSE_ESCALATED, detail={"escalation_id": esc.id}
    )
    record(
        session,
        by.actor,
        "escalation.raise",
        tenant_id=esc.tenant_id,
        object_type="escalation",
        object_id=esc.id,
        detail={"contact_id": contact.id, "kinds": kinds, "urgency": str(urgency)},
    )
    _on_contact(session, esc, "escalation.raised", by.user_id, urgency=str(urgency), kinds=kinds)
    _publish(session, esc, "escalation.raised", urgency=str(urgency), kinds=kinds)
    return esc


def get_escalation(session: Session, escalation_id: int) -> Escalation:
    """An escalation of the caller's tenants, or NotFound."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise NotFound(f"escalation {escalation_id} not found")
    return esc


def waiting_list(session: Session, *, include_accepted: bool = True) -> list[Escalation]:
    """The nurse queue: emergencies before urgent ones, then the longest waiting first."""
    statuses = ACTIVE if include_accepted else (EscalationStatus.OPEN,)
    rows = list(session.scalars(select(Escalation).where(Escalation.status.in_(statuses))))
    rank = {Urgency.EMERGENCY: 0, Urgency.URGENT: 1}
    return sorted(rows, key=lambda e: (e.status is not EscalationStatus.OPEN, rank[e.urgency], e.raised_at))


def _notify_oncall(session: Session, esc: Escalation) -> None:
    tenant = session.get(Tenant, esc.tenant_id)
    oncall = (tenant.settings or {}).get("oncall") if tenant else None
    body = (
        f"CareLine: escalation {esc.id} ({', '.join(esc.kinds) or esc.urgency}) has waited "
        f"{int((utcnow() - esc.raised_at).total_seconds())} s without a nurse. Contact {esc.contact_id}."
    )
    queue_message(
        session,
        tenant_id=esc.tenant_id,
        channel="sms",
        to=(oncall or {}).get("phone"),
        body=body,
        subject="Escalation waiting",
        related_type="escalation",
        related_id=esc.id,
    )


def on_timeout(session: Session, escalation_id: int, *, emergency_seconds: int = 60) -> bool:
    """Nobody accepted in time: re-alert nurses, notify the supervisor and the on-call clinician, re-arm."""
    now = utcnow()
    # One conditional UPDATE claims the re-alert: a nurse's accept (the same kind of UPDATE) either
    # came first and this changes nothing, or waits for this transaction; never a re-alert after it.
    claimed = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
        .values(realerts=Escalation.realerts + 1, last_alert_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return False
    esc = session.get(Escalation, escalation_id)
    session.refresh(esc)
    esc.supervisor_notified_at = esc.supervisor_notified_at or now
    if esc.oncall_notified_at is None:
        esc.oncall_notified_at = now
        _notify_oncall(session, esc)
    waited = int((now - esc.raised_at).total_seconds())
    _on_contact(session, esc, "escalation.realert", None, realerts=esc.realerts, waited_seconds=waited)
    _publish(session, esc, "escalation.realert", realerts=esc.realerts, waited_seconds=waited)
    record(
        session,
        WORKER_ACTOR,
        "escalation.realert",
        tenant_id=esc.tenant_id,
        object_type="escalation",
        object_id=esc.id,
        detail={"realerts": esc.realerts, "waited_seconds": waited},
    )
    _arm_timer(session, esc, emergency_seconds)
    return True


def accept(session: Session, by: contacts.By, escalation_id: int) -> Escalation:
    """A nurse takes the caller (warm transfer); exactly one nurse wins a race, the others get 409."""
    esc = get_escalation(session, escalation_id)
    now = utcnow()
    won = session.execute(
        update(Escalation)
        .where(Escalation.id == esc.id, Escalation.status == EscalationStatus.OPEN)
        .values(
            status=EscalationStatus.ACCEPTED,
            accepted_by_user_id=by.user_id,
            accepted_at=now,
            time_to_clinician_seconds=(now - esc.raised_at).total_seconds(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(esc)
    if not won:
        raise Conflict(f"escalation {esc.id} is already {esc.status}")
    if esc.timer_key:
        jobs.cancel(session, esc.timer_key)
    record(
        session,
        by.actor,
        "escalation.accept",
        tenant_id=esc.tenant_id,
        object_type="escalation",
        object_id=esc.id,
        detail={"time_to_clinician_seconds": esc.time_to_clinician_seconds},
    )
    _on_contact(
        session,
        esc,
        "escalation.accepted",
        by.user_id,
        time_to_clinician_seconds=esc.time_to_clinician_seconds,
    )
    _publish(session, esc, "escalation.accepted", nurse_user_id=by.user_id)
    return esc


def _require_nurse_on_it(esc: Escalation, by: contacts.By) -> None:
    if esc.status is not EscalationStatus.ACCEPTED:
        raise Conflict(f"escalation {esc.id} is {esc.status}; accept it first")
    if esc.accepted_by_user_id != by.user_id:
        raise Conflict("another nurse has this caller")


def answers(session: Session, esc: Escalation) -> list[TriageAnswer]:
    """The questions asked so far, in order."""
    stmt = select(TriageAnswer).where(TriageAnswer.escalation_id == esc.id).order_by(TriageAnswer.id)
    return list(session.scalars(stmt))


def protocol_questions(esc: Escalation) -> list[Question]:
    """The guided questions for what was heard, most serious first."""
    return questions_for(screen(esc.text)) if esc.text else []


def next_question(session: Session, esc: Escalation) -> Question | None:
    """The next question not yet asked, or None when the first 'yes' decided or none are left."""
    asked = answers(session, esc)
    if any(a.answer for a in asked):
        return None
    done = {a.question_id for a in asked}
    return next((q for q in protocol_questions(esc) if q.id not in done), None)


def answer(session: Session, by: contacts.By, esc: Escalation, question_id: str, yes: bool) -> Disposition:
    """Record an answer; the first 'yes' sets the suggested disposition (never lowering it)."""
    _require_nurse_on_it(esc, by)
    question = next((q for q in protocol_questions(esc) if q.id == question_id), None)
    if question is None:
        raise ValidationFailed(f"'{question_id}' is not a question of this protocol", field="question_id")
    session.add(
        TriageAnswer(
            tenant_id=esc.tenant_id,
            escalation_id=esc.id,
            question_id=question.id,
            question=question.text,
            answer=yes,
            if_yes=question.if_yes,
            answered_by_user_id=by.user_id,
        )
    )
    if yes:
        esc.suggested_disposition = max_disposition(esc.suggested_disposition, question.if_yes)
    session.flush()
    return Disposition(esc.suggested_disposition)


def resolve(
    session: Session,
    by: contacts.By,
    esc: Escalation,
    *,
    disposition: Disposition,
    reason: str | None = None,
    advice: str = "",
    notes: str = "",
) -> Escalation:
    """The nurse's decision: a higher disposition is always allowed, a lower one needs a reason."""
    _require_nurse_on_it(esc, by)
    lower = disposition.rank < Disposition(esc.suggested_disposition).rank
    if lower and not (reason or "").strip():
        raise ValidationFailed(
            f"say why the disposition is lower than the suggested {esc.suggested_disposition}", field="reason"
        )
    contact = contacts.get_contact(session, esc.contact_id)
    contacts.set_disposition(session, contact, by, disposition, reason=reason or None)
    esc.final_disposition, esc.lower_reason = disposition, (reason or None) if lower else None
    esc.advice_given, esc.outcome_notes = advice.strip() or None, notes.strip() or None
    esc.status, esc.resolved_at = EscalationStatus.RESOLVED, utcnow()
    record(
        session,
        by.actor,
        "escalation.resolve",
        tenant_id=esc.tenant_id,
        object_type="escalation",
        object_id=esc.id,
        detail={"disposition": str(disposition), "lower": lower, "contact_id": contact.id},
    )
    _on_contact(
        session,
        esc,
        "escalation.resolved",
        by.user_id,
        disposition=str(disposition),
        lower_reason=esc.lower_reason,
        advice_given=esc.advice_given,
        time_to_clinician_seconds=esc.time_to_clinician_seconds,
    )
    _publish(session, esc, "escalation.resolved", disposition=str(disposition))
    return esc


def cancel(session: Session, by: contacts.By, esc: Escalation, *, reason: str) -> Escalation:
    """Withdraw an escalation still waiting (raised in error, caller hung up and 911 called...)."""
    if esc.status is not EscalationStatus.OPEN:
        raise Conflict(f"escalation {esc.id} is {esc.status}; only a waiting one can be cancelled")
    if not reason.strip():
        raise ValidationFailed("say why the escalation is cancelled", field="reason")
    esc.status, esc.cancel_reason, esc.resolved_at = EscalationStatus.CANCELLED, reason.strip(), utcnow()
    if esc.timer_key:
        jobs.cancel(session, esc.timer_key)
    record(
        session,
        by.actor,
        "escalation.cancel",
        tenant_id=esc.tenant_id,
        object_type="escalation",
        object_id=esc.id,
        detail={"reason": reason.strip()[:200]},
    )
    _on_contact(session, esc, "escalation.cancelled", by.user_id, reason=esc.cancel_reason)
    _publish(session, esc, "escalation.cancelled")
    return esc
