"""Calendar configuration: appointment types, weekly availability templates, exceptions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from careline.db import get_scoped
from careline.directory.models import Location, Provider, ProviderLocation
from careline.errors import Conflict, ValidationFailed
from careline.kit.clock import utcnow
from careline.scheduling import common as c
from careline.scheduling import rules
from careline.scheduling.models import (
    AppointmentType,
    AvailabilityTemplate,
    CalendarException,
    ExceptionKind,
    Modality,
    PatientKind,
)

# --- appointment types --------------------------------------------------------------------------------

TYPE_FIELDS = {
    "name",
    "duration_minutes",
    "patient_kind",
    "modality",
    "preparation",
    "min_notice_minutes",
    "max_days_ahead",
    "min_age",
    "max_age",
    "referral_required",
    "specialty_codes",
    "provider_ids",
    "active",
}


def _enum(enum_cls: type, value: Any, field: str) -> Any:
    try:
        return enum_cls(str(value).strip().lower())
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum_cls)  # type: ignore[attr-defined]
        raise ValidationFailed(f"{field.replace('_', ' ')} must be one of: {allowed}", field=field) from exc


def _clean_type(
    session: Session, tenant_id: int, data: dict[str, Any], current: AppointmentType | None
) -> dict:
    unknown = set(data) - TYPE_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = c.text(data["name"], "name", max_len=100, required=True)
        clash = session.scalar(
            select(AppointmentType.id).where(
                AppointmentType.tenant_id == tenant_id, AppointmentType.name == out["name"]
            )
        )
        if clash is not None and (current is None or clash != current.id):
            raise Conflict(f"this client already has an appointment type named '{out['name']}'", field="name")
    if "duration_minutes" in data:
        out["duration_minutes"] = c.integer(
            data["duration_minutes"], "duration_minutes", low=5, high=c.MAX_DURATION_MINUTES
        )
    if data.get("patient_kind") is not None:
        out["patient_kind"] = _enum(PatientKind, data["patient_kind"], "patient_kind")
    if data.get("modality") is not None:
        out["modality"] = _enum(Modality, data["modality"], "modality")
    if "preparation" in data:
        out["preparation"] = c.text(data["preparation"], "preparation", max_len=4000)
    if data.get("min_notice_minutes") is not None:
        out["min_notice_minutes"] = c.integer(
            data["min_notice_minutes"], "min_notice_minutes", low=0, high=60 * 24 * 60
        )
    if data.get("max_days_ahead") is not None:
        out["max_days_ahead"] = c.integer(data["max_days_ahead"], "max_days_ahead", low=0, high=730)
    for field in ("min_age", "max_age"):
        if field in data:
            out[field] = c.integer(data[field], field, low=0, high=130, optional=True)
    low = out.get("min_age", current.min_age if current else None)
    high = out.get("max_age", current.max_age if current else None)
    if low is not None and high is not None and low > high:
        raise ValidationFailed("min age is above max age", field="min_age")
    if data.get("referral_required") is not None:
        out["referral_required"] = c.boolean(data["referral_required"], "referral_required")
    if data.get("active") is not None:
        out["active"] = c.boolean(data["active"], "active")
    if data.get("specialty_codes") is not None:
        codes = [
            c.text(v, "specialty_codes", max_len=10, required=True).upper() for v in data["specialty_codes"]
        ]
        out["specialty_codes"] = sorted(set(codes))
    if data.get("provider_ids") is not None:
        ids = sorted({int(v) for v in data["provider_ids"]})
        if ids:
            found = set(
                session.scalars(
                    select(Provider.id).where(Provider.id.in_(ids), Provider.tenant_id == tenant_id)
                )
            )
            missing = [i for i in ids if i not in found]
            if missing:
                raise ValidationFailed(f"no provider {missing[0]} for this client", field="provider_ids")
        out["provider_ids"] = ids
    return out


def create_type(session: Session, *, tenant_id: int, **fields: Any) -> AppointmentType:
    """Add an appointment type; name and duration_minutes are required, the rest has defaults."""
    c.require_tenant(session, tenant_id)
    fields.setdefault("name", None)
    fields.setdefault("duration_minutes", None)
    values = _clean_type(session, tenant_id, fields, None)
    kind = AppointmentType(
        tenant_id=tenant_id,
        specialty_codes=values.pop("specialty_codes", []),
        provider_ids=values.pop("provider_ids", []),
        **values,
    )
    session.add(kind)
    session.flush()
    return kind


def update_type(session: Session, type_id: int, changes: dict[str, Any]) -> AppointmentType:
    """Change some fields (active=False retires the type; booked visits keep it)."""
    kind = c.load_type(session, type_id)
    for key, value in _clean_type(session, kind.tenant_id, dict(changes), kind).items():
        setattr(kind, key, value)
    session.flush()
    return kind


def get_type(session: Session, type_id: int) -> AppointmentType:
    return c.load_type(session, type_id)


def list_types(
    session: Session, *, tenant_ids: Iterable[int] | None = None, include_inactive: bool = False
) -> list[AppointmentType]:
    """Appointment types in scope, by tenant and name."""
    stmt = select(AppointmentType).order_by(AppointmentType.tenant_id, AppointmentType.name)
    if tenant_ids is not None:
        stmt = stmt.where(AppointmentType.tenant_id.in_(list(tenant_ids)))
    if not include_inactive:
        stmt = stmt.where(AppointmentType.active.is_(True))
    return list(session.scalars(stmt))


# --- weekly templates ---------------------------------------------------------------------------------

TEMPLATE_FIELDS = {
    "provider_id",
    "location_id",
    "weekday",
    "start_local",
    "end_local",
    "slot_minutes",
    "effective_from",
    "effective_to",
    "reserved_type_id",
    "release_at_local",
    "release_days_before",
}


def _clean_template(session: Session, data: dict[str, Any], current: AvailabilityTemplate | None) -> dict:
    unknown = set(data) - TEMPLATE_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    merged = {
        **(
            {f: getattr(current, f) for f in TEMPLATE_FIELDS}
            if current is not None
            else {"slot_minutes": 15, "release_days_before": 0}
        ),
        **data,
    }
    provider = c.load_provider(session, merged.get("provider_id"))
    location = c.load_location(session, merged.get("location_id"))
    c.same_tenant(provider.tenant_id, location)
    linked = session.scalar(
        select(ProviderLocation.id).where(
            ProviderLocation.provider_id == provider.id, ProviderLocation.location_id == location.id
        )
    )
    if linked is None:
        raise ValidationFailed(
            f"{provider.first_name} {provider.last_name} does not practise at {location.name}; "
            "add the location to the provider in the directory first",
            field="location_id",
        )
    try:
        weekday = rules.parse_weekday(merged.get("weekday"))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="weekday") from exc
    start = c.clock(merged.get("start_local"), "start_local")
    end = c.clock(merged.get("end_local"), "end_local")
    assert start is not None and end is not None
    if rules.parse_hhmm(end) <= rules.parse_hhmm(start):
        raise ValidationFailed("the window must end after it starts (same day)", field="end_local")
    slot = c.integer(merged.get("slot_minutes"), "slot_minutes", low=5, high=240)
    eff_from = c.day(merged.get("effective_from"), "effective_from")
    eff_to = c.day(merged.get("effective_to"), "effective_to", optional=True)
    if eff_to is not None and eff_from is not None and eff_to < eff_from:
        raise ValidationFailed("effective_to is before effective_from", field="effective_to")
    reserved = merged.get("reserved_type_id")
    if reserved is not None and reserved != "":
        kind = c.load_type(session, reserved)
        c.same_tenant(provider.tenant_id, kind)
        reserved = kind.id
    else:
        reserved = None
    release = c.clock(merged.get("release_at_local"), "release_at_local", optional=True)
    if release is not None and reserved is None:
        raise ValidationFailed("a release time only applies to a reserved window", field="release_at_local")
    days_before = c.integer(merged.get("release_days_before") or 0, "release_days_before", low=0, high=60)
    return {
        "tenant_id": provider.tenant_id,
        "provider_id": provider.id,
        "location_id": location.id,
        "weekday": weekday,
        "start_local": start,
        "end_local": end,
        "slot_minutes": slot,
        "effective_from": eff_from,
        "effective_to": eff_to,
        "reserved_type_id": reserved,
        "release_at_local": release,
        "release_days_before": days_before,
    }


def _check_template_overlap(session: Session, values: dict[str, Any], current_id: int | None) -> None:
    """A provider cannot work two windows at once: refuse overlapping windows on the same weekday."""
    stmt = select(AvailabilityTemplate).where(
        AvailabilityTemplate.provider_id == values["provider_id"],
        AvailabilityTemplate.weekday == values["weekday"],
        AvailabilityTemplate.start_local < values["end_local"],
        AvailabilityTemplate.end_local > values["start_local"],
        or_(
            AvailabilityTemplate.effective_to.is_(None),
            AvailabilityTemplate.effective_to >= values["effective_from"],
        ),
    )
    if values["effective_to"] is not None:
        stmt = stmt.where(AvailabilityTemplate.effective_from <= values["effective_to"])
    for other in session.scalars(stmt):
        if other.id != current_id:
            raise Conflict(
                f"overlaps the {rules.WEEKDAY_NAMES[other.weekday]} {other.start_local}-{other.end_local} "
                f"window (template {other.id}) of this provider",
                field="start_local",
                extra={"template_id": other.id},
            )


def create_template(session: Session, **fields: Any) -> AvailabilityTemplate:
    """Add a weekly window for a provider at one of their locations (the tenant is the provider's)."""
    fields.setdefault("effective_from", utcnow().date())
    values = _clean_template(session, fields, None)
    _check_template_overlap(session, values, None)
    template = AvailabilityTemplate(**values)
    session.add(template)
    session.flush()
    return template


def update_template(session: Session, template_id: int, changes: dict[str, Any]) -> AvailabilityTemplate:
    """Change a window (e.g. end it with effective_to); booked visits are not touched."""
    template = get_scoped(session, AvailabilityTemplate, template_id, what="template")
    values = _clean_template(session, dict(changes), template)
    _check_template_overlap(session, values, template.id)
    for key, value in values.items():
        setattr(template, key, value)
    session.flush()
    return template


def delete_template(session: Session, template_id: int) -> None:
    """Remove a window (booked visits stay; end it with effective_to to keep the history)."""
    template = get_scoped(session, AvailabilityTemplate, template_id, what="template")
    session.delete(template)
    session.flush()


def list_templates(
    session: Session,
    *,
    provider_id: int | None = None,
    location_id: int | None = None,
    tenant_ids: Iterable[int] | None = None,
    limit: int = 500,
) -> list[AvailabilityTemplate]:
    """Templates in scope, by provider, weekday and start."""
    stmt = select(AvailabilityTemplate).order_by(
        AvailabilityTemplate.provider_id, AvailabilityTemplate.weekday, AvailabilityTemplate.start_local
    )
    if provider_id is not None:
        stmt = stmt.where(AvailabilityTemplate.provider_id == provider_id)
    if location_id is not None:
        stmt = stmt.where(AvailabilityTemplate.location_id == location_id)
    if tenant_ids is not None:
        stmt = stmt.where(AvailabilityTemplate.tenant_id.in_(list(tenant_ids)))
    return list(session.scalars(stmt.limit(max(1, min(limit, 5000)))))


# --- exceptions ---------------------------------------------------------------------------------------


def create_exception(
    session: Session,
    *,
    tenant_id: int | None = None,
    provider_id: int | None = None,
    location_id: int | None = None,
    starts_at: datetime | str,
    ends_at: datetime | str,
    kind: ExceptionKind | str = ExceptionKind.OTHER,
    reason: str = "",
) -> CalendarException:
    """Take time out: a provider's (vacation, half day), a location's (closure), or with neither the
    whole tenant's (holiday). The tenant comes from the provider or location when one is given."""
    provider = c.load_provider(session, provider_id) if provider_id is not None else None
    location = c.load_location(session, location_id) if location_id is not None else None
    owner = provider or location
    if owner is not None:
        if tenant_id is not None and tenant_id != owner.tenant_id:
            raise ValidationFailed("that provider or location belongs to another client", field="tenant_id")
        tenant_id = owner.tenant_id
    if tenant_id is None:
        raise ValidationFailed("give a provider, a location, or the tenant for a holiday", field="tenant_id")
    c.require_tenant(session, tenant_id)
    c.same_tenant(tenant_id, provider, location)
    start, end = c.instant(starts_at, "starts_at"), c.instant(ends_at, "ends_at")
    if end <= start:
        raise ValidationFailed("the exception must end after it starts", field="ends_at")
    row = CalendarException(
        tenant_id=tenant_id,
        provider_id=provider.id if provider else None,
        location_id=location.id if location else None,
        starts_at=start,
        ends_at=end,
        kind=_enum(ExceptionKind, kind, "kind"),
        reason=c.text(reason, "reason", max_len=200),
    )
    session.add(row)
    session.flush()
    return row


def local_day_span(day: date, last_day: date | None, tz: str) -> tuple[datetime, datetime]:
    """UTC instants from the start of `day` to the end of `last_day` (inclusive) in a zone."""
    from datetime import timedelta

    return rules.local_midnight(day, tz), rules.local_midnight((last_day or day) + timedelta(days=1), tz)


def delete_exception(session: Session, exception_id: int) -> None:
    row = get_scoped(session, CalendarException, exception_id, what="exception")
    session.delete(row)
    session.flush()


def get_exception(session: Session, exception_id: int) -> CalendarException:
    return get_scoped(session, CalendarException, exception_id, what="exception")


def list_exceptions(
    session: Session,
    *,
    provider_id: int | None = None,
    location_id: int | None = None,
    starts_after: datetime | None = None,
    tenant_ids: Iterable[int] | None = None,
    limit: int = 500,
) -> list[CalendarException]:
    """Exceptions in scope, by start; with provider_id also the tenant-wide ones that apply to them."""
    stmt = select(CalendarException).order_by(CalendarException.starts_at, CalendarException.id)
    if provider_id is not None:
        stmt = stmt.where(
            or_(
                CalendarException.provider_id == provider_id,
                (CalendarException.provider_id.is_(None)) & (CalendarException.location_id.is_(None)),
            )
        )
    if location_id is not None:
        stmt = stmt.where(CalendarException.location_id == location_id)
    if starts_after is not None:
        stmt = stmt.where(CalendarException.ends_at > starts_after)
    if tenant_ids is not None:
        stmt = stmt.where(CalendarException.tenant_id.in_(list(tenant_ids)))
    return list(session.scalars(stmt.limit(max(1, min(limit, 5000)))))


def provider_location_ids(session: Session, provider_id: int) -> list[int]:
    """Where a provider practises (the locations a template may use)."""
    stmt = (
        select(Location.id)
        .join(ProviderLocation, ProviderLocation.location_id == Location.id)
        .where(ProviderLocation.provider_id == provider_id)
        .order_by(Location.name)
    )
    return list(session.scalars(stmt))
