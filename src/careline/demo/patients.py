"""Demo patients: a few thousand by default, 200,000 for a benchmark world, the same for the same seed.

Rows go in with bulk inserts (`session.execute(insert(Patient).returning(...), [dicts])` in chunks),
so `careline demo --patients 200000` takes seconds, not the hours an ORM object per row would.
Names come from Faker's name lists drawn with our own seeded random generator, so the world
depends only on the seed (and the installed Faker's lists), not on the day it is built.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from careline.kit import geo
from careline.kit.clock import utcnow
from careline.patients import rules
from careline.patients.models import Patient, PatientPhone, PhoneKind, ReferralSource, Sex
from careline.patients.service import (
    mrn_prefix,
    name_columns,
    next_mrn,
    primary_care_providers,
    set_mrn_counter,
)
from careline.tenants.models import Tenant

DEFAULT_PATIENTS = 2000
CHUNK = 5000
ANCHOR = date(2026, 11, 1)  # ages are counted from here, so the world does not change with the date
TENANT_SHARE = {"lakeshore": 0.70, "northside-ortho": 0.12, "maple-family": 0.18}
AREA_CODES = ("312", "773", "872", "708", "847", "630")
HOME_MILES, WORK_MILES = 12.0, 20.0
DOWNTOWN_ZIPS = ("60601", "60602", "60603", "60604", "60605", "60606", "60607", "60611", "60654", "60661")
FALLBACK_ZIP = "60611"  # a tenant without locations gets patients around downtown Chicago

# A Chicago-area spread of preferred languages (ISO 639-1, weight in percent).
LANGUAGE_WEIGHTS = {
    "en": 77.0,
    "es": 13.5,
    "pl": 2.5,
    "zh": 1.5,
    "ar": 1.0,
    "tl": 0.8,
    "ru": 0.7,
    "ko": 0.6,
    "vi": 0.5,
    "hi": 0.5,
    "ur": 0.4,
    "uk": 0.4,
    "el": 0.2,
    "it": 0.2,
    "gu": 0.2,
    "fr": 0.1,
    "de": 0.1,
}
SEX_WEIGHTS = {Sex.FEMALE: 51.0, Sex.MALE: 47.5, Sex.OTHER: 0.5, Sex.UNKNOWN: 1.0}
REFERRAL_WEIGHTS = {
    ReferralSource.FRIEND_FAMILY: 24.0,
    ReferralSource.PHYSICIAN_REFERRAL: 22.0,
    ReferralSource.WEB_SEARCH: 20.0,
    ReferralSource.INSURANCE_DIRECTORY: 12.0,
    ReferralSource.ADVERTISING: 7.0,
    ReferralSource.OTHER: 5.0,
    ReferralSource.UNKNOWN: 10.0,
}
REFERRAL_NOTES = {
    ReferralSource.FRIEND_FAMILY: [
        "neighbour recommended Dr. {doctor}",
        "my sister sees Dr. {doctor}",
        "coworker said the wait times are short",
        "my mother has been a patient for years",
        "friend from church",
    ],
    ReferralSource.PHYSICIAN_REFERRAL: [
        "sent by the urgent care on {street}",
        "referred by her cardiologist",
        "ER follow-up, told to find a PCP",
        "previous doctor retired",
    ],
    ReferralSource.WEB_SEARCH: [
        "googled doctors near {zip}",
        "read reviews online",
        "found Dr. {doctor} on the website",
    ],
    ReferralSource.INSURANCE_DIRECTORY: [
        "listed in the plan's directory",
        "insurance member services gave this number",
    ],
    ReferralSource.ADVERTISING: ["CTA bus ad", "radio spot", "mailer", "billboard on the Kennedy"],
    ReferralSource.OTHER: ["health fair", "school nurse", "employer wellness program"],
    ReferralSource.UNKNOWN: [],
}
STREETS = [
    "N Clark St", "W Belmont Ave", "N Broadway", "W Diversey Pkwy", "N Sheridan Rd", "W Addison St",
    "N Western Ave", "W Irving Park Rd", "N Lincoln Ave", "W Fullerton Ave", "S Halsted St", "W Madison St",
    "N Milwaukee Ave", "W North Ave", "S Michigan Ave", "W Foster Ave", "N Ashland Ave", "W Lawrence Ave",
    "N Damen Ave", "W Chicago Ave", "S Cicero Ave", "W Cermak Rd", "N Harlem Ave", "W Devon Ave",
    "Ridge Rd", "Oak Park Ave", "Central St", "Green Bay Rd", "Ogden Ave", "Roosevelt Rd",
]  # fmt: skip
ARABIC_FIRST_F = ["Fatima", "Aisha", "Layla", "Mariam", "Noor", "Huda", "Amira", "Yasmin", "Salma", "Rania"]
ARABIC_FIRST_M = [
    "Mohammed",
    "Ahmed",
    "Omar",
    "Ali",
    "Hassan",
    "Youssef",
    "Khaled",
    "Ibrahim",
    "Tariq",
    "Samir",
]
ARABIC_LAST = [
    "Haddad",
    "Khalil",
    "Nasser",
    "Mansour",
    "Saleh",
    "Hamdan",
    "Aziz",
    "Farouk",
    "Darwish",
    "Qasim",
]
NAME_LOCALE = {"es": "es_MX", "pl": "pl_PL", "vi": "vi_VN"}  # others: en_US lists (zh, ar below)


@dataclass(frozen=True)
class _Weighted:
    """Values with cumulative weights, drawn with one random() and a bisect (fast for 200,000 rows)."""

    values: tuple[Any, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, items: Sequence[Any], weights: Sequence[float] | None = None) -> _Weighted:
        weights = weights or [1.0] * len(items)
        return cls(tuple(items), tuple(accumulate(weights)))

    def draw(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


@dataclass(frozen=True)
class _Names:
    female: _Weighted
    male: _Weighted
    last: _Weighted


def _pool(data: Any) -> _Weighted:
    if isinstance(data, dict):
        return _Weighted.of(list(data), list(data.values()))
    return _Weighted.of(list(data))


@cache
def _names(language: str) -> _Names:
    """Name lists for speakers of a language (Faker's, romanised where Faker has only another script)."""
    if language == "ar":
        return _Names(_pool(ARABIC_FIRST_F), _pool(ARABIC_FIRST_M), _pool(ARABIC_LAST))
    if language == "zh":
        p = Faker("zh_CN").provider("faker.providers.person")
        first = _pool(p.first_romanized_names)
        return _Names(first, first, _pool(p.last_romanized_names))
    p = Faker(NAME_LOCALE.get(language, "en_US")).provider("faker.providers.person")
    last = p.unisex_last_names if language == "pl" else p.last_names
    return _Names(_pool(p.first_names_female), _pool(p.first_names_male), _pool(last))


@cache
def _search_columns(last_name: str) -> dict[str, str]:
    return name_columns(last_name)


@dataclass
class _TenantWorld:
    tenant: Tenant
    home_zips: _Weighted
    work_zips: _Weighted
    plans: list[tuple[int, str]]  # (id, member-id prefix)
    pcps: list[tuple[int, str]]  # (id, last name)


def _location_zips(db: Session, tenant_id: int) -> list[str]:
    from careline.directory.models import Location

    rows = db.scalars(select(Location.zip).where(Location.tenant_id == tenant_id).order_by(Location.id))
    return sorted({z for z in rows if z and geo.zip_info(z)})


def _zip_pool(centers: list[str], miles: float) -> _Weighted:
    near: dict[str, float] = {}
    for center in centers or [FALLBACK_ZIP]:
        for rank, info in enumerate(geo.zips_near(center, miles, standard_only=True)):
            # Nearer ZIPs get more patients; each location adds its own neighbourhood.
            near[info.zip] = near.get(info.zip, 0.0) + 1.0 / (1.0 + rank / 10.0)
    zips = sorted(near)
    return _Weighted.of(zips, [near[z] for z in zips])


def _directory(db: Session, tenant_id: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    from careline.directory.models import InsurancePlan

    plans = [
        (plan.id, (rules.name_key(plan.payer or plan.name)[:3] or "mbr").upper())
        for plan in db.scalars(
            select(InsurancePlan)
            .where(InsurancePlan.tenant_id == tenant_id, InsurancePlan.active.is_(True))
            .order_by(InsurancePlan.id)
        )
    ]
    pcps = [(p.id, p.last_name) for p in primary_care_providers(db, [tenant_id])]
    return plans, pcps


def _tenant_world(db: Session, tenant: Tenant) -> _TenantWorld:
    """Where a tenant's patients live and work (around its locations), its plans and its PCPs."""
    centers = _location_zips(db, tenant.id)
    plans, pcps = _directory(db, tenant.id)
    return _TenantWorld(
        tenant,
        _zip_pool(centers, HOME_MILES),
        _zip_pool([*centers, *DOWNTOWN_ZIPS[:3]], WORK_MILES),
        plans,
        pcps,
    )


def _counts(n: int, tenants: list[Tenant]) -> dict[int, int]:
    shares = {t.id: TENANT_SHARE.get(t.slug, 0.1) for t in tenants}
    total = sum(shares.values())
    counts = {tid: int(n * share / total) for tid, share in shares.items()}
    biggest = max(shares, key=lambda tid: shares[tid])
    counts[biggest] += n - sum(counts.values())
    return counts


_AGE_BUCKETS = _Weighted.of(
    [(0, 17), (18, 34), (35, 49), (50, 64), (65, 79), (80, 99)], [20, 22, 19, 20, 14, 5]
)
_LANGUAGES = _Weighted.of(list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values()))
_SEXES = _Weighted.of(list(SEX_WEIGHTS), list(SEX_WEIGHTS.values()))
_REFERRALS = _Weighted.of(list(REFERRAL_WEIGHTS), list(REFERRAL_WEIGHTS.values()))


def _dob(rng: random.Random) -> date:
    low, high = _AGE_BUCKETS.draw(rng)
    age = rng.randint(low, high)
    return ANCHOR - timedelta(days=int(age * 365.25) + rng.randint(0, 364))


def _phone(rng: random.Random) -> str:
    # 555-0100..555-0199 are the fictional numbers; real Chicago-area area codes around them.
    return f"+1{rng.choice(AREA_CODES)}55501{rng.randint(0, 99):02d}"


def _patient_row(
    rng: random.Random, world: _TenantWorld, mrn: str, now: Any
) -> tuple[dict[str, Any], list[tuple[str, PhoneKind]]]:
    language = _LANGUAGES.draw(rng)
    sex = _SEXES.draw(rng)
    names = _names(language)
    female = sex is Sex.FEMALE or (sex in (Sex.OTHER, Sex.UNKNOWN) and rng.random() < 0.5)
    first = (names.female if female else names.male).draw(rng)
    last = names.last.draw(rng)
    preferred = None
    if rng.random() < 0.08:
        variants = sorted(rules.nickname_variants(first) - {rules.name_key(first)})
        preferred = rng.choice(variants).title() if variants else None
    home = geo.zip_info(world.home_zips.draw(rng))
    work = geo.zip_info(world.work_zips.draw(rng)) if rng.random() < 0.55 else None
    street = rng.choice(STREETS)
    email = None
    if rng.random() < 0.6:
        email = f"{rules.name_key(first)}.{rules.name_key(last)}{rng.randint(1, 99)}@example.com"
    plan = rng.choice(world.plans) if world.plans and rng.random() < 0.88 else None
    pcp = rng.choice(world.pcps) if world.pcps and rng.random() < 0.65 else None
    source = _REFERRALS.draw(rng)
    note = None
    if REFERRAL_NOTES[source] and rng.random() < 0.4:
        doctor = pcp[1] if pcp else (rng.choice(world.pcps)[1] if world.pcps else "Kim")
        note = rng.choice(REFERRAL_NOTES[source]).format(
            doctor=doctor, street=street, zip=home.zip if home else ""
        )
    row = {
        "tenant_id": world.tenant.id,
        "mrn": mrn,
        "first_name": first,
        "last_name": last,
        "preferred_name": preferred,
        **_search_columns(last),
        "dob": _dob(rng),
        "sex": sex,
        "preferred_language": language,
        "email": email,
        "address_line1": f"{rng.randint(100, 9999)} {street}",
        "city": home.city.title() if home else None,
        "state": home.state if home else None,
        "zip": home.zip if home else None,
        "home_lat": home.lat if home else None,
        "home_lon": home.lon if home else None,
        "work_zip": work.zip if work else None,
        "work_lat": work.lat if work else None,
        "work_lon": work.lon if work else None,
        "insurance_plan_id": plan[0] if plan else None,
        "member_id": f"{plan[1]}{rng.randint(10**8, 10**9 - 1)}" if plan else None,
        "pcp_provider_id": pcp[0] if pcp else None,
        "consent_sms": rng.random() < 0.7,
        "consent_voice": rng.random() < 0.85,
        "consent_email": email is not None and rng.random() < 0.7,
        "referral_source": source,
        "referral_note": note,
        "created_at": now,
        "created_by_user_id": None,
        "updated_at": None,
        "active": True,
    }
    phones: list[tuple[str, PhoneKind]] = []
    for kind, chance in ((PhoneKind.MOBILE, 0.92), (PhoneKind.HOME, 0.35), (PhoneKind.WORK, 0.1)):
        if rng.random() < chance:
            number = _phone(rng)
            if all(number != n for n, _k in phones):
                phones.append((number, kind))
    return row, phones


def _flush(db: Session, rows: list[dict[str, Any]], phones: list[list[tuple[str, PhoneKind]]]) -> int:
    """Insert a chunk as one executemany per table (Core inserts: the ORM's bulk path splits rows into
    batches by which columns are None); the rows carry their ids, as RETURNING is slower still."""
    if not rows:
        return 0
    db.execute(insert(Patient.__table__), rows)
    phone_rows = [
        {
            "tenant_id": row["tenant_id"],
            "patient_id": row["id"],
            "e164": number,
            "kind": kind,
            "is_primary": i == 0,
        }
        for row, numbers in zip(rows, phones, strict=True)
        for i, (number, kind) in enumerate(numbers)
    ]
    if phone_rows:
        db.execute(insert(PatientPhone.__table__), phone_rows)
    return len(phone_rows)


def _after_bulk_load(db: Session) -> None:
    """Move PostgreSQL's id sequence past the ids the load set itself (SQLite follows max(id)), and
    refresh the planner's statistics so lookups use the right indexes before autovacuum gets to it."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            text("SELECT setval(pg_get_serial_sequence('patients', 'id'), (SELECT max(id) FROM patients))")
        )
    db.execute(text("ANALYZE patients"))
    db.execute(text("ANALYZE patient_phones"))


def seed_patients(db: Session, options: Any) -> dict[str, int]:
    """The demo's patients across its tenants (mostly Lakeshore), near each tenant's locations."""
    n = DEFAULT_PATIENTS if options.patients is None else int(options.patients)
    tenants = list(db.scalars(select(Tenant).order_by(Tenant.id)))
    if n <= 0 or not tenants:
        return {"patients": 0, "patient_phones": 0}
    rng = random.Random(f"careline-demo-patients:{options.seed}")
    now = utcnow()
    next_id = (db.scalar(select(func.max(Patient.id))) or 0) + 1
    made = phones_made = 0
    for tenant_id, count in _counts(n, tenants).items():
        tenant = next(t for t in tenants if t.id == tenant_id)
        world = _tenant_world(db, tenant)
        prefix = mrn_prefix(tenant)
        rows: list[dict[str, Any]] = []
        phones: list[list[tuple[str, PhoneKind]]] = []
        for number in range(1, count + 1):
            row, numbers = _patient_row(rng, world, f"{prefix}-{number:06d}", now)
            row["id"] = next_id
            next_id += 1
            rows.append(row)
            phones.append(numbers)
            if len(rows) >= CHUNK:
                phones_made += _flush(db, rows, phones)
                rows, phones = [], []
        phones_made += _flush(db, rows, phones)
        set_mrn_counter(db, tenant.id, count, prefix)
        made += count
    _after_bulk_load(db)
    return {"patients": made, "patient_phones": phones_made}


def register_callers(
    db: Session, callers: list[tuple[int, str | None, datetime, int | None]], rng: random.Random
) -> list[int]:
    """Register new patients the way agents do during a call: one per (tenant id, number they called
    from, when, agent), with the demo's names, ZIPs, plans and how they heard of the practice. Returns
    the new patients' ids in the same order."""
    worlds: dict[int, _TenantWorld] = {}
    rows, numbers = [], []
    for tenant_id, number, at, agent_id in callers:
        world = worlds.get(tenant_id)
        if world is None:
            world = worlds[tenant_id] = _tenant_world(db, db.get(Tenant, tenant_id))
        row, _phones = _patient_row(rng, world, next_mrn(db, world.tenant), at)
        row.update(created_by_user_id=agent_id, pcp_provider_id=None)  # a new patient has no PCP yet
        rows.append(row)
        numbers.append(number)
    if not rows:
        return []
    ids = list(db.scalars(insert(Patient).returning(Patient.id, sort_by_parameter_order=True), rows))
    phones = [
        {
            "tenant_id": row["tenant_id"],
            "patient_id": pid,
            "e164": n,
            "kind": PhoneKind.MOBILE,
            "is_primary": True,
        }
        for pid, row, n in zip(ids, rows, numbers, strict=True)
        if n
    ]
    if phones:
        db.execute(insert(PatientPhone.__table__), phones)
    return ids
