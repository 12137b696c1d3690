"""CSV import and export of providers and locations.

Import rules (also shown on the import page):
- The first line names the columns (any order; the export's columns). Unknown columns are ignored and
  reported on line 1; a missing required column refuses the file.
- Each row is saved on its own: a bad row is reported with its line number and field, and every good
  row is still saved. Lines count from 1 = the header, as a spreadsheet shows them.
- Providers are matched by NPI within the client: a row whose NPI exists updates that provider
  (re-importing the same file changes nothing). Locations are matched by name within the client.
- A column present in the file sets that field, blank meaning empty (yes/no cells left blank keep the
  current value); columns absent from the file leave the field alone.
- Lists are separated by ';'. Specialties are NUCC codes or their plain names (the first is primary);
  languages are ISO 639-1 codes or English names; locations and plans are named as in the directory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from careline.directory import reference, rules, validate
from careline.directory.common import require_tenant
from careline.directory.models import InsurancePlan, Location, Provider
from careline.directory.service_locations import create_location, update_location
from careline.directory.service_providers import (
    LOAD,
    age_groups,
    create_provider,
    provider_by_npi,
    update_provider,
)
from careline.errors import CareLineError, ValidationFailed

PROVIDER_COLUMNS = [
    "npi",
    "first_name",
    "last_name",
    "credentials",
    "gender",
    "specialties",
    "languages",
    "locations",
    "plans",
    "plans_not_accepting_new",
    "accepting_new_patients",
    "telehealth",
    "age_groups",
    "min_age",
    "max_age",
    "visit_reasons",
    "conditions",
    "bio",
    "active",
]
LOCATION_COLUMNS = [
    "name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "phone",
    "timezone",
    "hours",
    "closures",
    "parking",
    "directions",
    "accessibility",
    "active",
]
_FIELD_TO_COLUMN = {"location_ids": "locations", "sees_pediatric": "age_groups", "min_age": "min_age"}


@dataclass
class RowError:
    line: int
    field: str | None
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _join(items: list[str]) -> str:
    return "; ".join(items)


def _split(cell: str) -> list[str]:
    return [part.strip() for part in (cell or "").split(";") if part.strip()]


def _write(columns: list[str], rows: Iterator[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


# ---------------------------------------------------------------- export


def provider_row(p: Provider) -> dict[str, str]:
    """A provider (relationships loaded) as one CSV row."""
    groups = age_groups(p)
    return {
        "npi": p.npi,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "credentials": p.credentials,
        "gender": str(p.gender),
        "specialties": _join([s.taxonomy_code for s in p.specialties]),
        "languages": _join([x.language for x in p.languages]),
        "locations": _join([link.location.name for link in p.location_links]),
        "plans": _join([link.plan.name for link in p.plan_links]),
        "plans_not_accepting_new": _join([link.plan.name for link in p.plan_links if not link.accepting_new]),
        "accepting_new_patients": _yes(p.accepting_new_patients),
        "telehealth": _yes(p.telehealth),
        "age_groups": _join(groups),
        "min_age": "" if p.min_age is None else str(p.min_age),
        "max_age": "" if p.max_age is None else str(p.max_age),
        "visit_reasons": _join(p.visit_reasons or []),
        "conditions": _join(p.conditions or []),
        "bio": p.bio or "",
        "active": _yes(p.active),
    }


def location_row(loc: Location) -> dict[str, str]:
    """A location (closures loaded) as one CSV row."""
    return {
        "name": loc.name,
        "address_line1": loc.address_line1,
        "address_line2": loc.address_line2 or "",
        "city": loc.city,
        "state": loc.state,
        "zip": loc.zip,
        "phone": loc.phone or "",
        "timezone": loc.timezone,
        "hours": rules.format_hours_text(loc.hours),
        "closures": _join([f"{c.date.isoformat()} {c.reason}".strip() for c in loc.closures]),
        "parking": loc.parking or "",
        "directions": loc.directions or "",
        "accessibility": loc.accessibility or "",
        "active": _yes(loc.active),
    }


def _provider_rows(session: Session, tenant_id: int, batch: int = 2000) -> Iterator[dict[str, str]]:
    last = 0
    while True:
        chunk = list(
            session.scalars(
                select(Provider)
                .where(Provider.tenant_id == tenant_id, Provider.id > last)
                .order_by(Provider.id)
                .limit(batch)
                .options(*LOAD)
            )
        )
        if not chunk:
            return
        yield from (provider_row(p) for p in chunk)
        last = chunk[-1].id


def export_providers(session: Session, tenant_id: int) -> str:
    """Every provider of a tenant (active or not) as CSV text, in the order they were added."""
    require_tenant(session, tenant_id)
    return _write(PROVIDER_COLUMNS, _provider_rows(session, tenant_id))


def export_locations(session: Session, tenant_id: int) -> str:
    """Every location of a tenant as CSV text."""
    require_tenant(session, tenant_id)
    rows = session.scalars(
        select(Location)
        .where(Location.tenant_id == tenant_id)
        .order_by(Location.id)
        .options(selectinload(Location.closures))
    )
    return _write(LOCATION_COLUMNS, (location_row(loc) for loc in rows))


# ---------------------------------------------------------------- import


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("the file is not UTF-8 text; save it as CSV UTF-8", field="file") from exc


Row = tuple[int, dict[str, str] | None, str]  # (line, cells by column, or None and why it is unreadable)


def _rows(text: str) -> tuple[list[str], Iterator[Row]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ValidationFailed("the file is empty or not CSV", field="file") from None

    def rows() -> Iterator[Row]:
        start = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, None, f"the file could not be read from here on: {exc}"
                return
            line, start = start, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                yield line, None, f"{len(values)} cells but the header names {len(header)} columns"
                continue
            yield (
                line,
                {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header) if h},
                "",
            )

    return header, rows()


def _run(
    session: Session,
    data: bytes | str,
    columns: list[str],
    required: tuple[str, ...],
    handle: Callable[[dict[str, str]], str],
) -> ImportResult:
    result = ImportResult()
    header, rows = _rows(_decode(data))
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationFailed(f"the file has no column {', '.join(missing)}", field=missing[0])
    for name in header:
        if name and name not in columns:
            result.errors.append(RowError(1, name, f"unknown column '{name}' was ignored"))
    for line, row, problem in rows:
        if row is None:
            result.errors.append(RowError(line, None, problem))
            continue
        try:
            with session.begin_nested():
                outcome = handle(row)
        except CareLineError as exc:
            col = _FIELD_TO_COLUMN.get(exc.field or "", exc.field)
            result.errors.append(RowError(line, col, exc.message))
            continue
        except IntegrityError:
            result.errors.append(RowError(line, None, "this row clashes with another record (a duplicate?)"))
            continue
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def _specialty_codes(cells: list[str]) -> list[str]:
    by_name = {}
    for spec in reference.specialties().values():
        by_name.setdefault(spec.plain.lower(), spec.code)
        by_name.setdefault(spec.name.lower(), spec.code)
    return [by_name.get(c.lower(), c) for c in cells]


def import_providers(session: Session, *, tenant_id: int, data: bytes | str) -> ImportResult:
    """Create or update (by NPI) the tenant's providers from CSV; see the module notes for the rules."""
    require_tenant(session, tenant_id)
    locations = dict(
        session.execute(select(Location.name, Location.id).where(Location.tenant_id == tenant_id)).all()
    )
    plans = dict(
        session.execute(
            select(InsurancePlan.name, InsurancePlan.id).where(InsurancePlan.tenant_id == tenant_id)
        ).all()
    )

    def named(cell: str, known: dict[str, int], column: str, what: str) -> list[int]:
        ids = []
        for name in _split(cell):
            if name not in known:
                raise ValidationFailed(f"no {what} named '{name}' for this client", field=column)
            ids.append(known[name])
        return ids

    def handle(row: dict[str, str]) -> str:
        fields: dict[str, Any] = {}
        for col in ("npi", "first_name", "last_name", "credentials", "gender", "bio", "min_age", "max_age"):
            if col in row:
                fields[col] = row[col]
        for col in ("accepting_new_patients", "telehealth", "active"):
            if row.get(col):
                fields[col] = validate.boolean(row[col], col)
        if row.get("age_groups"):
            groups = [g.lower() for g in _split(row["age_groups"])]
            unknown = [g for g in groups if g not in reference.AGE_GROUPS]
            if unknown:
                raise ValidationFailed(
                    f"age group '{unknown[0]}' is not pediatric, adult or geriatric", "age_groups"
                )
            for group, flag in zip(
                reference.AGE_GROUPS, ("sees_pediatric", "sees_adult", "sees_geriatric"), strict=True
            ):
                fields[flag] = group in groups
        for col in ("visit_reasons", "conditions", "languages"):
            if col in row:
                fields[col] = _split(row[col])
        if "specialties" in row:
            fields["specialties"] = _specialty_codes(_split(row["specialties"]))
        if "locations" in row:
            fields["location_ids"] = named(row["locations"], locations, "locations", "location")
        if "plans" in row or "plans_not_accepting_new" in row:
            closed = set(
                named(row.get("plans_not_accepting_new", ""), plans, "plans_not_accepting_new", "plan")
            )
            accepted = named(row.get("plans", ""), plans, "plans", "plan")
            fields["plans"] = [
                {"plan_id": i, "accepting_new": i not in closed}
                for i in dict.fromkeys(accepted + list(closed))
            ]
        npi = validate.npi_number(row.get("npi"))
        existing = provider_by_npi(session, tenant_id, npi)
        if existing is None:
            create_provider(session, tenant_id=tenant_id, **fields)
            return "created"
        before = provider_row(existing)
        after = provider_row(update_provider(session, existing.id, fields))
        return "unchanged" if before == after else "updated"

    return _run(session, data, PROVIDER_COLUMNS, ("npi", "first_name", "last_name"), handle)


def _closures(cell: str) -> list[dict[str, str]]:
    out = []
    for item in _split(cell):
        day, _, reason = item.partition(" ")
        out.append({"date": validate.closure_date(day, "closures").isoformat(), "reason": reason.strip()})
    return out


def import_locations(session: Session, *, tenant_id: int, data: bytes | str) -> ImportResult:
    """Create or update (by name) the tenant's locations from CSV; see the module notes for the rules."""
    require_tenant(session, tenant_id)

    def handle(row: dict[str, str]) -> str:
        fields: dict[str, Any] = {
            k: v for k, v in row.items() if k in LOCATION_COLUMNS and k not in ("active", "closures")
        }
        if row.get("active"):
            fields["active"] = validate.boolean(row["active"], "active")
        if "closures" in row:
            fields["closures"] = _closures(row["closures"])
        name = validate.text(row.get("name"), "name", max_len=200, required=True)
        existing = session.scalar(
            select(Location)
            .where(Location.tenant_id == tenant_id, Location.name == name)
            .options(selectinload(Location.closures))
        )
        if existing is None:
            create_location(session, tenant_id=tenant_id, **fields)
            return "created"
        before = location_row(existing)
        after = location_row(update_location(session, existing.id, fields))
        return "unchanged" if before == after else "updated"

    return _run(session, data, LOCATION_COLUMNS, ("name", "address_line1", "zip"), handle)
