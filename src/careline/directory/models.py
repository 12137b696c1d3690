"""Directory tables: where care happens, who gives it, what they accept, and where else to send a caller.

Every table is tenant-owned. The association tables carry `tenant_id` too, so the scope filter
applies to them on their own and matching queries can join them without going through `providers`.
Indexes worth knowing for matching at 100,000 providers: `locations (lat, lon)` for bounding boxes,
`provider_specialties.taxonomy_code`, `provider_languages.language`, `provider_locations` both ways.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careline.db import Base, TenantScoped, str_enum
from careline.kit.clock import utcnow


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NONBINARY = "nonbinary"
    UNKNOWN = "unknown"


class Location(TenantScoped, Base):
    """A clinic, hospital or office; coordinates and time zone come from its ZIP."""

    __tablename__ = "locations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_locations_tenant_name"),
        Index("ix_locations_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip: Mapped[str] = mapped_column(String(5), index=True)
    lat: Mapped[float]
    lon: Mapped[float]
    timezone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    parking: Mapped[str | None] = mapped_column(Text)
    directions: Mapped[str | None] = mapped_column(Text)
    accessibility: Mapped[str | None] = mapped_column(Text)
    # {"mon": [["08:00", "17:00"]], ...}: local wall-clock intervals; a missing day is closed.
    hours: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    closures: Mapped[list[LocationClosure]] = relationship(
        back_populates="location", lazy="raise", cascade="all, delete-orphan", order_by="LocationClosure.date"
    )


class LocationClosure(TenantScoped, Base):
    """A whole day a location is closed (holiday, weather, inventory)."""

    __tablename__ = "location_closures"
    __table_args__ = (UniqueConstraint("location_id", "date", name="uq_location_closures_location_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")

    location: Mapped[Location] = relationship(back_populates="closures", lazy="raise")


class InsurancePlan(TenantScoped, Base):
    """An insurance plan the tenant's providers may accept."""

    __tablename__ = "insurance_plans"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_insurance_plans_tenant_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    payer: Mapped[str] = mapped_column(String(200), default="")
    plan_type: Mapped[str] = mapped_column(
        String(40), default=""
    )  # HMO, PPO, EPO, POS, Medicare, Medicaid...
    active: Mapped[bool] = mapped_column(default=True)


class Provider(TenantScoped, Base):
    """A clinician: identity, what and whom they see, where, and which plans they take."""

    __tablename__ = "providers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "npi", name="uq_providers_tenant_npi"),
        Index("ix_providers_last_first", "last_name", "first_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    npi: Mapped[str] = mapped_column(String(10), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    credentials: Mapped[str] = mapped_column(String(60), default="")  # "MD", "DO", "NP", "PA-C", "DPT"...
    gender: Mapped[Gender] = mapped_column(str_enum(Gender), default=Gender.UNKNOWN)
    bio: Mapped[str] = mapped_column(Text, default="")
    accepting_new_patients: Mapped[bool] = mapped_column(default=True)
    telehealth: Mapped[bool] = mapped_column(default=False)
    sees_pediatric: Mapped[bool] = mapped_column(default=False)
    sees_adult: Mapped[bool] = mapped_column(default=True)
    sees_geriatric: Mapped[bool] = mapped_column(default=True)
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    visit_reasons: Mapped[list] = mapped_column(
        JSON, default=list
    )  # plain phrases: "knee pain", "well-child visit"
    conditions: Mapped[list] = mapped_column(JSON, default=list)  # plain phrases: "diabetes", "asthma"
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    specialties: Mapped[list[ProviderSpecialty]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        order_by=lambda: (ProviderSpecialty.is_primary.desc(), ProviderSpecialty.id),
    )
    languages: Mapped[list[ProviderLanguage]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProviderLanguage.id"
    )
    location_links: Mapped[list[ProviderLocation]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProviderLocation.id"
    )
    plan_links: Mapped[list[ProviderPlan]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProviderPlan.id"
    )

    @property
    def display_name(self) -> str:
        """'Jane Doe, MD'."""
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name}, {self.credentials}" if self.credentials else name


class ProviderSpecialty(TenantScoped, Base):
    """A provider's NUCC taxonomy code; one is primary."""

    __tablename__ = "provider_specialties"
    __table_args__ = (
        UniqueConstraint("provider_id", "taxonomy_code", name="uq_provider_specialties_provider_code"),
        # A specialty's providers, with whether it is their primary one: find a doctor reads a
        # specialty's rows from the index alone (docs/matching.md, "How it is fast").
        Index("ix_provider_specialties_code_provider_primary", "taxonomy_code", "provider_id", "is_primary"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    taxonomy_code: Mapped[str] = mapped_column(String(10))
    is_primary: Mapped[bool] = mapped_column(default=False)


class ProviderLanguage(TenantScoped, Base):
    """A language a provider speaks with patients (ISO 639-1)."""

    __tablename__ = "provider_languages"
    __table_args__ = (
        UniqueConstraint("provider_id", "language", name="uq_provider_languages_provider_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(3), index=True)


class ProviderLocation(TenantScoped, Base):
    """A location where a provider practises."""

    __tablename__ = "provider_locations"
    __table_args__ = (
        UniqueConstraint("provider_id", "location_id", name="uq_provider_locations_provider_location"),
        # A location's providers from the index alone (find a doctor walks locations outward).
        Index("ix_provider_locations_location_id_provider_id", "location_id", "provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))

    location: Mapped[Location] = relationship(lazy="raise")


class ProviderPlan(TenantScoped, Base):
    """A plan a provider accepts, and whether they take new patients on it."""

    __tablename__ = "provider_plans"
    __table_args__ = (UniqueConstraint("provider_id", "plan_id", name="uq_provider_plans_provider_plan"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("insurance_plans.id", ondelete="CASCADE"), index=True)
    accepting_new: Mapped[bool] = mapped_column(default=True)

    plan: Mapped[InsurancePlan] = relationship(lazy="raise")


class Department(TenantScoped, Base):
    """A service callers are routed to (radiology, billing, records, the nurse line...) and how to reach it.

    Hours: local intervals like a location's, in `timezone`, else the location's, else the tenant's zone.
    Empty hours mean the location's hours when it has a location, otherwise open around the clock.
    """

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    location_id: Mapped[int | None] = mapped_column(
        ForeignKey("locations.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(20))  # a number callers may be given
    transfer_number: Mapped[str | None] = mapped_column(String(20))  # where agents warm-transfer
    queue: Mapped[str | None] = mapped_column(String(60))  # an internal queue (skill) name instead
    timezone: Mapped[str | None] = mapped_column(String(64))
    hours: Mapped[dict] = mapped_column(JSON, default=dict)
    intents: Mapped[list] = mapped_column(JSON, default=list)  # ["billing"], ["records"], ["clinical"]...
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    location: Mapped[Location | None] = relationship(lazy="raise")


class OutsideResource(TenantScoped, Base):
    """Somewhere outside the tenant to send a caller (911, 988, Poison Control, Medicaid, pharmacies)."""

    __tablename__ = "outside_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(40), index=True
    )  # emergency, crisis, poison, government, pharmacy...
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164 or a short code such as 911 or 988
    url: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[str] = mapped_column(String(200), default="")
    when_to_use: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    intents: Mapped[list] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(default=100)  # lower first: 911 before a pharmacy
    active: Mapped[bool] = mapped_column(default=True)


# The tables whose rows decide who matching finds; a change to any of them moves the tenant's
# directory version (migration 0014's triggers).
MATCHED_TABLES = (
    "providers",
    "locations",
    "provider_locations",
    "provider_specialties",
    "provider_languages",
    "provider_plans",
)


class DirectoryVersion(Base):
    """How many times a tenant's matched directory rows have changed: written only by the database's
    own triggers on MATCHED_TABLES (every INSERT, UPDATE and DELETE, whatever wrote it), read by
    matching's in-memory index to know whether what it holds is still the directory (see
    matching/index.py). `epoch` is drawn at random when the row is made, so a tenant whose rows were
    emptied and made again (a restore, a test) never shows an old (epoch, version) pair. Not
    tenant-scoped: the row is read by tenant id, and no user writes it."""

    __tablename__ = "directory_versions"

    tenant_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    epoch: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigInteger, default=0)
