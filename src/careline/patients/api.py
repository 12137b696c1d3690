"""REST routes of the patient registry: search and look up callers, register, read, change."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import JSONResponse

from careline.accounts.permissions import Permission
from careline.patients import service
from careline.patients.schemas import (
    CandidateOut,
    DuplicateOut,
    LookupIn,
    PatientCreate,
    PatientOut,
    PatientPatch,
)
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1/patients", tags=["patients"])

Reader = Annotated[RequestContext, Depends(require(Permission.PATIENT_READ))]
Writer = Annotated[RequestContext, Depends(require(Permission.PATIENT_WRITE))]
ERRORS = {401: {"description": "not signed in"}, 403: {"description": "role may not"}}
INVALID = {422: {"description": "a field is invalid; `field` names it"}}


def _tenants(ctx: RequestContext, tenant_id: int | None) -> list[int] | None:
    return None if tenant_id is None else [tenant_id]


@api.get("", response_model=list[CandidateOut], responses={**ERRORS, **INVALID})
def search(
    ctx: Reader,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    dob: Annotated[str | None, Query(max_length=20)] = None,
    tenant_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[CandidateOut]:
    """Ranked candidates by phone (any format), or by name and date of birth (fuzzy)."""
    found = service.search_patients(
        ctx.db,
        actor=ctx.actor,
        phone=phone,
        name=name,
        dob=dob,
        tenant_ids=_tenants(ctx, tenant_id),
        limit=limit,
    )
    return [CandidateOut.of(c) for c in found]


@api.post("/lookup", response_model=list[CandidateOut], responses={**ERRORS, **INVALID})
def lookup(body: LookupIn, ctx: Reader) -> list[CandidateOut]:
    """The caller panel's lookup: the search, with the caller's details in the body, not the URL."""
    found = service.search_patients(
        ctx.db,
        actor=ctx.actor,
        phone=body.phone,
        name=body.name,
        dob=body.dob,
        tenant_ids=_tenants(ctx, body.tenant_id),
        limit=body.limit,
    )
    return [CandidateOut.of(c) for c in found]


@api.post(
    "",
    response_model=PatientOut,
    status_code=201,
    responses={
        **ERRORS,
        **INVALID,
        404: {"description": "no such tenant"},
        409: {"model": DuplicateOut, "description": "similar patients exist; resend with confirm_new"},
    },
)
def create(body: PatientCreate, ctx: Writer) -> PatientOut | JSONResponse:
    """Register a patient; 409 with the look-alike candidates unless `confirm_new` is set."""
    fields = body.model_dump(exclude_unset=True, exclude={"tenant_id", "first_name", "last_name", "dob"})
    try:
        patient = service.create_patient(
            ctx.db,
            tenant_id=body.tenant_id,
            actor=ctx.actor,
            first_name=body.first_name,
            last_name=body.last_name,
            dob=body.dob,
            **fields,
        )
    except service.DuplicatePatients as dup:
        # Answer (not raise) so the request commits the audit row of the candidates shown.
        out = DuplicateOut(message=dup.message, candidates=[CandidateOut.of(c) for c in dup.candidates])
        return JSONResponse(out.model_dump(mode="json"), status_code=409)
    return PatientOut.of(patient)


@api.get(
    "/{patient_id}", response_model=PatientOut, responses={**ERRORS, 404: {"description": "no such patient"}}
)
def read(patient_id: int, ctx: Reader) -> PatientOut:
    """One patient's record (audited as patient.read)."""
    return PatientOut.of(service.get_patient(ctx.db, patient_id, actor=ctx.actor))


@api.patch(
    "/{patient_id}",
    response_model=PatientOut,
    responses={**ERRORS, **INVALID, 404: {"description": "no such patient"}},
)
def patch(patient_id: int, body: PatientPatch, ctx: Writer) -> PatientOut:
    """Change some fields; `phones`, when given, replaces the list."""
    changes = body.model_dump(exclude_unset=True)
    return PatientOut.of(service.update_patient(ctx.db, patient_id, actor=ctx.actor, **changes))
