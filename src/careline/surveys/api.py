"""REST routes for surveys answered on the phone: the questions, a contact's survey, the answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from careline.accounts.permissions import Permission
from careline.surveys import service
from careline.surveys.models import AnsweredVia, Survey
from careline.surveys.schemas import AnswersIn, Question, SurveyStatus
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1/surveys", tags=["surveys"])
Handler = Annotated[RequestContext, Depends(require(Permission.CONTACT_HANDLE))]
NOT_FOUND = {404: {"description": "no such survey among your clients"}}


def _status(survey: Survey) -> SurveyStatus:
    return SurveyStatus(
        id=survey.id,
        contact_id=survey.contact_id,
        channel=str(survey.channel),
        sent_at=survey.sent_at,
        expires_at=survey.expires_at,
        answered=survey.answered_at is not None,
        via=str(survey.via) if survey.via else None,
    )


@api.get("/questions", response_model=list[Question])
def questions(ctx: Handler) -> list[Question]:
    """The survey's questions, in order, as the web page asks them (for the voice channel)."""
    return [Question.model_validate(q) for q in service.QUESTIONS]


@api.get("/by-contact/{contact_id}", response_model=SurveyStatus, responses=NOT_FOUND)
def for_contact(contact_id: int, ctx: Handler) -> SurveyStatus:
    """The survey made for a contact at wrap-up (404 until the survey job has run)."""
    return _status(service.survey_of_contact(ctx.db, contact_id))


@api.post(
    "/{survey_id}/answers",
    response_model=SurveyStatus,
    responses={
        **NOT_FOUND,
        409: {"description": "already answered, or expired"},
        422: {"description": "invalid answers"},
    },
)
def answer_by_phone(survey_id: int, body: AnswersIn, ctx: Handler) -> SurveyStatus:
    """Record answers given on the phone; a survey takes one answer only."""
    survey = service.get_survey(ctx.db, survey_id)
    answers = service.validate_answers(
        csat=body.csat, nps=body.nps, need_met=body.need_met, comment=body.comment
    )
    service.answer(ctx.db, survey, answers, via=AnsweredVia.PHONE, actor=ctx.actor)
    return _status(survey)
