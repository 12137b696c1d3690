"""The console's action panels: next steps, scheduling and information, all without leaving the contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import Contact, ContactReason, Outcome
from careline.directory.models import Location
from careline.errors import CareLineError, Conflict, ValidationFailed
from careline.queues.routing import next_steps
from careline.scheduling import service as scheduling
from careline.scheduling.config import list_types
from careline.scheduling.notify import details, when_text
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Agent = Annotated[RequestContext, Depends(require(Permission.CONTACT_HANDLE))]

OUTCOMES_CHANGED = "outcomes-changed"  # the reasons panel refreshes itself on this
STEP_RECORDED = "step-recorded"  # the reasons panel too; the steps panel has just drawn itself
SCHEDULING_INTENTS = (Intent.SCHEDULE, Intent.RESCHEDULE, Intent.FIND_DOCTOR)


@dataclass(frozen=True)
class SlotRow:
    """One open time as the console lists it (from a search or a 409's alternatives)."""

    provider_id: int
    provider_name: str
    location_id: int
    location_name: str
    type_id: int
    start_at: str
    when: str
    distance_miles: float | None = None

    @classmethod
    def of(cls, slot: Any) -> SlotRow:
        """From a SlotView or its JSON form."""
        if isinstance(slot, dict):
            local = datetime.fromisoformat(slot["start_local"])
            return cls(
                slot["provider_id"],
                slot["provider_name"],
                slot["location_id"],
                slot["location_name"],
                slot["type_id"],
                slot["start_at"],
                local.strftime(WHEN),
                slot.get("distance_miles"),
            )
        return cls(
            slot.provider_id,
            slot.provider_name,
            slot.location_id,
            slot.location_name,
            slot.type_id,
            slot.start_at.isoformat(),
            slot.start_local.strftime(WHEN),
            slot.distance_miles,
        )


WHEN = "%a %b %-d, %-I:%M %p"


def agent_by(ctx: RequestContext) -> contacts.By:
    """Who acts on the contact: the signed-in agent (the timeline) and their audit actor."""
    return contacts.By(user_id=ctx.user.id, actor=ctx.actor)


def open_reason(ctx: RequestContext, contact: Contact, intents: tuple[Intent, ...]) -> ContactReason:
    """The first unresolved reason of these intents; one is added when the agent acted without it."""
    for reason in contacts.reasons_of(ctx.db, contact):
        if reason.intent in intents and reason.outcome is None:
            return reason
    return contacts.add_reason(ctx.db, contact, agent_by(ctx), intent=intents[0])


def steps_context(ctx: RequestContext, contact: Contact) -> dict[str, Any]:
    """Next steps for every reason of the contact (the red-flag step first)."""
    done = {
        r.id: r.outcome.value.replace("_", " ")
        for r in contacts.reasons_of(ctx.db, contact)
        if r.outcome is not None
    }
    return {
        "contact": contact,
        "steps": [s.to_dict() for s in next_steps(ctx.db, contact=contact)],
        "done": done,  # what was already recorded per reason, shown on every refresh of the panel
    }


@pages.get("/console/contacts/{contact_id}/steps")
def steps(request: Request, contact_id: int, ctx: Agent) -> Response:
    """What to do next for each reason: where to send the caller, what to tell them."""
    contact = contacts.get_contact(ctx.db, contact_id)
    return render(request, "console/_steps.html", steps_context(ctx, contact))


@pages.post("/console/contacts/{contact_id}/steps/record")
def record_step(
    request: Request,
    contact_id: int,
    ctx: Agent,
    reason_id: Annotated[int, Form()],
    outcome: Annotated[Outcome, Form()],
    target: Annotated[str, Form(max_length=200)] = "",
    department_id: Annotated[int | None, Form()] = None,
    location_id: Annotated[int | None, Form()] = None,
) -> Response:
    """The agent gave the information, transferred the caller or routed them outside: record it."""
    contact = contacts.get_contact(ctx.db, contact_id)
    reason = contacts.get_reason(ctx.db, contact, reason_id)
    detail = {
        k: v
        for k, v in (("target", target), ("department_id", department_id), ("location_id", location_id))
        if v
    }
    if outcome is Outcome.TRANSFERRED:
        contacts.transfer(
            ctx.db,
            contact,
            agent_by(ctx),
            target=target or "department",
            department_id=department_id,
            reason_id=reason.id,
        )
    else:
        contacts.record_outcome(ctx.db, contact, agent_by(ctx), reason, outcome=outcome, detail=detail)
    response = render(request, "console/_steps.html", {**steps_context(ctx, contact), "recorded": reason})
    response.headers["HX-Trigger"] = STEP_RECORDED
    return response


def schedule_context(ctx: RequestContext, contact: Contact, **extra: Any) -> dict[str, Any]:
    types = list_types(ctx.db, tenant_ids=[contact.tenant_id])
    locations = sorted(
        (
            loc
            for loc in ctx.db.query(Location).filter(Location.tenant_id == contact.tenant_id, Location.active)
        ),
        key=lambda loc: loc.name,
    )
    return {"contact": contact, "types": types, "locations": locations, **extra}


@pages.post("/console/contacts/{contact_id}/schedule/search")
def schedule_search(
    request: Request,
    contact_id: int,
    ctx: Agent,
    type_id: Annotated[int, Form()],
    location_id: Annotated[int | None, Form()] = None,
    near_zip: Annotated[str, Form(max_length=10)] = "",
    time_of_day: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Next open times for the caller, soonest first."""
    contact = contacts.get_contact(ctx.db, contact_id)
    return slots_fragment(
        request,
        ctx,
        contact,
        type_id=type_id,
        location_id=location_id,
        near_zip=near_zip or None,
        radius_miles=15.0 if near_zip else None,
        time_of_day=time_of_day or None,
        limit=12,
    )


def slots_fragment(
    request: Request, ctx: RequestContext, contact: Contact, *, move_from: int | None = None, **search: Any
) -> Response:
    """Open times for the caller (to book, or to move visit `move_from` to); a refusal shows inline."""
    context: dict[str, Any] = {"contact": contact, "slots": [], "excluded": {}, "move_from": move_from}
    try:
        found = scheduling.find_availability(ctx.db, patient_id=contact.patient_id, actor=ctx.actor, **search)
        context.update(slots=[SlotRow.of(x) for x in found.slots], excluded=found.excluded)
    except CareLineError as exc:
        context["error"] = exc
    return render(request, "console/_slots.html", context)


def taken_fragment(
    request: Request,
    ctx: RequestContext,
    contact: Contact,
    exc: Conflict,
    *,
    move_from: int | None = None,
    status: int = 200,
) -> Response:
    """The time was taken meanwhile: nothing was written; the nearest open times instead."""
    ctx.db.rollback()
    alternatives = [SlotRow.of(x) for x in exc.extra.get("alternatives", [])]
    context = {
        "contact": contact,
        "slots": alternatives,
        "excluded": {},
        "error": exc,
        "alternatives": bool(alternatives),
        "move_from": move_from,
    }
    return render(request, "console/_slots.html", context, status_code=status)


@pages.post("/console/contacts/{contact_id}/schedule/book")
def schedule_book(
    request: Request,
    contact_id: int,
    ctx: Agent,
    provider_id: Annotated[int, Form()],
    location_id: Annotated[int, Form()],
    type_id: Annotated[int, Form()],
    start_at: Annotated[str, Form(max_length=40)],
) -> Response:
    """Book the open time for the identified caller and record it on the contact's reason."""
    contact = contacts.get_contact(ctx.db, contact_id)
    if contact.patient_id is None:
        raise ValidationFailed("identify the caller (or register them) before booking", field="patient_id")
    try:
        appt = scheduling.book(
            ctx.db,
            actor=ctx.actor,
            provider_id=provider_id,
            location_id=location_id,
            type_id=type_id,
            patient_id=contact.patient_id,
            start_at=start_at,
            contact_id=contact.id,
        )
    except Conflict as exc:
        return taken_fragment(request, ctx, contact, exc)
    reason = open_reason(ctx, contact, SCHEDULING_INTENTS)
    d = details(ctx.db, appt)
    contacts.record_outcome(
        ctx.db,
        contact,
        agent_by(ctx),
        reason,
        outcome=Outcome.APPOINTMENT_BOOKED,
        detail={"appointment_id": appt.id, "location_id": appt.location_id},
    )
    response = render(
        request,
        "console/_booked.html",
        {"contact": contact, "appt": appt, "d": d, "when": when_text(d, appt)},
    )
    response.headers["HX-Trigger"] = OUTCOMES_CHANGED
    return response
