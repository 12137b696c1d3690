"""API shapes for escalations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from careline.escalations.models import EscalationStatus, Urgency
from careline.triage.model import Disposition


class RaiseIn(BaseModel):
    contact_id: int
    text: str = Field(
        default="", max_length=5000, description="what the caller said (default: the contact's)"
    )


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    contact_id: int
    status: EscalationStatus
    urgency: Urgency
    kinds: list[str]
    evidence: list[dict]
    advice: str
    suggested_disposition: Disposition
    raised_at: datetime
    realerts: int
    supervisor_notified_at: datetime | None
    oncall_notified_at: datetime | None
    accepted_by_user_id: int | None
    accepted_at: datetime | None
    time_to_clinician_seconds: float | None
    final_disposition: Disposition | None
    lower_reason: str | None
    advice_given: str | None
    resolved_at: datetime | None
    script: str = ""
    waiting_seconds: float | None = None


class QuestionOut(BaseModel):
    id: str
    text: str
    if_yes: Disposition


class AnswerIn(BaseModel):
    question_id: str = Field(min_length=1, max_length=120)
    yes: bool


class ResolveIn(BaseModel):
    disposition: Disposition
    reason: str | None = Field(default=None, max_length=1000)
    advice: str = Field(default="", max_length=5000)
    notes: str = Field(default="", max_length=5000)


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
