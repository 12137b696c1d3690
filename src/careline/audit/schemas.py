"""API shapes for the audit log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    actor: str
    actor_user_id: int | None
    tenant_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    ip: str | None
    detail: dict


class VerifyOut(BaseModel):
    rows: int
    ok: bool
    problems: list[dict]
