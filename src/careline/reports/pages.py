"""Browser routes: the dashboard, CSV export, the printable monthly report and the staffing page."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from careline.accounts.permissions import Permission
from careline.errors import NotFound, ValidationFailed
from careline.kit.clock import utcnow
from careline.kit.timeutil import to_local
from careline.reports import charts, dashboards, staffing
from careline.reports.dashboards import INTENT_LABELS, SOURCE_LABELS, Selection, fmt
from careline.reports.metrics import Dashboard
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Reader = Annotated[RequestContext, Depends(require(Permission.REPORT_READ))]
Manager = Annotated[RequestContext, Depends(require(Permission.QUEUE_MANAGE))]
Tenants = Annotated[list[str], Query(alias="tenant")]
From = Annotated[str | None, Query(alias="from")]
To = Annotated[str | None, Query(alias="to")]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def selection(
    ctx: RequestContext,
    tenant: list[str],
    start: str | None,
    end: str | None,
    location: str | None,
) -> Selection:
    """The request's tenants, dates and location, limited to what this user may report on."""
    return dashboards.resolve(
        ctx.db,
        ctx.tenant_ids,
        supervisor=ctx.can(Permission.REPORT_ALL_TENANTS),
        tenant=tenant,
        start=start,
        end=end,
        location=location,
    )


def _audit_comments(ctx: RequestContext, sel: Selection, d: Dashboard, action: str) -> None:
    """Survey comments are the callers' own words (they may name health matters): reading them is audited."""
    if d.comments:
        ctx.audit(
            action,
            object_type="survey_comments",
            detail={
                "tenants": sel.tenant_ids,
                "from": sel.start.isoformat(),
                "to": sel.end.isoformat(),
                "count": len(d.comments),
            },
        )


def _charts(d: Dashboard, *, print_size: bool = False) -> dict[str, str]:
    """The dashboard's charts as inline SVG."""
    v, s, q = d.volume, d.satisfaction, d.service
    days = [x.day for x in v.daily]
    week_labels = [w.week.strftime("%b %-d") for w in s.trend]
    reasons = [(INTENT_LABELS.get(k, k), n) for k, n in d.reasons.by_intent.items() if n]
    f = d.front_desk
    desk = [
        ("Booked", f.appointments_booked),
        ("Rescheduled", f.appointments_rescheduled),
        ("Cancelled", f.appointments_cancelled),
        ("Waitlisted", f.waitlisted),
        ("Referrals", f.referrals_made),
        ("Information", f.information_given),
        ("Refills routed", f.refills_routed),
        ("Records routed", f.records_routed),
    ]
    sources = [(SOURCE_LABELS.get(k, k), n) for k, n in d.new_patients.by_referral_source.items() if n]
    return {
        "volume": charts.daily_volume(
            days, [x.handled for x in v.daily], [x.abandoned for x in v.daily], "Contacts per day"
        ),
        "reasons": charts.horizontal_bars([r for r, _ in reasons], [n for _, n in reasons], "Reasons"),
        "front_desk": charts.horizontal_bars(
            [k for k, _ in desk], [n for _, n in desk], "Work taken off the front desk", color=2
        ),
        "new_patients": charts.horizontal_bars(
            [k for k, _ in sources], [n for _, n in sources], "New patients by referral source", color=4
        ),
        "satisfaction": charts.rate_lines(
            [w.week for w in s.trend],
            {"CSAT": [w.scores.csat for w in s.trend], "need met": [w.scores.need_met for w in s.trend]},
            "Satisfaction by week (week of)",
            labels=week_labels,
        ),
        "nps": charts.nps_bars(week_labels, [w.scores.nps for w in s.trend], "NPS by week"),
        "service": charts.rate_lines(
            days,
            {"service level": [x.service_level for x in q.daily]},
            f"Service level by day ({q.target_s:g} s)",
            target=0.8,
        ),
    }


def _context(ctx: RequestContext, sel: Selection, d: Dashboard, tables: dict) -> dict[str, Any]:
    return {
        "user": ctx.user,
        "sel": sel,
        "d": d,
        "tables": tables,
        "charts": _charts(d),
        "fmt": fmt,
        "supervisor": sel.supervisor,
        "can_manage": ctx.can(Permission.QUEUE_MANAGE),
    }


@pages.get("/reports")
def dashboard_page(
    request: Request,
    ctx: Reader,
    tenant: Tenants = [],  # noqa: B006 - FastAPI copies query defaults
    start: From = None,
    end: To = None,
    location: str | None = None,
) -> Response:
    """The practice manager's (one client) or supervisor's (several, per agent, comments) dashboard."""
    sel = selection(ctx, tenant, start, end, location)
    d = dashboards.build(ctx.db, sel)
    tables = dashboards.tables(d, dashboards.by_client(ctx.db, sel))
    _audit_comments(ctx, sel, d, "survey.comments.read")
    return render(request, "reports/dashboard.html", _context(ctx, sel, d, tables))


@pages.get("/reports/export/{table}.csv")
def export_csv(
    table: str,
    ctx: Reader,
    tenant: Tenants = [],  # noqa: B006
    start: From = None,
    end: To = None,
    location: str | None = None,
) -> Response:
    """One dashboard table as CSV, for the same selection as the page."""
    if table not in dashboards.TABLE_NAMES:
        raise NotFound(f"no report table {table!r}")
    sel = selection(ctx, tenant, start, end, location)
    if table in dashboards.SUPERVISOR_TABLES and not sel.supervisor:
        raise NotFound(f"no report table {table!r}")
    d = dashboards.build(ctx.db, sel)
    clients = dashboards.by_client(ctx.db, sel) if table == "clients" else []
    chosen = dashboards.tables(d, clients).get(table)
    if chosen is None:  # "clients" with a single client
        raise NotFound(f"the {table!r} table needs two or more clients")
    if table == "comments":
        _audit_comments(ctx, sel, d, "survey.comments.export")
    slug = "all" if sel.all_chosen else "-".join(t.slug for t in sel.tenants)
    filename = f"careline-{table}-{slug}-{sel.start}-{sel.end}.csv"
    return Response(
        chosen.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@pages.get("/reports/monthly")
def monthly_report(
    request: Request,
    ctx: Reader,
    tenant: str | None = None,
    month: str | None = None,
    location: str | None = None,
) -> Response:
    """A printable report of one client's month (print it or save it as PDF from the browser)."""
    first_sel = selection(ctx, [tenant] if tenant else [], None, None, None)
    client = first_sel.tenants[0]
    if month is None:
        today = to_local(utcnow(), client.timezone).date()
        month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")  # last full month
    first, last = dashboards.month_range(month)
    sel = selection(ctx, [client.slug], first.isoformat(), last.isoformat(), location)
    d = dashboards.build(ctx.db, sel)
    tables = dashboards.tables(d)
    context = _context(ctx, sel, d, tables)
    context.update(
        {
            "client": client,
            "month": first,
            "generated": utcnow(),
            "prev_month": (first - timedelta(days=1)).strftime("%Y-%m"),
            "next_month": (last + timedelta(days=1)).strftime("%Y-%m"),
        }
    )
    return render(request, "reports/monthly.html", context)


# --------------------------------------------------------------------------- staffing


def _plan(
    db: Session,
    sel: Selection,
    week: str | None,
    target: str,
    interval: int,
    weeks: int,
    aht: str | None,
    shrinkage: float,
    occupancy: float,
) -> staffing.StaffingPlan:
    client = sel.tenants[0]
    level, seconds = staffing.parse_target(target)
    if not 0 <= shrinkage < 1 or not 0 < occupancy <= 1:
        raise ValidationFailed("shrinkage must be 0-0.99 and occupancy 0.01-1", field="shrinkage")
    day = dashboards.parse_day(week, "week") or staffing.next_monday(client.timezone)
    aht_s = None
    if aht:
        try:
            aht_s = float(aht)
        except ValueError:
            raise ValidationFailed("average handle time must be seconds", field="aht") from None
        if not 10 <= aht_s <= 7200:
            raise ValidationFailed("average handle time must be 10 to 7200 seconds", field="aht")
    return staffing.plan_week(
        db,
        client,
        day,
        target=staffing.Target(level, seconds, occupancy, shrinkage),
        interval_minutes=interval,
        history_weeks=weeks,
        aht_s=aht_s,
    )


def _grid(plan: staffing.StaffingPlan) -> list[dict[str, Any]]:
    """Roster form rows: one per time of day that is busy on some day (08:00-18:00 when nothing is)."""
    minutes = sorted({i.minute_of_day for i in plan.active_intervals()})
    if not minutes:
        minutes = list(range(8 * 60, 18 * 60, plan.interval_minutes))
    cells: dict[tuple[int, int], staffing.IntervalPlan] = {}
    for iv in plan.intervals:
        cells.setdefault((iv.weekday, iv.minute_of_day), iv)
    rows = []
    for minute in minutes:
        row = {"minute": minute, "label": f"{minute // 60:02d}:{minute % 60:02d}", "cells": []}
        for day in range(7):
            iv = cells.get((day, minute))
            row["cells"].append(
                {
                    "name": f"r_{day}_{minute}",
                    "scheduled": iv.scheduled if iv else None,
                    "required": iv.required if iv else 0,
                    "forecast": iv.forecast if iv else 0.0,
                }
            )
        rows.append(row)
    return rows


@pages.get("/staffing")
def staffing_page(
    request: Request,
    ctx: Reader,
    tenant: str | None = None,
    week: str | None = None,
    target: str = "0.8/30",
    interval: Annotated[int, Query(ge=15, le=60)] = 30,
    weeks: Annotated[int, Query(ge=1, le=52)] = 4,
    aht: str | None = None,
    shrinkage: float = 0.3,
    occupancy: float = 0.85,
    simulate: bool = False,
    patience: Annotated[float, Query(ge=5, le=3600)] = 120,
) -> Response:
    """Required agents per interval from the forecast (Erlang C), beside the roster; what-if on request."""
    sel = selection(ctx, [tenant] if tenant else [], None, None, None)
    plan = _plan(ctx.db, sel, week, target, interval, weeks, aht, shrinkage, occupancy)
    if simulate:
        staffing.what_if(plan, patience_s=patience)
    active = plan.active_intervals()
    chart = charts.staffing(
        [i.label for i in plan.intervals],
        [i.required for i in plan.intervals],
        [i.scheduled or 0 for i in plan.intervals] if plan.has_roster else None,
        [i.forecast for i in plan.intervals],
        f"{plan.tenant_name}: agents per {plan.interval_minutes}-minute interval, "
        f"week of {plan.week_start:%b %-d}",
    )
    params = {
        "tenant": plan.tenant_slug,
        "week": plan.week_start.isoformat(),
        "target": target,
        "interval": interval,
        "weeks": weeks,
        "aht": aht or "",
        "shrinkage": shrinkage,
        "occupancy": occupancy,
        "patience": patience,
    }
    from urllib.parse import urlencode

    return render(
        request,
        "reports/staffing.html",
        {
            "user": ctx.user,
            "sel": sel,
            "plan": plan,
            "active": active,
            "chart": chart,
            "grid": _grid(plan),
            "weekdays": WEEKDAYS,
            "params": params,
            "query": urlencode({k: v for k, v in params.items() if v != ""}),
            "simulate": simulate,
            "fmt": fmt,
            "can_manage": ctx.can(Permission.QUEUE_MANAGE),
            "prev_week": (plan.week_start - timedelta(weeks=1)).isoformat(),
            "next_week": (plan.week_start + timedelta(weeks=1)).isoformat(),
        },
    )


@pages.get("/staffing/export.csv")
def staffing_csv(
    ctx: Reader,
    tenant: str | None = None,
    week: str | None = None,
    target: str = "0.8/30",
    interval: Annotated[int, Query(ge=15, le=60)] = 30,
    weeks: Annotated[int, Query(ge=1, le=52)] = 4,
    aht: str | None = None,
    shrinkage: float = 0.3,
    occupancy: float = 0.85,
) -> Response:
    """The staffing plan's intervals as CSV (every interval of the week, quiet ones included)."""
    sel = selection(ctx, [tenant] if tenant else [], None, None, None)
    plan = _plan(ctx.db, sel, week, target, interval, weeks, aht, shrinkage, occupancy)
    table = dashboards.Table(
        "staffing",
        "Staffing",
        [
            dashboards.Column("Local start", "text"),
            dashboards.Column("Forecast contacts", "num"),
            dashboards.Column("Agents on phones"),
            dashboards.Column("Required (scheduled)"),
            dashboards.Column("Expected service level", "pct"),
            dashboards.Column("Average speed of answer", "secs"),
            dashboards.Column("Occupancy", "pct"),
            dashboards.Column("Scheduled (roster)"),
            dashboards.Column("Service level with roster", "pct"),
        ],
        [
            (
                i.local_start.isoformat(timespec="minutes"),
                i.forecast,
                i.agents,
                i.required,
                i.service_level,
                None if i.asa_s == float("inf") else i.asa_s,
                i.occupancy,
                i.scheduled,
                i.scheduled_service_level,
            )
            for i in plan.intervals
        ],
    )
    filename = f"careline-staffing-{plan.tenant_slug}-{plan.week_start}.csv"
    return Response(
        table.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _roster_cells(form: FormData) -> dict[tuple[int, int], int]:
    cells: dict[tuple[int, int], int] = {}
    for key, value in form.multi_items():
        if not key.startswith("r_") or not str(value).strip():
            continue
        try:
            _, day, minute = key.split("_")
            cells[(int(day), int(minute))] = int(str(value).strip())
        except ValueError:
            raise ValidationFailed(
                f"scheduled agents must be whole numbers (got {value!r})", field=key
            ) from None
    return cells


@pages.post("/staffing/roster")
async def save_roster(request: Request, ctx: Manager) -> Response:
    """Save the week's roster from the grid, or fill it (required / last week's) or clear it."""
    form = await request.form()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_save_roster, ctx, form)


def _save_roster(ctx: RequestContext, form: FormData) -> Response:
    slug = str(form.get("tenant") or "")
    sel = selection(ctx, [slug] if slug else [], None, None, None)
    client = sel.tenants[0]
    week = dashboards.parse_day(str(form.get("week") or ""), "week")
    if week is None:
        raise ValidationFailed("choose the week", field="week")
    monday = staffing.monday_of(week)
    try:
        interval = int(str(form.get("interval") or 30))
    except ValueError:
        raise ValidationFailed("interval must be 15, 30 or 60 minutes", field="interval") from None
    action = str(form.get("action") or "save")
    if action == "save":
        cells = _roster_cells(form)
    elif action == "required":
        plan = staffing.plan_week(ctx.db, client, monday, interval_minutes=interval)
        cells = {(i.weekday, i.minute_of_day): i.required for i in plan.intervals}
    elif action == "copy":
        previous = staffing.roster(ctx.db, client.id, monday - timedelta(weeks=1))
        interval = previous[0].interval_minutes if previous else interval
        cells = {(r.weekday, r.minute_of_day): r.agents for r in previous}
    elif action == "clear":
        cells = {}
    else:
        raise ValidationFailed(f"unknown action {action!r}", field="action")
    kept = staffing.set_roster(
        ctx.db, client.id, monday, cells, interval_minutes=interval, user_id=ctx.user.id
    )
    ctx.audit(
        "roster.save",
        tenant_id=client.id,
        object_type="roster",
        object_id=f"{client.slug}:{monday}",
        detail={"action": action, "slots": kept},
    )
    back = str(form.get("back") or "")
    target = back if back.startswith("/staffing?") else f"/staffing?tenant={client.slug}&week={monday}"
    return RedirectResponse(target, status_code=303)
