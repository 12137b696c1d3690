"""Find-a-doctor pages: the /match form with ranked results, and Refer from a result.

`templates/matching/_results.html` is the results partial; the agent console can include it (or
hx-post to /match with `HX-Request`, which answers with the partial only).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.directory import reference
from careline.directory.models import InsurancePlan
from careline.directory.pagekit import language_choices
from careline.errors import CareLineError, ValidationFailed
from careline.matching import service
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Matcher = Annotated[RequestContext, Depends(require(Permission.MATCH))]
FIELDS = (
    "tenant_id",
    "need",
    "zip",
    "work_zip",
    "patient_id",
    "contact_id",
    "plan_id",
    "language",
    "language_mode",
    "gender",
    "gender_mode",
    "age",
    "max_miles",
    "telehealth",
    "soonest",
    "any_accepting",
    "use_fallback",
)


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def _int(value: Any, field: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed(f"{field.replace('_', ' ')} must be a whole number", field=field)
    return int(text)


def _float(value: Any, field: str) -> float | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(f"{field.replace('_', ' ')} must be a number", field=field) from None


def request_from(values: dict[str, str]) -> service.MatchRequest:
    """The form's fields as a match request (errors name the field)."""
    return service.MatchRequest(
        tenant_id=_int(values.get("tenant_id"), "tenant_id"),
        need=values.get("need") or None,
        zip=values.get("zip") or None,
        work_zip=values.get("work_zip") or None,
        patient_id=_int(values.get("patient_id"), "patient_id"),
        plan_id=_int(values.get("plan_id"), "plan_id"),
        language=values.get("language") or None,
        language_required=values.get("language_mode", "required") != "preferred",
        gender=values.get("gender") or None,
        gender_required=values.get("gender_mode") == "required",
        age=_int(values.get("age"), "age"),
        max_miles=_float(values.get("max_miles"), "max_miles"),
        telehealth=bool(values.get("telehealth")),
        soonest=bool(values.get("soonest")),
        accepting_required=not values.get("any_accepting"),
        use_fallback=bool(values.get("use_fallback")),
    )


def _context(ctx: RequestContext, values: dict[str, str], **extra: Any) -> dict[str, Any]:
    tenants = list_tenants(ctx.db, ctx.tenant_ids)
    plans = list(
        ctx.db.scalars(
            select(InsurancePlan)
            .where(InsurancePlan.tenant_id.in_([t.id for t in tenants]), InsurancePlan.active.is_(True))
            .order_by(InsurancePlan.tenant_id, InsurancePlan.name)
        )
    )
    return {
        "user": ctx.user,
        "tenants": tenants,
        "tenant_names": {t.id: t.name for t in tenants},
        "plans": plans,
        "languages": language_choices(),
        "form": values,
        "result": None,
        "error": None,
        "referred": None,
        "relaxed": [],
        "specialty_name": reference.specialty_name,
        "language_name": reference.language_name,
        "book_url": book_url,
        **extra,
    }


def book_url(c: Any, result: service.MatchResult) -> str | None:
    """The scheduling book form for a result's next opening (None when it has none)."""
    o = c.next_available
    if o is None or o.type_id is None or o.location_id is None:
        return None
    query = {
        "provider_id": c.provider_id,
        "location_id": o.location_id,
        "type_id": o.type_id,
        "start_at": o.start_utc.isoformat(),
    }
    if result.patient_id is not None:
        query["patient_id"] = result.patient_id
    return "/scheduling/book-form?" + urlencode(query)


def _values(source: Any) -> dict[str, str]:
    return {k: str(source.get(k) or "").strip()[:500] for k in FIELDS if source.get(k) is not None}


def _relaxed(values: dict[str, str], apply: dict[str, Any]) -> dict[str, str]:
    """The form's values with one relaxation applied (for the "show these" buttons)."""
    out = dict(values)
    for key, value in apply.items():
        if key == "max_miles":
            out["max_miles"] = f"{value:g}"
        elif key == "language_required":
            out["language_mode"] = "preferred"
        elif key == "gender_required":
            out["gender_mode"] = "preferred"
        elif key == "accepting_required":
            out["any_accepting"] = "on"
        elif key == "use_fallback":
            out["use_fallback"] = "on"
    return out


@pages.get("/match")
def match_page(request: Request, ctx: Matcher) -> Response:
    """The find-a-doctor form (prefilled from ?need=&zip=&patient_id=&contact_id=...)."""
    return render(request, "matching/match.html", _context(ctx, _values(request.query_params)))


@pages.post("/match")
def match_results(request: Request, ctx: Matcher, form: Form) -> Response:
    """Run the match; HTMX gets the results partial, a plain post the whole page."""
    values = _values(form)
    partial = request.headers.get("hx-request") == "true"
    template = "matching/_results.html" if partial else "matching/match.html"
    try:
        result = service.match(ctx.db, request_from(values), actor=ctx.actor)
    except CareLineError as exc:
        ctx.db.rollback()
        return render(request, template, _context(ctx, values, error=exc), status_code=exc.status_code)
    relaxed = [(r, _relaxed(values, r["apply"])) for r in result.relaxations]
    return render(request, template, _context(ctx, values, result=result, relaxed=relaxed))


@pages.post("/match/refer")
def refer(request: Request, ctx: Matcher, form: Form) -> Response:
    """Record the referral of the caller to a result's provider (on the contact when there is one)."""
    try:
        done = service.refer(
            ctx.db,
            actor=ctx.actor,
            user_id=ctx.user.id,
            provider_id=_int(form.get("provider_id"), "provider_id") or 0,
            contact_id=_int(form.get("contact_id"), "contact_id"),
            patient_id=_int(form.get("patient_id"), "patient_id"),
            location_id=_int(form.get("location_id"), "location_id"),
        )
    except CareLineError as exc:
        ctx.db.rollback()
        return render(
            request, "matching/_referred.html", {"user": ctx.user, "error": exc}, status_code=exc.status_code
        )
    return render(request, "matching/_referred.html", {"user": ctx.user, "referred": done, "error": None})
