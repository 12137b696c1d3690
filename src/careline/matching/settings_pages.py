"""Find-a-doctor settings per client: the ranking weights and the client's own need vocabulary (what
callers say -> which specialties), edited on a page; the rules and validation are the service's."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any

import yaml
from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.errors import CareLineError, NotFound, ValidationFailed
from careline.matching import rules, service
from careline.matching.pages import Form
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Reader = Annotated[RequestContext, Depends(require(Permission.MATCH))]
Manager = Annotated[RequestContext, Depends(require(Permission.TENANT_MANAGE))]

WEIGHT_HELP = {
    "distance": "points for being close (full next door, half at the half-distance below)",
    "specialty": "points for the need's first specialty (later ones score less)",
    "language": "points for speaking the caller's language when it is a preference",
    "gender": "points for the preferred gender when it is a preference",
    "availability": "points for an early next opening",
    "telehealth": "points for offering telehealth when the caller accepts it",
    "visit_reason": "points when the provider lists the need among their visit reasons",
    "accepting": "points for taking new patients when that is not required",
    "half_miles": "miles at which the distance points halve",
    "availability_half_days": "days at which the availability points halve",
    "soonest_factor": "how much more availability counts when the caller wants the soonest",
    "specialty_step": "how much less each later specialty of the need scores",
    "secondary_specialty": "share of the points for a secondary specialty",
    "default_max_miles": "search radius when the caller gives none",
    "relax_distance_factor": "how far the distance relaxation reaches (times the radius)",
    "candidate_cap": "providers read per search (nearest first)",
    "availability_top": "top providers given a next opening",
}


def _tenant_id(ctx: RequestContext, raw: str | None) -> int:
    served = sorted(list_tenants(ctx.db, ctx.tenant_ids), key=lambda t: t.name)
    if not served:
        raise NotFound("you serve no clients")
    if raw in (None, ""):
        return served[0].id
    try:
        tenant_id = int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise ValidationFailed("tenant must be a client id", field="tenant") from None
    if tenant_id not in {t.id for t in served}:
        raise NotFound(f"client {tenant_id} not found")
    return tenant_id


def _page(request: Request, ctx: RequestContext, tenant_id: int, status: int = 200, **extra: Any) -> Response:
    view = service.settings_view(ctx.db, tenant_id)
    overrides = view["overrides"]
    defaults = rules.DEFAULT_WEIGHTS
    context = {
        "user": ctx.user,
        "tenants": list_tenants(ctx.db, ctx.tenant_ids),
        "tenant_id": tenant_id,
        "weights": [
            {
                "name": f.name,
                "value": (overrides.get("weights") or {}).get(f.name, ""),
                "default": getattr(defaults, f.name),
                "effective": view["weights"][f.name],
                "help": WEIGHT_HELP.get(f.name, ""),
            }
            for f in fields(defaults)
        ],
        "needs_text": yaml.safe_dump(overrides.get("needs") or [], sort_keys=False, allow_unicode=True)
        if overrides.get("needs")
        else "",
        "needs": view["needs"],
        "can_edit": ctx.can(Permission.TENANT_MANAGE),
        **extra,
    }
    return render(request, "matching/settings.html", context, status_code=status)


@pages.get("/match/settings")
def settings_page(request: Request, ctx: Reader, tenant: str | None = None) -> Response:
    """The client's ranking weights and need vocabulary (admins edit them)."""
    return _page(request, ctx, _tenant_id(ctx, tenant))


def _weights(form: FormData) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for f in fields(rules.DEFAULT_WEIGHTS):
        raw = str(form.get(f"w_{f.name}") or "").strip()
        if not raw:
            continue  # blank: the default
        try:
            out[f.name] = int(raw) if isinstance(getattr(rules.DEFAULT_WEIGHTS, f.name), int) else float(raw)
        except ValueError:
            raise ValidationFailed(f"{f.name} must be a number", field=f"w_{f.name}") from None
    return out


def _needs(text: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"the vocabulary is not valid YAML: {exc}", field="needs") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ValidationFailed(
            "the vocabulary is a list of entries (each starting with '- key: ...')", "needs"
        )
    return data


@pages.post("/match/settings")
def settings_save(request: Request, ctx: Manager, form: Form) -> Response:
    """Save the weights (blank = default) and the client's vocabulary entries, all checked first."""
    tenant_id = _tenant_id(ctx, str(form.get("tenant") or ""))
    text = str(form.get("needs") or "")
    try:
        weights = _weights(form)
        needs = _needs(text)
        service.update_settings(ctx.db, tenant_id, needs=needs, weights=weights, actor=ctx.actor)
    except CareLineError as exc:
        ctx.db.rollback()
        return _page(request, ctx, tenant_id, exc.status_code, error=exc, typed_needs=text, typed=dict(form))
    return _page(request, ctx, tenant_id, saved=True)
