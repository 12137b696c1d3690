"""Patient registry tables: patients, their phone numbers, and the per-tenant MRN counter."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careline.db import Base, TenantScoped, str_enum
from careline.kit.clock import utcnow


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class ReferralSource(StrEnum):
    """How the patient heard of us (the client's marketing wants the split)."""

    FRIEND_FAMILY = "friend_family"
    PHYSICIAN_REFERRAL = "physician_referral"
    WEB_SEARCH = "web_search"
    INSURANCE_DIRECTORY = "insurance_directory"
    ADVERTISING = "advertising"
    OTHER = "other"
    UNKNOWN = "unknown"


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"


class Patient(TenantScoped, Base):
    """A person registered with one tenant; the caller panel finds them by phone or name and DOB."""

    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("tenant_id", "mrn", name="uq_patients_tenant_id_mrn"),
        Index("ix_patients_tenant_id_dob", "tenant_id", "dob"),
        Index("ix_patients_tenant_id_last_name_key", "tenant_id", "last_name_key"),
        Index("ix_patients_tenant_id_last_name_sound", "tenant_id", "last_name_sound"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    # Derived from last_name by the service (rules.name_key / rules.phonetic) for indexed search.
    # C collation on PostgreSQL: byte order, so a prefix range (>= 'smi' and < 'smj') uses the index.
    last_name_key: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql")
    )
    last_name_sound: Mapped[str] = mapped_column(String(4))
    dob: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(str_enum(Sex), default=Sex.UNKNOWN)
    preferred_language: Mapped[str] = mapped_column(String(2), default="en")  # ISO 639-1
    email: Mapped[str | None] = mapped_column(String(254))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(5))
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    work_zip: Mapped[str | None] = mapped_column(String(5))
    work_lat: Mapped[float | None] = mapped_column(Float)
    work_lon: Mapped[float | None] = mapped_column(Float)
    insurance_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("insurance_plans.id", ondelete="SET NULL"), index=True
    )
    member_id: Mapped[str | None] = mapped_column(String(40))
    pcp_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL"), index=True
    )
    consent_sms: Mapped[bool] = mapped_column(default=False)
    consent_voice: Mapped[bool] = mapped_column(default=False)
    consent_email: Mapped[bool] = mapped_column(default=False)
    referral_source: Mapped[ReferralSource] = mapped_column(
        str_enum(ReferralSource), default=ReferralSource.UNKNOWN
    )
    referral_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)

    phones: Mapped[list[PatientPhone]] = relationship(
        back_populates="patient",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="(PatientPhone.is_primary.desc(), PatientPhone.id)",
    )

    @property
    def full_name(self) -> str:
        """'First Last', the form shown in lists."""
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int:
        """Whole years of age on a day."""
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))


class PatientPhone(TenantScoped, Base):
    """One of a patient's numbers, in E.164; the caller's number finds the patient through this table."""

    __tablename__ = "patient_phones"
    __table_args__ = (
        UniqueConstraint("patient_id", "e164", name="uq_patient_phones_patient_id_e164"),
        # With tenant_id too: loading phones adds the scope's tenant_id IN (...), and without table
        # statistics SQLite would otherwise pick the tenant_id index and scan a tenant's every phone.
        Index("ix_patient_phones_patient_id_tenant_id", "patient_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[PhoneKind] = mapped_column(str_enum(PhoneKind), default=PhoneKind.MOBILE)
    is_primary: Mapped[bool] = mapped_column(default=False)

    patient: Mapped[Patient] = relationship(back_populates="phones", lazy="raise")


class PatientMrnCounter(Base):
    """The last medical record number handed out per tenant (a row lock serialises concurrent creates)."""

    __tablename__ = "patient_mrn_counters"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8))  # fixed at the first number, so a rename keeps MRNs alike
    last_value: Mapped[int] = mapped_column(default=0)
