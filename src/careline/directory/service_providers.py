"""Providers: who they are, what and whom they see, where, and which plans they take; search."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from careline.db import get_scoped
from careline.directory import reference, validate
from careline.directory.common import page, require_tenant
from careline.directory.models import (
    InsurancePlan,
    Location,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.errors import Conflict, ValidationFailed

LOAD = (
    selectinload(Provider.specialties),
    selectinload(Provider.languages),
    selectinload(Provider.location_links).selectinload(ProviderLocation.location),
    selectinload(Provider.plan_links).selectinload(ProviderPlan.plan),
)
SCALARS = {
    "first_name": 100,
    "last_name": 100,
    "credentials": 60,
    "bio": 4000,
}
FLAGS = ("accepting_new_patients", "telehealth", "sees_pediatric", "sees_adult", "sees_geriatric", "active")


def _plan_links(raw: Iterable[Any]) -> dict[int, bool]:
    out: dict[int, bool] = {}
    for item in raw:
        if isinstance(item, dict):
            plan_id, accepting = item.get("plan_id"), item.get("accepting_new", True)
        elif isinstance(item, int):
            plan_id, accepting = item, True
        else:
            plan_id, accepting = getattr(item, "plan_id", None), getattr(item, "accepting_new", True)
        if not isinstance(plan_id, int):
            raise ValidationFailed("each plan needs a plan_id", field="plans")
        out[plan_id] = bool(accepting)
    return out


def _owned(session: Session, model: type, ids: Iterable[int], tenant_id: int, field: str, what: str) -> None:
    wanted = set(ids)
    if not wanted:
        return
    found = set(session.scalars(select(model.id).where(model.id.in_(wanted), model.tenant_id == tenant_id)))
    missing = sorted(wanted - found)
    if missing:
        raise ValidationFailed(f"no {what} {missing[0]} for this client", field=field)


def _age_defaults(codes: list[str]) -> dict[str, bool]:
    ages = {reference.specialties()[c].age for c in codes} or {"adult"}
    return {
        "sees_pediatric": bool(ages & {"pediatric", "any"}),
        "sees_adult": bool(ages & {"adult", "any"}),
        "sees_geriatric": bool(ages & {"adult", "any"}),
    }


def _clean(
    session: Session, tenant_id: int, data: dict[str, Any], current: Provider | None
) -> dict[str, Any]:
    """Validate every given field before anything is changed; returns scalar values and list fields."""
    out: dict[str, Any] = {}
    if "npi" in data:
        out["npi"] = validate.npi_number(data["npi"])
        clash = session.scalar(
            select(Provider.id).where(Provider.tenant_id == tenant_id, Provider.npi == out["npi"])
        )
        if clash is not None and (current is None or clash != current.id):
            raise Conflict(f"this client already has a provider with NPI {out['npi']}", field="npi")
    for field, max_len in SCALARS.items():
        if field in data:
            out[field] = validate.text(data[field], field, max_len=max_len, required=field.endswith("_name"))
    if "gender" in data:
        out["gender"] = validate.gender(data["gender"])
    for field in FLAGS:
        if data.get(field) is not None:
            out[field] = validate.boolean(data[field], field)
    for field in ("min_age", "max_age"):
        if field in data:
            out[field] = validate.age(data[field], field)
    low = out.get("min_age", current.min_age if current else None)
    high = out.get("max_age", current.max_age if current else None)
    if low is not None and high is not None and low > high:
        raise ValidationFailed("min age is above max age", field="min_age")
    for field in ("visit_reasons", "conditions"):
        if field in data:
            out[field] = validate.phrases(data[field], field)
    if data.get("specialties") is not None:
        out["specialties"] = validate.specialties(data["specialties"])
    if data.get("languages") is not None:
        out["languages"] = validate.languages(data["languages"])
    if data.get("location_ids") is not None:
        out["location_ids"] = list(dict.fromkeys(int(i) for i in data["location_ids"]))
        _owned(session, Location, out["location_ids"], tenant_id, "location_ids", "location")
    if data.get("plans") is not None:
        out["plans"] = _plan_links(data["plans"])
        _owned(session, InsurancePlan, out["plans"], tenant_id, "plans", "insurance plan")
    return out


def _sync(
    items: list, key: Callable[[Any], Any], wanted: list, make: Callable[[Any], Any], update=None
) -> list:
    """Keep rows whose key is still wanted (updating them), add new ones, drop the rest; in wanted order."""
    by_key = {key(row): row for row in items}
    result = []
    for value in wanted:
        k = value[0] if isinstance(value, tuple) else value
        row = by_key.get(k)
        if row is None:
            row = make(value)
        elif update is not None:
            update(row, value)
        result.append(row)
    return result


def _apply(provider: Provider, values: dict[str, Any]) -> None:
    tid = provider.tenant_id
    for key, value in values.items():
        if key == "specialties":
            provider.specialties = _sync(
                provider.specialties,
                lambda r: r.taxonomy_code,
                value,
                lambda c: ProviderSpecialty(tenant_id=tid, taxonomy_code=c),
            )
            for i, row in enumerate(provider.specialties):
                row.is_primary = i == 0
        elif key == "languages":
            provider.languages = _sync(
                provider.languages,
                lambda r: r.language,
                value,
                lambda c: ProviderLanguage(tenant_id=tid, language=c),
            )
        elif key == "location_ids":
            provider.location_links = _sync(
                provider.location_links,
                lambda r: r.location_id,
                value,
                lambda i: ProviderLocation(tenant_id=tid, location_id=i),
            )
        elif key == "plans":
            provider.plan_links = _sync(
                provider.plan_links,
                lambda r: r.plan_id,
                list(value.items()),
                lambda pair: ProviderPlan(tenant_id=tid, plan_id=pair[0], accepting_new=pair[1]),
                lambda row, pair: setattr(row, "accepting_new", pair[1]),
            )
        else:
            setattr(provider, key, value)


def create_provider(session: Session, *, tenant_id: int, **fields: Any) -> Provider:
    """Add a provider. Required: npi (valid check digit), first_name, last_name.

    Lists: specialties (NUCC codes, first is primary), languages (ISO 639-1), location_ids, plans
    ([{"plan_id": 3, "accepting_new": false}] or plain ids). Age groups default from the specialties.
    """
    require_tenant(session, tenant_id)
    for required in ("npi", "first_name", "last_name"):
        fields.setdefault(required, None)
    values = _clean(session, tenant_id, fields, None)
    for flag, default in _age_defaults(values.get("specialties", [])).items():
        values.setdefault(flag, default)
    provider = Provider(tenant_id=tenant_id, visit_reasons=[], conditions=[])
    provider.specialties, provider.languages, provider.location_links, provider.plan_links = [], [], [], []
    _apply(provider, values)
    session.add(provider)
    session.flush()
    return _reload(session, provider.id)


def update_provider(session: Session, provider_id: int, changes: dict[str, Any]) -> Provider:
    """Change the given fields; lists given replace the old ones; active=False deactivates."""
    provider = get_provider(session, provider_id)
    values = _clean(
        session, provider.tenant_id, {k: v for k, v in changes.items() if k != "tenant_id"}, provider
    )
    _apply(provider, values)
    session.flush()
    return _reload(session, provider.id)


def _reload(session: Session, provider_id: int) -> Provider:
    """The provider with every link (and its location or plan) freshly loaded after a change."""
    stmt = (
        select(Provider)
        .where(Provider.id == provider_id)
        .options(*LOAD)
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one()


def get_provider(session: Session, provider_id: int) -> Provider:
    """One provider with specialties, languages, locations and plans loaded, or NotFound."""
    provider = session.scalar(select(Provider).where(Provider.id == provider_id).options(*LOAD))
    if provider is None:
        get_scoped(session, Provider, provider_id, what="provider")
    return provider


def provider_by_npi(session: Session, tenant_id: int, npi: str) -> Provider | None:
    """The tenant's provider with this NPI, loaded, or None."""
    return session.scalar(
        select(Provider).where(Provider.tenant_id == tenant_id, Provider.npi == npi.strip()).options(*LOAD)
    )


def named(stmt: Select, q: str | None) -> Select:
    """Only the providers whose names start with each word of `q` ('kim', 'jane do'), or whose NPI
    starts with its digits."""
    for token in (q or "").replace(",", " ").split():
        token = token.strip(".").lower()
        if token.isdigit():
            stmt = stmt.where(Provider.npi.startswith(token))
        elif token:
            stmt = stmt.where(
                or_(
                    func.lower(Provider.first_name).startswith(token),
                    func.lower(Provider.last_name).startswith(token),
                )
            )
    return stmt


def _filters(
    stmt: Select,
    *,
    tenant_id: int | None,
    q: str | None,
    specialty: str | None,
    language: str | None,
    location_id: int | None,
    accepting: bool | None,
    plan_id: int | None,
    age: int | None,
    gender: str | None,
    active: bool | None,
) -> Select:
    if tenant_id is not None:
        stmt = stmt.where(Provider.tenant_id == tenant_id)
    if active is not None:
        stmt = stmt.where(Provider.active.is_(active))
    stmt = named(stmt, q)
    if specialty and specialty.strip():
        code = specialty.strip().upper()
        codes = [code] if code in reference.specialties() else reference.codes_matching(specialty)
        stmt = stmt.where(
            Provider.id.in_(
                select(ProviderSpecialty.provider_id).where(ProviderSpecialty.taxonomy_code.in_(codes))
            )
        )
    if language and language.strip():
        codes = validate.languages([language])
        stmt = stmt.where(
            Provider.id.in_(select(ProviderLanguage.provider_id).where(ProviderLanguage.language.in_(codes)))
        )
    if location_id is not None:
        stmt = stmt.where(
            Provider.id.in_(
                select(ProviderLocation.provider_id).where(ProviderLocation.location_id == location_id)
            )
        )
    if plan_id is not None:
        plan_rows = select(ProviderPlan.provider_id).where(ProviderPlan.plan_id == plan_id)
        if accepting:
            plan_rows = plan_rows.where(ProviderPlan.accepting_new.is_(True))
        stmt = stmt.where(Provider.id.in_(plan_rows))
    if accepting is not None:
        stmt = stmt.where(Provider.accepting_new_patients.is_(accepting))
    if age is not None:
        group = (
            Provider.sees_pediatric
            if age < 18
            else Provider.sees_geriatric
            if age >= 65
            else Provider.sees_adult
        )
        stmt = stmt.where(group.is_(True))
        stmt = stmt.where(or_(Provider.min_age.is_(None), Provider.min_age <= age))
        stmt = stmt.where(or_(Provider.max_age.is_(None), Provider.max_age >= age))
    if gender:
        stmt = stmt.where(Provider.gender == validate.gender(gender))
    return stmt


def search_providers(
    session: Session,
    *,
    tenant_id: int | None = None,
    q: str | None = None,
    specialty: str | None = None,
    language: str | None = None,
    location_id: int | None = None,
    accepting: bool | None = None,
    plan_id: int | None = None,
    age: int | None = None,
    gender: str | None = None,
    active: bool | None = True,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Provider], int]:
    """Providers matching every given filter, by last then first name, with the total count.

    q: name prefixes ('kim', 'jane do') or NPI digits; specialty: a NUCC code or words ('cardiology',
    'heart'); language: ISO 639-1 code or English name; accepting: new patients (on plan_id when given).
    """
    limit, offset = page(limit, offset)
    stmt = _filters(
        select(Provider),
        tenant_id=tenant_id,
        q=q,
        specialty=specialty,
        language=language,
        location_id=location_id,
        accepting=accepting,
        plan_id=plan_id,
        age=age,
        gender=gender,
        active=active,
    )
    total = (
        session.scalar(select(func.count()).select_from(stmt.with_only_columns(Provider.id).subquery())) or 0
    )
    rows = session.scalars(
        stmt.order_by(Provider.last_name, Provider.first_name, Provider.id)
        .limit(limit)
        .offset(offset)
        .options(*LOAD)
    )
    return list(rows), total


def age_groups(provider: Provider) -> list[str]:
    """['pediatric', 'adult', 'geriatric'] as the provider's flags say."""
    flags = (provider.sees_pediatric, provider.sees_adult, provider.sees_geriatric)
    return [group for group, on in zip(reference.AGE_GROUPS, flags, strict=True) if on]


def provider_summary(provider: Provider) -> str:
    """One paragraph an agent can read to a caller (relationships must be loaded, see get_provider).

    'Maria Lopez, MD - family medicine, pediatrics. Speaks English, Spanish. Sees children, adults and
    seniors. Accepting new patients. Offers telehealth. Practises at: Lakeshore Evanston Clinic (Evanston).'
    """
    specs = [reference.specialty_name(s.taxonomy_code) for s in provider.specialties]
    head = f"{provider.display_name} - {', '.join(specs)}" if specs else provider.display_name
    parts = [head + "."]
    if provider.languages:
        parts.append(
            "Speaks " + ", ".join(reference.language_name(x.language) for x in provider.languages) + "."
        )
    words = {"pediatric": "children", "adult": "adults", "geriatric": "seniors"}
    groups = [words[g] for g in age_groups(provider)]
    if groups:
        ages = ", ".join(groups[:-1]) + (" and " if len(groups) > 1 else "") + groups[-1]
        limits = ""
        if provider.min_age is not None or provider.max_age is not None:
            top = "up" if provider.max_age is None else provider.max_age
            limits = f" (ages {provider.min_age or 0}-{top})"
        parts.append(f"Sees {ages}{limits}.")
    if not provider.active:
        parts.append("No longer practising here.")
    else:
        parts.append(
            "Accepting new patients." if provider.accepting_new_patients else "Not accepting new patients."
        )
        closed = [link.plan.name for link in provider.plan_links if not link.accepting_new]
        if provider.accepting_new_patients and closed:
            parts.append("Not taking new patients on: " + ", ".join(closed) + ".")
    if provider.telehealth:
        parts.append("Offers telehealth.")
    places = [f"{link.location.name} ({link.location.city})" for link in provider.location_links]
    if places:
        parts.append("Practises at: " + "; ".join(places) + ".")
    return " ".join(parts)
