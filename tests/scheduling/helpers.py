"""Builders for scheduling tests: directory rows straight from the models, patients through their
service, calendars through ours; and small checks on what the database holds."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from careline.audit.service import Actor
from careline.directory.models import Location, Provider, ProviderLocation, ProviderSpecialty
from careline.kit import geo
from careline.kit.npi import generate_npi
from careline.patients.service import create_patient
from careline.scheduling import config

ACTOR = Actor("test")
_seq = itertools.count(1)
_rng = random.Random(4242)


def location(
    db: Session, tenant_id: int, name: str | None = None, zip5: str = "60614", **extra: Any
) -> Location:
    """A clinic at a ZIP (its coordinates and time zone come from the ZIP)."""
    info = geo.require_zip(zip5)
    row = Location(
        tenant_id=tenant_id,
        name=name or f"Scheduling clinic {next(_seq)}",
        address_line1=extra.pop("address_line1", "2400 N Lincoln Ave"),
        city=info.city.title(),
        state=info.state,
        zip=info.zip,
        lat=info.lat,
        lon=info.lon,
        timezone=extra.pop("timezone", info.timezone),
        hours={},
        **extra,
    )
    db.add(row)
    db.flush()
    return row


def provider(
    db: Session,
    tenant_id: int,
    last: str | None = None,
    *,
    locations: list[Location] = (),  # type: ignore[assignment]
    codes: tuple[str, ...] = ("207Q00000X",),
    first: str = "Grace",
    **extra: Any,
) -> Provider:
    """A physician (MD) practising at the given locations."""
    row = Provider(
        tenant_id=tenant_id,
        npi=generate_npi(_rng),
        first_name=first,
        last_name=last or f"Doctor{next(_seq)}",
        credentials=extra.pop("credentials", "MD"),
        **extra,
    )
    db.add(row)
    db.flush()
    for i, code in enumerate(codes):
        db.add(
            ProviderSpecialty(tenant_id=tenant_id, provider_id=row.id, taxonomy_code=code, is_primary=i == 0)
        )
    for loc in locations:
        db.add(ProviderLocation(tenant_id=tenant_id, provider_id=row.id, location_id=loc.id))
    db.flush()
    return row


def patient(
    db: Session,
    tenant_id: int,
    first: str = "Ann",
    last: str | None = None,
    dob: str = "1980-05-01",
    **extra: Any,
) -> int:
    """A registered patient; returns the id."""
    return create_patient(
        db,
        tenant_id=tenant_id,
        actor=ACTOR,
        first_name=first,
        last_name=last or f"Smith{next(_seq)}",
        dob=dob,
        confirm_new=True,
        **extra,
    ).id


def kind(db: Session, tenant_id: int, name: str, minutes: int, **extra: Any) -> int:
    return config.create_type(db, tenant_id=tenant_id, name=name, duration_minutes=minutes, **extra).id


def weekly(
    db: Session, provider_id: int, location_id: int, days: str, start: str, end: str, **extra: Any
) -> None:
    """Windows on each of `days` ('0-4' Mon-Fri, '1' Tuesday, '0,2')."""
    numbers: list[int] = []
    for part in days.split(","):
        if "-" in part:
            a, b = part.split("-")
            numbers += list(range(int(a), int(b) + 1))
        else:
            numbers.append(int(part))
    extra.setdefault("effective_from", date(2026, 1, 1))
    for day in numbers:
        config.create_template(
            db,
            provider_id=provider_id,
            location_id=location_id,
            weekday=day,
            start_local=start,
            end_local=end,
            **extra,
        )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def overlaps(db: Session) -> list[tuple]:
    """The invariant: pairs of active appointments of one provider or one patient that overlap."""
    db.rollback()
    sql = text(
        """
        SELECT a.id, b.id FROM appointments a JOIN appointments b
          ON a.id < b.id AND (a.provider_id = b.provider_id OR a.patient_id = b.patient_id)
         AND a.start_at < b.end_at AND b.start_at < a.end_at
        WHERE a.status IN ('pending', 'booked', 'arrived', 'fulfilled')
          AND b.status IN ('pending', 'booked', 'arrived', 'fulfilled')
        """
    )
    return list(db.execute(sql).all())


def rows(db: Session, model: type, **where: Any) -> list:
    db.rollback()
    stmt = select(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return list(db.scalars(stmt.order_by(model.id)))  # type: ignore[attr-defined]
