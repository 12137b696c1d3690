"""REST routes: queues and their live figures, presence and skills, offers, callbacks, next steps."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from careline.accounts.models import Role, User
from careline.accounts.permissions import Permission
from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.errors import NotFound, ValidationFailed
from careline.queues import routing, service
from careline.queues.models import CallbackStatus
from careline.queues.schemas import (
    AcceptOut,
    AgentOut,
    CallbackDone,
    CallbackIn,
    CallbackOut,
    EnqueueIn,
    EntryOut,
    NextStepOut,
    OfferOut,
    OfferResult,
    PresenceIn,
    PresenceOut,
    QueueIn,
    QueueOut,
    QueuePatch,
    QueueStatsOut,
    SkillsIn,
)
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1", tags=["queues"])
Reader = Annotated[RequestContext, Depends(require(Permission.QUEUE_READ))]
Manager = Annotated[RequestContext, Depends(require(Permission.QUEUE_MANAGE))]
Handler = Annotated[RequestContext, Depends(require(Permission.CONTACT_HANDLE))]

NOT_FOUND = {404: {"description": "not found among your clients"}}
INVALID = {422: {"description": "invalid input"}}
CONFLICT = {409: {"description": "the state does not allow it (offer expired, contact ended...)"}}


def _by(ctx: RequestContext) -> contacts.By:
    return contacts.By(user_id=ctx.user.id, actor=ctx.actor)


def _staff_scope(ctx: RequestContext) -> frozenset[int] | None:
    """Whose staff a supervisor sees: their clients' (an admin: everyone)."""
    return None if ctx.user.role == Role.ADMIN else ctx.tenant_ids


def _presence_out(ctx: RequestContext, user_id: int) -> PresenceOut:
    p = service.get_presence(ctx.db, user_id)
    return PresenceOut(
        user_id=user_id,
        state=p.state,
        reason=p.reason or "",
        since=p.since,
        last_idle_at=p.last_idle_at,
        current_contact_id=p.current_contact_id,
        offer_contact_id=p.offer_contact_id,
        skills=service.skills_of(ctx.db, user_id),
    )


# ------------------------------------------------------------------------------------------ queues


@api.get("/queues", response_model=list[QueueOut], responses=INVALID)
def list_queues(
    ctx: Reader, tenant_id: int | None = None, active: Annotated[bool | None, Query()] = True
) -> list[QueueOut]:
    """Queues of my clients (active ones unless active= is given)."""
    return [
        QueueOut.model_validate(q) for q in service.list_queues(ctx.db, tenant_id=tenant_id, active=active)
    ]


@api.post("/queues", response_model=QueueOut, status_code=201, responses={**NOT_FOUND, **INVALID, **CONFLICT})
def create_queue(body: QueueIn, ctx: Manager) -> QueueOut:
    """Add a queue for a client."""
    return QueueOut.model_validate(service.create_queue(ctx.db, **body.model_dump()))


@api.get("/queue/stats", response_model=list[QueueStatsOut])
def all_stats(ctx: Reader, tenant_id: int | None = None) -> list[QueueStatsOut]:
    """Live figures of every active queue of my clients (since local midnight)."""
    queues = service.list_queues(ctx.db, tenant_id=tenant_id)
    return [QueueStatsOut(**s.to_dict()) for s in service.queue_stats(ctx.db, queues)]


@api.get("/queues/{queue_id}", response_model=QueueOut, responses=NOT_FOUND)
def get_queue(queue_id: int, ctx: Reader) -> QueueOut:
    """One queue."""
    return QueueOut.model_validate(service.get_queue(ctx.db, queue_id))


@api.patch("/queues/{queue_id}", response_model=QueueOut, responses={**NOT_FOUND, **INVALID, **CONFLICT})
def update_queue(queue_id: int, body: QueuePatch, ctx: Manager) -> QueueOut:
    """Rename, re-skill, re-prioritise, change the target or close a queue."""
    changes = body.model_dump(exclude_unset=True)
    return QueueOut.model_validate(service.update_queue(ctx.db, queue_id, changes))


@api.get("/queues/{queue_id}/stats", response_model=QueueStatsOut, responses=NOT_FOUND)
def queue_stats(queue_id: int, ctx: Reader) -> QueueStatsOut:
    """Waiting now, longest wait, service level and abandonment since local midnight, agents by state."""
    queue = service.get_queue(ctx.db, queue_id)
    return QueueStatsOut(**service.queue_stats(ctx.db, [queue])[0].to_dict())


# -------------------------------------------------------------------------------- presence, agents


@api.get("/presence", response_model=PresenceOut)
def my_presence(ctx: Handler) -> PresenceOut:
    """My presence and skills."""
    return _presence_out(ctx, ctx.user.id)


@api.put("/presence", response_model=PresenceOut, responses={**INVALID, **CONFLICT})
def set_presence(body: PresenceIn, ctx: Handler) -> PresenceOut:
    """Set my state: available, on_contact, wrap_up, break or offline."""
    service.set_presence(ctx.db, ctx.user.id, body.state, reason=body.reason)
    return _presence_out(ctx, ctx.user.id)


@api.get("/agents", response_model=list[AgentOut])
def agents(ctx: Manager) -> list[AgentOut]:
    """Agents serving my clients: state, time in state, skills, current contact and offer."""
    return [AgentOut(**vars(a)) for a in service.list_agents(ctx.db, _staff_scope(ctx))]


@api.put("/agents/{user_id}/skills", response_model=PresenceOut, responses={**NOT_FOUND, **INVALID})
def set_skills(user_id: int, body: SkillsIn, ctx: Manager) -> PresenceOut:
    """Replace an agent's skills (the queues they take contacts from)."""
    user = ctx.db.get(User, user_id)
    mine = {a.user_id for a in service.list_agents(ctx.db, _staff_scope(ctx))}
    if user is None or user_id not in mine:
        raise NotFound(f"agent {user_id} not found among your clients' staff")
    service.set_skills(ctx.db, user_id, body.skills)
    ctx.audit("agent.skills", object_type="user", object_id=user_id, detail={"skills": body.skills})
    return _presence_out(ctx, user_id)


# ------------------------------------------------------------------------------------------ offers


@api.post("/queue/offer", response_model=OfferResult, responses=CONFLICT)
def offer_next(ctx: Handler) -> OfferResult:
    """I am ready: the contact offered to me now (a lease: accept it before expires_at), or null."""
    offer = service.offer_next(ctx.db, ctx.user.id)
    return OfferResult(offer=OfferOut(**offer.to_dict()) if offer else None)


@api.get("/queue/offer", response_model=OfferResult)
def current_offer(ctx: Handler) -> OfferResult:
    """The contact offered to me right now, if any (nothing is routed by asking)."""
    offer = service.current_offer(ctx.db, ctx.user.id)
    return OfferResult(offer=OfferOut(**offer.to_dict()) if offer else None)


@api.post("/queue/offers/{contact_id}/accept", response_model=AcceptOut, responses={**NOT_FOUND, **CONFLICT})
def accept(contact_id: int, ctx: Handler) -> AcceptOut:
    """Take the contact offered to me: it becomes active with me."""
    contact = service.accept(ctx.db, _by(ctx), contact_id)
    return AcceptOut(contact_id=contact.id, status=contact.status, agent_user_id=contact.agent_user_id)


@api.post(
    "/queue/offers/{contact_id}/decline", response_model=OfferResult, responses={**NOT_FOUND, **CONFLICT}
)
def decline(contact_id: int, ctx: Handler) -> OfferResult:
    """Hand the offer back; it goes to the next agent. Returns my offer now (normally none)."""
    service.decline(ctx.db, _by(ctx), contact_id)
    offer = service.current_offer(ctx.db, ctx.user.id)
    return OfferResult(offer=OfferOut(**offer.to_dict()) if offer else None)


@api.post(
    "/contacts/{contact_id}/enqueue",
    response_model=EntryOut,
    status_code=201,
    responses={**NOT_FOUND, **INVALID, **CONFLICT},
)
def enqueue(contact_id: int, body: EnqueueIn, ctx: Handler) -> EntryOut:
    """Put a contact in a queue (chosen from its reasons, language and red flag when not given)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    entry = service.enqueue(ctx.db, contact, _by(ctx), queue_id=body.queue_id, escalate=body.escalate)
    return EntryOut.model_validate(entry)


@api.post("/contacts/{contact_id}/abandon", responses={**NOT_FOUND, **CONFLICT})
def abandon(contact_id: int, ctx: Handler) -> dict:
    """The caller hung up while waiting (telephony or chat integrations call this)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    service.abandon(ctx.db, contact, _by(ctx))
    return {"contact_id": contact.id, "status": str(contact.status)}


# --------------------------------------------------------------------------------------- callbacks


@api.post("/callbacks", response_model=CallbackOut, status_code=201, responses={**NOT_FOUND, **INVALID})
def create_callback(body: CallbackIn, ctx: Handler) -> CallbackOut:
    """Promise a callback; a caller waiting in a queue keeps their place and hangs up."""
    callback = service.create_callback(ctx.db, _by(ctx), **body.model_dump())
    return CallbackOut.model_validate(callback)


@api.get("/callbacks", response_model=list[CallbackOut], responses=INVALID)
def list_callbacks(
    ctx: Handler,
    status: CallbackStatus | None = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    tenant_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CallbackOut]:
    """Callbacks, soonest due first (open=true: pending, queued or in progress)."""
    rows = service.list_callbacks(
        ctx.db, status=status, open_only=open_only, tenant_id=tenant_id, limit=limit
    )
    return [CallbackOut.model_validate(c) for c in rows]


@api.get("/callbacks/{callback_id}", response_model=CallbackOut, responses=NOT_FOUND)
def get_callback(callback_id: int, ctx: Handler) -> CallbackOut:
    """One callback."""
    return CallbackOut.model_validate(service.get_callback(ctx.db, callback_id))


@api.post(
    "/callbacks/{callback_id}/complete", response_model=CallbackOut, responses={**NOT_FOUND, **CONFLICT}
)
def complete_callback(callback_id: int, body: CallbackDone, ctx: Handler) -> CallbackOut:
    """Record the call: reached, or no answer (tried again later until the attempts run out)."""
    callback = service.get_callback(ctx.db, callback_id)
    service.complete_callback(ctx.db, _by(ctx), callback, reached=body.reached, note=body.note)
    return CallbackOut.model_validate(callback)


@api.post("/callbacks/{callback_id}/cancel", response_model=CallbackOut, responses={**NOT_FOUND, **CONFLICT})
def cancel_callback(callback_id: int, ctx: Handler) -> CallbackOut:
    """Withdraw a callback not yet being made."""
    callback = service.get_callback(ctx.db, callback_id)
    return CallbackOut.model_validate(service.cancel_callback(ctx.db, _by(ctx), callback))


# -------------------------------------------------------------------------------------- next steps


@api.get("/contacts/{contact_id}/next-steps", response_model=list[NextStepOut], responses=NOT_FOUND)
def contact_next_steps(contact_id: int, ctx: Handler) -> list[NextStepOut]:
    """For each of the contact's reasons, where to take the caller next (escalation first)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    ctx.audit(
        "contact.read",
        tenant_id=contact.tenant_id,
        object_type="contact",
        object_id=contact.id,
        detail={"via": "next-steps"},
    )
    return [NextStepOut(**s.to_dict()) for s in routing.next_steps(ctx.db, contact=contact)]


@api.get("/next-steps", response_model=list[NextStepOut], responses={**NOT_FOUND, **INVALID})
def next_steps(
    ctx: Handler,
    tenant_id: int,
    intents: Annotated[list[Intent] | None, Query()] = None,
    text: Annotated[str, Query(max_length=5000)] = "",
) -> list[NextStepOut]:
    """Next steps for a client and some intents or a caller's words, without a contact."""
    if tenant_id not in ctx.tenant_ids:
        raise NotFound("no such tenant", field="tenant_id")
    if not intents and not text.strip():
        raise ValidationFailed("give intents or text", field="intents")
    steps = routing.next_steps(ctx.db, tenant_id=tenant_id, intents=list(intents or []), text=text)
    return [NextStepOut(**s.to_dict()) for s in steps]
