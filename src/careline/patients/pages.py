"""Browser routes: caller lookup (an HTMX partial the agent console can embed), registration, edit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from careline.accounts.permissions import Permission
from careline.errors import CareLineError
from careline.kit.phones import format_phone
from careline.patients import languages, service
from careline.patients.models import Patient, PhoneKind, ReferralSource, Sex
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render, templates

pages = router(include_in_schema=False)
templates.env.filters.setdefault("phone", format_phone)

Reader = Annotated[RequestContext, Depends(require(Permission.PATIENT_READ))]
Writer = Annotated[RequestContext, Depends(require(Permission.PATIENT_WRITE))]

PHONE_ROWS = 3
REFERRAL_LABELS = {
    ReferralSource.FRIEND_FAMILY: "Friend or family",
    ReferralSource.PHYSICIAN_REFERRAL: "Physician referral",
    ReferralSource.WEB_SEARCH: "Web search",
    ReferralSource.INSURANCE_DIRECTORY: "Insurance directory",
    ReferralSource.ADVERTISING: "Advertising",
    ReferralSource.OTHER: "Other",
    ReferralSource.UNKNOWN: "Not asked / unknown",
}
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "dob",
    "sex",
    "preferred_language",
    "email",
    "address_line1",
    "city",
    "state",
    "zip",
    "work_zip",
    "insurance_plan_id",
    "member_id",
    "pcp_provider_id",
    "referral_source",
    "referral_note",
)
CONSENTS = ("consent_sms", "consent_voice", "consent_email")


def _choices(ctx: RequestContext) -> dict[str, Any]:
    """What the registration form's selects offer, for the tenants this user serves."""
    from careline.directory.models import InsurancePlan

    tenants = list_tenants(ctx.db, ctx.tenant_ids)
    plans = list(
        ctx.db.scalars(
            select(InsurancePlan)
            .where(InsurancePlan.active.is_(True))
            .order_by(InsurancePlan.tenant_id, InsurancePlan.name)
        )
    )
    providers = service.primary_care_providers(ctx.db)
    return {
        "tenants": tenants,
        "tenant_names": {t.id: t.name for t in tenants},
        "plans": plans,
        "providers": providers,
        "sexes": list(Sex),
        "languages": languages.choices(),
        "referrals": REFERRAL_LABELS,
        "phone_kinds": list(PhoneKind),
        "phone_rows": range(PHONE_ROWS),
    }


def _form_values(form: FormData) -> dict[str, Any]:
    """The registration/edit form as typed, to show it again beside its errors."""
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in (*TEXT_FIELDS, "tenant_id")}
    values.update({name: form.get(name) in ("on", "true", "1") for name in CONSENTS})
    # An unticked checkbox sends nothing: the edit form says it showed the box with active_present.
    values["active"] = form.get("active") in ("on", "true", "1") if form.get("active_present") else True
    values["phones"] = [
        {
            "number": str(form.get(f"phone_{i}") or ""),
            "kind": str(form.get(f"phone_kind_{i}") or PhoneKind.MOBILE),
            "is_primary": str(form.get("phone_primary") or "0") == str(i),
        }
        for i in range(PHONE_ROWS)
    ]
    return values


def _service_fields(values: dict[str, Any]) -> dict[str, Any]:
    fields = {name: values[name] or None for name in TEXT_FIELDS}
    fields.update({name: values[name] for name in CONSENTS})
    fields["phones"] = [p for p in values["phones"] if p["number"].strip()]
    if fields["phones"] and not any(p["is_primary"] for p in fields["phones"]):
        fields["phones"][0]["is_primary"] = True
    return fields


def _patient_values(patient: Patient) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(patient, name) for name in (*TEXT_FIELDS, *CONSENTS, "active")}
    values = {k: ("" if v is None else v) for k, v in values.items()}
    values["dob"] = f"{patient.dob.month}/{patient.dob.day}/{patient.dob.year}"
    values["tenant_id"] = patient.tenant_id
    phones = [
        {"number": format_phone(p.e164), "kind": str(p.kind), "is_primary": p.is_primary}
        for p in patient.phones
    ]
    values["phones"] = (phones + [{"number": "", "kind": "mobile", "is_primary": False}] * PHONE_ROWS)[
        :PHONE_ROWS
    ]
    return values


# --- lookup -------------------------------------------------------------------------------------------


@pages.get("/patients")
def lookup_page(request: Request, ctx: Reader) -> Response:
    """Find a caller by phone, or by name and date of birth."""
    context = {"user": ctx.user, "query": {}, "searched": False, **_lookup_context(ctx)}
    return render(request, "patients/lookup.html", context)


def _lookup_context(ctx: RequestContext) -> dict[str, Any]:
    tenants = list_tenants(ctx.db, ctx.tenant_ids)
    return {
        "tenants": tenants,
        "tenant_names": {t.id: t.name for t in tenants},
        "can_write": ctx.can(Permission.PATIENT_WRITE),
    }


def _run_lookup(request: Request, ctx: RequestContext, form: FormData) -> Response:
    query = {key: str(form.get(key) or "").strip() for key in ("phone", "name", "dob", "tenant_id")}
    tenant_ids = [int(query["tenant_id"])] if query["tenant_id"].isdigit() else None
    context: dict[str, Any] = {"user": ctx.user, "query": query, "searched": True, **_lookup_context(ctx)}
    status = 200
    try:
        context["candidates"] = service.search_patients(
            ctx.db,
            actor=ctx.actor,
            phone=query["phone"] or None,
            name=query["name"] or None,
            dob=query["dob"] or None,
            tenant_ids=tenant_ids,
        )
    except CareLineError as exc:
        context["candidates"], context["error"] = [], exc
        status = exc.status_code
    context["today"] = service.today()
    if request.headers.get("hx-request"):
        # The partial answers 200 so HTMX swaps it in, errors included, wherever it is embedded.
        return render(request, "patients/_lookup_results.html", context)
    return render(request, "patients/lookup.html", context, status_code=status)


@pages.post("/patients/lookup")
async def lookup(request: Request, ctx: Reader) -> Response:
    """Ranked candidates with their reasons; the HTMX partial for the lookup form and the caller panel.

    A POST so the caller's name, number and date of birth stay out of URLs and access logs.
    """
    form = await request.form()
    return await run_in_threadpool(_run_lookup, request, ctx, form)


# --- register -----------------------------------------------------------------------------------------


def _form_page(
    request: Request,
    ctx: RequestContext,
    template: str,
    values: dict[str, Any],
    status: int = 200,
    **extra: Any,
) -> Response:
    context = {"user": ctx.user, "form": values, **_choices(ctx), **extra}
    return render(request, template, context, status_code=status)


def _blank_form(ctx: RequestContext) -> dict[str, Any]:
    tenants = sorted(ctx.tenant_ids)
    values: dict[str, Any] = {name: "" for name in TEXT_FIELDS}
    values.update({name: False for name in CONSENTS})
    values.update(
        tenant_id=tenants[0] if len(tenants) == 1 else "",
        preferred_language="en",
        sex="unknown",
        referral_source="unknown",
        active=True,
        phones=[{"number": "", "kind": "mobile", "is_primary": i == 0} for i in range(PHONE_ROWS)],
    )
    return values


@pages.get("/patients/new")
def new_page(request: Request, ctx: Writer) -> Response:
    """The registration form."""
    return _form_page(request, ctx, "patients/new.html", _blank_form(ctx))


def _create(request: Request, ctx: RequestContext, form: FormData) -> Response:
    values = _form_values(form)
    fields = _service_fields(values)
    try:
        patient = service.create_patient(
            ctx.db,
            tenant_id=values["tenant_id"] or None,  # type: ignore[arg-type]
            actor=ctx.actor,
            confirm_new=form.get("confirm_new") in ("1", "true", "on"),
            **fields,
        )
    except service.DuplicatePatients as dup:
        # Rendered, not raised: the audit row of the candidates shown commits with the response.
        return _form_page(
            request, ctx, "patients/new.html", values, 409, duplicates=dup.candidates, today=service.today()
        )
    except CareLineError as exc:
        return _form_page(request, ctx, "patients/new.html", values, exc.status_code, error=exc)
    return RedirectResponse(f"/patients/{patient.id}?created=1", status_code=303)


@pages.post("/patients/new")
async def create(request: Request, ctx: Writer) -> Response:
    """Register from the form: errors beside their fields, look-alikes with a 'register anyway' button."""
    form = await request.form()
    return await run_in_threadpool(_create, request, ctx, form)


# --- view and edit ------------------------------------------------------------------------------------


def _view(
    request: Request,
    ctx: RequestContext,
    patient: Patient,
    values: dict[str, Any] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    from careline.directory.models import InsurancePlan, Provider

    plan = ctx.db.get(InsurancePlan, patient.insurance_plan_id) if patient.insurance_plan_id else None
    pcp = ctx.db.get(Provider, patient.pcp_provider_id) if patient.pcp_provider_id else None
    context = {
        "patient": patient,
        "plan": plan,
        "pcp": pcp,
        "language": languages.language_name(patient.preferred_language),
        "referral": REFERRAL_LABELS.get(patient.referral_source, str(patient.referral_source)),
        "age": patient.age_on(service.today()),
        "format_phone": format_phone,
        **extra,
    }
    return _form_page(
        request, ctx, "patients/view.html", values or _patient_values(patient), status, **context
    )


@pages.get("/patients/{patient_id}")
def view_page(
    request: Request, patient_id: int, ctx: Reader, created: bool = False, saved: bool = False
) -> Response:
    """One patient's record with the edit form (audited as patient.read)."""
    patient = service.get_patient(ctx.db, patient_id, actor=ctx.actor)
    return _view(
        request, ctx, patient, created=created, saved=saved, can_write=ctx.can(Permission.PATIENT_WRITE)
    )


def _update(request: Request, ctx: RequestContext, patient_id: int, form: FormData) -> Response:
    values = _form_values(form)
    fields = _service_fields(values)
    fields["active"] = values["active"]
    try:
        patient = service.update_patient(ctx.db, patient_id, actor=ctx.actor, **fields)
    except CareLineError as exc:
        if exc.status_code == 404:
            raise
        # Nothing was changed (the fields are checked before any is set); show the form again.
        patient = service.get_patient(ctx.db, patient_id, actor=ctx.actor)
        return _view(request, ctx, patient, values, exc.status_code, error=exc, can_write=True)
    return RedirectResponse(f"/patients/{patient.id}?saved=1", status_code=303)


@pages.post("/patients/{patient_id}")
async def update(request: Request, patient_id: int, ctx: Writer) -> Response:
    """Save the edit form."""
    form = await request.form()
    return await run_in_threadpool(_update, request, ctx, patient_id, form)
