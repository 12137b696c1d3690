"""API shapes for tenants."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slug: str
    name: str
    kind: str
    timezone: str
    phone: str | None
    active: bool


class TenantCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "America/Chicago"
    kind: str = Field(default="health_system", max_length=40)
