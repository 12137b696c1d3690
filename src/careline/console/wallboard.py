"""The supervisor wallboard: queues and agents live, and every open escalation with its clock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.escalations import service as escalations
from careline.kit.clock import utcnow
from careline.queues import service as queues
from careline.queues.pages import STATE_LABELS, _figures_context
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Supervisor = Annotated[RequestContext, Depends(require(Permission.QUEUE_MANAGE))]


def _context(ctx: RequestContext) -> dict[str, Any]:
    timeout = ctx.settings.escalation_timeout_seconds
    now = utcnow()
    open_escalations = [
        {
            "e": e,
            "waited": (now - e.raised_at).total_seconds(),
            "overdue": e.status.value == "open" and (now - e.raised_at).total_seconds() > timeout,
        }
        for e in escalations.waiting_list(ctx.db)
    ]
    agents = queues.list_agents(ctx.db, None if ctx.user.role == "admin" else ctx.tenant_ids)
    return {
        **_figures_context(ctx),
        "escalations": open_escalations,
        "timeout": timeout,
        "agents": agents,
        "states": STATE_LABELS,
        "tenant_names": {t.id: t.name for t in list_tenants(ctx.db, ctx.tenant_ids)},
    }


@pages.get("/wallboard")
def wallboard(request: Request, ctx: Supervisor) -> Response:
    """Everything a supervisor watches, refreshed live."""
    return render(request, "console/wallboard.html", _context(ctx))


@pages.get("/wallboard/body")
def wallboard_body(request: Request, ctx: Supervisor) -> Response:
    """The live part (refreshed on queue and escalation events)."""
    return render(request, "console/_wallboard_body.html", _context(ctx))
