"""Scheduling tables: appointment types, weekly templates, exceptions, appointments, waitlist.

Times of appointments and exceptions are UTC instants. Templates are local wall-clock times
("08:00") in the location's IANA zone, expanded per day by `rules.expand_window`.

No double booking is a database rule (see docs/scheduling.md): on PostgreSQL two exclusion
constraints over `tstzrange(start_at, end_at)` (one per provider, one per patient) for the active
statuses; on SQLite triggers that abort an overlapping insert or update, on top of the service's
check inside its BEGIN IMMEDIATE transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careline.db import Base, TenantScoped, str_enum
from careline.directory.models import Location, Provider
from careline.kit.clock import utcnow
from careline.patients.models import Patient


class AppointmentStatus(StrEnum):
    """FHIR Appointment.status (the subset a call center uses)."""

    PROPOSED = "proposed"  # suggested, no time held
    PENDING = "pending"  # a hold: the time is kept until hold_expires_at while the agent confirms
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"


# Statuses that occupy the provider's and the patient's time. An expired hold still has status
# "pending" until the expiry job runs; availability ignores it and a booking releases it first.
ACTIVE_STATUSES = (
    AppointmentStatus.PENDING,
    AppointmentStatus.BOOKED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.FULFILLED,
)
ACTIVE_SQL = "status IN ('pending', 'booked', 'arrived', 'fulfilled')"


class CancelReason(StrEnum):
    PATIENT_REQUEST = "patient_request"
    PATIENT_ILL = "patient_ill"
    NO_LONGER_NEEDED = "no_longer_needed"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    LOCATION_CLOSED = "location_closed"
    WEATHER = "weather"
    RESCHEDULED = "rescheduled"
    BOOKED_IN_ERROR = "booked_in_error"
    HOLD_RELEASED = "hold_released"
    HOLD_EXPIRED = "hold_expired"
    OTHER = "other"


class PatientKind(StrEnum):
    """Whom an appointment type is for: anyone, only new patients, or only established ones."""

    ANY = "any"
    NEW = "new"
    ESTABLISHED = "established"


class Modality(StrEnum):
    IN_PERSON = "in_person"
    TELEHEALTH = "telehealth"


class ExceptionKind(StrEnum):
    VACATION = "vacation"
    HOLIDAY = "holiday"
    HALF_DAY = "half_day"
    CLOSURE = "closure"
    MEETING = "meeting"
    OTHER = "other"


class WaitlistStatus(StrEnum):
    WAITING = "waiting"  # looking for an earlier time
    OFFERED = "offered"  # a freed time is held for the patient (offer_appointment_id)
    BOOKED = "booked"  # accepted: the offer became the appointment
    CANCELLED = "cancelled"


def _named(enum_type: Enum, name: str) -> Enum:
    """The same enum column type under another name (two columns of one enum need two CHECK names)."""
    enum_type.name = name
    return enum_type


class AppointmentType(TenantScoped, Base):
    """A kind of visit a tenant books: how long, for whom, where, with which rules."""

    __tablename__ = "appointment_types"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_appointment_types_tenant_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    duration_minutes: Mapped[int]
    patient_kind: Mapped[PatientKind] = mapped_column(str_enum(PatientKind), default=PatientKind.ANY)
    modality: Mapped[Modality] = mapped_column(str_enum(Modality), default=Modality.IN_PERSON)
    preparation: Mapped[str] = mapped_column(Text, default="")
    min_notice_minutes: Mapped[int] = mapped_column(default=0)
    max_days_ahead: Mapped[int] = mapped_column(default=90)
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    referral_required: Mapped[bool] = mapped_column(default=False)
    # Who offers it: NUCC taxonomy codes and/or provider ids; an empty list means no limit.
    specialty_codes: Mapped[list] = mapped_column(JSON, default=list)
    provider_ids: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AvailabilityTemplate(TenantScoped, Base):
    """A weekly window a provider works at a location, e.g. Mondays 08:00-12:00 at Oak Street.

    `reserved_type_id` keeps the window for one type (new-patient or same-day sick slots) until
    `release_at_local` on the day `release_days_before` days before the slot (0 = that morning);
    without a release time the window stays reserved.
    """

    __tablename__ = "availability_templates"
    __table_args__ = (
        # Providers' windows as the scoped reads ask (`tenant_id = ?`, the scope's `tenant_id IN
        # (...)`, `provider_id IN (...)`): SQLite without statistics would otherwise take the tenant's
        # index and read every window of the tenant (docs/matching.md, "Benchmark").
        Index("ix_availability_templates_tenant_id_provider_id", "tenant_id", "provider_id"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("slot_minutes > 0", name="slot_minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]  # 0 = Monday ... 6 = Sunday
    start_local: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    end_local: Mapped[str] = mapped_column(String(5))
    slot_minutes: Mapped[int] = mapped_column(default=15)  # the grid open times start on
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)  # inclusive; None = open-ended
    reserved_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_types.id", ondelete="RESTRICT"), index=True
    )
    release_at_local: Mapped[str | None] = mapped_column(String(5))
    release_days_before: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarException(TenantScoped, Base):
    """Time taken out of calendars: a provider's vacation or half day, a location's closure, or
    (neither set) a holiday for the whole tenant."""

    __tablename__ = "calendar_exceptions"
    __table_args__ = (
        Index("ix_calendar_exceptions_provider_starts", "provider_id", "starts_at"),
        # The tenant's exceptions still running after a date (holidays, closures, time off).
        Index("ix_calendar_exceptions_tenant_ends", "tenant_id", "ends_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    location_id: Mapped[int | None] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    kind: Mapped[ExceptionKind] = mapped_column(str_enum(ExceptionKind), default=ExceptionKind.OTHER)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(TenantScoped, Base):
    """A patient's visit with a provider at a location: a booking, or a hold (status pending)."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_provider_start", "provider_id", "start_at"),  # the overlap triggers
        # Scoped reads of providers' visits (`tenant_id IN (...)` from the session's scope): without
        # statistics SQLite would otherwise take (tenant_id, start_at), every visit of the tenant.
        Index("ix_appointments_provider_tenant_start", "provider_id", "tenant_id", "start_at"),
        Index("ix_appointments_patient_start", "patient_id", "start_at"),
        Index("ix_appointments_tenant_start", "tenant_id", "start_at"),
        CheckConstraint("end_at > start_at", name="end_after_start"),
        # At most a day long: the overlap checks look back one day from a new start (index range).
        CheckConstraint("end_at <= start_at + interval '1 day'", name="at_most_a_day").ddl_if(
            dialect="postgresql"
        ),
        CheckConstraint("julianday(end_at) - julianday(start_at) <= 1", name="at_most_a_day_sqlite").ddl_if(
            dialect="sqlite"
        ),
        ExcludeConstraint(
            (text("provider_id"), "="),
            (text("tstzrange(start_at, end_at)"), "&&"),
            name="ex_appointments_provider_overlap",
            using="gist",
            where=text(ACTIVE_SQL),
        ).ddl_if(dialect="postgresql"),
        ExcludeConstraint(
            (text("patient_id"), "="),
            (text("tstzrange(start_at, end_at)"), "&&"),
            name="ex_appointments_patient_overlap",
            using="gist",
            where=text(ACTIVE_SQL),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="RESTRICT"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id", ondelete="RESTRICT"), index=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[AppointmentStatus] = mapped_column(str_enum(AppointmentStatus))
    hold_expires_at: Mapped[datetime | None]
    cancel_reason: Mapped[CancelReason | None] = mapped_column(str_enum(CancelReason))
    cancel_note: Mapped[str | None] = mapped_column(String(500))
    booked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    booked_by: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None]  # the call this was booked on; the contacts issue adds the FK
    has_referral: Mapped[bool] = mapped_column(default=False)
    referral_source: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    rescheduled_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]

    # Set by the booking service (never lazy-loaded): they keep the rows a booking loaded in the
    # session, so the confirmation and the response reuse them instead of reading them again.
    provider: Mapped[Provider] = relationship(lazy="raise", viewonly=True)
    location: Mapped[Location] = relationship(lazy="raise", viewonly=True)
    patient: Mapped[Patient] = relationship(lazy="raise", viewonly=True)
    appointment_type: Mapped[AppointmentType] = relationship(lazy="raise", viewonly=True)


class AppointmentHistory(TenantScoped, Base):
    """Each status change of an appointment: from, to, who, when, and why."""

    __tablename__ = "appointment_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[AppointmentStatus | None] = mapped_column(
        _named(str_enum(AppointmentStatus), "from_status")
    )
    to_status: Mapped[AppointmentStatus] = mapped_column(str_enum(AppointmentStatus))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")


class WaitlistEntry(TenantScoped, Base):
    """A patient who wants an earlier time: what, with whom, where and when would suit them."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (Index("ix_waitlist_entries_tenant_status", "tenant_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id", ondelete="RESTRICT"))
    provider_ids: Mapped[list] = mapped_column(JSON, default=list)  # empty: any provider offering the type
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="SET NULL"))
    earliest_date: Mapped[date] = mapped_column(Date)
    latest_date: Mapped[date] = mapped_column(Date)
    weekdays: Mapped[list] = mapped_column(JSON, default=list)  # 0 = Monday; empty: any day
    after_local: Mapped[str | None] = mapped_column(String(5))
    before_local: Mapped[str | None] = mapped_column(String(5))
    # The appointment to move earlier (accepting an offer reschedules it), if there is one.
    current_appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    status: Mapped[WaitlistStatus] = mapped_column(str_enum(WaitlistStatus), default=WaitlistStatus.WAITING)
    offer_appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    offered_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
