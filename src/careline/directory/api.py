"""REST routes of the directory: locations, providers, plans, departments, outside resources, CSV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, File, Form, Query, UploadFile
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.directory import csvio, service
from careline.directory.schemas import (
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    ImportReport,
    LocationIn,
    LocationOut,
    LocationPage,
    LocationPatch,
    PlanIn,
    PlanOut,
    PlanPatch,
    ProviderIn,
    ProviderOut,
    ProviderPage,
    ProviderPatch,
    ResourceIn,
    ResourceOut,
    ResourcePatch,
    RowErrorOut,
    plan_of,
    resource_of,
)
from careline.errors import ValidationFailed
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1", tags=["directory"])

Reader = Annotated[RequestContext, Depends(require(Permission.DIRECTORY_READ))]
Writer = Annotated[RequestContext, Depends(require(Permission.DIRECTORY_WRITE))]
ERRORS = {401: {"description": "not signed in"}, 403: {"description": "role may not"}}
MISSING = {404: {"description": "not found (or another client's)"}}
INVALID = {422: {"description": "a field is invalid; `field` names it"}}
CLASH = {409: {"description": "name or NPI already used in this client"}}
MAX_UPLOAD = 20 * 1024 * 1024
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def _audit(ctx: RequestContext, action: str, kind: str, obj: object) -> None:
    ctx.audit(f"directory.{kind}.{action}", tenant_id=obj.tenant_id, object_type=kind, object_id=obj.id)  # type: ignore[attr-defined]


def _active(active: bool | None, include_inactive: bool) -> bool | None:
    """Only active rows by default; `active=false` for the deactivated ones, `include_inactive` for all."""
    if active is not None:
        return active
    return None if include_inactive else True


def export_tenant(ctx: RequestContext, tenant_id: int | None) -> int:
    """The tenant to export or import for: the one given, or the user's only one."""
    if tenant_id is not None:
        return tenant_id
    if len(ctx.tenant_ids) == 1:
        return next(iter(ctx.tenant_ids))
    raise ValidationFailed("say which client: tenant_id", field="tenant_id")


# ---------------------------------------------------------------- locations


@api.get("/locations", response_model=LocationPage, responses=ERRORS)
def list_locations(
    ctx: Reader,
    tenant_id: int | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    active: bool | None = None,
    include_inactive: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> LocationPage:
    """Locations by name; q searches name, city, address and ZIP; include_inactive lists all."""
    rows, total = service.list_locations(
        ctx.db, tenant_id=tenant_id, q=q, active=_active(active, include_inactive), limit=limit, offset=offset
    )
    return LocationPage(items=[LocationOut.of(r) for r in rows], total=total, limit=limit, offset=offset)


def _export(ctx: RequestContext, tenant_id: int | None, kind: str, export: Callable[..., str]) -> Response:
    """A client's rows of one kind as a CSV download (the import's format), audited."""
    tid = export_tenant(ctx, tenant_id)
    body = export(ctx.db, tid)
    ctx.audit(f"directory.{kind}.export", tenant_id=tid, object_type=kind)
    headers = {"Content-Disposition": f'attachment; filename="{kind}s-{tid}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def _import(
    ctx: RequestContext, tenant_id: int, file: UploadFile, kind: str, load: Callable[..., Any]
) -> ImportReport:
    """Rows of one kind from an uploaded CSV: good rows saved, bad ones reported by line, audited."""
    result = load(ctx.db, tenant_id=tenant_id, data=_read(file))
    ctx.audit(f"directory.{kind}.import", tenant_id=tenant_id, object_type=kind, detail=_counts(result))
    return _report(result)


@api.get("/locations/export.csv", responses={**ERRORS, **MISSING, **INVALID})
def export_locations(ctx: Reader, tenant_id: int | None = None) -> Response:
    """All of a client's locations as CSV (the import's format)."""
    return _export(ctx, tenant_id, "location", csvio.export_locations)


@api.post("/locations/import", response_model=ImportReport, responses={**ERRORS, **MISSING, **INVALID})
def import_locations(
    ctx: Writer, tenant_id: Annotated[int, Form()], file: Annotated[UploadFile, File()]
) -> ImportReport:
    """Create or update (by name) locations from CSV; bad rows are listed by line, good rows are saved."""
    return _import(ctx, tenant_id, file, "location", csvio.import_locations)


@api.get("/locations/{location_id}", response_model=LocationOut, responses={**ERRORS, **MISSING})
def get_location(location_id: int, ctx: Reader) -> LocationOut:
    """One location with hours, closures and whether it is open now (in its own time zone)."""
    return LocationOut.of(service.get_location(ctx.db, location_id))


@api.post(
    "/locations",
    response_model=LocationOut,
    status_code=201,
    responses={**ERRORS, **MISSING, **INVALID, **CLASH},
)
def create_location(body: LocationIn, ctx: Writer) -> LocationOut:
    """Add a location; city, state, coordinates and time zone come from the ZIP unless given."""
    location = service.create_location(
        ctx.db, **body.model_dump(exclude_unset=True, exclude={"tenant_id"}), tenant_id=body.tenant_id
    )
    _audit(ctx, "create", "location", location)
    return LocationOut.of(location)


@api.patch(
    "/locations/{location_id}",
    response_model=LocationOut,
    responses={**ERRORS, **MISSING, **INVALID, **CLASH},
)
def update_location(location_id: int, body: LocationPatch, ctx: Writer) -> LocationOut:
    """Change a location; {"active": false} deactivates it; closures given replace the list."""
    location = service.update_location(ctx.db, location_id, body.model_dump(exclude_unset=True))
    _audit(ctx, "update", "location", location)
    return LocationOut.of(location)


# ---------------------------------------------------------------- providers


@api.get("/providers", response_model=ProviderPage, responses={**ERRORS, **INVALID})
def search_providers(
    ctx: Reader,
    tenant_id: int | None = None,
    q: Annotated[str | None, Query(max_length=200, description="name prefixes or NPI digits")] = None,
    specialty: Annotated[str | None, Query(max_length=100, description="NUCC code or words")] = None,
    language: Annotated[str | None, Query(max_length=40, description="ISO 639-1 code or name")] = None,
    location_id: int | None = None,
    accepting: bool | None = None,
    plan_id: int | None = None,
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    gender: Annotated[str | None, Query(max_length=20)] = None,
    active: bool | None = None,
    include_inactive: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProviderPage:
    """Search providers; every filter given must match."""
    rows, total = service.search_providers(
        ctx.db,
        tenant_id=tenant_id,
        q=q,
        specialty=specialty,
        language=language,
        location_id=location_id,
        accepting=accepting,
        plan_id=plan_id,
        age=age,
        gender=gender,
        active=_active(active, include_inactive),
        limit=limit,
        offset=offset,
    )
    return ProviderPage(items=[ProviderOut.of(p) for p in rows], total=total, limit=limit, offset=offset)


@api.get("/providers/export.csv", responses={**ERRORS, **MISSING, **INVALID})
def export_providers(ctx: Reader, tenant_id: int | None = None) -> Response:
    """All of a client's providers as CSV (the import's format)."""
    return _export(ctx, tenant_id, "provider", csvio.export_providers)


@api.post("/providers/import", response_model=ImportReport, responses={**ERRORS, **MISSING, **INVALID})
def import_providers(
    ctx: Writer, tenant_id: Annotated[int, Form()], file: Annotated[UploadFile, File()]
) -> ImportReport:
    """Create or update (matched by NPI) providers from CSV; bad rows listed by line, good rows saved."""
    return _import(ctx, tenant_id, file, "provider", csvio.import_providers)


@api.get("/providers/{provider_id}", response_model=ProviderOut, responses={**ERRORS, **MISSING})
def get_provider(provider_id: int, ctx: Reader) -> ProviderOut:
    """One provider with specialties, languages, locations, plans and a summary to read out."""
    return ProviderOut.of(service.get_provider(ctx.db, provider_id))


@api.post(
    "/providers",
    response_model=ProviderOut,
    status_code=201,
    responses={**ERRORS, **MISSING, **INVALID, **CLASH},
)
def create_provider(body: ProviderIn, ctx: Writer) -> ProviderOut:
    """Add a provider (NPI check digit verified; specialties are NUCC codes, primary first)."""
    fields = body.model_dump(exclude_unset=True, exclude={"tenant_id"})
    provider = service.create_provider(ctx.db, tenant_id=body.tenant_id, **fields)
    _audit(ctx, "create", "provider", provider)
    return ProviderOut.of(service.get_provider(ctx.db, provider.id))


@api.patch(
    "/providers/{provider_id}",
    response_model=ProviderOut,
    responses={**ERRORS, **MISSING, **INVALID, **CLASH},
)
def update_provider(provider_id: int, body: ProviderPatch, ctx: Writer) -> ProviderOut:
    """Change a provider; lists given replace the old ones; {"active": false} deactivates."""
    provider = service.update_provider(ctx.db, provider_id, body.model_dump(exclude_unset=True))
    _audit(ctx, "update", "provider", provider)
    return ProviderOut.of(service.get_provider(ctx.db, provider.id))


# ---------------------------------------------------------------- plans


@api.get("/plans", response_model=list[PlanOut], responses=ERRORS)
def list_plans(
    ctx: Reader,
    tenant_id: int | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    active: bool | None = None,
    include_inactive: bool = False,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[PlanOut]:
    """Insurance plans by name."""
    rows, _ = service.list_plans(
        ctx.db, tenant_id=tenant_id, q=q, active=_active(active, include_inactive), limit=limit, offset=offset
    )
    return [plan_of(p) for p in rows]


@api.get("/plans/{plan_id}", response_model=PlanOut, responses={**ERRORS, **MISSING})
def get_plan(plan_id: int, ctx: Reader) -> PlanOut:
    """One insurance plan."""
    return plan_of(service.get_plan(ctx.db, plan_id))


@api.post(
    "/plans", response_model=PlanOut, status_code=201, responses={**ERRORS, **MISSING, **INVALID, **CLASH}
)
def create_plan(body: PlanIn, ctx: Writer) -> PlanOut:
    """Add an insurance plan (names are unique per client)."""
    plan = service.create_plan(
        ctx.db,
        tenant_id=body.tenant_id,
        name=body.name,
        payer=body.payer,
        plan_type=body.plan_type,
        active=body.active,
    )
    _audit(ctx, "create", "plan", plan)
    return plan_of(plan)


@api.patch("/plans/{plan_id}", response_model=PlanOut, responses={**ERRORS, **MISSING, **INVALID, **CLASH})
def update_plan(plan_id: int, body: PlanPatch, ctx: Writer) -> PlanOut:
    """Change or deactivate a plan."""
    plan = service.update_plan(ctx.db, plan_id, body.model_dump(exclude_unset=True))
    _audit(ctx, "update", "plan", plan)
    return plan_of(plan)


# ---------------------------------------------------------------- departments


@api.get("/departments", response_model=list[DepartmentOut], responses=ERRORS)
def list_departments(
    ctx: Reader,
    tenant_id: int | None = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    intent: Annotated[str | None, Query(max_length=40, description="best first, open ones first")] = None,
    active: bool | None = None,
    include_inactive: bool = False,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[DepartmentOut]:
    """Departments and services with how to reach them and whether they are open now."""
    if intent and tenant_id is not None:
        rows = service.departments_for_intent(ctx.db, tenant_id, intent)
    else:
        rows, _ = service.list_departments(
            ctx.db,
            tenant_id=tenant_id,
            kind=kind,
            active=_active(active, include_inactive),
            limit=limit,
            offset=offset,
        )
        if intent:
            rows = [d for d in rows if intent in (d.intents or []) or d.kind == intent]
    return [DepartmentOut.of(ctx.db, d) for d in rows]


@api.get("/departments/{department_id}", response_model=DepartmentOut, responses={**ERRORS, **MISSING})
def get_department(department_id: int, ctx: Reader) -> DepartmentOut:
    """One department."""
    return DepartmentOut.of(ctx.db, service.get_department(ctx.db, department_id))


@api.post(
    "/departments", response_model=DepartmentOut, status_code=201, responses={**ERRORS, **MISSING, **INVALID}
)
def create_department(body: DepartmentIn, ctx: Writer) -> DepartmentOut:
    """Add a department or service (a phone, transfer number or queue is required)."""
    fields = body.model_dump(exclude_unset=True, exclude={"tenant_id"})
    department = service.create_department(ctx.db, tenant_id=body.tenant_id, **fields)
    _audit(ctx, "create", "department", department)
    return DepartmentOut.of(ctx.db, service.get_department(ctx.db, department.id))


@api.patch(
    "/departments/{department_id}", response_model=DepartmentOut, responses={**ERRORS, **MISSING, **INVALID}
)
def update_department(department_id: int, body: DepartmentPatch, ctx: Writer) -> DepartmentOut:
    """Change or deactivate a department."""
    department = service.update_department(ctx.db, department_id, body.model_dump(exclude_unset=True))
    _audit(ctx, "update", "department", department)
    return DepartmentOut.of(ctx.db, department)


# ---------------------------------------------------------------- outside resources


@api.get("/resources", response_model=list[ResourceOut], responses=ERRORS)
def list_resources(
    ctx: Reader,
    tenant_id: int | None = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    match: Annotated[str | None, Query(max_length=500, description="intent label or caller words")] = None,
    active: bool | None = None,
    include_inactive: bool = False,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[ResourceOut]:
    """Outside resources, most urgent first; with tenant_id and match, those that fit the words or intent."""
    if match and tenant_id is not None:
        return [resource_of(r) for r in service.resources_for(ctx.db, tenant_id, match, limit=limit)]
    rows, _ = service.list_resources(
        ctx.db,
        tenant_id=tenant_id,
        kind=kind,
        active=_active(active, include_inactive),
        limit=limit,
        offset=offset,
    )
    return [resource_of(r) for r in rows]


@api.get("/resources/{resource_id}", response_model=ResourceOut, responses={**ERRORS, **MISSING})
def get_resource(resource_id: int, ctx: Reader) -> ResourceOut:
    """One outside resource."""
    return resource_of(service.get_resource(ctx.db, resource_id))


@api.post(
    "/resources", response_model=ResourceOut, status_code=201, responses={**ERRORS, **MISSING, **INVALID}
)
def create_resource(body: ResourceIn, ctx: Writer) -> ResourceOut:
    """Add an outside resource (phone: E.164 or a short code such as 911 or 988)."""
    fields = body.model_dump(exclude_unset=True, exclude={"tenant_id"})
    resource = service.create_resource(ctx.db, tenant_id=body.tenant_id, **fields)
    _audit(ctx, "create", "resource", resource)
    return resource_of(resource)


@api.patch("/resources/{resource_id}", response_model=ResourceOut, responses={**ERRORS, **MISSING, **INVALID})
def update_resource(resource_id: int, body: ResourcePatch, ctx: Writer) -> ResourceOut:
    """Change or deactivate an outside resource."""
    resource = service.update_resource(ctx.db, resource_id, body.model_dump(exclude_unset=True))
    _audit(ctx, "update", "resource", resource)
    return resource_of(resource)


# ---------------------------------------------------------------- helpers


def _read(file: UploadFile) -> bytes:
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed("the file is larger than 20 MB; split it", field="file")
    return data


def _counts(result: csvio.ImportResult) -> dict[str, int]:
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "errors": len(result.errors),
    }


def _report(result: csvio.ImportResult) -> ImportReport:
    return ImportReport(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        errors=[RowErrorOut(line=e.line, field=e.field, message=e.message) for e in result.errors],
    )
