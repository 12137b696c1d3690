"""API shapes for contacts and analysis."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from careline.contacts.intents import Intent
from careline.contacts.models import Channel, ContactStatus, Outcome
from careline.triage.model import Disposition


class AnalyzeIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    age: float | None = Field(default=None, ge=0, le=130, description="age in years (0.1 = about 5 weeks)")
    sex: str | None = Field(default=None, pattern="^(f|m|female|male)$")
    pregnant: bool | None = None


class ReasonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    intent: Intent
    text: str
    detected: bool
    outcome: Outcome | None
    outcome_detail: dict[str, Any]
    disposition_code: str | None


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    channel: Channel
    status: ContactStatus
    caller_number: str | None
    caller_name: str | None
    patient_id: int | None
    new_patient: bool
    agent_user_id: int | None
    notes: str
    red_flag: bool
    red_flag_kinds: list[str]
    disposition: Disposition | None
    survey_consent: bool
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    handle_seconds: float | None
    reasons: list[ReasonOut] = []


class ContactStart(BaseModel):
    tenant_id: int | None = Field(default=None, description="the client; or give dialed_number")
    channel: Channel = Channel.PHONE
    caller_number: str | None = Field(default=None, max_length=40)
    dialed_number: str | None = Field(default=None, max_length=40)
    caller_name: str | None = Field(default=None, max_length=200)


class IdentifyIn(BaseModel):
    patient_id: int | None = None
    new_patient: bool = False


class ScreenIn(AnalyzeIn):
    add_reasons: bool = True


class ReasonIn(BaseModel):
    intent: Intent
    text: str = Field(default="", max_length=2000)


class OutcomeIn(BaseModel):
    outcome: Outcome
    detail: dict[str, Any] = Field(default_factory=dict)
    disposition_code: str | None = Field(default=None, max_length=40)


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=5000)


class TransferIn(BaseModel):
    target: str = Field(min_length=1, max_length=200)
    department_id: int | None = None
    reason_id: int | None = None
    warm: bool = True


class DispositionIn(BaseModel):
    disposition: Disposition
    reason: str | None = Field(default=None, max_length=500)


class WrapUpIn(BaseModel):
    notes: str | None = Field(default=None, max_length=5000)
    survey_consent: bool = False
    dispositions: dict[int, str] = Field(default_factory=dict, description="reason id -> disposition code")


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    kind: str
    actor_user_id: int | None
    detail: dict[str, Any]
