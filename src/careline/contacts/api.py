"""REST routes for the contact lifecycle and for analysing what a caller said."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from careline.accounts.permissions import Permission
from careline.contacts import service
from careline.contacts.analyze import analyze
from careline.contacts.models import Contact
from careline.contacts.schemas import (
    AnalyzeIn,
    ContactOut,
    ContactStart,
    DispositionIn,
    EventOut,
    IdentifyIn,
    NoteIn,
    OutcomeIn,
    ReasonIn,
    ReasonOut,
    ScreenIn,
    TransferIn,
    WrapUpIn,
)
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1", tags=["contacts"])
Handler = Annotated[RequestContext, Depends(require(Permission.CONTACT_HANDLE))]
Analyst = Annotated[RequestContext, Depends(require(Permission.ANALYZE))]
NOT_FOUND = {404: {"description": "no such contact among your clients"}}
CHANGE = {**NOT_FOUND, 409: {"description": "the contact has ended"}, 422: {"description": "invalid input"}}


def _by(ctx: RequestContext) -> service.By:
    return service.By(user_id=ctx.user.id, actor=ctx.actor)


def _out(ctx: RequestContext, contact: Contact) -> ContactOut:
    reasons = [ReasonOut.model_validate(r) for r in service.reasons_of(ctx.db, contact)]
    return ContactOut.model_validate({**_columns(contact), "reasons": reasons})


def _columns(contact: Contact) -> dict[str, Any]:
    names = ContactOut.model_fields.keys() - {"reasons"}
    return {name: getattr(contact, name) for name in names}


@api.post("/analyze", responses={422: {"description": "invalid input"}})
def analyze_text(body: AnalyzeIn, ctx: Analyst) -> dict[str, Any]:
    """Red flags, disposition, advice and caller intents for a text (nothing is stored)."""
    return analyze(body.text, age_years=body.age, sex=body.sex, pregnant=body.pregnant).to_dict()


@api.post("/contacts", response_model=ContactOut, status_code=201, responses={404: {}, 422: {}})
def start(body: ContactStart, ctx: Handler) -> ContactOut:
    """Open a contact answered by me (the client by id or by the number dialled)."""
    contact = service.start_contact(
        ctx.db,
        _by(ctx),
        tenant_id=body.tenant_id,
        channel=body.channel,
        caller_number=body.caller_number,
        dialed_number=body.dialed_number,
        caller_name=body.caller_name,
    )
    return _out(ctx, contact)


@api.get("/contacts", response_model=list[ContactOut])
def list_open(ctx: Handler, mine: bool = True) -> list[ContactOut]:
    """Open contacts (mine by default)."""
    rows = service.list_open(ctx.db, agent_user_id=ctx.user.id if mine else None)
    return [_out(ctx, c) for c in rows]


@api.get("/contacts/{contact_id}", response_model=ContactOut, responses=NOT_FOUND)
def get(contact_id: int, ctx: Handler) -> ContactOut:
    """One contact with its reasons."""
    contact = service.get_contact(ctx.db, contact_id)
    ctx.audit("contact.read", tenant_id=contact.tenant_id, object_type="contact", object_id=contact.id)
    return _out(ctx, contact)


@api.get("/contacts/{contact_id}/timeline", response_model=list[EventOut], responses=NOT_FOUND)
def get_timeline(contact_id: int, ctx: Handler) -> list[EventOut]:
    """Everything that happened on the contact, in order."""
    contact = service.get_contact(ctx.db, contact_id)
    return [EventOut.model_validate(e) for e in service.timeline(ctx.db, contact)]


@api.post("/contacts/{contact_id}/identify", response_model=ContactOut, responses=CHANGE)
def identify(contact_id: int, body: IdentifyIn, ctx: Handler) -> ContactOut:
    """Attach the caller's patient record, or mark a new patient."""
    contact = service.get_contact(ctx.db, contact_id)
    service.identify(ctx.db, contact, _by(ctx), patient_id=body.patient_id, new_patient=body.new_patient)
    return _out(ctx, contact)


@api.post("/contacts/{contact_id}/screen", responses=CHANGE)
def screen(contact_id: int, body: ScreenIn, ctx: Handler) -> dict[str, Any]:
    """Analyse what the caller said on this contact: flags it and adds the intents as reasons."""
    contact = service.get_contact(ctx.db, contact_id)
    result = service.screen_text(
        ctx.db,
        contact,
        _by(ctx),
        body.text,
        age_years=body.age,
        sex=body.sex,
        pregnant=body.pregnant,
        add_reasons=body.add_reasons,
    )
    return {**result.to_dict(), "contact": _out(ctx, contact).model_dump(mode="json")}


@api.post("/contacts/{contact_id}/reasons", response_model=ReasonOut, status_code=201, responses=CHANGE)
def add_reason(contact_id: int, body: ReasonIn, ctx: Handler) -> ReasonOut:
    """Add a reason for the contact."""
    contact = service.get_contact(ctx.db, contact_id)
    return ReasonOut.model_validate(
        service.add_reason(ctx.db, contact, _by(ctx), intent=body.intent, text=body.text)
    )


@api.post("/contacts/{contact_id}/reasons/{reason_id}/outcome", response_model=ReasonOut, responses=CHANGE)
def outcome(contact_id: int, reason_id: int, body: OutcomeIn, ctx: Handler) -> ReasonOut:
    """Record what was done for a reason."""
    contact = service.get_contact(ctx.db, contact_id)
    reason = service.get_reason(ctx.db, contact, reason_id)
    service.record_outcome(
        ctx.db,
        contact,
        _by(ctx),
        reason,
        outcome=body.outcome,
        detail=body.detail,
        disposition_code=body.disposition_code,
    )
    return ReasonOut.model_validate(reason)


@api.post("/contacts/{contact_id}/notes", response_model=ContactOut, responses=CHANGE)
def note(contact_id: int, body: NoteIn, ctx: Handler) -> ContactOut:
    """Add a time-stamped note."""
    contact = service.get_contact(ctx.db, contact_id)
    service.add_note(ctx.db, contact, _by(ctx), body.note)
    return _out(ctx, contact)


@api.post("/contacts/{contact_id}/transfer", response_model=ContactOut, responses=CHANGE)
def transfer(contact_id: int, body: TransferIn, ctx: Handler) -> ContactOut:
    """Record a transfer to a department or person."""
    contact = service.get_contact(ctx.db, contact_id)
    service.transfer(
        ctx.db,
        contact,
        _by(ctx),
        target=body.target,
        department_id=body.department_id,
        reason_id=body.reason_id,
        warm=body.warm,
    )
    return _out(ctx, contact)


@api.post("/contacts/{contact_id}/disposition", response_model=ContactOut, responses=CHANGE)
def disposition(contact_id: int, body: DispositionIn, ctx: Handler) -> ContactOut:
    """Set the clinical disposition (a lower one than suggested needs a reason)."""
    contact = service.get_contact(ctx.db, contact_id)
    service.set_disposition(ctx.db, contact, _by(ctx), body.disposition, reason=body.reason)
    return _out(ctx, contact)


@api.post("/contacts/{contact_id}/wrap-up", response_model=ContactOut, responses=CHANGE)
def wrap_up(contact_id: int, body: WrapUpIn, ctx: Handler) -> ContactOut:
    """Finish the contact: outcomes per reason, notes, survey consent."""
    contact = service.get_contact(ctx.db, contact_id)
    service.wrap_up(
        ctx.db,
        contact,
        _by(ctx),
        notes=body.notes,
        survey_consent=body.survey_consent,
        dispositions=body.dispositions,
    )
    return _out(ctx, contact)
