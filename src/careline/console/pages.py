"""The agent console: one screen per contact, everything the agent needs while the caller waits."""

from __future__ import annotations

import random
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from careline.accounts.permissions import Permission
from careline.console.actions import register_choices, transfer_choices
from careline.console.panels import agent_by, schedule_context
from careline.console.rules import opening_line
from careline.contacts import service as contacts
from careline.contacts.analyze import analyze
from careline.contacts.intents import Intent
from careline.contacts.models import Contact, ContactStatus, Outcome
from careline.errors import CareLineError, ValidationFailed
from careline.kit.text import highlight
from careline.patients import service as patients
from careline.patients.models import Patient, PatientPhone
from careline.queues import service as queues
from careline.queues.models import PresenceState
from careline.queues.pages import strip_context
from careline.tenants.models import Tenant
from careline.tenants.service import list_tenants
from careline.triage.model import Disposition
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import go_to, render

pages = router(include_in_schema=False)
Agent = Annotated[RequestContext, Depends(require(Permission.CONTACT_HANDLE))]

# Outcomes an agent can record with one click, per intent (the rest come from the panels' own actions).
QUICK_OUTCOMES: dict[Intent, list[Outcome]] = {
    Intent.LOCATION_INFO: [Outcome.INFORMATION_GIVEN],
    Intent.BILLING: [Outcome.TRANSFERRED, Outcome.MESSAGE_TAKEN, Outcome.INFORMATION_GIVEN],
    Intent.RECORDS: [Outcome.TRANSFERRED, Outcome.MESSAGE_TAKEN, Outcome.INFORMATION_GIVEN],
    Intent.TEST_RESULTS: [Outcome.TRANSFERRED, Outcome.MESSAGE_TAKEN],
    Intent.REFILL: [Outcome.TRANSFERRED, Outcome.MESSAGE_TAKEN],
    Intent.SPEAK_TO_STAFF: [Outcome.TRANSFERRED, Outcome.MESSAGE_TAKEN],
    Intent.OUT_OF_SCOPE: [Outcome.ROUTED_OUTSIDE, Outcome.INFORMATION_GIVEN],
    Intent.CLINICAL: [Outcome.NURSE_ESCALATED, Outcome.INFORMATION_GIVEN],
    Intent.SCHEDULE: [Outcome.APPOINTMENT_BOOKED, Outcome.WAITLISTED, Outcome.CALLBACK_SCHEDULED],
    Intent.RESCHEDULE: [Outcome.APPOINTMENT_RESCHEDULED, Outcome.CALLBACK_SCHEDULED],
    Intent.CANCEL: [Outcome.APPOINTMENT_CANCELLED],
    Intent.FIND_DOCTOR: [Outcome.REFERRAL_MADE, Outcome.APPOINTMENT_BOOKED],
}


# What an agent can record at wrap-up for a reason not resolved during the call (the rest come from
# the panels' own actions: booking, transfer, escalation...).
WRAP_OUTCOMES = [
    Outcome.UNRESOLVED,
    Outcome.INFORMATION_GIVEN,
    Outcome.MESSAGE_TAKEN,
    Outcome.CALLBACK_SCHEDULED,
    Outcome.TRANSFERRED,
    Outcome.ROUTED_OUTSIDE,
    Outcome.REFERRAL_MADE,
]
# Where the agent goes after wrapping up (the queue offers the next caller at once when available).
NEXT_STATES = {
    PresenceState.AVAILABLE: "Ready for the next caller",
    PresenceState.WRAP_UP: "Stay in wrap-up",
    PresenceState.BREAK: "Break",
    PresenceState.OFFLINE: "Offline",
}

# The red-flag banner offers one-click escalation (careline.escalations.pages handles it).
ESCALATION_ENABLED = True


@pages.get("/console")
def console_home(request: Request, ctx: Agent) -> Response:
    """My open contacts, a new-contact form and the demo's simulated inbound call."""
    context = {
        **strip_context(ctx),  # rendered in place, so its controls work as soon as the page has loaded
        "tenants": list_tenants(ctx.db, ctx.tenant_ids),
        "contacts": contacts.list_open(ctx.db, agent_user_id=ctx.user.id),
    }
    return render(request, "console/agent.html", context)


@pages.post("/console/contacts")
def console_start(
    ctx: Agent,
    tenant_id: Annotated[int, Form()],
    caller_number: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Open a contact for a call I am taking now."""
    contact = contacts.start_contact(
        ctx.db, agent_by(ctx), tenant_id=tenant_id, caller_number=caller_number or None
    )
    return RedirectResponse(f"/console/contacts/{contact.id}", status_code=303)


def _random_caller(ctx: RequestContext, tenant_id: int, rng: random.Random) -> str | None:
    numbers = ctx.db.scalars(
        select(PatientPhone.e164).where(PatientPhone.tenant_id == tenant_id).limit(200)
    ).all()
    # Most callers are known patients; some call from a number we have never seen.
    if numbers and rng.random() < 0.75:
        return rng.choice(numbers)
    return f"+1312555{rng.randint(100, 199):04d}"


@pages.post("/console/simulate")
def console_simulate(ctx: Agent, tenant_id: Annotated[int | None, Form()] = None) -> Response:
    """Demo: an inbound call (a realistic caller and first sentence) starts waiting in the client's queue;
    it is offered in the queue strip to the longest-idle available agent with the skill."""
    rng = random.Random()
    tenant_id = tenant_id or rng.choice(sorted(ctx.tenant_ids))
    contact = contacts.start_contact(
        ctx.db,
        agent_by(ctx),
        tenant_id=tenant_id,
        caller_number=_random_caller(ctx, tenant_id, rng),
        status=ContactStatus.QUEUED,
        simulated=True,
    )
    contacts.add_caller_line(ctx.db, contact, agent_by(ctx), opening_line(rng))
    queues.ensure_default_queues(ctx.db, tenant_id)
    entry = queues.enqueue(ctx.db, contact, agent_by(ctx))
    return RedirectResponse(f"/console?waiting={contact.id}&queue={entry.queue_id}", status_code=303)


def _screen_context(ctx: RequestContext, contact: Contact) -> dict[str, Any]:
    patient = ctx.db.get(Patient, contact.patient_id) if contact.patient_id else None
    if patient is not None:
        ctx.audit(
            "patient.read",
            tenant_id=contact.tenant_id,
            object_type="patient",
            object_id=patient.id,
            detail={"via": "console", "contact_id": contact.id},
        )
    reasons = contacts.reasons_of(ctx.db, contact)
    caller_lines = contacts.caller_lines(ctx.db, contact)
    screened = _screening(contact, "\n".join(caller_lines))
    return {
        "user": ctx.user,
        "contact": contact,
        "tenant": ctx.db.get(Tenant, contact.tenant_id),
        "patient": patient,
        "phones": _phones(ctx, patient),
        "reasons": reasons,
        "quick": QUICK_OUTCOMES,
        "intents": list(Intent),
        "timeline": contacts.timeline(ctx.db, contact),
        "matches": contacts.caller_matches(ctx.db, contact) if patient is None else [],
        "caller_lines": caller_lines,
        # What the caller already said is screened too: a red flag in the first sentence must not wait.
        "caller_screening": screened,
        "match_need": _match_need(screened, reasons),
        "can_escalate": ESCALATION_ENABLED,
        **_schedule_choices(ctx, contact),
        **register_choices(ctx, contact),
        **transfer_choices(ctx, contact),
        "wrap_outcomes": WRAP_OUTCOMES,
        "next_states": NEXT_STATES,
    }


def _schedule_choices(ctx: RequestContext, contact: Contact) -> dict[str, Any]:
    ctx_ = schedule_context(ctx, contact)
    return {"types": ctx_["types"], "locations": ctx_["locations"]}


def _phones(ctx: RequestContext, patient: Patient | None) -> list[str]:
    if patient is None:
        return []
    return list(ctx.db.scalars(select(PatientPhone.e164).where(PatientPhone.patient_id == patient.id)))


@pages.get("/console/contacts/{contact_id}")
def contact_screen(request: Request, contact_id: int, ctx: Agent) -> Response:
    """The one screen for one contact."""
    contact = contacts.get_contact(ctx.db, contact_id)
    return render(request, "console/contact.html", _screen_context(ctx, contact))


@pages.post("/console/contacts/{contact_id}/preview")
def preview(
    request: Request, contact_id: int, ctx: Agent, text: Annotated[str, Form(max_length=20_000)] = ""
) -> Response:
    """Screen the notes as the agent types: red-flag banner and intent chips; nothing is saved."""
    contact = contacts.get_contact(ctx.db, contact_id)
    return render(request, "console/_screening.html", _screening(contact, text))


def _match_need(screened: dict[str, Any], reasons: list[Any]) -> str:
    """The caller's own words for find-a-doctor, when they asked for a doctor (the agent can edit them)."""
    result = screened.get("result")
    asked = any(r.intent is Intent.FIND_DOCTOR for r in reasons) or (
        result is not None and any(i.intent is Intent.FIND_DOCTOR for i in result.intents)
    )
    return screened.get("text", "")[:300] if asked else ""


def _screening(contact: Contact, text: str) -> dict[str, Any]:
    result = analyze(text) if text.strip() else None
    if result is None:
        return {"contact": contact, "result": None}
    return {
        "contact": contact,
        "result": result,
        "text": text,
        "marked": _marked(result.screening, text),
        "can_escalate": ESCALATION_ENABLED,
    }


def _marked(screening: Any, text: str) -> str:
    """The caller's words with the evidence marked: the red flags, or what makes it urgent."""
    urgent = screening.disposition is Disposition.URGENT
    flagged = screening.red_flags or (screening.symptoms if urgent else [])
    return highlight(text, [(f.start, f.end) for f in flagged])


def _reasons_fragment(request: Request, ctx: RequestContext, contact: Contact, **extra: Any) -> Response:
    context = {
        "contact": contact,
        "reasons": contacts.reasons_of(ctx.db, contact),
        "quick": QUICK_OUTCOMES,
        "intents": list(Intent),
        **extra,
    }
    response = render(request, "console/_reasons.html", context)
    response.headers["HX-Trigger"] = "reasons-changed"  # the next-steps panel follows the reasons
    return response


@pages.get("/console/contacts/{contact_id}/reasons")
def reasons_panel(request: Request, contact_id: int, ctx: Agent) -> Response:
    """The reasons and their outcomes (refreshed after an action in another panel)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    context = {
        "contact": contact,
        "reasons": contacts.reasons_of(ctx.db, contact),
        "quick": QUICK_OUTCOMES,
        "intents": list(Intent),
    }
    return render(request, "console/_reasons.html", context)


@pages.post("/console/contacts/{contact_id}/notes")
def save_note(
    request: Request, contact_id: int, ctx: Agent, text: Annotated[str, Form(max_length=20_000)]
) -> Response:
    """Save what the caller said: screened, flagged on the contact, its intents added as reasons."""
    contact = contacts.get_contact(ctx.db, contact_id)
    if not text.strip():
        raise ValidationFailed("type what the caller said first", field="text")
    contacts.add_note(ctx.db, contact, agent_by(ctx), text)
    result = contacts.screen_text(ctx.db, contact, agent_by(ctx), text)
    saved = {"result": result, "text": text, "marked": _marked(result.screening, text), "saved": True}
    return _reasons_fragment(request, ctx, contact, screening=saved)


@pages.post("/console/contacts/{contact_id}/reasons")
def add_reason(
    request: Request,
    contact_id: int,
    ctx: Agent,
    intent: Annotated[Intent, Form()],
    text: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Add a reason (an intent chip or the agent's own pick)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    if intent not in {r.intent for r in contacts.reasons_of(ctx.db, contact)}:
        contacts.add_reason(ctx.db, contact, agent_by(ctx), intent=intent, text=text)
    return _reasons_fragment(request, ctx, contact)


@pages.post("/console/contacts/{contact_id}/reasons/{reason_id}/outcome")
def set_outcome(
    request: Request,
    contact_id: int,
    reason_id: int,
    ctx: Agent,
    outcome: Annotated[Outcome, Form()],
    detail: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Record what was done for one reason."""
    contact = contacts.get_contact(ctx.db, contact_id)
    reason = contacts.get_reason(ctx.db, contact, reason_id)
    contacts.record_outcome(
        ctx.db, contact, agent_by(ctx), reason, outcome=outcome, detail={"note": detail} if detail else {}
    )
    return _reasons_fragment(request, ctx, contact)


@pages.post("/console/contacts/{contact_id}/lookup")
def caller_lookup(
    request: Request,
    contact_id: int,
    ctx: Agent,
    phone: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    dob: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Find the caller among this client's patients; candidates come back ranked with reasons."""
    contact = contacts.get_contact(ctx.db, contact_id)
    context: dict[str, Any] = {"contact": contact, "candidates": [], "error": None}
    try:
        context["candidates"] = patients.search_patients(
            ctx.db,
            actor=ctx.actor,
            phone=phone or None,
            name=name or None,
            dob=dob or None,
            tenant_ids=[contact.tenant_id],
        )
    except CareLineError as exc:
        context["error"] = exc
    return render(request, "console/_candidates.html", context)


@pages.post("/console/contacts/{contact_id}/identify")
def identify(
    request: Request,
    contact_id: int,
    ctx: Agent,
    patient_id: Annotated[int | None, Form()] = None,
    new_patient: Annotated[bool, Form()] = False,
) -> Response:
    """This is the caller (or: a new patient)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    contacts.identify(ctx.db, contact, agent_by(ctx), patient_id=patient_id, new_patient=new_patient)
    return go_to(request, f"/console/contacts/{contact.id}")


@pages.get("/console/contacts/{contact_id}/timeline")
def timeline(request: Request, contact_id: int, ctx: Agent) -> Response:
    """What has happened on the contact so far (follows every panel's actions)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    context = {
        "timeline": contacts.timeline(ctx.db, contact),
        "tenant": ctx.db.get(Tenant, contact.tenant_id),
    }
    return render(request, "console/_timeline.html", context)


@pages.get("/console/contacts/{contact_id}/wrap-reasons")
def wrap_reasons(request: Request, contact_id: int, ctx: Agent) -> Response:
    """The wrap-up form's reasons, each with its outcome or a choice of one (follows the reasons)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    context = {
        "contact": contact,
        "reasons": contacts.reasons_of(ctx.db, contact),
        "wrap_outcomes": WRAP_OUTCOMES,
    }
    return render(request, "console/_wrap_reasons.html", context)


@pages.post("/console/contacts/{contact_id}/wrap-up")
def wrap_up(
    contact_id: int,
    ctx: Agent,
    notes: Annotated[str, Form(max_length=5000)] = "",
    survey_consent: Annotated[bool, Form()] = False,
    reason_id: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
    reason_outcome: Annotated[list[Outcome], Form()] = [],  # noqa: B006
    next_state: Annotated[PresenceState | None, Form()] = None,
) -> Response:
    """Finish the contact (an outcome per reason), set where I go next, and go back to the console."""
    contact = contacts.get_contact(ctx.db, contact_id)
    if len(reason_id) != len(reason_outcome):
        raise ValidationFailed("give one outcome per reason", field="reason_outcome")
    outcomes = {
        rid: o for rid, o in zip(reason_id, reason_outcome, strict=True) if o is not Outcome.UNRESOLVED
    }
    contacts.wrap_up(
        ctx.db, contact, agent_by(ctx), notes=notes or None, survey_consent=survey_consent, outcomes=outcomes
    )
    if next_state is not None and next_state is not PresenceState.ON_CONTACT:
        queues.set_presence(ctx.db, ctx.user.id, next_state)
    return RedirectResponse(f"/console?done={contact.id}", status_code=303)


def is_open(contact: Contact) -> bool:
    """Whether the contact can still be changed (the template hides actions otherwise)."""
    return contact.status not in (ContactStatus.ENDED, ContactStatus.ABANDONED)
