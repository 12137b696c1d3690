"""Queue pages: the agent's queue strip (for the console to embed) and the supervisor's live queue page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from careline.accounts.models import User
from careline.accounts.permissions import Permission
from careline.contacts import service as contacts
from careline.errors import CareLineError, NotFound
from careline.queues import service
from careline.queues.models import PresenceState
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import go_to, render

pages = router(include_in_schema=False)
Agent = Annotated[RequestContext, Depends(require(Permission.CONTACT_HANDLE))]
Reader = Annotated[RequestContext, Depends(require(Permission.QUEUE_READ))]
Manager = Annotated[RequestContext, Depends(require(Permission.QUEUE_MANAGE))]

STATE_LABELS = {
    PresenceState.AVAILABLE: "Available",
    PresenceState.ON_CONTACT: "On a contact",
    PresenceState.WRAP_UP: "Wrap-up",
    PresenceState.BREAK: "Break",
    PresenceState.OFFLINE: "Offline",
}


def strip_context(ctx: RequestContext, error: str | None = None) -> dict[str, Any]:
    """What the strip shows: my presence, waiting counts for my skills, my current offer."""
    presence = service.get_presence(ctx.db, ctx.user.id)
    return {
        "user": ctx.user,
        "presence": presence,
        "states": STATE_LABELS,
        "waiting": service.waiting_for(ctx.db, ctx.user.id),
        "skills": service.skills_of(ctx.db, ctx.user.id),
        "offer": service.current_offer(ctx.db, ctx.user.id),
        "strip_error": error,
    }


def _by(ctx: RequestContext) -> contacts.By:
    return contacts.By(user_id=ctx.user.id, actor=ctx.actor)


def _strip_body(request: Request, ctx: RequestContext, error: str | None = None) -> Response:
    return render(request, "queues/_strip_body.html", strip_context(ctx, error))


def _after_post(request: Request, ctx: RequestContext, error: CareLineError | None = None) -> Response:
    """htmx swaps the strip's body in place; a plain form post (no script yet, or none at all) goes back
    to the console, and a refusal is shown as the error page with its status."""
    if request.headers.get("hx-request"):
        return _strip_body(request, ctx, error.message if error else None)
    if error is not None:
        raise error
    return RedirectResponse("/console", status_code=303)


@pages.get("/queues/strip")
def strip(request: Request, ctx: Agent) -> Response:
    """The queue strip with its live connection (embed once per page)."""
    return render(request, "queues/_strip.html", strip_context(ctx))


@pages.get("/queues/strip/body")
def strip_body(request: Request, ctx: Agent) -> Response:
    """The strip's contents, refreshed on events and every few seconds."""
    return _strip_body(request, ctx)


@pages.post("/queues/presence")
def set_presence(request: Request, ctx: Agent, state: Annotated[PresenceState, Form()]) -> Response:
    """Change my presence from the strip."""
    try:
        service.set_presence(ctx.db, ctx.user.id, state)
    except CareLineError as exc:
        return _after_post(request, ctx, exc)
    return _after_post(request, ctx)


@pages.post("/queues/next")
def next_offer(request: Request, ctx: Agent) -> Response:
    """Ask for the next contact."""
    try:
        service.offer_next(ctx.db, ctx.user.id)
    except CareLineError as exc:
        return _after_post(request, ctx, exc)
    return _after_post(request, ctx)


@pages.post("/queues/offers/{contact_id}/accept")
def accept(request: Request, contact_id: int, ctx: Agent) -> Response:
    """Accept the offer and open the contact in the console."""
    try:
        service.accept(ctx.db, _by(ctx), contact_id)
    except NotFound:
        raise
    except CareLineError as exc:
        return _after_post(request, ctx, exc)
    return go_to(request, f"/console/contacts/{contact_id}")


@pages.post("/queues/offers/{contact_id}/decline")
def decline(request: Request, contact_id: int, ctx: Agent) -> Response:
    """Hand the offer back."""
    try:
        service.decline(ctx.db, _by(ctx), contact_id)
    except NotFound:
        raise
    except CareLineError as exc:
        return _after_post(request, ctx, exc)
    return _after_post(request, ctx)


# ------------------------------------------------------------------------------------ supervisors


def _figures_context(ctx: RequestContext) -> dict[str, Any]:
    stats = service.queue_stats(ctx.db)
    tenants = {t.id: t.name for t in list_tenants(ctx.db, ctx.tenant_ids)}
    totals = {
        "waiting": sum(s.waiting for s in stats),
        "answered": sum(s.answered for s in stats),
        "abandoned": sum(s.abandoned for s in stats),
        "longest": max((s.longest_wait_seconds for s in stats), default=0),
    }
    return {"user": ctx.user, "stats": stats, "tenants": tenants, "totals": totals}


@pages.get("/queues")
def queues_page(request: Request, ctx: Reader) -> Response:
    """Live figures per queue; supervisors also see agents, add queues and set skills."""
    manage = ctx.can(Permission.QUEUE_MANAGE)
    context = {
        **_figures_context(ctx),
        "manage": manage,
        "queues": service.list_queues(ctx.db, active=None),
        "agents": service.list_agents(ctx.db, None if ctx.user.role == "admin" else ctx.tenant_ids)
        if manage
        else [],
        "callbacks": service.list_callbacks(ctx.db, open_only=True, limit=50),
        "tenant_list": list_tenants(ctx.db, ctx.tenant_ids),
        "states": STATE_LABELS,
        "message": request.query_params.get("message"),
    }
    return render(request, "queues/index.html", context)


@pages.get("/queues/figures")
def figures(request: Request, ctx: Reader) -> Response:
    """The live figures table (polled, and refreshed on queue events)."""
    return render(request, "queues/_figures.html", _figures_context(ctx))


@pages.post("/queues/new")
def create_queue(
    ctx: Manager,
    tenant_id: Annotated[int, Form()],
    name: Annotated[str, Form(max_length=100)],
    skill: Annotated[str, Form(max_length=60)],
    priority: Annotated[int, Form()] = 0,
    service_level_seconds: Annotated[int, Form()] = 30,
) -> Response:
    """Add a queue."""
    queue = service.create_queue(
        ctx.db,
        tenant_id=tenant_id,
        name=name,
        skill=skill,
        priority=priority,
        service_level_seconds=service_level_seconds,
    )
    return RedirectResponse(f"/queues?message=Queue+{queue.name.replace(' ', '+')}+added", status_code=303)


@pages.post("/queues/defaults")
def default_queues(ctx: Manager) -> Response:
    """Give each of my clients the standard queues (and their directory departments' queues)."""
    for tenant_id in sorted(ctx.tenant_ids):
        service.ensure_default_queues(ctx.db, tenant_id)
    return RedirectResponse("/queues?message=Standard+queues+are+in+place", status_code=303)


@pages.post("/queues/{queue_id}/edit")
def edit_queue(
    queue_id: int,
    ctx: Manager,
    priority: Annotated[int | None, Form()] = None,
    service_level_seconds: Annotated[int | None, Form()] = None,
    active: Annotated[str | None, Form()] = None,
) -> Response:
    """Change a queue's priority, target or open/closed state."""
    changes: dict[str, Any] = {"priority": priority, "service_level_seconds": service_level_seconds}
    if active is not None:
        changes["active"] = active in ("1", "true", "on", "yes")
    queue = service.update_queue(ctx.db, queue_id, changes)
    return RedirectResponse(f"/queues?message=Queue+{queue.name.replace(' ', '+')}+saved", status_code=303)


@pages.post("/queues/agents/{user_id}/skills")
def agent_skills(user_id: int, ctx: Manager, skills: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Set an agent's skills (comma-separated)."""
    mine = {
        a.user_id for a in service.list_agents(ctx.db, None if ctx.user.role == "admin" else ctx.tenant_ids)
    }
    if ctx.db.get(User, user_id) is None or user_id not in mine:
        raise NotFound(f"agent {user_id} not found among your clients' staff")
    chosen = service.set_skills(ctx.db, user_id, [s.strip() for s in skills.split(",")])
    ctx.audit("agent.skills", object_type="user", object_id=user_id, detail={"skills": chosen})
    return RedirectResponse("/queues?message=Skills+saved", status_code=303)
