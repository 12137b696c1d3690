"""Browser pages for locations (hours, closures, parking, directions) and insurance plans."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import func, select
from starlette.datastructures import FormData
from starlette.responses import Response

from careline.directory import rules, service
from careline.directory.models import Location, ProviderLocation
from careline.directory.pagekit import (
    Form,
    Reader,
    Writer,
    checked,
    failed,
    form_tenant,
    page,
    see_other,
    text,
)
from careline.directory.service_plans import PLAN_TYPES
from careline.errors import CareLineError, ValidationFailed
from careline.web.context import RequestContext
from careline.web.routing import router

pages = router(include_in_schema=False)
LOCATION_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "phone",
    "timezone",
    "hours",
    "parking",
    "directions",
    "accessibility",
)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


@pages.get("/directory/locations")
def location_list(
    request: Request,
    ctx: Reader,
    tenant_id: str | None = None,
    q: str | None = None,
    inactive: str | None = None,
    page_no: str | None = None,
) -> Response:
    """Locations by name with city, phone and whether each is open now."""
    number = max(1, _int(page_no) or 1)
    rows, total = service.list_locations(
        ctx.db,
        tenant_id=_int(tenant_id),
        q=(q or "")[:200] or None,
        active=None if inactive else True,
        limit=50,
        offset=(number - 1) * 50,
    )
    context = {
        "rows": rows,
        "total": total,
        "page_no": number,
        "pages": max(1, -(-total // 50)),
        "filters": {"tenant_id": tenant_id or "", "q": q or "", "inactive": bool(inactive)},
        "states": {loc.id: service.next_open_text(loc) for loc in rows},
        "open_now": {loc.id: service.location_is_open(loc) for loc in rows},
    }
    return page(request, ctx, "directory/locations.html", section="locations", **context)


def _location_form(loc: Location) -> dict[str, Any]:
    form = {name: getattr(loc, name) or "" for name in LOCATION_FIELDS}
    form["hours"] = rules.format_hours_text(loc.hours)
    form["active"] = loc.active
    return form


def _submitted(form: FormData, *, editing: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {name: text(form, name) for name in LOCATION_FIELDS}
    if editing:
        fields["active"] = checked(form, "active")
    return fields


@pages.get("/directory/locations/new")
def location_new(request: Request, ctx: Writer) -> Response:
    """The form to add a location."""
    form = {"hours": "Mon-Fri 08:00-17:00", "tenant_id": ""}
    return page(request, ctx, "directory/location_new.html", section="locations", f=form)


@pages.post("/directory/locations")
def location_create(request: Request, ctx: Writer, form: Form) -> Response:
    """Add a location; coordinates and time zone come from the ZIP."""
    fields = _submitted(form, editing=False)
    tid = form_tenant(form)
    try:
        if tid is None:
            raise ValidationFailed("choose the client this location belongs to", field="tenant_id")
        location = service.create_location(ctx.db, tenant_id=tid, **fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        shown = {**fields, "tenant_id": text(form, "tenant_id")}
        return page(
            request, ctx, "directory/location_new.html", status, section="locations", f=shown, error=exc
        )
    ctx.audit("directory.location.create", tenant_id=tid, object_type="location", object_id=location.id)
    return see_other(f"/directory/locations/{location.id}?saved=1")


def _detail(
    request: Request, ctx: RequestContext, location: Location, status: int = 200, **extra: Any
) -> Response:
    providers = ctx.db.scalar(
        select(func.count()).select_from(ProviderLocation).where(ProviderLocation.location_id == location.id)
    )
    departments = [
        d
        for d in service.list_departments(ctx.db, tenant_id=location.tenant_id)[0]
        if d.location_id == location.id
    ]
    context = {
        "loc": location,
        "status_text": service.next_open_text(location),
        "open_now": service.location_is_open(location),
        "hours_rows": [(rules.DAY_NAMES[d], location.hours.get(d, [])) for d in rules.DAYS],
        "provider_count": providers or 0,
        "departments": departments,
        "f": extra.pop("f", None) or _location_form(location),
        **extra,
    }
    return page(request, ctx, "directory/location.html", status, section="locations", **context)


@pages.get("/directory/locations/{location_id}")
def location_view(request: Request, location_id: int, ctx: Reader, saved: str | None = None) -> Response:
    """A location: address, hours in its zone, closures, parking, directions; admins edit here."""
    return _detail(request, ctx, service.get_location(ctx.db, location_id), saved=bool(saved))


@pages.post("/directory/locations/{location_id}")
def location_update(request: Request, location_id: int, ctx: Writer, form: Form) -> Response:
    """Save the edit form (untick 'active' to deactivate)."""
    location = service.get_location(ctx.db, location_id)
    fields = _submitted(form, editing=True)
    try:
        service.update_location(ctx.db, location_id, fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        return _detail(request, ctx, service.get_location(ctx.db, location_id), status, f=fields, error=exc)
    ctx.audit(
        "directory.location.update",
        tenant_id=location.tenant_id,
        object_type="location",
        object_id=location_id,
    )
    return see_other(f"/directory/locations/{location_id}?saved=1")


@pages.post("/directory/locations/{location_id}/closures")
def closure_add(request: Request, location_id: int, ctx: Writer, form: Form) -> Response:
    """Close the location for a day (holiday, weather)."""
    location = service.get_location(ctx.db, location_id)
    try:
        service.add_closure(ctx.db, location_id, day=text(form, "date"), reason=text(form, "reason"))
    except CareLineError as exc:
        status = failed(ctx, exc)
        closure_form = {"date": text(form, "date"), "reason": text(form, "reason")}
        return _detail(
            request,
            ctx,
            service.get_location(ctx.db, location_id),
            status,
            closure_error=exc,
            closure_form=closure_form,
        )
    ctx.audit(
        "directory.location.closure",
        tenant_id=location.tenant_id,
        object_type="location",
        object_id=location_id,
    )
    return see_other(f"/directory/locations/{location_id}#closures")


@pages.post("/directory/locations/{location_id}/closures/{closure_id}/delete")
def closure_remove(location_id: int, closure_id: int, ctx: Writer) -> Response:
    """Reopen a closed day."""
    location = service.get_location(ctx.db, location_id)
    service.remove_closure(ctx.db, location_id, closure_id)
    ctx.audit(
        "directory.location.reopen",
        tenant_id=location.tenant_id,
        object_type="location",
        object_id=location_id,
    )
    return see_other(f"/directory/locations/{location_id}#closures")


# ---------------------------------------------------------------- plans


def _plans_page(request: Request, ctx: RequestContext, status: int = 200, **extra: Any) -> Response:
    rows, _ = service.list_plans(ctx.db, active=None, limit=500)
    return page(
        request,
        ctx,
        "directory/plans.html",
        status,
        section="plans",
        rows=rows,
        plan_types=PLAN_TYPES,
        **extra,
    )


@pages.get("/directory/plans")
def plan_list(request: Request, ctx: Reader) -> Response:
    """Insurance plans per client; admins add and edit them here."""
    return _plans_page(request, ctx, f={})


@pages.post("/directory/plans")
def plan_create(request: Request, ctx: Writer, form: Form) -> Response:
    """Add a plan."""
    shown = {k: text(form, k) for k in ("tenant_id", "name", "payer", "plan_type")}
    try:
        tid = form_tenant(form)
        if tid is None:
            raise ValidationFailed("choose the client", field="tenant_id")
        plan = service.create_plan(
            ctx.db, tenant_id=tid, name=shown["name"], payer=shown["payer"], plan_type=shown["plan_type"]
        )
    except CareLineError as exc:
        status = failed(ctx, exc)
        return _plans_page(request, ctx, status, f=shown, error=exc)
    ctx.audit("directory.plan.create", tenant_id=plan.tenant_id, object_type="plan", object_id=plan.id)
    return see_other("/directory/plans")


@pages.post("/directory/plans/{plan_id}")
def plan_update(request: Request, plan_id: int, ctx: Writer, form: Form) -> Response:
    """Rename, retype or (un)deactivate a plan."""
    plan = service.get_plan(ctx.db, plan_id)
    changes = {k: text(form, k) for k in ("name", "payer", "plan_type")}
    changes["active"] = checked(form, "active")
    try:
        service.update_plan(ctx.db, plan_id, changes)
    except CareLineError as exc:
        status = failed(ctx, exc)
        return _plans_page(request, ctx, status, f={}, error=exc, error_plan=plan_id)
    ctx.audit("directory.plan.update", tenant_id=plan.tenant_id, object_type="plan", object_id=plan_id)
    return see_other("/directory/plans")
