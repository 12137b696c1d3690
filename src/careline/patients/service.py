"""Patient registry rules: register, change, read and find patients; every one of them is audited.

Reads and searches take the `actor` so the audit row cannot be forgotten: a caller-panel lookup
records which patients were shown (ids and counts, never the typed name or number).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from careline.audit.service import Actor, record
from careline.db import scope_of
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.kit import geo
from careline.kit.clock import utcnow
from careline.kit.phones import format_phone, normalize_phone, phone_search_keys
from careline.patients import rules
from careline.patients.languages import LANGUAGES
from careline.patients.models import (
    Patient,
    PatientMrnCounter,
    PatientPhone,
    PhoneKind,
    ReferralSource,
    Sex,
)
from careline.tenants.models import Tenant

MAX_PHONES = 5
DUPLICATE_MIN_SCORE = 80.0
NAME_ONLY_ROWS = 1000  # rows scored at most for a search without a date of birth


@dataclass
class Candidate:
    """A patient a lookup found, how sure it is (0-100) and why, for the agent to read."""

    patient: Patient
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PhoneInput:
    """A phone number as typed, before it is checked and turned into E.164."""

    number: str
    kind: PhoneKind | str = PhoneKind.MOBILE
    is_primary: bool = False


class DuplicatePatients(Conflict):
    """The new patient looks like someone already registered; repeat with confirm_new to go ahead.

    Callers that show the candidates should catch this and answer normally (HTTP 409 body) so the
    request commits the audit row of the duplicate check; an error that rolls back loses it.
    """

    def __init__(self, candidates: list[Candidate]) -> None:
        super().__init__(
            f"{len(candidates)} registered patient(s) look like this one; check them, or set "
            "confirm_new to register a new patient anyway",
            extra={
                "candidates": [
                    {"patient_id": c.patient.id, "mrn": c.patient.mrn, "score": c.score, "reasons": c.reasons}
                    for c in candidates
                ]
            },
        )
        self.candidates = candidates


# --- field checks -------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_STATE = re.compile(r"[A-Z]{2}")

EDITABLE = frozenset(
    {
        "first_name",
        "last_name",
        "preferred_name",
        "dob",
        "sex",
        "preferred_language",
        "email",
        "address_line1",
        "city",
        "state",
        "zip",
        "work_zip",
        "insurance_plan_id",
        "member_id",
        "pcp_provider_id",
        "consent_sms",
        "consent_voice",
        "consent_email",
        "referral_source",
        "referral_note",
        "phones",
        "active",
    }
)


def _text(value: Any, name: str, max_len: int, *, required: bool = False) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        if required:
            raise ValidationFailed(f"{name.replace('_', ' ')} is required", field=name)
        return None
    if len(text) > max_len:
        raise ValidationFailed(f"{name.replace('_', ' ')} is longer than {max_len} characters", field=name)
    return text


def _enum(enum_cls: type, value: Any, name: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)  # type: ignore[attr-defined]
        raise ValidationFailed(f"{name.replace('_', ' ')} must be one of: {allowed}", field=name) from None


def today() -> date:
    """Today's date for age and date-of-birth checks (UTC; a day's slack either way does not matter)."""
    return utcnow().date()


def check_dob(value: date | str | None, name: str = "dob") -> date:
    """A date of birth from a date or typed text; ValidationFailed naming the field when it is not one."""
    if value is None or value == "":
        raise ValidationFailed("date of birth is required", field=name)
    try:
        return rules.parse_dob(value, today=today())
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=name) from None


def _zip(value: Any, name: str) -> geo.ZipInfo | None:
    if value is None or not str(value).strip():
        return None
    try:
        return geo.require_zip(str(value))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=name) from None


def _phones(values: Sequence[PhoneInput | str | Mapping[str, Any]]) -> list[tuple[str, PhoneKind, bool]]:
    if len(values) > MAX_PHONES:
        raise ValidationFailed(f"at most {MAX_PHONES} phone numbers", field="phones")
    out: list[tuple[str, PhoneKind, bool]] = []
    for i, value in enumerate(values):
        if isinstance(value, str):
            value = PhoneInput(value)
        elif isinstance(value, Mapping):
            value = PhoneInput(**value)
        where = f"phones[{i}]"
        try:
            e164 = normalize_phone(value.number)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field=where) from None
        if any(e164 == seen for seen, _k, _p in out):
            raise ValidationFailed(f"{format_phone(e164)} is listed twice", field=where)
        out.append((e164, _enum(PhoneKind, value.kind, where), bool(value.is_primary)))
    primaries = sum(1 for _e, _k, p in out if p)
    if primaries > 1:
        raise ValidationFailed("only one phone number can be the primary one", field="phones")
    if out and primaries == 0:
        e164, kind, _p = out[0]
        out[0] = (e164, kind, True)
    return out


def _directory_ref(
    session: Session, model: type, object_id: Any, tenant_id: int, name: str, what: str
) -> int:
    try:
        wanted = int(object_id)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{what} must be an id", field=name) from None
    obj = session.get(model, wanted)
    if obj is None or obj.tenant_id != tenant_id or not scope_of(session).allows(obj.tenant_id):
        raise ValidationFailed(f"no {what} {wanted} for this client", field=name)
    return wanted


def _clean(session: Session, tenant_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Checked, normalised column values for the fields given (a PATCH checks only what it changes)."""
    from careline.directory.models import InsurancePlan, Provider

    unknown = set(values) - EDITABLE
    if unknown:
        raise TypeError(f"not patient fields: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("first_name", "last_name"):
            out[key] = _text(value, key, 100, required=True)
        elif key == "preferred_name":
            out[key] = _text(value, key, 100)
        elif key == "dob":
            out[key] = check_dob(value)
        elif key == "sex":
            out[key] = _enum(Sex, value or Sex.UNKNOWN, key)
        elif key == "preferred_language":
            code = (_text(value, key, 10) or "en").lower()
            if code not in LANGUAGES:
                raise ValidationFailed(
                    f"'{code}' is not an ISO 639-1 language code (en, es, pl...)", field=key
                )
            out[key] = code
        elif key == "email":
            email = _text(value, key, 254)
            if email and not _EMAIL.fullmatch(email):
                raise ValidationFailed(f"'{email}' is not an email address", field=key)
            out[key] = email
        elif key == "address_line1":
            out[key] = _text(value, key, 200)
        elif key == "city":
            out[key] = _text(value, key, 100)
        elif key == "state":
            state = (_text(value, key, 2) or "").upper() or None
            if state and not _STATE.fullmatch(state):
                raise ValidationFailed("state must be a two-letter code like IL", field=key)
            out[key] = state
        elif key in ("zip", "work_zip"):
            info = _zip(value, key)
            prefix = "home" if key == "zip" else "work"
            out[key] = info.zip if info else None
            out[f"{prefix}_lat"] = info.lat if info else None
            out[f"{prefix}_lon"] = info.lon if info else None
            if key == "zip" and info:
                # A new ZIP moves the city and state with it, unless they were given too.
                if not _text(values.get("city"), "city", 100):
                    out["city"] = info.city.title()
                if not _text(values.get("state"), "state", 2):
                    out["state"] = info.state
        elif key == "insurance_plan_id":
            out[key] = (
                None
                if value in (None, "")
                else _directory_ref(session, InsurancePlan, value, tenant_id, key, "insurance plan")
            )
        elif key == "pcp_provider_id":
            out[key] = (
                None
                if value in (None, "")
                else _directory_ref(session, Provider, value, tenant_id, key, "provider")
            )
        elif key == "member_id":
            out[key] = _text(value, key, 40)
        elif key in ("consent_sms", "consent_voice", "consent_email", "active"):
            out[key] = bool(value)
        elif key == "referral_source":
            out[key] = _enum(ReferralSource, value or ReferralSource.UNKNOWN, key)
        elif key == "referral_note":
            out[key] = _text(value, key, 500)
        elif key == "phones":
            out[key] = _phones(list(value or []))
    if "last_name" in out:
        out.update(name_columns(out["last_name"]))
    return out


def name_columns(last_name: str) -> dict[str, str]:
    """The derived search columns for a last name (bulk loaders set them too)."""
    return {"last_name_key": rules.name_key(last_name)[:100], "last_name_sound": rules.phonetic(last_name)}


def _tenant(session: Session, tenant_id: Any) -> Tenant:
    try:
        tid = int(tenant_id)
    except (TypeError, ValueError):
        raise ValidationFailed("tenant_id must be an id", field="tenant_id") from None
    tenant = session.get(Tenant, tid)
    if tenant is None or not scope_of(session).allows(tid):
        raise NotFound("no such tenant", field="tenant_id")
    return tenant


def mrn_prefix(tenant: Tenant) -> str:
    """The letters before a tenant's record numbers: its setting, else the initials of its name."""
    configured = (tenant.settings or {}).get("mrn_prefix")
    if configured:
        return str(configured).upper()[:6]
    words = rules.fold(tenant.name).split() or [tenant.slug]
    letters = "".join(w[0] for w in words[:2]) if len(words) > 1 else words[0][:2]
    return letters.upper()


def _insert_for(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def next_mrn(session: Session, tenant: Tenant) -> str:
    """The tenant's next medical record number, e.g. 'LH-000124' (the counter row serialises writers)."""
    session.execute(
        _insert_for(session)(PatientMrnCounter)
        .values(tenant_id=tenant.id, prefix=mrn_prefix(tenant), last_value=0)
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    value, prefix = session.execute(
        update(PatientMrnCounter)
        .where(PatientMrnCounter.tenant_id == tenant.id)
        .values(last_value=PatientMrnCounter.last_value + 1)
        .returning(PatientMrnCounter.last_value, PatientMrnCounter.prefix)
        .execution_options(synchronize_session=False)
    ).one()
    return f"{prefix}-{value:06d}"


def set_mrn_counter(session: Session, tenant_id: int, last_value: int, prefix: str) -> None:
    """Move a tenant's counter past numbers a bulk load handed out itself."""
    session.execute(
        _insert_for(session)(PatientMrnCounter)
        .values(tenant_id=tenant_id, prefix=prefix, last_value=last_value)
        .on_conflict_do_update(
            index_elements=["tenant_id"], set_={"last_value": last_value, "prefix": prefix}
        )
    )


# --- directory references -------------------------------------------------------------------------


def primary_care_taxonomies() -> frozenset[str]:
    """NUCC codes the directory groups as primary care: the specialties a PCP may have."""
    from careline.directory import reference

    return frozenset(code for code, s in reference.specialties().items() if s.group == "primary_care")


def primary_care_providers(session: Session, tenant_ids: Iterable[int] | None = None) -> list[Any]:
    """Active providers with a primary-care specialty (the PCPs a patient may name), by tenant and name."""
    from careline.directory.models import Provider, ProviderSpecialty

    stmt = (
        select(Provider)
        .where(
            Provider.active.is_(True),
            select(ProviderSpecialty.id)
            .where(
                ProviderSpecialty.provider_id == Provider.id,
                ProviderSpecialty.taxonomy_code.in_(sorted(primary_care_taxonomies())),
            )
            .exists(),
        )
        .order_by(Provider.tenant_id, Provider.last_name, Provider.first_name, Provider.id)
    )
    if tenant_ids is not None:
        stmt = stmt.where(Provider.tenant_id.in_(sorted(set(tenant_ids))))
    return list(session.scalars(stmt))


# --- audit --------------------------------------------------------------------------------------------


def _audit_lookup(
    session: Session,
    actor: Actor,
    kind: str,
    candidates: Sequence[Candidate],
    tenant_ids: Iterable[int] | None = None,
) -> None:
    """One patient.search row per tenant whose patients were shown: the lookup kind, count and ids."""
    by_tenant: dict[int, list[int]] = {}
    for c in candidates:
        by_tenant.setdefault(c.patient.tenant_id, []).append(c.patient.id)
    if not by_tenant:
        scope = scope_of(session).tenant_ids
        asked = set(tenant_ids) if tenant_ids is not None else scope
        only = next(iter(asked)) if asked and len(asked) == 1 else None
        record(session, actor, "patient.search", tenant_id=only, detail={"kind": kind, "count": 0})
        return
    for tenant_id, ids in by_tenant.items():
        record(
            session,
            actor,
            "patient.search",
            tenant_id=tenant_id,
            object_type="patient",
            detail={"kind": kind, "count": len(candidates), "patient_ids": ids},
        )


# --- writing ------------------------------------------------------------------------------------------


def _apply_phones(session: Session, patient: Patient, phones: list[tuple[str, PhoneKind, bool]]) -> bool:
    """Make the patient's phone rows match; True when anything changed."""
    current = {p.e164: p for p in patient.phones}
    wanted = {e164 for e164, _k, _p in phones}
    changed = False
    for phone in list(patient.phones):
        if phone.e164 not in wanted:
            patient.phones.remove(phone)
            changed = True
    for e164, kind, primary in phones:
        row = current.get(e164)
        if row is None:
            patient.phones.append(
                PatientPhone(tenant_id=patient.tenant_id, e164=e164, kind=kind, is_primary=primary)
            )
            changed = True
        elif row.kind != kind or row.is_primary != primary:
            row.kind, row.is_primary = kind, primary
            changed = True
    return changed


def create_patient(
    session: Session,
    *,
    tenant_id: int,
    actor: Actor,
    first_name: str,
    last_name: str,
    dob: date | str,
    confirm_new: bool = False,
    phones: Sequence[PhoneInput | str | Mapping[str, Any]] = (),
    **fields: Any,
) -> Patient:
    """Register a patient after checking every field; DuplicatePatients (409) when they look registered.

    `fields` are the other columns by name (sex, preferred_language, email, address_line1, city,
    state, zip, work_zip, insurance_plan_id, member_id, pcp_provider_id, consent_sms/voice/email,
    referral_source, referral_note, preferred_name). Home and work ZIPs are located for distance
    searches; the city and state default to the home ZIP's.
    """
    tenant = _tenant(session, tenant_id)
    values = _clean(
        session,
        tenant.id,
        {"first_name": first_name, "last_name": last_name, "dob": dob, "phones": phones, **fields},
    )
    duplicates = find_duplicates(
        session,
        tenant_id=tenant.id,
        first_name=values["first_name"],
        last_name=values["last_name"],
        dob=values["dob"],
        phones=[e164 for e164, _k, _p in values["phones"]],
    )
    if duplicates and not confirm_new:
        _audit_lookup(session, actor, "duplicate_check", duplicates)
        raise DuplicatePatients(duplicates)
    phone_rows = values.pop("phones")
    patient = Patient(
        tenant_id=tenant.id,
        mrn=next_mrn(session, tenant),
        created_by_user_id=actor.user_id,
        phones=[],
        **values,
    )
    session.add(patient)
    _apply_phones(session, patient, phone_rows)
    session.flush()
    detail: dict[str, Any] = {"mrn": patient.mrn}
    if duplicates:
        detail["registered_despite"] = [c.patient.id for c in duplicates]
    record(
        session,
        actor,
        "patient.create",
        tenant_id=tenant.id,
        object_type="patient",
        object_id=patient.id,
        detail=detail,
    )
    return patient


def _load(session: Session, patient_id: Any) -> Patient:
    try:
        pid = int(patient_id)
    except (TypeError, ValueError):
        raise NotFound(f"patient {patient_id} not found") from None
    patient = session.scalars(
        select(Patient).where(Patient.id == pid).options(selectinload(Patient.phones))
    ).one_or_none()
    if patient is None or not scope_of(session).allows(patient.tenant_id):
        raise NotFound(f"patient {pid} not found")
    return patient


def update_patient(session: Session, patient_id: int, *, actor: Actor, **changes: Any) -> Patient:
    """Change the given fields (phones, when given, replace the list); audited with the changed names."""
    patient = _load(session, patient_id)
    values = _clean(session, patient.tenant_id, changes)
    changed: list[str] = []
    if "phones" in values and _apply_phones(session, patient, values.pop("phones")):
        changed.append("phones")
    for key, value in values.items():
        if getattr(patient, key) != value:
            setattr(patient, key, value)
            if key not in (
                "home_lat",
                "home_lon",
                "work_lat",
                "work_lon",
                "last_name_key",
                "last_name_sound",
            ):
                changed.append(key)
    if changed:
        patient.updated_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "patient.update",
        tenant_id=patient.tenant_id,
        object_type="patient",
        object_id=patient.id,
        detail={"fields": sorted(changed)},
    )
    return patient


# --- reading ------------------------------------------------------------------------------------------


def get_patient(session: Session, patient_id: int, *, actor: Actor) -> Patient:
    """One patient with their phones, or NotFound (also for another tenant's); audited as patient.read."""
    patient = _load(session, patient_id)
    record(
        session,
        actor,
        "patient.read",
        tenant_id=patient.tenant_id,
        object_type="patient",
        object_id=patient.id,
    )
    return patient


def _with_phones(session: Session, ids: list[int]) -> dict[int, Patient]:
    if not ids:
        return {}
    rows = session.scalars(select(Patient).where(Patient.id.in_(ids)).options(selectinload(Patient.phones)))
    return {p.id: p for p in rows}


def _tenant_filter(stmt: Any, tenant_ids: Iterable[int] | None) -> Any:
    return stmt if tenant_ids is None else stmt.where(Patient.tenant_id.in_(sorted(set(tenant_ids))))


def lookup_by_phone(
    session: Session,
    raw_phone: str,
    *,
    actor: Actor,
    tenant_ids: Iterable[int] | None = None,
    limit: int = 20,
    include_inactive: bool = False,
) -> list[Candidate]:
    """Patients with this number, typed any way ('(312) 555-0142', '312.555.0142', '+1 312 555 0142').

    `tenant_ids` narrows the session's scope (the tenant whose line the caller dialled). A family
    sharing a home phone gives several candidates: the number's primary holders first.
    """
    keys = phone_search_keys(raw_phone or "")
    if not keys:
        try:
            normalize_phone(raw_phone or "")
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="phone") from None
        raise ValidationFailed(f"invalid phone number {raw_phone!r}", field="phone")
    tenant_ids = None if tenant_ids is None else list(tenant_ids)
    stmt = (
        select(PatientPhone.patient_id, PatientPhone.e164, PatientPhone.kind, PatientPhone.is_primary)
        .join(Patient, Patient.id == PatientPhone.patient_id)
        .where(PatientPhone.e164.in_(keys))
        .order_by(PatientPhone.is_primary.desc(), Patient.last_name_key, Patient.first_name, Patient.id)
        .limit(max(1, limit) * len(keys))
    )
    if not include_inactive:
        stmt = stmt.where(Patient.active.is_(True))
    rows = session.execute(_tenant_filter(stmt, tenant_ids)).all()
    found: dict[int, tuple[float, list[str]]] = {}
    for patient_id, e164, kind, primary in rows:
        score = 100.0 if e164 == keys[0] else 90.0
        reason = f"phone {format_phone(e164)} ({kind}{', primary' if primary else ''})"
        if patient_id not in found or found[patient_id][0] < score:
            found[patient_id] = (score, [reason])
    ordered = sorted(found.items(), key=lambda item: -item[1][0])[:limit]
    patients = _with_phones(session, [pid for pid, _ in ordered])
    candidates = [
        Candidate(patients[pid], score, reasons) for pid, (score, reasons) in ordered if pid in patients
    ]
    _audit_lookup(session, actor, "phone", candidates, tenant_ids)
    return candidates


_NAME_COLUMNS = (Patient.id, Patient.first_name, Patient.last_name, Patient.preferred_name, Patient.dob)


def _score_rows(
    rows: Iterable[Any], parsed: rules.ParsedName, how_by_dob: Mapping[date, str] | None
) -> list[tuple[float, list[str], Any]]:
    scored = []
    for row in rows:
        name = rules.score_name(parsed, row.first_name, row.last_name, row.preferred_name)
        how = how_by_dob[row.dob] if how_by_dob is not None else None
        score = rules.combined_score(name, how)
        if score is None:
            continue
        reasons = ([how] if how else ["no DOB given"]) + name.reasons
        scored.append((score, reasons, row))
    scored.sort(key=lambda s: (-s[0], s[2].last_name, s[2].first_name, s[2].id))
    return scored


def _prefix_range(column: Any, key: str) -> Any:
    # A range instead of LIKE so a plain b-tree index serves it on both databases (keys are a-z only).
    return and_(column >= key, column < key[:-1] + chr(ord(key[-1]) + 1))


def _name_only_rows(session: Session, parsed: rules.ParsedName, tenant_ids: Iterable[int] | None) -> list:
    words = [*parsed.families, *([parsed.given] if parsed.given else [])]
    keys = sorted({rules.name_key(w) for w in words if len(rules.name_key(w)) >= 2})
    sounds = sorted({rules.phonetic(w) for w in words if rules.name_key(w)})
    # One indexed query per last-name prefix and per sound, merged here: an OR of them in one
    # statement makes SQLite scan the tenant's every row.
    matches = [_prefix_range(Patient.last_name_key, k) for k in keys]
    matches += [Patient.last_name_sound == sound for sound in sounds]
    initials = _given_initials([parsed.given, *parsed.families]) if parsed.given else None
    rows: dict[int, Any] = {}
    for match in matches:
        stmt = select(*_NAME_COLUMNS).where(match, Patient.active.is_(True))
        if initials:
            # With a given name, keep rows whose first (or preferred) name could be it or a nickname.
            stmt = stmt.where(
                or_(
                    func.lower(func.substr(Patient.first_name, 1, 1)).in_(initials),
                    func.lower(func.substr(Patient.preferred_name, 1, 1)).in_(initials),
                )
            )
        stmt = stmt.order_by(Patient.last_name_key, Patient.id).limit(NAME_ONLY_ROWS)
        for row in session.execute(_tenant_filter(stmt, tenant_ids)):
            rows.setdefault(row.id, row)
    return list(rows.values())


def _given_initials(words: Iterable[str]) -> list[str]:
    initials: set[str] = set()
    for word in words:
        key = rules.name_key(word)
        if key:
            initials.add(key[0])
            initials.update(n[0] for n in rules.nickname_variants(key))
    return sorted(initials)


def lookup_by_name_dob(
    session: Session,
    name: str,
    dob: date | str | None,
    *,
    actor: Actor,
    tenant_ids: Iterable[int] | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Ranked candidates for a typed name and date of birth, tolerant of typos, nicknames, swapped
    first/last names and date typos (day/month swapped, one digit off). Without a date of birth it
    searches by last-name prefix and sound (limited to the first rows; ask for the DOB)."""
    parsed = rules.parse_name(_text(name, "name", 200, required=True) or "")
    if not parsed.families:
        raise ValidationFailed("name is required", field="name")
    tenant_ids = None if tenant_ids is None else list(tenant_ids)
    if dob is None or (isinstance(dob, str) and not dob.strip()):
        kind = "name"
        scored = _score_rows(_name_only_rows(session, parsed, tenant_ids), parsed, None)
    else:
        kind = "name_dob"
        variants = rules.dob_variants(check_dob(dob), today=today())
        stmt = select(*_NAME_COLUMNS).where(Patient.dob.in_(sorted(variants)), Patient.active.is_(True))
        scored = _score_rows(session.execute(_tenant_filter(stmt, tenant_ids)).all(), parsed, variants)
    top = scored[: max(1, limit)]
    patients = _with_phones(session, [row.id for _s, _r, row in top])
    candidates = [
        Candidate(patients[row.id], score, reasons) for score, reasons, row in top if row.id in patients
    ]
    _audit_lookup(session, actor, kind, candidates, tenant_ids)
    return candidates


def search_patients(
    session: Session,
    *,
    actor: Actor,
    phone: str | None = None,
    name: str | None = None,
    dob: date | str | None = None,
    tenant_ids: Iterable[int] | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """The caller panel's one entry: by phone when given, else by name (and DOB when given)."""
    if phone and phone.strip():
        return lookup_by_phone(session, phone, actor=actor, tenant_ids=tenant_ids, limit=limit)
    if name and name.strip():
        return lookup_by_name_dob(session, name, dob, actor=actor, tenant_ids=tenant_ids, limit=limit)
    if dob:
        raise ValidationFailed("give the name with the date of birth", field="name")
    raise ValidationFailed("give a phone number, or a name and date of birth", field="phone")


def find_duplicates(
    session: Session,
    *,
    tenant_id: int,
    first_name: str,
    last_name: str,
    dob: date,
    phones: Sequence[str] = (),
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Registered patients of this tenant that a new registration may duplicate: the same phone number,
    or the same (or day/month-swapped) date of birth with a similar name. Not audited: the caller
    records what it shows."""
    parsed = rules.parse_name(f"{first_name} {last_name}")
    variants = {
        d: how
        for d, how in rules.dob_variants(dob, today=max(today(), dob)).items()
        if how in (rules.DOB_EXACT, rules.DOB_SWAPPED)
    }
    stmt = select(*_NAME_COLUMNS).where(
        Patient.tenant_id == tenant_id, Patient.dob.in_(sorted(variants)), Patient.active.is_(True)
    )
    found: dict[int, tuple[float, list[str]]] = {}
    for score, reasons, row in _score_rows(session.execute(stmt).all(), parsed, variants):
        if score >= DUPLICATE_MIN_SCORE and row.id != exclude_id:
            found[row.id] = (score, reasons)
    if phones:
        phone_rows = session.execute(
            select(PatientPhone.e164, *_NAME_COLUMNS)
            .join(Patient, Patient.id == PatientPhone.patient_id)
            .where(
                PatientPhone.tenant_id == tenant_id,
                PatientPhone.e164.in_(list(phones)),
                Patient.active.is_(True),
            )
            .order_by(Patient.id)
            .limit(200)
        ).all()
        for row in phone_rows:
            if row.id == exclude_id:
                continue
            name = rules.score_name(parsed, row.first_name, row.last_name, row.preferred_name)
            reason = f"same phone {format_phone(row.e164)}"
            score = round(50 + name.score / 2, 1)
            if row.id in found:
                prev_score, prev_reasons = found[row.id]
                found[row.id] = (max(prev_score, score) + 5, [reason, *prev_reasons])
            else:
                found[row.id] = (score, [reason, *name.reasons])
    ordered = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    patients = _with_phones(session, [pid for pid, _ in ordered])
    return [Candidate(patients[pid], min(100.0, s), r) for pid, (s, r) in ordered if pid in patients]
