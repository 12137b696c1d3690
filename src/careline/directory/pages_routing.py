"""Browser pages for the routing directory (departments, outside resources) and CSV import/export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Request, UploadFile
from fastapi import Form as FormField
from starlette.datastructures import FormData
from starlette.responses import Response

from careline.directory import csvio, reference, rules, service
from careline.directory.models import Department, OutsideResource
from careline.directory.pagekit import (
    Form,
    Reader,
    Writer,
    checked,
    failed,
    form_tenant,
    lines,
    page,
    see_other,
    text,
)
from careline.errors import CareLineError, ValidationFailed
from careline.web.context import RequestContext
from careline.web.routing import router

pages = router(include_in_schema=False)
MAX_UPLOAD = 20 * 1024 * 1024


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _routing(request: Request, ctx: RequestContext, status: int = 200, **extra: Any) -> Response:
    tid = extra.pop("tenant_filter", None)
    departments, _ = service.list_departments(ctx.db, tenant_id=tid, active=None)
    resources, _ = service.list_resources(ctx.db, tenant_id=tid, active=None)
    context = {
        "departments": departments,
        "resources": resources,
        "dept_status": {d.id: service.department_next_open_text(ctx.db, d) for d in departments},
        "dept_open": {d.id: service.is_open_now(ctx.db, d) for d in departments},
        "locations": service.list_locations(ctx.db, tenant_id=tid, limit=500)[0],
        "kinds": reference.DEPARTMENT_KINDS,
        "intents": reference.KNOWN_INTENTS,
        "tenant_filter": tid or "",
        "dept_form": extra.pop("dept_form", None) or {"hours": "Mon-Fri 08:00-17:00"},
        "res_form": extra.pop("res_form", None) or {"priority": 50},
        **extra,
    }
    return page(request, ctx, "directory/routing.html", status, section="routing", **context)


@pages.get("/directory/routing")
def routing_page(request: Request, ctx: Reader, tenant_id: str | None = None) -> Response:
    """Where to send a caller: departments and services, and outside resources for the rest."""
    return _routing(request, ctx, tenant_filter=_int(tenant_id))


@pages.get("/directory/routing/lookup")
def routing_lookup(
    request: Request, ctx: Reader, tenant_id: str | None = None, need: str | None = None
) -> Response:
    """What to offer for a need: an intent label ('billing') or the caller's words."""
    tid = _int(tenant_id)
    need = (need or "").strip()[:300]
    department = None
    resources: list[OutsideResource] = []
    if tid is not None and tid in ctx.tenant_ids and need:
        department = service.department_for_intent(ctx.db, tid, need.lower().replace(" ", "_"))
        resources = service.resources_for(ctx.db, tid, need)
    context = {
        "need": need,
        "asked": bool(need) and tid is not None,
        "department": department,
        "department_open": department is not None and service.is_open_now(ctx.db, department),
        "department_status": service.department_next_open_text(ctx.db, department) if department else "",
        "resources": resources,
    }
    return page(request, ctx, "directory/_routing_lookup.html", **context)


def _department_fields(form: FormData, *, editing: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        name: text(form, name)
        for name in ("name", "kind", "phone", "transfer_number", "queue", "timezone", "description")
    }
    fields["hours"] = text(form, "hours")
    fields["location_id"] = _int(text(form, "location_id"))
    fields["intents"] = [i for i in form.getlist("intents") if isinstance(i, str)] + lines(
        form, "other_intents"
    )
    if editing:
        fields["active"] = checked(form, "active")
    return fields


def _department_shown(fields: dict[str, Any], form: FormData) -> dict[str, Any]:
    return {**fields, "tenant_id": text(form, "tenant_id"), "location_id": fields["location_id"] or ""}


@pages.post("/directory/departments")
def department_create(request: Request, ctx: Writer, form: Form) -> Response:
    """Add a department or service."""
    fields = _department_fields(form, editing=False)
    tid = form_tenant(form)
    try:
        if tid is None:
            raise ValidationFailed("choose the client", field="tenant_id")
        department = service.create_department(ctx.db, tenant_id=tid, **fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        return _routing(request, ctx, status, dept_form=_department_shown(fields, form), dept_error=exc)
    ctx.audit("directory.department.create", tenant_id=tid, object_type="department", object_id=department.id)
    return see_other(f"/directory/departments/{department.id}?saved=1")


def _department_page(
    request: Request, ctx: RequestContext, d: Department, status: int = 200, **extra: Any
) -> Response:
    form = extra.pop("f", None) or {
        "name": d.name,
        "kind": d.kind,
        "location_id": d.location_id or "",
        "phone": d.phone or "",
        "transfer_number": d.transfer_number or "",
        "queue": d.queue or "",
        "timezone": d.timezone or "",
        "hours": rules.format_hours_text(d.hours),
        "intents": d.intents,
        "description": d.description,
        "active": d.active,
    }
    context = {
        "d": d,
        "f": form,
        "status_text": service.department_next_open_text(ctx.db, d),
        "open_now": service.is_open_now(ctx.db, d),
        "locations": service.list_locations(ctx.db, tenant_id=d.tenant_id, limit=500)[0],
        "kinds": reference.DEPARTMENT_KINDS,
        "intents": reference.KNOWN_INTENTS,
        **extra,
    }
    return page(request, ctx, "directory/department.html", status, section="routing", **context)


@pages.get("/directory/departments/{department_id}")
def department_view(request: Request, department_id: int, ctx: Reader, saved: str | None = None) -> Response:
    """A department: how to reach it and when."""
    return _department_page(request, ctx, service.get_department(ctx.db, department_id), saved=bool(saved))


@pages.post("/directory/departments/{department_id}")
def department_update(request: Request, department_id: int, ctx: Writer, form: Form) -> Response:
    """Save the edit form."""
    department = service.get_department(ctx.db, department_id)
    fields = _department_fields(form, editing=True)
    try:
        service.update_department(ctx.db, department_id, fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        shown = _department_shown(fields, form)
        return _department_page(
            request, ctx, service.get_department(ctx.db, department_id), status, f=shown, error=exc
        )
    ctx.audit(
        "directory.department.update",
        tenant_id=department.tenant_id,
        object_type="department",
        object_id=department_id,
    )
    return see_other(f"/directory/departments/{department_id}?saved=1")


def _resource_fields(form: FormData, *, editing: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        name: text(form, name) for name in ("name", "kind", "phone", "url", "hours", "when_to_use")
    }
    fields["keywords"] = lines(form, "keywords")
    fields["intents"] = [i for i in form.getlist("intents") if isinstance(i, str)]
    fields["priority"] = _int(text(form, "priority")) or 100
    if editing:
        fields["active"] = checked(form, "active")
    return fields


@pages.post("/directory/resources")
def resource_create(request: Request, ctx: Writer, form: Form) -> Response:
    """Add an outside resource."""
    fields = _resource_fields(form, editing=False)
    tid = form_tenant(form)
    try:
        if tid is None:
            raise ValidationFailed("choose the client", field="tenant_id")
        resource = service.create_resource(ctx.db, tenant_id=tid, **fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        shown = {**fields, "keywords": text(form, "keywords"), "tenant_id": text(form, "tenant_id")}
        return _routing(request, ctx, status, res_form=shown, res_error=exc)
    ctx.audit("directory.resource.create", tenant_id=tid, object_type="resource", object_id=resource.id)
    return see_other(f"/directory/resources/{resource.id}?saved=1")


def _resource_page(
    request: Request, ctx: RequestContext, r: OutsideResource, status: int = 200, **extra: Any
) -> Response:
    form = extra.pop("f", None) or {
        "name": r.name,
        "kind": r.kind,
        "phone": r.phone or "",
        "url": r.url or "",
        "hours": r.hours,
        "when_to_use": r.when_to_use,
        "keywords": "\n".join(r.keywords or []),
        "intents": r.intents,
        "priority": r.priority,
        "active": r.active,
    }
    context = {"r": r, "f": form, "intents": reference.KNOWN_INTENTS, **extra}
    return page(request, ctx, "directory/resource.html", status, section="routing", **context)


@pages.get("/directory/resources/{resource_id}")
def resource_view(request: Request, resource_id: int, ctx: Reader, saved: str | None = None) -> Response:
    """An outside resource and when to offer it."""
    return _resource_page(request, ctx, service.get_resource(ctx.db, resource_id), saved=bool(saved))


@pages.post("/directory/resources/{resource_id}")
def resource_update(request: Request, resource_id: int, ctx: Writer, form: Form) -> Response:
    """Save the edit form."""
    resource = service.get_resource(ctx.db, resource_id)
    fields = _resource_fields(form, editing=True)
    try:
        service.update_resource(ctx.db, resource_id, fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        shown = {**fields, "keywords": text(form, "keywords")}
        return _resource_page(
            request, ctx, service.get_resource(ctx.db, resource_id), status, f=shown, error=exc
        )
    ctx.audit(
        "directory.resource.update",
        tenant_id=resource.tenant_id,
        object_type="resource",
        object_id=resource_id,
    )
    return see_other(f"/directory/resources/{resource_id}?saved=1")


# ---------------------------------------------------------------- CSV


@pages.get("/directory/import")
def import_page(request: Request, ctx: Writer) -> Response:
    """CSV import and export of providers and locations."""
    return page(request, ctx, "directory/import.html", section="import", notes=csvio.__doc__)


def _import(request: Request, ctx: RequestContext, kind: str, tenant: str, file: UploadFile) -> Response:
    tid = _int(tenant)
    try:
        if tid is None:
            raise ValidationFailed("choose the client", field="tenant_id")
        data = file.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise ValidationFailed("the file is larger than 20 MB; split it", field="file")
        run = csvio.import_providers if kind == "providers" else csvio.import_locations
        result = run(ctx.db, tenant_id=tid, data=data)
    except CareLineError as exc:
        status = failed(ctx, exc)
        return page(
            request,
            ctx,
            "directory/import.html",
            status,
            section="import",
            notes=csvio.__doc__,
            error=exc,
            kind=kind,
        )
    ctx.audit(
        f"directory.{kind[:-1]}.import",
        tenant_id=tid,
        object_type=kind[:-1],
        detail={"created": result.created, "updated": result.updated, "errors": len(result.errors)},
    )
    return page(
        request,
        ctx,
        "directory/import.html",
        section="import",
        notes=csvio.__doc__,
        result=result,
        kind=kind,
        filename=file.filename,
    )


@pages.post("/directory/import/providers")
def import_providers(
    request: Request, ctx: Writer, tenant_id: Annotated[str, FormField()], file: Annotated[UploadFile, File()]
) -> Response:
    """Import providers (matched by NPI) and show what happened, bad rows by line number."""
    return _import(request, ctx, "providers", tenant_id, file)


@pages.post("/directory/import/locations")
def import_locations(
    request: Request, ctx: Writer, tenant_id: Annotated[str, FormField()], file: Annotated[UploadFile, File()]
) -> Response:
    """Import locations (matched by name) and show what happened, bad rows by line number."""
    return _import(request, ctx, "locations", tenant_id, file)
