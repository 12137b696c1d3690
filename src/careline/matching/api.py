"""REST routes of matching: find a doctor, record a referral, read and tune a client's vocabulary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from careline.accounts.permissions import Permission
from careline.matching import service
from careline.matching.schemas import MatchIn, MatchOut, ReferralIn, ReferralOut, SettingsOut, SettingsPatch
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1/match", tags=["matching"])

Matcher = Annotated[RequestContext, Depends(require(Permission.MATCH))]
Manager = Annotated[RequestContext, Depends(require(Permission.TENANT_MANAGE))]
ERRORS = {401: {"description": "not signed in"}, 403: {"description": "role may not"}}
MISSING = {404: {"description": "not found (or another client's)"}}
INVALID = {422: {"description": "a field is invalid; `field` names it (zip, work_zip, plan_id, ...)"}}


@api.post("", response_model=MatchOut, responses={**ERRORS, **MISSING, **INVALID})
def find_a_doctor(body: MatchIn, ctx: Matcher) -> dict[str, Any]:
    """Providers ranked for the need, near home or work, with the reasons in words.

    An empty list comes with `empty_because` (the constraint that emptied it) and `relaxations`
    (what relaxing one constraint at a time would find, and the fields to change to see them).
    """
    result = service.match(ctx.db, body.to_request(), actor=ctx.actor)
    return result.to_dict()


@api.post(
    "/referrals",
    response_model=ReferralOut,
    status_code=201,
    responses={**ERRORS, **MISSING, **INVALID, 409: {"description": "the contact has ended"}},
)
def refer(body: ReferralIn, ctx: Matcher) -> dict[str, Any]:
    """Record that the caller was referred to a provider (REFERRAL_MADE on the contact's find-a-doctor
    reason); `booking` carries the ids the console passes to the scheduling API to book."""
    return service.refer(
        ctx.db,
        actor=ctx.actor,
        user_id=ctx.user.id,
        provider_id=body.provider_id,
        contact_id=body.contact_id,
        patient_id=body.patient_id,
        reason_id=body.reason_id,
        location_id=body.location_id,
        note=body.note,
    )


@api.get("/settings/{tenant_id}", response_model=SettingsOut, responses={**ERRORS, **MISSING})
def get_settings(tenant_id: int, ctx: Matcher) -> dict[str, Any]:
    """The client's need vocabulary (its entries first) and effective ranking weights."""
    return service.settings_view(ctx.db, tenant_id)


@api.patch("/settings/{tenant_id}", response_model=SettingsOut, responses={**ERRORS, **MISSING, **INVALID})
def patch_settings(tenant_id: int, body: SettingsPatch, ctx: Manager) -> dict[str, Any]:
    """Replace the client's need overrides and/or weight overrides (validated; 422 names the problem)."""
    service.update_settings(ctx.db, tenant_id, needs=body.needs, weights=body.weights, actor=ctx.actor)
    return service.settings_view(ctx.db, tenant_id)
