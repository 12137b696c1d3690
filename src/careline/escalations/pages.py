"""Escalation screens: the nurse console (live), and the status panel the agent console embeds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from careline.accounts.permissions import Permission
from careline.contacts import service as contacts
from careline.errors import CareLineError
from careline.escalations import service
from careline.escalations.api import by
from careline.escalations.models import Escalation, EscalationStatus
from careline.kit.text import highlight
from careline.tenants.models import Tenant
from careline.triage.model import Disposition
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Raiser = Annotated[RequestContext, Depends(require(Permission.ESCALATION_RAISE))]
Nurse = Annotated[RequestContext, Depends(require(Permission.ESCALATION_HANDLE))]


def _card(ctx: RequestContext, esc: Escalation) -> dict[str, Any]:
    spans = [(e["start"], e["end"]) for e in esc.evidence if e.get("start") is not None]
    tenant = ctx.db.get(Tenant, esc.tenant_id)
    return {
        "e": esc,
        "marked": highlight(esc.text, spans),
        "tenant": tenant,
        "script": service.script_for(esc),
        "timeout": ctx.settings.escalation_timeout_seconds,
    }


@pages.get("/nurse")
def nurse_console(request: Request, ctx: Nurse) -> Response:
    """Escalations waiting for a clinician, live, most urgent and longest waiting first."""
    return render(request, "escalations/nurse.html", {"user": ctx.user, **_queue(ctx)})


def _queue(ctx: RequestContext) -> dict[str, Any]:
    shown = service.waiting_list(ctx.db)
    service.audit_listed(ctx.db, ctx.actor, shown, via="nurse console")
    return {"cards": [_card(ctx, e) for e in shown]}


@pages.get("/nurse/queue")
def nurse_queue(request: Request, ctx: Nurse) -> Response:
    """The live list (refreshed by the page on every escalation event)."""
    return render(request, "escalations/_queue.html", {"user": ctx.user, **_queue(ctx)})


@pages.post("/nurse/escalations/{escalation_id}/accept")
def nurse_accept(request: Request, escalation_id: int, ctx: Nurse) -> Response:
    """Accept: the caller is transferred to me."""
    try:
        service.accept(ctx.db, by(ctx), escalation_id)
    except CareLineError as exc:
        if exc.status_code != 409:
            raise
        # A plain form post: show the whole console again with the reason (someone else took it).
        return render(
            request,
            "escalations/nurse.html",
            {"user": ctx.user, "error": exc, **_queue(ctx)},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/nurse/escalations/{escalation_id}", status_code=303)


def _work_context(ctx: RequestContext, esc: Escalation, **extra: Any) -> dict[str, Any]:
    contact = contacts.get_contact(ctx.db, esc.contact_id)
    ctx.audit("escalation.read", tenant_id=esc.tenant_id, object_type="escalation", object_id=esc.id)
    return {
        "user": ctx.user,
        **_card(ctx, esc),
        "contact": contact,
        "answers": service.answers(ctx.db, esc),
        "question": service.next_question(ctx.db, esc),
        "dispositions": list(Disposition),
        "mine": esc.accepted_by_user_id == ctx.user.id and esc.status is EscalationStatus.ACCEPTED,
        **extra,
    }


@pages.get("/nurse/escalations/{escalation_id}")
def nurse_work(request: Request, escalation_id: int, ctx: Nurse) -> Response:
    """One escalation: evidence, guided questions, disposition and advice."""
    esc = service.get_escalation(ctx.db, escalation_id)
    return render(request, "escalations/work.html", _work_context(ctx, esc))


@pages.post("/nurse/escalations/{escalation_id}/answer")
def nurse_answer(
    request: Request,
    escalation_id: int,
    ctx: Nurse,
    question_id: Annotated[str, Form(max_length=120)],
    yes: Annotated[bool, Form()],
) -> Response:
    """Record the caller's answer and show the next question."""
    esc = service.get_escalation(ctx.db, escalation_id)
    service.answer(ctx.db, by(ctx), esc, question_id, yes)
    return RedirectResponse(f"/nurse/escalations/{escalation_id}", status_code=303)


@pages.post("/nurse/escalations/{escalation_id}/resolve")
def nurse_resolve(
    request: Request,
    escalation_id: int,
    ctx: Nurse,
    disposition: Annotated[Disposition, Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
    advice: Annotated[str, Form(max_length=5000)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Record the outcome; a lower disposition than suggested comes back asking for the reason."""
    esc = service.get_escalation(ctx.db, escalation_id)
    try:
        service.resolve(
            ctx.db, by(ctx), esc, disposition=disposition, reason=reason, advice=advice, notes=notes
        )
    except CareLineError as exc:
        ctx.db.rollback()
        esc = service.get_escalation(ctx.db, escalation_id)
        form = {"disposition": disposition.value, "reason": reason, "advice": advice, "notes": notes}
        return render(
            request,
            "escalations/work.html",
            _work_context(ctx, esc, error=exc, form=form),
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/nurse/escalations/{escalation_id}", status_code=303)


@pages.post("/console/contacts/{contact_id}/escalate")
def console_escalate(
    request: Request, contact_id: int, ctx: Raiser, text: Annotated[str, Form(max_length=5000)] = ""
) -> Response:
    """The agent's one-click Escalate now: a nurse is alerted at once; the status panel follows it live."""
    contact = contacts.get_contact(ctx.db, contact_id)
    esc = service.raise_escalation(
        ctx.db, by(ctx), contact, text=text, emergency_seconds=ctx.settings.escalation_timeout_seconds
    )
    return render(request, "escalations/_status.html", {"contact": contact, **_card(ctx, esc)})


@pages.get("/console/contacts/{contact_id}/escalation")
def console_escalation(request: Request, contact_id: int, ctx: Raiser) -> Response:
    """The contact's escalation state for the agent (refreshed on its events)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    esc = service.latest_for_contact(ctx.db, contact.id)
    context: dict[str, Any] = {"contact": contact, "e": None}
    if esc is not None:
        context.update(_card(ctx, esc))
    return render(request, "escalations/_status.html", context)
