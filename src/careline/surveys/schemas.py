"""API shapes for surveys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AnswersIn(BaseModel):
    """Answers given on the phone (the voice channel or an agent reading the questions)."""

    csat: int = Field(ge=1, le=5, description="satisfaction, 1 (very unhappy) to 5 (very happy)")
    nps: int = Field(ge=0, le=10, description="likelihood to recommend, 0 to 10")
    need_met: bool = Field(description="was the caller's need met today?")
    comment: str | None = Field(default=None, max_length=2000)


class SurveyStatus(BaseModel):
    """Whether a contact's survey exists and is answered (no answers: those are report data)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    channel: str
    sent_at: datetime | None
    expires_at: datetime
    answered: bool
    via: str | None


class Question(BaseModel):
    field: str
    text: str
    kind: str
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    labels: dict[int, str] = {}
