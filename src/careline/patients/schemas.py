"""API shapes for the patient registry."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from careline.kit.phones import format_phone
from careline.patients.models import Patient, PatientPhone, PhoneKind, ReferralSource, Sex


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(max_length=40, examples=["(312) 555-0142"])
    kind: PhoneKind = PhoneKind.MOBILE
    is_primary: bool = False


class _PatientFields(BaseModel):
    """Fields a registration or an edit may set; the service checks and normalises each one."""

    model_config = ConfigDict(extra="forbid")

    preferred_name: str | None = Field(default=None, max_length=100)
    sex: Sex | None = None
    preferred_language: str | None = Field(default=None, max_length=10, examples=["en", "es"])
    email: str | None = Field(default=None, max_length=254)
    address_line1: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=2, examples=["IL"])
    zip: str | None = Field(default=None, max_length=10, examples=["60614"])
    work_zip: str | None = Field(default=None, max_length=10)
    insurance_plan_id: int | None = None
    member_id: str | None = Field(default=None, max_length=40)
    pcp_provider_id: int | None = None
    referral_source: ReferralSource | None = None
    referral_note: str | None = Field(default=None, max_length=500)


class PatientCreate(_PatientFields):
    tenant_id: int
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    dob: str = Field(
        max_length=20, description="YYYY-MM-DD; M/D/YYYY is accepted too", examples=["1961-03-04"]
    )
    consent_sms: bool = False
    consent_voice: bool = False
    consent_email: bool = False
    phones: list[PhoneIn] = Field(default_factory=list, max_length=5)
    confirm_new: bool = Field(default=False, description="register even when similar patients exist")


class PatientPatch(_PatientFields):
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    dob: str | None = Field(default=None, max_length=20)
    consent_sms: bool | None = None
    consent_voice: bool | None = None
    consent_email: bool | None = None
    phones: list[PhoneIn] | None = Field(default=None, max_length=5, description="replaces the list")
    active: bool | None = None


class PhoneOut(BaseModel):
    e164: str
    display: str
    kind: PhoneKind
    is_primary: bool

    @classmethod
    def of(cls, phone: PatientPhone) -> PhoneOut:
        return cls(
            e164=phone.e164, display=format_phone(phone.e164), kind=phone.kind, is_primary=phone.is_primary
        )


class PatientSummary(BaseModel):
    """What a candidate list shows: enough to tell two people apart, not the whole chart."""

    id: int
    tenant_id: int
    mrn: str
    first_name: str
    last_name: str
    preferred_name: str | None
    dob: date
    sex: Sex
    zip: str | None
    phones: list[PhoneOut]

    @classmethod
    def of(cls, p: Patient) -> PatientSummary:
        return cls(
            id=p.id,
            tenant_id=p.tenant_id,
            mrn=p.mrn,
            first_name=p.first_name,
            last_name=p.last_name,
            preferred_name=p.preferred_name,
            dob=p.dob,
            sex=p.sex,
            zip=p.zip,
            phones=[PhoneOut.of(ph) for ph in p.phones],
        )


class PatientOut(PatientSummary):
    preferred_language: str
    email: str | None
    address_line1: str | None
    city: str | None
    state: str | None
    home_lat: float | None
    home_lon: float | None
    work_zip: str | None
    work_lat: float | None
    work_lon: float | None
    insurance_plan_id: int | None
    member_id: str | None
    pcp_provider_id: int | None
    consent_sms: bool
    consent_voice: bool
    consent_email: bool
    referral_source: ReferralSource
    referral_note: str | None
    created_at: datetime
    created_by_user_id: int | None
    updated_at: datetime | None
    active: bool

    @classmethod
    def of(cls, p: Patient) -> PatientOut:
        base = PatientSummary.of(p).model_dump()
        extra = {name: getattr(p, name) for name in cls.model_fields if name not in base}
        return cls(**base, **extra)


class CandidateOut(BaseModel):
    patient: PatientSummary
    score: float = Field(description="0-100; 100 is an exact match")
    reasons: list[str]

    @classmethod
    def of(cls, candidate) -> CandidateOut:  # type: ignore[no-untyped-def]
        return cls(
            patient=PatientSummary.of(candidate.patient), score=candidate.score, reasons=candidate.reasons
        )


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    dob: str | None = Field(default=None, max_length=20)
    tenant_id: int | None = Field(default=None, description="only this tenant's patients")
    limit: int = Field(default=10, ge=1, le=50)


class DuplicateOut(BaseModel):
    error: str = "conflict"
    message: str
    candidates: list[CandidateOut]
