"""API shapes for scheduling."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from careline.directory.models import Location, Provider
from careline.scheduling import rules
from careline.scheduling.availability import Availability, SlotView
from careline.scheduling.models import (
    Appointment,
    AppointmentHistory,
    AppointmentStatus,
    AppointmentType,
    AvailabilityTemplate,
    CalendarException,
    CancelReason,
    ExceptionKind,
    Modality,
    PatientKind,
    WaitlistEntry,
    WaitlistStatus,
)

Clock = Field(pattern=r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$|^24:00$", examples=["08:00"])


# --- configuration ------------------------------------------------------------------------------------


class _TypeFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_kind: PatientKind | None = None
    modality: Modality | None = None
    preparation: str | None = Field(default=None, max_length=4000)
    min_notice_minutes: int | None = Field(default=None, ge=0, description="minimum notice before the start")
    max_days_ahead: int | None = Field(default=None, ge=0, description="bookable up to this many days out")
    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)
    referral_required: bool | None = None
    specialty_codes: list[str] | None = Field(default=None, description="NUCC taxonomy codes; empty: any")
    provider_ids: list[int] | None = Field(default=None, description="only these providers; empty: any")


class AppointmentTypeIn(_TypeFields):
    tenant_id: int
    name: str = Field(max_length=100, examples=["New patient visit"])
    duration_minutes: int = Field(ge=5, le=480, examples=[40])


class AppointmentTypePatch(_TypeFields):
    name: str | None = Field(default=None, max_length=100)
    duration_minutes: int | None = Field(default=None, ge=5, le=480)
    active: bool | None = None


class AppointmentTypeOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    duration_minutes: int
    patient_kind: PatientKind
    modality: Modality
    preparation: str
    min_notice_minutes: int
    max_days_ahead: int
    min_age: int | None
    max_age: int | None
    referral_required: bool
    specialty_codes: list[str]
    provider_ids: list[int]
    active: bool

    @classmethod
    def of(cls, t: AppointmentType) -> AppointmentTypeOut:
        return cls(
            id=t.id,
            tenant_id=t.tenant_id,
            name=t.name,
            duration_minutes=t.duration_minutes,
            patient_kind=t.patient_kind,
            modality=t.modality,
            preparation=t.preparation,
            min_notice_minutes=t.min_notice_minutes,
            max_days_ahead=t.max_days_ahead,
            min_age=t.min_age,
            max_age=t.max_age,
            referral_required=t.referral_required,
            specialty_codes=list(t.specialty_codes or []),
            provider_ids=[int(i) for i in t.provider_ids or []],
            active=t.active,
        )


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_id: int
    location_id: int
    weekday: int | str = Field(description="0 = Monday ... 6 = Sunday, or a name", examples=[0, "tue"])
    start_local: str = Clock
    end_local: str = Clock
    slot_minutes: int = Field(default=15, ge=5, le=240, description="open times start on this grid")
    effective_from: date | None = None
    effective_to: date | None = None
    reserved_type_id: int | None = Field(default=None, description="keep the window for this type")
    release_at_local: str | None = Field(
        default=None, pattern=r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$", description="open to all from then"
    )
    release_days_before: int = Field(default=0, ge=0, le=60)


class TemplatePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: int | None = None
    weekday: int | str | None = None
    start_local: str | None = None
    end_local: str | None = None
    slot_minutes: int | None = Field(default=None, ge=5, le=240)
    effective_from: date | None = None
    effective_to: date | None = None
    reserved_type_id: int | None = None
    release_at_local: str | None = None
    release_days_before: int | None = Field(default=None, ge=0, le=60)


class TemplateOut(BaseModel):
    id: int
    tenant_id: int
    provider_id: int
    location_id: int
    weekday: int
    weekday_name: str
    start_local: str
    end_local: str
    slot_minutes: int
    effective_from: date
    effective_to: date | None
    reserved_type_id: int | None
    release_at_local: str | None
    release_days_before: int

    @classmethod
    def of(cls, t: AvailabilityTemplate) -> TemplateOut:
        return cls(
            id=t.id,
            tenant_id=t.tenant_id,
            provider_id=t.provider_id,
            location_id=t.location_id,
            weekday=t.weekday,
            weekday_name=rules.WEEKDAY_NAMES[t.weekday],
            start_local=t.start_local,
            end_local=t.end_local,
            slot_minutes=t.slot_minutes,
            effective_from=t.effective_from,
            effective_to=t.effective_to,
            reserved_type_id=t.reserved_type_id,
            release_at_local=t.release_at_local,
            release_days_before=t.release_days_before,
        )


class ExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: int | None = Field(
        default=None, description="for a tenant-wide holiday (no provider, location)"
    )
    provider_id: int | None = None
    location_id: int | None = None
    starts_at: datetime = Field(description="with its UTC offset", examples=["2026-12-24T00:00:00-06:00"])
    ends_at: datetime
    kind: ExceptionKind = ExceptionKind.OTHER
    reason: str = Field(default="", max_length=200)


class ExceptionOut(BaseModel):
    id: int
    tenant_id: int
    provider_id: int | None
    location_id: int | None
    starts_at: datetime
    ends_at: datetime
    kind: ExceptionKind
    reason: str

    @classmethod
    def of(cls, e: CalendarException) -> ExceptionOut:
        return cls(
            id=e.id,
            tenant_id=e.tenant_id,
            provider_id=e.provider_id,
            location_id=e.location_id,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            kind=e.kind,
            reason=e.reason,
        )


# --- availability ---------------------------------------------------------------------------------


class SlotOut(BaseModel):
    provider_id: int
    provider_name: str
    location_id: int
    location_name: str
    type_id: int
    type_name: str
    start_at: datetime
    end_at: datetime
    start_local: datetime = Field(description="the start on the location's clock, with its offset")
    timezone: str
    distance_miles: float | None = None

    @classmethod
    def of(cls, s: SlotView) -> SlotOut:
        return cls(
            provider_id=s.provider_id,
            provider_name=s.provider_name,
            location_id=s.location_id,
            location_name=s.location_name,
            type_id=s.type_id,
            type_name=s.type_name,
            start_at=s.start_at,
            end_at=s.end_at,
            start_local=s.start_local,
            timezone=s.timezone,
            distance_miles=s.distance_miles,
        )


class ExcludedOut(BaseModel):
    provider_id: int
    reason: str


class AvailabilityOut(BaseModel):
    slots: list[SlotOut]
    excluded: list[ExcludedOut]
    date_from: date | None
    date_to: date | None

    @classmethod
    def of(cls, a: Availability) -> AvailabilityOut:
        return cls(
            slots=[SlotOut.of(s) for s in a.slots],
            excluded=[ExcludedOut(provider_id=p, reason=r) for p, r in a.excluded.items()],
            date_from=a.date_from,
            date_to=a.date_to,
        )


# --- booking ------------------------------------------------------------------------------------------


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_id: int
    location_id: int
    type_id: int
    patient_id: int
    start_at: datetime = Field(
        description="an open start, with its UTC offset", examples=["2026-12-08T15:00:00Z"]
    )
    has_referral: bool = False
    referral_source: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    contact_id: int | None = Field(default=None, description="the call this was booked on")


class HoldIn(BookIn):
    minutes: int = Field(default=5, ge=1, le=30, description="how long the time is held")


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    has_referral: bool | None = None
    note: str | None = Field(default=None, max_length=2000)


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_at: datetime
    provider_id: int | None = None
    location_id: int | None = None
    type_id: int | None = None
    note: str | None = Field(default=None, max_length=2000)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: CancelReason = Field(examples=["patient_request"])
    note: str | None = Field(default=None, max_length=500)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AppointmentStatus = Field(description="arrived, fulfilled or noshow")


class AppointmentOut(BaseModel):
    id: int
    tenant_id: int
    status: AppointmentStatus
    provider_id: int
    provider_name: str
    location_id: int
    location_name: str
    patient_id: int
    type_id: int
    type_name: str
    start_at: datetime
    end_at: datetime
    start_local: datetime
    timezone: str
    hold_expires_at: datetime | None
    cancel_reason: CancelReason | None
    cancel_note: str | None
    booked_by: str
    contact_id: int | None
    has_referral: bool
    referral_source: str | None
    note: str | None
    rescheduled_from_id: int | None
    created_at: datetime
    ics_url: str

    @classmethod
    def of(cls, db: Session, a: Appointment) -> AppointmentOut:
        provider = db.get(Provider, a.provider_id)
        location = db.get(Location, a.location_id)
        kind = db.get(AppointmentType, a.type_id)
        tz = location.timezone if location else "UTC"
        return cls(
            id=a.id,
            tenant_id=a.tenant_id,
            status=a.status,
            provider_id=a.provider_id,
            provider_name=rules.provider_label(provider.first_name, provider.last_name, provider.credentials)
            if provider
            else "",
            location_id=a.location_id,
            location_name=location.name if location else "",
            patient_id=a.patient_id,
            type_id=a.type_id,
            type_name=kind.name if kind else "",
            start_at=a.start_at,
            end_at=a.end_at,
            start_local=a.start_at.astimezone(rules.get_zone(tz)),
            timezone=tz,
            hold_expires_at=a.hold_expires_at,
            cancel_reason=a.cancel_reason,
            cancel_note=a.cancel_note,
            booked_by=a.booked_by,
            contact_id=a.contact_id,
            has_referral=a.has_referral,
            referral_source=a.referral_source,
            note=a.note,
            rescheduled_from_id=a.rescheduled_from_id,
            created_at=a.created_at,
            ics_url=f"/api/v1/scheduling/appointments/{a.id}.ics",
        )


class HistoryOut(BaseModel):
    from_status: AppointmentStatus | None
    to_status: AppointmentStatus
    at: datetime
    actor: str
    note: str

    @classmethod
    def of(cls, h: AppointmentHistory) -> HistoryOut:
        return cls(from_status=h.from_status, to_status=h.to_status, at=h.at, actor=h.actor, note=h.note)


class ViolationOut(BaseModel):
    code: str
    message: str
    field: str | None


class RefusedOut(BaseModel):
    error: str = "validation_error"
    message: str
    violations: list[ViolationOut] = []


class ConflictOut(BaseModel):
    error: str = "conflict"
    message: str
    reason: str | None = Field(default=None, description="provider_busy or patient_busy")
    alternatives: list[SlotOut] = []


# --- waitlist -----------------------------------------------------------------------------------------


class WaitlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: int
    type_id: int
    provider_ids: list[int] = Field(default_factory=list, max_length=200)
    location_id: int | None = None
    earliest_date: date | None = None
    latest_date: date | None = None
    weekdays: list[int | str] = Field(default_factory=list, max_length=7)
    after: str | None = Field(default=None, description="local start at or after, HH:MM")
    before: str | None = Field(default=None, description="local start before, HH:MM")
    current_appointment_id: int | None = Field(default=None, description="the booking to move earlier")
    note: str = Field(default="", max_length=500)


class WaitlistOut(BaseModel):
    id: int
    tenant_id: int
    patient_id: int
    type_id: int
    provider_ids: list[int]
    location_id: int | None
    earliest_date: date
    latest_date: date
    weekdays: list[int]
    after_local: str | None
    before_local: str | None
    current_appointment_id: int | None
    status: WaitlistStatus
    offer_appointment_id: int | None
    offered_at: datetime | None
    note: str
    created_at: datetime

    @classmethod
    def of(cls, e: WaitlistEntry) -> WaitlistOut:
        return cls(
            id=e.id,
            tenant_id=e.tenant_id,
            patient_id=e.patient_id,
            type_id=e.type_id,
            provider_ids=[int(i) for i in e.provider_ids or []],
            location_id=e.location_id,
            earliest_date=e.earliest_date,
            latest_date=e.latest_date,
            weekdays=[int(d) for d in e.weekdays or []],
            after_local=e.after_local,
            before_local=e.before_local,
            current_appointment_id=e.current_appointment_id,
            status=e.status,
            offer_appointment_id=e.offer_appointment_id,
            offered_at=e.offered_at,
            note=e.note,
            created_at=e.created_at,
        )
