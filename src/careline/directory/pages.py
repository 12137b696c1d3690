"""Browser pages of the directory: provider search and profiles (this module), locations and plans
(pages_places), routing and CSV (pages_routing). Admins edit; everyone with directory access reads."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.responses import Response

from careline.directory import pages_places, pages_routing, reference, service
from careline.directory.models import Gender, InsurancePlan, Location, Provider
from careline.directory.pagekit import (
    Form,
    Reader,
    Writer,
    checked,
    failed,
    form_tenant,
    ids,
    language_choices,
    lines,
    page,
    see_other,
    specialty_choices,
    text,
)
from careline.errors import CareLineError, ValidationFailed
from careline.web.context import RequestContext
from careline.web.routing import router

pages = router(include_in_schema=False)
PAGE_SIZE = 25


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


@pages.get("/directory")
def provider_search(
    request: Request,
    ctx: Reader,
    tenant_id: str | None = None,
    q: str | None = None,
    specialty: str | None = None,
    language: str | None = None,
    location_id: str | None = None,
    accepting: str | None = None,
    plan_id: str | None = None,
    age: str | None = None,
    page_no: str | None = None,
) -> Response:
    """Find a provider by name, specialty, language, location, plan, new-patient status and age."""
    filters = {
        "tenant_id": tenant_id or "",
        "q": (q or "")[:200],
        "specialty": (specialty or "")[:100],
        "language": (language or "")[:40],
        "location_id": location_id or "",
        "accepting": accepting or "",
        "plan_id": plan_id or "",
        "age": age or "",
    }
    number = max(1, _int(page_no) or 1)
    error = None
    rows: list[Provider] = []
    total = 0
    try:
        rows, total = service.search_providers(
            ctx.db,
            tenant_id=_int(tenant_id),
            q=filters["q"] or None,
            specialty=filters["specialty"] or None,
            language=filters["language"] or None,
            location_id=_int(location_id),
            accepting={"yes": True, "no": False}.get(filters["accepting"]),
            plan_id=_int(plan_id),
            age=_int(age),
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
    except CareLineError as exc:
        error = exc
    context: dict[str, Any] = {
        "rows": rows,
        "total": total,
        "page_no": number,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "filters": filters,
        "error": error,
        "specialty_name": reference.specialty_name,
        "language_name": reference.language_name,
    }
    if request.headers.get("hx-request"):
        return page(request, ctx, "directory/_provider_results.html", **context)
    context.update(
        specialties=specialty_choices(),
        languages=language_choices(),
        plans=service.list_plans(ctx.db, limit=500)[0],
    )
    return page(request, ctx, "directory/providers.html", section="providers", **context)


def _choices(ctx: RequestContext, tenant: int | None) -> dict[str, Any]:
    loc_stmt = select(Location).where(Location.active.is_(True)).order_by(Location.name).limit(3000)
    plan_stmt = select(InsurancePlan).where(InsurancePlan.active.is_(True)).order_by(InsurancePlan.name)
    if tenant is not None:
        loc_stmt = loc_stmt.where(Location.tenant_id == tenant)
        plan_stmt = plan_stmt.where(InsurancePlan.tenant_id == tenant)
    return {
        "locations": list(ctx.db.scalars(loc_stmt)),
        "plans": list(ctx.db.scalars(plan_stmt)),
        "specialties": specialty_choices(),
        "genders": [g.value for g in Gender],
    }


def _provider_form(p: Provider) -> dict[str, Any]:
    return {
        "npi": p.npi,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "credentials": p.credentials,
        "gender": str(p.gender),
        "bio": p.bio,
        "accepting_new_patients": p.accepting_new_patients,
        "telehealth": p.telehealth,
        "sees_pediatric": p.sees_pediatric,
        "sees_adult": p.sees_adult,
        "sees_geriatric": p.sees_geriatric,
        "min_age": "" if p.min_age is None else p.min_age,
        "max_age": "" if p.max_age is None else p.max_age,
        "visit_reasons": "\n".join(p.visit_reasons or []),
        "conditions": "\n".join(p.conditions or []),
        "primary_specialty": p.specialties[0].taxonomy_code if p.specialties else "",
        "specialties": [s.taxonomy_code for s in p.specialties[1:]],
        "languages": ", ".join(x.language for x in p.languages),
        "location_ids": [link.location_id for link in p.location_links],
        "plans": [link.plan_id for link in p.plan_links],
        "plans_closed": [link.plan_id for link in p.plan_links if not link.accepting_new],
        "active": p.active,
    }


def _submitted(form: FormData, *, editing: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(service fields, form values to show again) from a provider form."""
    primary = text(form, "primary_specialty")
    others = [c for c in form.getlist("specialties") if isinstance(c, str) and c and c != primary]
    plans, closed = ids(form, "plans"), set(ids(form, "plans_closed"))
    languages = [x.strip() for x in text(form, "languages").replace(";", ",").split(",") if x.strip()]
    fields: dict[str, Any] = {
        "npi": text(form, "npi"),
        "first_name": text(form, "first_name"),
        "last_name": text(form, "last_name"),
        "credentials": text(form, "credentials"),
        "gender": text(form, "gender") or "unknown",
        "bio": text(form, "bio"),
        "min_age": text(form, "min_age") or None,
        "max_age": text(form, "max_age") or None,
        "visit_reasons": lines(form, "visit_reasons"),
        "conditions": lines(form, "conditions"),
        "specialties": ([primary] if primary else []) + others,
        "languages": languages,
        "location_ids": ids(form, "location_ids"),
        "plans": [
            {"plan_id": i, "accepting_new": i not in closed} for i in dict.fromkeys(plans + sorted(closed))
        ],
    }
    for flag in ("accepting_new_patients", "telehealth", "sees_pediatric", "sees_adult", "sees_geriatric"):
        fields[flag] = checked(form, flag)
    if editing:
        fields["active"] = checked(form, "active")
    shown = {
        **fields,
        "visit_reasons": text(form, "visit_reasons"),
        "conditions": text(form, "conditions"),
        "primary_specialty": primary,
        "specialties": others,
        "languages": text(form, "languages"),
        "plans": plans,
        "plans_closed": sorted(closed),
        "min_age": text(form, "min_age"),
        "max_age": text(form, "max_age"),
        "tenant_id": text(form, "tenant_id"),
    }
    return fields, shown


NEW_PROVIDER = {
    "gender": "unknown",
    "accepting_new_patients": True,
    "sees_adult": True,
    "sees_geriatric": True,
    "languages": "en",
    "active": True,
}


@pages.get("/directory/providers/new")
def provider_new(request: Request, ctx: Writer, tenant_id: str | None = None) -> Response:
    """The form to add a provider."""
    tid = _int(tenant_id)
    form = {**NEW_PROVIDER, "tenant_id": tid or ""}
    return page(
        request, ctx, "directory/provider_new.html", section="providers", f=form, **_choices(ctx, tid)
    )


@pages.post("/directory/providers")
def provider_create(request: Request, ctx: Writer, form: Form) -> Response:
    """Add a provider from the form; an error comes back beside its field."""
    fields, shown = _submitted(form, editing=False)
    tid = form_tenant(form)
    try:
        if tid is None:
            raise ValidationFailed("choose the client this provider works for", field="tenant_id")
        provider = service.create_provider(ctx.db, tenant_id=tid, **fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        choices = _choices(ctx, tid)
        return page(
            request,
            ctx,
            "directory/provider_new.html",
            status,
            section="providers",
            f=shown,
            error=exc,
            **choices,
        )
    ctx.audit("directory.provider.create", tenant_id=tid, object_type="provider", object_id=provider.id)
    return see_other(f"/directory/providers/{provider.id}?saved=1")


def _profile(
    request: Request, ctx: RequestContext, provider: Provider, status: int = 200, **extra: Any
) -> Response:
    context = {
        "p": provider,
        "summary": service.provider_summary(provider),
        "specialty_name": reference.specialty_name,
        "language_name": reference.language_name,
        "age_groups": service.age_groups(provider),
        "location_status": {
            link.location_id: service.next_open_text(link.location) for link in provider.location_links
        },
        "f": extra.pop("f", None) or _provider_form(provider),
        **_choices(ctx, provider.tenant_id),
        **extra,
    }
    return page(request, ctx, "directory/provider.html", status, section="providers", **context)


@pages.get("/directory/providers/{provider_id}")
def provider_view(request: Request, provider_id: int, ctx: Reader, saved: str | None = None) -> Response:
    """A provider's profile; admins also get the edit form."""
    return _profile(request, ctx, service.get_provider(ctx.db, provider_id), saved=bool(saved))


@pages.post("/directory/providers/{provider_id}")
def provider_update(request: Request, provider_id: int, ctx: Writer, form: Form) -> Response:
    """Save the edit form (untick 'active' to deactivate)."""
    provider = service.get_provider(ctx.db, provider_id)
    fields, shown = _submitted(form, editing=True)
    try:
        service.update_provider(ctx.db, provider_id, fields)
    except CareLineError as exc:
        status = failed(ctx, exc)
        return _profile(request, ctx, service.get_provider(ctx.db, provider_id), status, f=shown, error=exc)
    ctx.audit(
        "directory.provider.update",
        tenant_id=provider.tenant_id,
        object_type="provider",
        object_id=provider.id,
    )
    return see_other(f"/directory/providers/{provider_id}?saved=1")


pages.include_router(pages_places.pages)
pages.include_router(pages_routing.pages)
