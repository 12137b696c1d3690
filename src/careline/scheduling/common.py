"""Helpers the scheduling services share: field checks, tenant checks, rows turned into rule facts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.db import get_scoped, read_rows, scope_of
from careline.directory.models import Location, Provider, ProviderSpecialty
from careline.errors import NotFound, ValidationFailed
from careline.scheduling import rules
from careline.scheduling.models import AppointmentType
from careline.tenants.models import Tenant

MAX_DURATION_MINUTES = 8 * 60  # the SQLite overlap trigger looks back one day; visits are far shorter


def require_tenant(session: Session, tenant_id: Any) -> Tenant:
    """The tenant a new row will belong to; another tenant's (or none) answers 404 like any foreign id."""
    tenant = session.get(Tenant, tenant_id) if isinstance(tenant_id, int) else None
    if tenant is None or not scope_of(session).allows(tenant_id):
        raise NotFound("no such tenant", field="tenant_id")
    return tenant


def text(value: object, field: str, *, max_len: int, required: bool = False) -> str:
    """Stripped text; refused when required and blank, or too long."""
    out = "" if value is None else str(value).strip()
    if required and not out:
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    if len(out) > max_len:
        raise ValidationFailed(f"{field.replace('_', ' ')} is longer than {max_len} characters", field=field)
    return out


def integer(value: object, field: str, *, low: int, high: int, optional: bool = False) -> int | None:
    """An int within [low, high] (None allowed when optional)."""
    if value is None or value == "":
        if optional:
            return None
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{field.replace('_', ' ')} must be a whole number", field=field) from exc
    if not low <= number <= high:
        raise ValidationFailed(f"{field.replace('_', ' ')} must be between {low} and {high}", field=field)
    return number


def boolean(value: object, field: str) -> bool:
    """True/False from a bool or the usual form words."""
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if str(value).strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValidationFailed(f"{field.replace('_', ' ')} must be true or false", field=field)


def clock(value: object, field: str, *, optional: bool = False) -> str | None:
    """'HH:MM' normalised (08:00), or None when blank and optional."""
    if value is None or str(value).strip() == "":
        if optional:
            return None
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    try:
        return rules.hhmm(rules.parse_hhmm(str(value)))
    except ValueError as exc:
        raise ValidationFailed(f"{field.replace('_', ' ')}: {exc}", field=field) from exc


def day(value: object, field: str, *, optional: bool = False) -> date | None:
    """A date from a date or 'YYYY-MM-DD'."""
    if value is None or value == "":
        if optional:
            return None
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    if isinstance(value, datetime):
        raise ValidationFailed(f"{field.replace('_', ' ')} must be a date (YYYY-MM-DD)", field=field)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed(
            f"{field.replace('_', ' ')} must be a date like 2026-12-07", field=field
        ) from exc


def instant(value: object, field: str) -> datetime:
    """An aware datetime (ISO 8601 with an offset or Z), in UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationFailed(
                f"{field.replace('_', ' ')} must be a time like 2026-12-07T15:00:00Z", field=field
            ) from exc
    if not isinstance(value, datetime):
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(
            f"{field.replace('_', ' ')} needs its UTC offset (e.g. 2026-12-07T09:00:00-06:00 or ...Z)",
            field=field,
        )
    return value.astimezone(UTC)


def weekdays(values: Iterable[object] | None, field: str = "weekdays") -> frozenset[int]:
    """Weekday numbers (0 = Monday) from numbers or names."""
    out = set()
    for value in values or ():
        if value is None or value == "":
            continue
        try:
            out.add(rules.parse_weekday(value))  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValidationFailed(str(exc), field=field) from exc
    return frozenset(out)


def same_tenant(tenant_id: int, *objects: Any) -> None:
    """Refuse mixing rows of different tenants (a provider of one client, a patient of another)."""
    for obj in objects:
        if obj is not None and obj.tenant_id != tenant_id:
            what = type(obj).__name__.lower()
            raise ValidationFailed(f"that {what} belongs to another client", field=f"{what}_id")


def load_provider(session: Session, provider_id: Any) -> Provider:
    return get_scoped(session, Provider, _id(provider_id, "provider_id"), what="provider")


def load_location(session: Session, location_id: Any) -> Location:
    return get_scoped(session, Location, _id(location_id, "location_id"), what="location")


def load_type(session: Session, type_id: Any) -> AppointmentType:
    return get_scoped(session, AppointmentType, _id(type_id, "type_id"), what="appointment type")


def as_id(value: Any, field: str) -> int:
    """An id from a request field (422 naming the field when it is not a number)."""
    return _id(value, field)


def _id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"{field} must be a number", field=field) from exc
    return value


def type_facts(kind: AppointmentType) -> rules.TypeFacts:
    return rules.TypeFacts(
        id=kind.id,
        name=kind.name,
        duration_minutes=kind.duration_minutes,
        patient_kind=str(kind.patient_kind),
        modality=str(kind.modality),
        min_notice_minutes=kind.min_notice_minutes,
        max_days_ahead=kind.max_days_ahead,
        min_age=kind.min_age,
        max_age=kind.max_age,
        referral_required=kind.referral_required,
        specialty_codes=frozenset(kind.specialty_codes or ()),
        provider_ids=frozenset(int(i) for i in kind.provider_ids or ()),
        active=kind.active,
    )


def provider_codes(session: Session, provider_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """Each provider's taxonomy codes (of providers already checked: their rows are their tenant's).

    A plain read (`read_rows`): the tenant scope's `tenant_id IN (...)` added to it led SQLite
    without statistics to walk the tenant's index (~100,000 rows, 20 ms) instead of the providers'."""
    found: dict[int, set[str]] = {}
    ids = list(provider_ids)
    if not ids:
        return {}
    stmt = select(ProviderSpecialty.provider_id, ProviderSpecialty.taxonomy_code).where(
        ProviderSpecialty.provider_id.in_(ids)
    )
    for pid, code in read_rows(session, stmt):
        found.setdefault(pid, set()).add(code)
    return {pid: frozenset(codes) for pid, codes in found.items()}


def provider_facts(provider: Provider, codes: frozenset[str] = frozenset()) -> rules.ProviderFacts:
    return rules.ProviderFacts(
        id=provider.id,
        name=rules.provider_label(provider.first_name, provider.last_name, provider.credentials),
        accepting_new_patients=provider.accepting_new_patients,
        telehealth=provider.telehealth,
        sees_pediatric=provider.sees_pediatric,
        sees_adult=provider.sees_adult,
        sees_geriatric=provider.sees_geriatric,
        min_age=provider.min_age,
        max_age=provider.max_age,
        specialty_codes=codes,
        active=provider.active,
    )
