"""The public survey page: /survey/{token}, no sign-in; the signed token is the caller's key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from starlette.responses import Response

from careline.audit.service import Actor
from careline.errors import ValidationFailed
from careline.surveys import service
from careline.surveys.models import AnsweredVia
from careline.surveys.service import LinkOutcome
from careline.web.context import PublicContext, public
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)
Visitor = Annotated[PublicContext, Depends(public())]
Submitter = Annotated[PublicContext, Depends(public(csrf=True))]

# Each state of a link: its HTTP status and the message the caller reads.
MESSAGES: dict[str, tuple[int, str, str]] = {
    LinkOutcome.INVALID: (
        404,
        "This link is not valid",
        "This link is not valid. Please check that you copied the whole address from your message.",
    ),
    LinkOutcome.EXPIRED: (
        410,
        "This survey link has expired",
        "This survey link has expired. Thank you all the same for calling us.",
    ),
    LinkOutcome.ANSWERED: (
        200,
        "Thank you",
        "Thank you, we already have your answers. Each survey can be answered once.",
    ),
}


def _scale(low: int, high: int) -> list[int]:
    return list(range(low, high + 1))


def _form(
    request: Request,
    state: service.LinkState,
    token: str,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "token": token,
        "tenant_name": state.tenant_name,
        "csat_scale": _scale(1, 5),
        "nps_scale": _scale(0, 10),
        "questions": {q["field"]: q for q in service.QUESTIONS},
        "values": values or {},
        "error": error,
        "field": field,
    }
    return render(request, "surveys/survey.html", context, status_code=status)


def _message(request: Request, outcome: str, tenant_name: str | None, status: int | None = None) -> Response:
    code, title, text = MESSAGES[outcome]
    return render(
        request,
        "surveys/message.html",
        {"title": title, "text": text, "tenant_name": tenant_name, "outcome": outcome},
        status_code=status or code,
    )


def _state(ctx: PublicContext, token: str) -> service.LinkState:
    return service.open_link(
        ctx.db, token, secret_key=ctx.settings.secret_key, link_days=ctx.settings.survey_link_days
    )


@pages.get("/survey/{token}")
def survey_page(request: Request, token: str, ctx: Visitor) -> Response:
    """The four questions, or a clear message when the link is not valid, expired or already used."""
    state = _state(ctx, token)
    if state.outcome != LinkOutcome.OPEN:
        return _message(request, state.outcome, state.tenant_name)
    return _form(request, state, token)


@pages.post("/survey/{token}")
def survey_submit(
    request: Request,
    token: str,
    ctx: Submitter,
    csat: Annotated[str | None, Form()] = None,
    nps: Annotated[str | None, Form()] = None,
    need_met: Annotated[str | None, Form()] = None,
    comment: Annotated[str | None, Form()] = None,
) -> Response:
    """Store the answers once; a second submit is thanked and refused."""
    state = _state(ctx, token)
    if state.outcome == LinkOutcome.ANSWERED:
        return _message(request, state.outcome, state.tenant_name, status=409)
    if state.outcome != LinkOutcome.OPEN or state.survey is None:
        return _message(request, state.outcome, state.tenant_name)
    values = {"csat": csat, "nps": nps, "need_met": need_met, "comment": comment}
    try:
        answers = service.validate_answers(**values)
    except ValidationFailed as exc:
        return _form(request, state, token, values=values, error=exc.message, field=exc.field, status=422)
    try:
        service.answer(
            ctx.db, state.survey, answers, via=AnsweredVia.LINK, actor=Actor("survey link", ip=ctx.ip)
        )
    except service.AlreadyAnswered:
        return _message(request, LinkOutcome.ANSWERED, state.tenant_name, status=409)
    except service.SurveyExpired:
        return _message(request, LinkOutcome.EXPIRED, state.tenant_name)
    return render(request, "surveys/thanks.html", {"tenant_name": state.tenant_name})
