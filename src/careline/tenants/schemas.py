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
    mrn_prefix: str | None = None
    oncall: dict | None = None

    @classmethod
    def of(cls, tenant: object) -> TenantOut:
        """With the settings people edit (record-number prefix, on-call clinician) brought up."""
        out = cls.model_validate(tenant)
        settings = getattr(tenant, "settings", None) or {}
        return out.model_copy(
            update={"mrn_prefix": settings.get("mrn_prefix"), "oncall": settings.get("oncall")}
        )


class TenantCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "America/Chicago"
    kind: str = Field(default="health_system", max_length=40)


class TenantUpdate(BaseModel):
    """Only the fields given change; an empty string clears an optional one."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=40)
    active: bool | None = None
    mrn_prefix: str | None = Field(default=None, max_length=6)
    oncall_name: str | None = Field(default=None, max_length=200)
    oncall_phone: str | None = Field(default=None, max_length=40)
