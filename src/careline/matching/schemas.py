"""API shapes for matching. Field checks that need the database live in the service (errors name fields)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from careline.matching.service import MatchRequest


class MatchIn(BaseModel):
    """The need, the places and the preferences. Give `zip` and/or `work_zip`, or a `patient_id`."""

    tenant_id: int | None = Field(default=None, description="the client; optional when you serve one")
    need: str | None = Field(
        default=None, max_length=500, description='plain words: "knee pain after a fall"'
    )
    specialty: str | None = Field(default=None, max_length=100, description="NUCC code or words")
    zip: str | None = Field(default=None, max_length=200, description="home ZIP, or an address with a ZIP")
    work_zip: str | None = Field(
        default=None, max_length=200, description="work ZIP, or an address with a ZIP"
    )
    patient_id: int | None = Field(
        default=None, description="take places, plan, language and age from the record"
    )
    plan_id: int | None = None
    insurance: str | None = Field(
        default=None, max_length=200, description="a plan by name instead of plan_id"
    )
    language: str | None = Field(default=None, max_length=40, description="ISO 639-1 code or English name")
    language_required: bool = True
    gender: str | None = Field(default=None, max_length=20, description="female, male, nonbinary (f/m)")
    gender_required: bool = False
    age: int | None = Field(default=None, ge=0, le=130)
    telehealth: bool = Field(default=False, description="telehealth is acceptable")
    max_miles: float | None = Field(default=None, gt=0, le=200)
    soonest: bool = Field(default=False, description="rank the soonest opening higher")
    accepting_required: bool = True
    provider_name: str | None = Field(default=None, max_length=100, description='"Kim": is Dr. Kim a fit?')
    use_fallback: bool = Field(default=False, description="search the need's fallback specialties")
    limit: int = Field(default=10, ge=1, le=50)

    def to_request(self) -> MatchRequest:
        return MatchRequest(**self.model_dump())


class SpecialtyOut(BaseModel):
    code: str
    name: str


class NeedOut(BaseModel):
    key: str
    label: str
    matched_phrase: str | None
    from_: str = Field(alias="from")
    specialties: list[SpecialtyOut]
    fallback: list[SpecialtyOut]
    using_fallback: bool
    visit_type: str | None = Field(description="the visit the next openings are for (words, else need)")
    visit_words: str | None = Field(default=None, description='the words naming it ("annual physical")')
    telehealth: bool = Field(default=False, description="the words asked for a telehealth visit")
    excluded: list[SpecialtyOut] = Field(default=[], description='ruled out by the words ("no cardiology")')
    age_group: str | None
    provider_name: str | None

    model_config = {"populate_by_name": True}


class LocationBrief(BaseModel):
    id: int
    name: str
    address: str
    city: str
    zip: str


class OpeningOut(BaseModel):
    start_local: str
    start_utc: str
    location: str | None
    location_id: int | None
    type: str | None
    type_id: int | None


class BookingBody(BaseModel):
    provider_id: int
    location_id: int | None
    type_id: int | None
    start_at: str
    patient_id: int | None


class BookingCall(BaseModel):
    method: str
    path: str
    body: BookingBody


class ResultOut(BaseModel):
    provider_id: int
    name: str
    first_name: str
    last_name: str
    credentials: str
    specialty: str | None
    specialty_code: str | None
    location: LocationBrief
    distance_mi: float | None
    from_: str | None = Field(alias="from")
    languages: list[str]
    gender: str
    accepting_new: bool
    telehealth: bool
    next_available: OpeningOut | None
    score: float
    reasons: list[str]
    booking: BookingCall | None = Field(description="the scheduling call that books the next opening")

    model_config = {"populate_by_name": True}


class PlaceOut(BaseModel):
    name: str
    zip: str | None
    lat: float
    lon: float


class RelaxationOut(BaseModel):
    relax: str = Field(description="distance, language, gender, specialty or accepting")
    description: str
    count: int
    capped: bool = Field(description="the count reached the counting cap (there are more)")
    apply: dict[str, Any] = Field(description="the request fields to change to see these")


class MatchOut(BaseModel):
    tenant_id: int
    need: NeedOut
    places: list[PlaceOut]
    patient_id: int | None
    searched: str
    results: list[ResultOut]
    empty_because: str | None
    emptied_by: str | None
    relaxations: list[RelaxationOut]


class ReferralIn(BaseModel):
    provider_id: int
    contact_id: int | None = None
    patient_id: int | None = None
    reason_id: int | None = Field(
        default=None, description="the contact's reason; default: its find_doctor one"
    )
    location_id: int | None = None
    note: str | None = Field(default=None, max_length=500)


class BookingHint(BaseModel):
    provider_id: int
    patient_id: int | None
    location_id: int | None
    contact_id: int | None
    new_patient: bool
    availability: str
    book: str


class ReferralOut(BaseModel):
    tenant_id: int
    provider_id: int
    provider: str
    patient_id: int | None
    contact_id: int | None
    reason_id: int | None
    outcome: str | None
    booking: BookingHint


class SettingsPatch(BaseModel):
    """Replace the client's need overrides and/or weight overrides (see docs/matching.md)."""

    needs: list[dict[str, Any]] | None = None
    weights: dict[str, float] | None = None


class SettingsOut(BaseModel):
    tenant_id: int
    overrides: dict[str, Any]
    weights: dict[str, float]
    needs: list[dict[str, Any]]
