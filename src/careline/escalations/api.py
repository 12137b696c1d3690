"""REST routes for escalations: agents raise and follow them, nurses accept, triage and resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from careline.accounts.permissions import Permission
from careline.contacts import service as contacts
from careline.escalations import service
from careline.escalations.models import Escalation
from careline.escalations.schemas import AnswerIn, CancelIn, EscalationOut, QuestionOut, RaiseIn, ResolveIn
from careline.kit.clock import utcnow
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1/escalations", tags=["escalations"])
Raiser = Annotated[RequestContext, Depends(require(Permission.ESCALATION_RAISE))]
Nurse = Annotated[RequestContext, Depends(require(Permission.ESCALATION_HANDLE))]
NOT_FOUND = {404: {"description": "no such escalation among your clients"}}
CHANGE = {
    **NOT_FOUND,
    409: {"description": "not in a state that allows this"},
    422: {"description": "invalid"},
}


def by(ctx: RequestContext) -> contacts.By:
    """The acting user for the contact timeline and the audit log."""
    return contacts.By(user_id=ctx.user.id, actor=ctx.actor)


def out(esc: Escalation) -> EscalationOut:
    """The API view, with the agent's script and the running clock."""
    view = EscalationOut.model_validate(esc)
    view.script = service.script_for(esc)
    if esc.accepted_at is None and esc.resolved_at is None:
        view.waiting_seconds = (utcnow() - esc.raised_at).total_seconds()
    return view


@api.post("", response_model=EscalationOut, status_code=201, responses=CHANGE)
def raise_(body: RaiseIn, ctx: Raiser) -> EscalationOut:
    """Escalate a contact to a clinician now."""
    contact = contacts.get_contact(ctx.db, body.contact_id)
    esc = service.raise_escalation(
        ctx.db, by(ctx), contact, text=body.text, emergency_seconds=ctx.settings.escalation_timeout_seconds
    )
    return out(esc)


@api.get("", response_model=list[EscalationOut])
def waiting(ctx: Nurse) -> list[EscalationOut]:
    """The nurse queue: emergencies first, then the longest waiting."""
    shown = service.waiting_list(ctx.db)
    service.audit_listed(ctx.db, ctx.actor, shown, via="api")
    return [out(e) for e in shown]


@api.get("/{escalation_id}", response_model=EscalationOut, responses=NOT_FOUND)
def get(escalation_id: int, ctx: Raiser) -> EscalationOut:
    """One escalation (the agent follows its state; the nurse works it)."""
    esc = service.get_escalation(ctx.db, escalation_id)
    ctx.audit("escalation.read", tenant_id=esc.tenant_id, object_type="escalation", object_id=esc.id)
    return out(esc)


@api.post("/{escalation_id}/accept", response_model=EscalationOut, responses=CHANGE)
def accept(escalation_id: int, ctx: Nurse) -> EscalationOut:
    """Take the caller (warm transfer); the clock stops."""
    return out(service.accept(ctx.db, by(ctx), escalation_id))


@api.get("/{escalation_id}/next-question", response_model=QuestionOut | None, responses=NOT_FOUND)
def next_question(escalation_id: int, ctx: Nurse) -> QuestionOut | None:
    """The next guided question, most serious first (none once a 'yes' decided)."""
    q = service.next_question(ctx.db, service.get_escalation(ctx.db, escalation_id))
    return None if q is None else QuestionOut(id=q.id, text=q.text, if_yes=q.if_yes)


@api.post("/{escalation_id}/answers", response_model=EscalationOut, responses=CHANGE)
def answer(escalation_id: int, body: AnswerIn, ctx: Nurse) -> EscalationOut:
    """Record the caller's answer to a guided question."""
    esc = service.get_escalation(ctx.db, escalation_id)
    service.answer(ctx.db, by(ctx), esc, body.question_id, body.yes)
    return out(esc)


@api.post("/{escalation_id}/resolve", response_model=EscalationOut, responses=CHANGE)
def resolve(escalation_id: int, body: ResolveIn, ctx: Nurse) -> EscalationOut:
    """The nurse's disposition, advice and notes (a lower disposition needs a reason)."""
    esc = service.get_escalation(ctx.db, escalation_id)
    service.resolve(
        ctx.db,
        by(ctx),
        esc,
        disposition=body.disposition,
        reason=body.reason,
        advice=body.advice,
        notes=body.notes,
    )
    return out(esc)


@api.post("/{escalation_id}/cancel", response_model=EscalationOut, responses=CHANGE)
def cancel(escalation_id: int, body: CancelIn, ctx: Raiser) -> EscalationOut:
    """Withdraw an escalation that is still waiting, with the reason."""
    esc = service.get_escalation(ctx.db, escalation_id)
    return out(service.cancel(ctx.db, by(ctx), esc, reason=body.reason))
