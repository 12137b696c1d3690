"""Shared bits of the directory's browser pages: form parsing, rendering with an error beside its field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from careline.accounts.permissions import Permission
from careline.directory import reference
from careline.errors import CareLineError
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.templating import render

Reader = Annotated[RequestContext, Depends(require(Permission.DIRECTORY_READ))]
Writer = Annotated[RequestContext, Depends(require(Permission.DIRECTORY_WRITE))]


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def page(request: Request, ctx: RequestContext, template: str, status: int = 200, **extra: Any) -> Response:
    """Render a directory page with what every one of them shows (user, clients, write permission)."""
    tenants = list_tenants(ctx.db, ctx.tenant_ids)
    context = {
        "user": ctx.user,
        "tenants": tenants,
        "tenant_names": {t.id: t.name for t in tenants},
        "can_write": ctx.can(Permission.DIRECTORY_WRITE),
        "section": extra.pop("section", ""),
        **extra,
    }
    return render(request, template, context, status_code=status)


def failed(ctx: RequestContext, exc: CareLineError) -> int:
    """Undo the request's half-done work and give the status for re-showing the form with the error."""
    ctx.db.rollback()
    return exc.status_code


def see_other(path: str) -> Response:
    """Redirect after a successful POST."""
    return RedirectResponse(path, status_code=303)


def text(form: FormData, name: str) -> str:
    """A single text field ('' when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def checked(form: FormData, name: str) -> bool:
    """A checkbox: present means ticked."""
    return form.get(name) is not None


def ids(form: FormData, name: str) -> list[int]:
    """All integer values of a repeated field (multi-select, checkboxes)."""
    out = []
    for value in form.getlist(name):
        if isinstance(value, str) and value.strip().isdigit():
            out.append(int(value))
    return out


def lines(form: FormData, name: str) -> list[str]:
    """A textarea or text field split on new lines and ';'."""
    raw = text(form, name).replace(";", "\n")
    return [part.strip() for part in raw.splitlines() if part.strip()]


def form_tenant(form: FormData) -> int | None:
    """The client chosen in a create form."""
    value = text(form, "tenant_id")
    return int(value) if value.isdigit() else None


def specialty_choices() -> list[tuple[str, str]]:
    """(code, 'plain name (code)') sorted by plain name, for selects."""
    specs = sorted(reference.specialties().values(), key=lambda s: s.plain.lower())
    return [(s.code, f"{s.plain} ({s.code})") for s in specs]


def language_choices() -> list[tuple[str, str]]:
    """(code, name): the common ones first, then all by name."""
    common = [
        "en",
        "es",
        "pl",
        "zh",
        "ar",
        "tl",
        "ko",
        "ru",
        "vi",
        "hi",
        "ur",
        "uk",
        "el",
        "it",
        "fr",
        "de",
        "gu",
    ]
    rest = sorted((c for c in reference.LANGUAGES if c not in common), key=lambda c: reference.LANGUAGES[c])
    return [(c, reference.LANGUAGES[c]) for c in common + rest]
