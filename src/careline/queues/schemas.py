"""API shapes for queues, presence, offers, callbacks, live figures and next steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from careline.contacts.intents import Intent
from careline.contacts.models import ContactStatus
from careline.queues.models import CallbackStatus, EntryKind, EntryState, PresenceState


class QueueIn(BaseModel):
    tenant_id: int
    name: str = Field(min_length=1, max_length=100)
    skill: str = Field(min_length=1, max_length=60, description="agents with this skill take its contacts")
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher is served first")
    service_level_seconds: int = Field(default=30, ge=1, le=3600)
    active: bool = True


class QueuePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    skill: str | None = Field(default=None, min_length=1, max_length=60)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    service_level_seconds: int | None = Field(default=None, ge=1, le=3600)
    active: bool | None = None


class QueueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    name: str
    skill: str
    priority: int
    service_level_seconds: int
    active: bool


class QueueStatsOut(BaseModel):
    queue_id: int
    tenant_id: int
    name: str
    skill: str
    service_level_seconds: int
    since: datetime
    waiting: int
    offered_now: int
    longest_wait_seconds: float
    entered: int
    answered: int
    answered_within_target: int
    abandoned: int
    abandoned_within_target: int
    callbacks_requested: int
    service_level: float | None
    abandonment_rate: float | None
    average_answer_seconds: float | None
    agents: dict[str, int]


class PresenceIn(BaseModel):
    state: PresenceState
    reason: str = Field(default="", max_length=100)


class PresenceOut(BaseModel):
    user_id: int
    state: PresenceState
    reason: str
    since: datetime | None
    last_idle_at: datetime | None
    current_contact_id: int | None
    offer_contact_id: int | None
    skills: list[str]


class SkillsIn(BaseModel):
    skills: list[str] = Field(max_length=50)


class AgentOut(BaseModel):
    user_id: int
    name: str
    role: str
    state: PresenceState
    reason: str
    since: datetime | None
    last_idle_at: datetime | None
    skills: list[str]
    current_contact_id: int | None
    offer_contact_id: int | None
    tenant_ids: list[int]


class OfferOut(BaseModel):
    contact_id: int
    tenant_id: int
    queue_id: int
    queue: str
    kind: EntryKind
    callback_id: int | None
    red_flag: bool
    caller_number: str | None
    waited_seconds: float
    offered_at: datetime | None
    expires_at: datetime | None


class AcceptOut(BaseModel):
    contact_id: int
    status: ContactStatus
    agent_user_id: int | None


class OfferResult(BaseModel):
    offer: OfferOut | None = Field(description="the contact offered to me, or null when none is for me")


class EnqueueIn(BaseModel):
    queue_id: int | None = Field(default=None, description="the queue; chosen from the contact when absent")
    escalate: bool = Field(default=False, description="ahead of every caller without a red flag")


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    contact_id: int
    queue_id: int
    kind: EntryKind
    priority: int
    state: EntryState
    entered_at: datetime
    offered_to_user_id: int | None
    offer_expires_at: datetime | None


class CallbackIn(BaseModel):
    contact_id: int | None = Field(default=None, description="the contact the callback is for")
    tenant_id: int | None = Field(default=None, description="the client, when there is no contact")
    number: str | None = Field(default=None, max_length=40, description="defaults to the caller's number")
    due_at: datetime | None = Field(default=None, description="when to call; now when absent")
    queue_id: int | None = None
    patient_id: int | None = None
    note: str = Field(default="", max_length=2000)
    max_attempts: int = Field(default=3, ge=1, le=10)


class CallbackDone(BaseModel):
    reached: bool = Field(description="true when the caller was reached; false tries again later")
    note: str = Field(default="", max_length=2000)


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    contact_id: int | None
    patient_id: int | None
    queue_id: int | None
    number: str
    due_at: datetime
    place_at: datetime | None
    status: CallbackStatus
    attempts: int
    max_attempts: int
    note: str
    outbound_contact_id: int | None
    result: str
    created_at: datetime
    completed_at: datetime | None


class NextStepOut(BaseModel):
    kind: str = Field(
        description="escalate, nurse, scheduling, find_doctor, location_info, department, "
        "departments, outside_resources or message"
    )
    label: str
    intent: Intent | None
    reason_id: int | None
    urgent: bool
    action: str | None
    link: str | None
    api: str | None
    department: dict[str, Any] | None
    departments: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    locations: list[dict[str, Any]]
    queue: dict[str, Any] | None
    detail: dict[str, Any]
