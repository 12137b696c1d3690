"""REST routes: the dashboard figures as JSON, the staffing plan, and the roster."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from careline.accounts.permissions import Permission
from careline.reports import dashboards, staffing
from careline.reports.pages import selection
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1/reports", tags=["reports"])
Reader = Annotated[RequestContext, Depends(require(Permission.REPORT_READ))]
Manager = Annotated[RequestContext, Depends(require(Permission.QUEUE_MANAGE))]
ERRORS = {
    403: {"description": "not allowed"},
    404: {"description": "no such client or location"},
    422: {"description": "invalid input"},
}


@api.get("/dashboard", responses=ERRORS)
def dashboard(
    ctx: Reader,
    tenant: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies query defaults
    start: Annotated[str | None, Query(alias="from", description="first local date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(alias="to", description="last local date, included")] = None,
    location: str | None = None,
    target_s: Annotated[float, Query(ge=0, le=3600)] = 30,
) -> dict[str, Any]:
    """Every dashboard figure for the selection (per-agent figures and comments for supervisors)."""
    sel = selection(ctx, tenant, start, end, location)
    d = dashboards.build(ctx.db, sel, target_s=target_s)
    if d.comments:
        ctx.audit(
            "survey.comments.read",
            object_type="survey_comments",
            detail={"tenants": sel.tenant_ids, "count": len(d.comments), "via": "api"},
        )
    return jsonable_encoder(dataclasses.asdict(d))


@api.get("/staffing", responses=ERRORS)
def staffing_plan(
    ctx: Reader,
    tenant: str | None = None,
    week: date | None = None,
    target: str = "0.8/30",
    interval: Annotated[int, Query(ge=15, le=60)] = 30,
    weeks: Annotated[int, Query(ge=1, le=52)] = 4,
    aht: Annotated[float | None, Query(ge=10, le=7200)] = None,
    shrinkage: Annotated[float, Query(ge=0, lt=1)] = 0.3,
    occupancy: Annotated[float, Query(gt=0, le=1)] = 0.85,
    simulate: bool = False,
    patience: Annotated[float, Query(ge=5, le=3600)] = 120,
) -> dict[str, Any]:
    """Forecast, Erlang C requirement, roster and (optionally) the what-if simulation for one week."""
    sel = selection(ctx, [tenant] if tenant else [], None, None, None)
    client = sel.tenants[0]
    level, seconds = staffing.parse_target(target)
    plan = staffing.plan_week(
        ctx.db,
        client,
        week or staffing.next_monday(client.timezone),
        target=staffing.Target(level, seconds, occupancy, shrinkage),
        interval_minutes=interval,
        history_weeks=weeks,
        aht_s=aht,
    )
    if simulate:
        staffing.what_if(plan, patience_s=patience)
    return plan.to_dict()


class RosterSlotIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    minute_of_day: int = Field(ge=0, lt=1440)
    agents: int = Field(ge=0, le=500)


class RosterIn(BaseModel):
    tenant: str
    week_start: date = Field(description="any day of the week; the roster belongs to its Monday")
    interval_minutes: int = Field(default=30, ge=15, le=60)
    slots: list[RosterSlotIn]


@api.put("/roster", responses=ERRORS)
def put_roster(body: RosterIn, ctx: Manager) -> dict[str, Any]:
    """Replace a week's roster: agents scheduled per interval (intervals left out have none)."""
    sel = selection(ctx, [body.tenant], None, None, None)
    client = sel.tenants[0]
    cells: dict[tuple[int, int], int] = {}
    for slot in body.slots:
        cells[(slot.weekday, slot.minute_of_day)] = slot.agents
    kept = staffing.set_roster(
        ctx.db, client.id, body.week_start, cells, interval_minutes=body.interval_minutes, user_id=ctx.user.id
    )
    monday = staffing.monday_of(body.week_start)
    ctx.audit(
        "roster.save",
        tenant_id=client.id,
        object_type="roster",
        object_id=f"{client.slug}:{monday}",
        detail={"action": "api", "slots": kept},
    )
    return {"tenant": client.slug, "week_start": monday.isoformat(), "slots": kept}
