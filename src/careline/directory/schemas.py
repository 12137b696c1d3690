"""API shapes for the directory. Field checks live in the services so each error names its field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from careline.directory import reference
from careline.directory.models import Department, InsurancePlan, Location, OutsideResource, Provider
from careline.kit.clock import utcnow

Hours = dict[str, list[list[str]]] | str


class ClosureIn(BaseModel):
    date: date
    reason: str = Field(default="", max_length=200)


class ClosureOut(ClosureIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class LocationPatch(BaseModel):
    """Fields to change; hours as {"mon": [["08:00", "17:00"]]} or text 'Mon-Fri 08:00-17:00'."""

    name: str | None = Field(default=None, max_length=200)
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=2)
    zip: str | None = Field(default=None, max_length=10)
    phone: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=64)
    parking: str | None = Field(default=None, max_length=2000)
    directions: str | None = Field(default=None, max_length=2000)
    accessibility: str | None = Field(default=None, max_length=2000)
    hours: Hours | None = None
    closures: list[ClosureIn] | None = None
    active: bool | None = None


class LocationIn(LocationPatch):
    tenant_id: int
    name: str = Field(max_length=200)
    address_line1: str = Field(max_length=200)
    zip: str = Field(max_length=10)
    active: bool = True


class LocationOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    address_line1: str
    address_line2: str | None
    city: str
    state: str
    zip: str
    lat: float
    lon: float
    timezone: str
    phone: str | None
    parking: str | None
    directions: str | None
    accessibility: str | None
    hours: dict[str, list[list[str]]]
    hours_text: str
    closures: list[ClosureOut]
    active: bool
    open_now: bool
    status: str

    @classmethod
    def of(cls, location: Location, at: datetime | None = None) -> LocationOut:
        from careline.directory import service

        at = at or utcnow()
        return cls(
            **{k: getattr(location, k) for k in cls.model_fields if hasattr(Location, k) and k != "closures"},
            hours_text=service.hours_text(location),
            closures=[ClosureOut.model_validate(c) for c in location.closures],
            open_now=service.location_is_open(location, at),
            status=service.next_open_text(location, at),
        )


class LocationPage(BaseModel):
    items: list[LocationOut]
    total: int
    limit: int
    offset: int


class PlanPatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    payer: str | None = Field(default=None, max_length=200)
    plan_type: str | None = Field(default=None, max_length=40)
    active: bool | None = None


class PlanIn(PlanPatch):
    tenant_id: int
    name: str = Field(max_length=200)
    payer: str = Field(default="", max_length=200)
    plan_type: str = Field(default="", max_length=40)
    active: bool = True


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    name: str
    payer: str
    plan_type: str
    active: bool


class PlanLinkIn(BaseModel):
    plan_id: int
    accepting_new: bool = True


class ProviderPatch(BaseModel):
    """Fields to change; a list given replaces the old list (specialties: first is primary)."""

    npi: str | None = Field(default=None, max_length=20)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    credentials: str | None = Field(default=None, max_length=60)
    gender: str | None = Field(default=None, max_length=20)
    bio: str | None = Field(default=None, max_length=4000)
    accepting_new_patients: bool | None = None
    telehealth: bool | None = None
    sees_pediatric: bool | None = None
    sees_adult: bool | None = None
    sees_geriatric: bool | None = None
    min_age: int | None = None
    max_age: int | None = None
    visit_reasons: list[str] | None = None
    conditions: list[str] | None = None
    specialties: list[str] | None = Field(default=None, description="NUCC taxonomy codes, primary first")
    languages: list[str] | None = Field(default=None, description="ISO 639-1 codes such as en, es, pl")
    location_ids: list[int] | None = None
    plans: list[PlanLinkIn] | None = None
    active: bool | None = None


class ProviderIn(ProviderPatch):
    tenant_id: int
    npi: str = Field(max_length=20)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    active: bool = True


class SpecialtyOut(BaseModel):
    code: str
    name: str
    is_primary: bool


class LanguageOut(BaseModel):
    code: str
    name: str


class PlaceOut(BaseModel):
    id: int
    name: str
    city: str
    zip: str


class PlanLinkOut(BaseModel):
    plan_id: int
    name: str
    accepting_new: bool


class ProviderOut(BaseModel):
    id: int
    tenant_id: int
    npi: str
    first_name: str
    last_name: str
    credentials: str
    display_name: str
    gender: str
    bio: str
    accepting_new_patients: bool
    telehealth: bool
    sees_pediatric: bool
    sees_adult: bool
    sees_geriatric: bool
    min_age: int | None
    max_age: int | None
    visit_reasons: list[str]
    conditions: list[str]
    specialties: list[SpecialtyOut]
    languages: list[LanguageOut]
    locations: list[PlaceOut]
    plans: list[PlanLinkOut]
    active: bool
    summary: str

    @classmethod
    def of(cls, p: Provider) -> ProviderOut:
        from careline.directory.service import provider_summary

        simple = {k: getattr(p, k) for k in cls.model_fields if k not in _PROVIDER_LISTS}
        return cls(
            **simple,
            specialties=[
                SpecialtyOut(
                    code=s.taxonomy_code,
                    name=reference.specialty_name(s.taxonomy_code),
                    is_primary=s.is_primary,
                )
                for s in p.specialties
            ],
            languages=[
                LanguageOut(code=x.language, name=reference.language_name(x.language)) for x in p.languages
            ],
            locations=[
                PlaceOut(
                    id=link.location.id,
                    name=link.location.name,
                    city=link.location.city,
                    zip=link.location.zip,
                )
                for link in p.location_links
            ],
            plans=[
                PlanLinkOut(plan_id=link.plan_id, name=link.plan.name, accepting_new=link.accepting_new)
                for link in p.plan_links
            ],
            summary=provider_summary(p),
        )


_PROVIDER_LISTS = {"specialties", "languages", "locations", "plans", "summary"}


class ProviderPage(BaseModel):
    items: list[ProviderOut]
    total: int
    limit: int
    offset: int


class DepartmentPatch(BaseModel):
    """Fields to change. Hours empty: the location's hours, or around the clock without a location."""

    name: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=40)
    location_id: int | None = None
    phone: str | None = Field(default=None, max_length=40)
    transfer_number: str | None = Field(default=None, max_length=40)
    queue: str | None = Field(default=None, max_length=60)
    timezone: str | None = Field(default=None, max_length=64)
    hours: Hours | None = None
    intents: list[str] | None = None
    description: str | None = Field(default=None, max_length=2000)
    active: bool | None = None


class DepartmentIn(DepartmentPatch):
    tenant_id: int
    name: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    active: bool = True


class DepartmentOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    kind: str
    location_id: int | None
    location_name: str | None
    phone: str | None
    transfer_number: str | None
    queue: str | None
    timezone: str | None
    hours: dict[str, list[list[str]]]
    intents: list[str]
    description: str
    active: bool
    open_now: bool
    status: str

    @classmethod
    def of(cls, session: Any, d: Department, at: datetime | None = None) -> DepartmentOut:
        from careline.directory import service

        at = at or utcnow()
        fields = {k: getattr(d, k) for k in cls.model_fields if hasattr(Department, k)}
        return cls(
            **fields,
            location_name=d.location.name if d.location else None,
            open_now=service.is_open_now(session, d, at),
            status=service.department_next_open_text(session, d, at),
        )


class ResourcePatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=40, description="E.164 or a short code: 911, 988, 211")
    url: str | None = Field(default=None, max_length=300)
    hours: str | None = Field(default=None, max_length=200)
    when_to_use: str | None = Field(default=None, max_length=2000)
    keywords: list[str] | None = None
    intents: list[str] | None = None
    priority: int | None = Field(default=None, ge=0, le=1000)
    active: bool | None = None


class ResourceIn(ResourcePatch):
    tenant_id: int
    name: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    active: bool = True


class ResourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: int
    name: str
    kind: str
    phone: str | None
    url: str | None
    hours: str
    when_to_use: str
    keywords: list[str]
    intents: list[str]
    priority: int
    active: bool


class RowErrorOut(BaseModel):
    line: int
    field: str | None
    message: str


class ImportReport(BaseModel):
    """What a CSV import did: good rows saved, each bad row named by its line number."""

    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]


def plan_of(plan: InsurancePlan) -> PlanOut:
    """PlanOut from a row."""
    return PlanOut.model_validate(plan)


def resource_of(resource: OutsideResource) -> ResourceOut:
    """ResourceOut from a row."""
    return ResourceOut.model_validate(resource)
