"""Demo calendars: appointment types per tenant, weekly hours for every provider at their locations,
holidays and some time off, and booked visits over the coming weeks.

Everything goes in with bulk inserts (COPY on PostgreSQL), so a 100,000-provider world gets its
~800,000 weekly windows in seconds. Visits are booked for a share of the providers (all of them
in the default world, a sample in big worlds: the benchmark books its own providers fuller).
Drawn from one seeded generator; the visits start from today, so the demo always has a future.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import JSON, insert, select, text
from sqlalchemy.orm import Session

from careline.directory import reference
from careline.directory.models import Location, Provider, ProviderLocation, ProviderSpecialty
from careline.kit.clock import utcnow
from careline.scheduling import rules
from careline.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AvailabilityTemplate,
    CalendarException,
    ExceptionKind,
    Modality,
    PatientKind,
)
from careline.tenants.models import Tenant

CHUNK = 5000
EFFECTIVE_FROM = date(2026, 1, 1)
BOOK_DAYS = 21  # visits are booked this far ahead
BOOKED_SHARE = 0.35  # of the open time of a provider with visits
LARGE_BOOKED_PROVIDERS = 2000  # in big worlds, providers that get visits (the rest have empty calendars)
HOLIDAYS = [
    (date(2026, 11, 26), "Thanksgiving"),
    (date(2026, 12, 25), "Christmas Day"),
    (date(2027, 1, 1), "New Year's Day"),
    (date(2027, 5, 31), "Memorial Day"),
    (date(2027, 7, 5), "Independence Day (observed)"),
]
ORTHO = tuple(code for code in reference.specialties() if code.startswith("207X"))
PRIMARY = tuple(code for code, s in reference.specialties().items() if s.group == "primary_care")
PEDIATRIC = tuple(code for code, s in reference.specialties().items() if s.age == "pediatric")

# name: (minutes, patient kind, modality, notice minutes, days ahead, min age, max age, referral, codes, prep)
TYPES: dict[str, tuple] = {
    "New patient visit": (
        40,
        PatientKind.NEW,
        Modality.IN_PERSON,
        1440,
        90,
        None,
        None,
        False,
        (),
        "Arrive 15 minutes early with your insurance card, a photo ID and a list of your medicines.",
    ),
    "Follow-up visit": (20, PatientKind.ESTABLISHED, Modality.IN_PERSON, 60, 90, None, None, False, (), ""),
    "Annual physical": (
        30,
        PatientKind.ANY,
        Modality.IN_PERSON,
        1440,
        180,
        18,
        None,
        False,
        PRIMARY,
        "If blood work is planned, do not eat for 8 hours before (water is fine).",
    ),
    "Same-day sick visit": (15, PatientKind.ANY, Modality.IN_PERSON, 0, 0, None, None, False, PRIMARY, ""),
    "Telehealth visit": (
        20,
        PatientKind.ANY,
        Modality.TELEHEALTH,
        60,
        30,
        None,
        None,
        False,
        (),
        "Join from a quiet place with good internet; we send the video link an hour before.",
    ),
    "Well-child visit": (
        30,
        PatientKind.ANY,
        Modality.IN_PERSON,
        1440,
        180,
        None,
        17,
        False,
        PEDIATRIC,
        "Bring the immunization record.",
    ),
    "Ortho consult": (
        30,
        PatientKind.NEW,
        Modality.IN_PERSON,
        1440,
        90,
        None,
        None,
        True,
        ORTHO,
        "Bring any X-rays or MRI reports and the referral from your doctor.",
    ),
}
BOOKED_TYPES = (
    "Follow-up visit",
    "Follow-up visit",
    "New patient visit",
    "Annual physical",
    "Follow-up visit",
)


def _bulk(db: Session, model: type, rows: list[dict]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany in chunks elsewhere."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    if db.get_bind().dialect.name != "postgresql":
        for start in range(0, len(rows), CHUNK):
            db.execute(insert(table), rows[start : start + CHUNK])
        return
    columns = list(rows[0])
    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    raw = db.connection().connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c])
                    if c in as_json
                    else row[c].value
                    if isinstance(row[c], Enum)
                    else row[c]
                    for c in columns
                ]
            )


def _types(db: Session, tenant: Tenant) -> dict[str, int]:
    out = {}
    for name, spec in TYPES.items():
        minutes, kind, modality, notice, ahead, min_age, max_age, referral, codes, prep = spec
        if name == "Ortho consult" and tenant.slug == "maple-family":
            continue
        row = AppointmentType(
            tenant_id=tenant.id,
            name=name,
            duration_minutes=minutes,
            patient_kind=kind,
            modality=modality,
            min_notice_minutes=notice,
            max_days_ahead=ahead,
            min_age=min_age,
            max_age=max_age,
            referral_required=referral,
            specialty_codes=list(codes),
            provider_ids=[],
            preparation=prep,
        )
        db.add(row)
        db.flush()
        out[name] = row.id
    return out


def _windows(
    provider_id: int, codes: set[str], places: Sequence[int], types: dict[str, int], rng: random.Random
) -> list[dict[str, Any]]:
    """A week for one provider: mornings and afternoons, days split over their locations, a same-day
    sick hour (held until 10:00) for primary care and a new-patient morning (held until 2 days ahead)."""
    rows = []
    primary = bool(codes & set(PRIMARY))
    step = 20 if rng.random() < 0.2 else 15
    days = [0, 1, 2, 3, 4] if rng.random() < 0.85 else [0, 1, 2, 3]
    created = utcnow()

    def window(
        day: int,
        start: str,
        end: str,
        reserved: int | None = None,
        release: str | None = None,
        before: int = 0,
    ) -> None:
        rows.append(
            {
                "tenant_id": None,
                "provider_id": provider_id,
                "location_id": places[day % len(places)],
                "weekday": day,
                "start_local": start,
                "end_local": end,
                "slot_minutes": step,
                "effective_from": EFFECTIVE_FROM,
                "effective_to": None,
                "reserved_type_id": reserved,
                "release_at_local": release,
                "release_days_before": before,
                "created_at": created,
            }
        )

    for day in days:
        if day == 1:  # Tuesday mornings start with new patients
            window(day, "08:00", "10:00", types["New patient visit"], "12:00", 2)
            window(day, "10:00", "12:00")
        else:
            window(day, "08:00", "12:00")
        if day == 4 and rng.random() < 0.5:
            continue  # Friday afternoons off
        if primary and "Same-day sick visit" in types:
            window(day, "13:00", "14:00", types["Same-day sick visit"], "10:00", 0)
            window(day, "14:00", "17:00")
        else:
            window(day, "13:00", "17:00")
    return rows


def _holidays(tenant: Tenant) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant.id,
            "provider_id": None,
            "location_id": None,
            "starts_at": rules.local_midnight(day, tenant.timezone),
            "ends_at": rules.local_midnight(day + timedelta(days=1), tenant.timezone),
            "kind": ExceptionKind.HOLIDAY,
            "reason": name,
            "created_at": utcnow(),
        }
        for day, name in HOLIDAYS
    ]


def _time_off(tenant: Tenant, provider_ids: Sequence[int], rng: random.Random, today: date) -> list[dict]:
    """A week of vacation for ~3% of providers and an afternoon off for ~3% in the next two months."""
    rows = []
    for pid in provider_ids:
        roll = rng.random()
        if roll < 0.03:
            first = today + timedelta(days=rng.randrange(7, 56))
            first -= timedelta(days=first.weekday())
            start = rules.local_midnight(first, tenant.timezone)
            end = rules.local_midnight(first + timedelta(days=5), tenant.timezone)
            rows.append((pid, start, end, ExceptionKind.VACATION, "Vacation"))
        elif roll < 0.06:
            day = today + timedelta(days=rng.randrange(2, 40))
            start, end = rules.window_utc(day, 12 * 60, 17 * 60, tenant.timezone)
            rows.append((pid, start, end, ExceptionKind.HALF_DAY, "Afternoon off"))
    return [
        {
            "tenant_id": tenant.id,
            "provider_id": pid,
            "location_id": None,
            "starts_at": s,
            "ends_at": e,
            "kind": kind,
            "reason": reason,
            "created_at": utcnow(),
        }
        for pid, s, e, kind, reason in rows
    ]


def book_visits(
    db: Session,
    *,
    tenant_id: int,
    provider_ids: Iterable[int],
    patient_ids: Sequence[int],
    type_ids: dict[str, int],
    first_day: date,
    days: int = BOOK_DAYS,
    share: float = BOOKED_SHARE,
    seed: int | str = 7,
    per_patient: int = 2,
    max_visits: int | None = None,
) -> int:
    """Fill about `share` of these providers' open time over `days` with booked visits (bulk).

    Respects their templates, the tenant's holidays and their time off. Patients get at most
    `per_patient` visits, never two on one day, so no patient is double-booked; when patients run
    short (or `max_visits` is reached), fewer visits are made. Used by the demo and the bench.
    """
    ids = list(provider_ids)
    if not ids or not patient_ids:
        return 0
    rng = random.Random(f"careline-scheduling-visits-{seed}-{tenant_id}")
    minutes = {tid: db.get(AppointmentType, tid).duration_minutes for tid in type_ids.values()}  # type: ignore[union-attr]
    choices = [type_ids[name] for name in BOOKED_TYPES if name in type_ids]
    templates = _templates_by_provider(db, tenant_id, ids)
    zones = dict(
        db.execute(select(Location.id, Location.timezone).where(Location.tenant_id == tenant_id)).all()
    )
    blocked = _blocked(db, tenant_id, ids)
    now = utcnow()
    wanted = []  # (provider, location, type, start, end, local day): never overlapping per provider
    for pid in ids:
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for t in templates.get(pid, ()):
                if t.weekday != day.weekday() or not t.applies_on(day):
                    continue
                ws, we = rules.window_utc(day, t.start_min, t.end_min, zones[t.location_id])
                at = ws
                while at < we:
                    kind = rng.choice(choices)
                    length = timedelta(minutes=minutes[kind])
                    if at + length > we:
                        break
                    if at > now and rng.random() < share and not _hits(blocked.get(pid, ()), at, at + length):
                        wanted.append((pid, t.location_id, kind, at, at + length, day))
                        at += length
                        at += timedelta(minutes=(-int((at - ws).total_seconds() // 60)) % t.slot_minutes)
                    else:
                        at += timedelta(minutes=t.slot_minutes)
    rng.shuffle(wanted)
    pool = list(patient_ids)
    rng.shuffle(pool)
    # Patients with visits in these weeks already (an earlier run) are left alone.
    window_start = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), UTC)
    already = db.scalars(
        select(Appointment.patient_id)
        .where(
            Appointment.tenant_id == tenant_id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.start_at >= window_start,
            Appointment.start_at < window_start + timedelta(days=days + 2),
        )
        .distinct()
    )
    used: dict[int, int] = dict.fromkeys(already, per_patient)
    days_taken: set[tuple[int, date]] = set()
    rows, cursor = [], 0
    for pid, lid, kind, start, end, day in wanted:
        if max_visits is not None and len(rows) >= max_visits:
            break
        patient = None
        for _ in range(min(len(pool), 4)):
            candidate = pool[cursor % len(pool)]
            cursor += 1
            if used.get(candidate, 0) < per_patient and (candidate, day) not in days_taken:
                patient = candidate
                break
        if patient is None:
            continue
        used[patient] = used.get(patient, 0) + 1
        days_taken.add((patient, day))
        rows.append(
            {
                "tenant_id": tenant_id,
                "provider_id": pid,
                "location_id": lid,
                "patient_id": patient,
                "type_id": kind,
                "start_at": start,
                "end_at": end,
                "status": AppointmentStatus.BOOKED,
                "booked_by": "demo",
                "has_referral": False,
                "created_at": now,
            }
        )
    _bulk(db, Appointment, rows)
    return len(rows)


def _templates_by_provider(
    db: Session, tenant_id: int, ids: list[int]
) -> dict[int, list[rules.TemplateFacts]]:
    from careline.scheduling.availability import load_templates

    out: dict[int, list[rules.TemplateFacts]] = {}
    for start in range(0, len(ids), 1000):
        for t in load_templates(db, tenant_id, ids[start : start + 1000], date(2000, 1, 1), date(2100, 1, 1)):
            out.setdefault(t.provider_id, []).append(t)
    return out


def _blocked(db: Session, tenant_id: int, ids: list[int]) -> dict[int, list[tuple[datetime, datetime]]]:
    rows = db.execute(
        select(CalendarException.provider_id, CalendarException.starts_at, CalendarException.ends_at).where(
            CalendarException.tenant_id == tenant_id
        )
    ).all()
    everyone = [(s, e) for pid, s, e in rows if pid is None]
    wanted = set(ids)
    out: dict[int, list[tuple[datetime, datetime]]] = {pid: list(everyone) for pid in ids}
    for pid, s, e in rows:
        if pid in wanted:
            out[pid].append((s, e))
    for start in range(0, len(ids), 1000):  # their visits already booked (an earlier run)
        for pid, s, e in db.execute(
            select(Appointment.provider_id, Appointment.start_at, Appointment.end_at).where(
                Appointment.provider_id.in_(ids[start : start + 1000]),
                Appointment.status.in_(ACTIVE_STATUSES),
            )
        ):
            out[pid].append((s, e))
    return out


def _hits(spans: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(s < end and e > start for s, e in spans)


def seed_scheduling(db: Session, options: Any) -> dict[str, int]:
    """Add calendars to the demo directory: types, weekly hours, holidays, time off, booked visits."""
    from careline.patients.models import Patient

    rng = random.Random(f"careline-scheduling-{options.seed}")
    counts = {
        "appointment_types": 0,
        "availability_templates": 0,
        "calendar_exceptions": 0,
        "appointments": 0,
    }
    today = utcnow().astimezone(UTC).date()
    for tenant in db.scalars(select(Tenant).order_by(Tenant.id)):
        types = _types(db, tenant)
        counts["appointment_types"] += len(types)
        provider_ids = list(
            db.scalars(
                select(Provider.id)
                .where(Provider.tenant_id == tenant.id, Provider.active.is_(True))
                .order_by(Provider.id)
            )
        )
        if not provider_ids:
            continue
        places: dict[int, list[int]] = {}
        for pid, lid in db.execute(
            select(ProviderLocation.provider_id, ProviderLocation.location_id)
            .where(ProviderLocation.tenant_id == tenant.id)
            .order_by(ProviderLocation.id)
        ):
            places.setdefault(pid, []).append(lid)
        codes: dict[int, set[str]] = {}
        for pid, code in db.execute(
            select(ProviderSpecialty.provider_id, ProviderSpecialty.taxonomy_code).where(
                ProviderSpecialty.tenant_id == tenant.id
            )
        ):
            codes.setdefault(pid, set()).add(code)
        windows = []
        for pid in provider_ids:
            if pid in places:
                for row in _windows(pid, codes.get(pid, set()), places[pid], types, rng):
                    row["tenant_id"] = tenant.id
                    windows.append(row)
        _bulk(db, AvailabilityTemplate, windows)
        exceptions = _holidays(tenant) + _time_off(tenant, provider_ids, rng, today)
        _bulk(db, CalendarException, exceptions)
        counts["availability_templates"] += len(windows)
        counts["calendar_exceptions"] += len(exceptions)
        patients = list(
            db.scalars(select(Patient.id).where(Patient.tenant_id == tenant.id).order_by(Patient.id))
        )
        booked = provider_ids
        if options.providers is not None and len(booked) > LARGE_BOOKED_PROVIDERS:
            booked = sorted(rng.sample(provider_ids, LARGE_BOOKED_PROVIDERS))
        counts["appointments"] += book_visits(
            db,
            tenant_id=tenant.id,
            provider_ids=[p for p in booked if p in places],
            patient_ids=patients,
            type_ids=types,
            first_day=today,
            seed=options.seed,
            max_visits=len(patients) // 2,  # half the patients or fewer have a visit coming
        )
    if db.get_bind().dialect.name == "postgresql":
        # Fresh statistics for the planner after a bulk load (autovacuum would get there later).
        db.execute(text("ANALYZE availability_templates, calendar_exceptions, appointments"))
    db.flush()
    return counts
