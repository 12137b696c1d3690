"""Find a doctor: map the need, find candidates near home or work with one indexed query, rank, explain.

The query plan (see docs/matching.md): provider_specialties (taxonomy code in the need's list) join
providers join provider_locations join locations whose lat/lon fall inside the bounding box around
home or work, with every hard filter in SQL (plan, accepting new patients, language when required,
age group, gender when required, active), nearest first, at most `Weights.candidate_cap` rows. Exact
distances, the nearer of home and work, scores and reasons are then worked out in Python
(`rules.py`); the top few get their next new-patient opening from scheduling.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Text, and_, cast, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Join

from careline.audit.service import Actor, record
from careline.db import scope_of
from careline.directory import reference, validate
from careline.directory.models import (
    Gender,
    InsurancePlan,
    Location,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.errors import NotFound, ValidationFailed
from careline.kit import geo
from careline.kit.clock import utcnow
from careline.matching import rules
from careline.matching.rules import Candidate, NeedMatch, Opening, Place, Preferences, Vocabulary, Weights
from careline.tenants.models import Tenant

MAX_MILES = 200.0
MAX_LIMIT = 50
RELAX_CAP = 1000  # providers counted for a relaxation; more is reported as "1,000+"


# ============================================================================ request and result


@dataclass
class MatchRequest:
    """What the agent (or API caller) asks for. Everything is optional but a place (or a patient)."""

    tenant_id: int | None = None
    need: str | None = None  # plain words: "knee pain after a fall", "my son's asthma"
    specialty: str | None = None  # a NUCC code or words ("dermatology") instead of / as well as need
    zip: str | None = None  # home: a ZIP or an address ending with one
    work_zip: str | None = None
    patient_id: int | None = None  # takes home/work, plan, language and age from the record
    plan_id: int | None = None
    insurance: str | None = None  # a plan by name instead of plan_id
    language: str | None = None  # ISO 639-1 code or English name
    language_required: bool = True
    gender: str | None = None  # female, male, nonbinary (f/m accepted)
    gender_required: bool = False
    age: int | None = None
    telehealth: bool = False  # telehealth is acceptable
    max_miles: float | None = None
    soonest: bool = False
    accepting_required: bool = True
    provider_name: str | None = None  # "Kim": is this provider a fit / taking new patients?
    use_fallback: bool = False  # look in the need's fallback specialties instead
    limit: int = 10


@dataclass
class MatchResult:
    """The ranked list with reasons, or why it is empty and what relaxing would find."""

    tenant_id: int
    need: dict[str, Any]
    results: list[Candidate]
    empty_because: str | None = None
    emptied_by: str | None = None
    relaxations: list[dict[str, Any]] = field(default_factory=list)
    searched: str = ""
    places: list[Place] = field(default_factory=list)
    patient_id: int | None = None
    now: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        return {
            "tenant_id": self.tenant_id,
            "need": self.need,
            "places": [asdict(p) for p in self.places],
            "patient_id": self.patient_id,
            "searched": self.searched,
            "results": [result_dict(c, self.patient_id) for c in self.results],
            "empty_because": self.empty_because,
            "emptied_by": self.emptied_by,
            "relaxations": self.relaxations,
        }


def result_dict(c: Candidate, patient_id: int | None = None) -> dict[str, Any]:
    """One ranked provider as JSON."""
    opening = c.next_available
    return {
        "provider_id": c.provider_id,
        "name": c.name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "credentials": c.credentials,
        "specialty": reference.specialty_name(c.code) if c.code else None,
        "specialty_code": c.code or None,
        "location": {
            "id": c.location_id,
            "name": c.location_name,
            "address": c.address,
            "city": c.city,
            "zip": c.zip,
        },
        "distance_mi": None if c.distance is None else round(c.distance, 1),
        "from": c.from_place,
        "languages": list(c.languages),
        "gender": c.gender,
        "accepting_new": c.accepting,
        "telehealth": c.telehealth,
        "next_available": None
        if opening is None
        else {
            "start_local": opening.start_local.isoformat(),
            "start_utc": opening.start_utc.isoformat(),
            "location": opening.location_name,
            "location_id": opening.location_id,
            "type": opening.type_name,
            "type_id": opening.type_id,
        },
        "score": round(c.score, 2),
        "reasons": c.reasons,
        "booking": None if opening is None else booking_request(c, opening, patient_id),
    }


def booking_request(c: Candidate, opening: Opening, patient_id: int | None) -> dict[str, Any]:
    """The scheduling API call that books the result's next opening (add patient_id if missing)."""
    return {
        "method": "POST",
        "path": "/api/v1/scheduling/appointments",
        "body": {
            "provider_id": c.provider_id,
            "location_id": opening.location_id,
            "type_id": opening.type_id,
            "start_at": opening.start_utc.isoformat(),
            "patient_id": patient_id,
        },
    }


# ============================================================================ tenant vocabulary and weights


def matching_settings(tenant: Tenant) -> dict[str, Any]:
    """tenant.settings["matching"]: {"needs": [...], "weights": {...}} (either may be absent)."""
    data = (tenant.settings or {}).get("matching") or {}
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=64)
def _vocabulary(needs_json: str) -> Vocabulary:
    return rules.build_vocabulary(json.loads(needs_json))


def vocabulary_for(tenant: Tenant) -> Vocabulary:
    """The default vocabulary with the tenant's needs merged over it (compiled once per version)."""
    needs = matching_settings(tenant).get("needs") or []
    try:
        return _vocabulary(json.dumps(needs, sort_keys=True))
    except rules.VocabularyError:
        # A bad stored override must not stop matching: it was validated when saved, so this is
        # a hand edit of the database; fall back to the defaults.
        return _vocabulary("[]")


def weights_for(tenant: Tenant) -> Weights:
    """The default weights with the tenant's overrides."""
    try:
        return rules.weights_from(matching_settings(tenant).get("weights"))
    except rules.VocabularyError:
        return rules.DEFAULT_WEIGHTS


def _tenant(session: Session, tenant_id: int) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not scope_of(session).allows(tenant_id):
        raise NotFound(f"tenant {tenant_id} not found", field="tenant_id")
    return tenant


def update_settings(
    session: Session,
    tenant_id: int,
    *,
    needs: list[dict[str, Any]] | None = None,
    weights: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> dict[str, Any]:
    """Replace the tenant's need overrides and/or weight overrides after validating them (422 if bad)."""
    tenant = _tenant(session, tenant_id)
    current = dict(matching_settings(tenant))
    if needs is not None:
        try:
            rules.build_vocabulary(needs)
        except rules.VocabularyError as exc:
            raise ValidationFailed(str(exc), field="needs") from exc
        current["needs"] = needs
    if weights is not None:
        try:
            rules.weights_from(weights)
        except rules.VocabularyError as exc:
            raise ValidationFailed(str(exc), field="weights") from exc
        current["weights"] = weights
    tenant.settings = {**(tenant.settings or {}), "matching": current}
    session.flush()
    if actor is not None:
        record(
            session,
            actor,
            "match.settings.update",
            tenant_id=tenant_id,
            object_type="tenant",
            object_id=tenant_id,
            detail={
                "needs": len(current.get("needs") or []),
                "weights": sorted((current.get("weights") or {}).keys()),
            },
        )
    return current


def settings_view(session: Session, tenant_id: int) -> dict[str, Any]:
    """What matching uses for a tenant: its overrides, the effective weights and the need entries."""
    tenant = _tenant(session, tenant_id)
    vocab = vocabulary_for(tenant)
    return {
        "tenant_id": tenant_id,
        "overrides": matching_settings(tenant),
        "weights": asdict(weights_for(tenant)),
        "needs": [
            {
                "key": n.key,
                "label": n.label,
                "patterns": list(n.patterns),
                "specialties": list(n.specialties),
                "child_specialties": list(n.child_specialties),
                "fallback": list(n.fallback),
                "child_fallback": list(n.child_fallback),
                "visit_type": n.visit_type,
                "age": n.age,
                "source": n.source,
            }
            for n in vocab.needs
        ],
    }


# ============================================================================ resolving the request


@dataclass(frozen=True)
class Query:
    """One candidate search: the hard filters as they go into SQL."""

    tenant_id: int
    codes: tuple[str, ...]
    places: tuple[Place, ...]
    miles: float | None  # None: no distance limit
    age: int | None = None
    age_group: str | None = None
    plan_id: int | None = None
    accepting_required: bool = True
    language: str | None = None
    language_required: bool = False
    gender: str | None = None
    gender_required: bool = False
    name: str | None = None  # a named provider: search by name instead of specialty


@dataclass
class _Resolved:
    tenant: Tenant
    weights: Weights
    vocabulary: Vocabulary
    match: NeedMatch
    need_from: str  # words, specialty, default
    child: bool
    age: int | None
    age_group: str | None
    places: tuple[Place, ...]
    plan: InsurancePlan | None
    language: str | None
    gender: str | None
    max_miles: float
    provider_name: str | None
    patient_id: int | None


def _tenant_id(session: Session, req: MatchRequest, patient_tenant: int | None) -> int:
    if patient_tenant is not None:
        if req.tenant_id is not None and req.tenant_id != patient_tenant:
            raise ValidationFailed("that patient belongs to another client", field="patient_id")
        return patient_tenant
    if req.tenant_id is not None:
        return req.tenant_id
    allowed = scope_of(session).tenant_ids
    if allowed is not None and len(allowed) == 1:
        return next(iter(allowed))
    raise ValidationFailed("say which client to search: tenant_id", field="tenant_id")


def _place(name: str, raw: str | None, field_name: str) -> Place | None:
    try:
        zip5 = rules.places_zip(raw)
        if zip5 is None:
            return None
        info = geo.require_zip(zip5)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field=field_name) from exc
    return Place(name=name, zip=info.zip, lat=info.lat, lon=info.lon)


def _plan(session: Session, tenant_id: int, plan_id: int | None, name: str | None) -> InsurancePlan | None:
    if plan_id is not None:
        plan = session.get(InsurancePlan, plan_id)
        if plan is None or plan.tenant_id != tenant_id or not scope_of(session).allows(plan.tenant_id):
            raise ValidationFailed(f"no insurance plan {plan_id} for this client", field="plan_id")
        return plan
    if name is None or not name.strip():
        return None
    wanted = name.strip().lower()
    plans = list(
        session.scalars(
            select(InsurancePlan).where(InsurancePlan.tenant_id == tenant_id).order_by(InsurancePlan.id)
        )
    )
    exact = [p for p in plans if p.name.lower() == wanted]
    if exact:
        return exact[0]
    partial = [p for p in plans if wanted in p.name.lower() or wanted in f"{p.payer} {p.plan_type}".lower()]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(p.name for p in partial[:4])
        raise ValidationFailed(
            f"'{name.strip()}' matches several plans ({names}); be more specific", field="insurance"
        )
    raise ValidationFailed(f"no insurance plan '{name.strip()}' for this client", field="insurance")


def _specialty_need(spec: str, default: rules.Need) -> rules.Need:
    term = spec.strip()
    code = term.upper()
    words = term.lower()
    exact = [
        s.code
        for s in reference.specialties().values()
        if words in (s.plain.lower(), s.name.lower()) or words in s.synonyms
    ]
    codes = [code] if code in reference.specialties() else exact or reference.codes_matching(term)
    if not codes:
        raise ValidationFailed(f"no specialty matches '{term}'", field="specialty")
    fallback = tuple(c for c in default.specialties if c not in codes)
    child_fallback = tuple(c for c in default.child_specialties if c not in codes)
    return rules.Need(
        key=f"specialty:{codes[0]}",
        label=rules.specialty_words(codes),
        patterns=(),
        specialties=tuple(codes),
        child_specialties=tuple(codes),
        fallback=fallback,
        child_fallback=child_fallback,
        visit_type="new_patient",
        source="specialty",
    )


def _resolve(session: Session, req: MatchRequest, actor: Actor | None) -> _Resolved:
    patient = None
    if req.patient_id is not None:
        from careline.patients.service import get_patient

        patient = get_patient(session, req.patient_id, actor=actor or Actor("matching"))
    tenant_id = _tenant_id(session, req, patient.tenant_id if patient else None)
    tenant = _tenant(session, tenant_id)
    vocab, weights = vocabulary_for(tenant), weights_for(tenant)

    places: list[Place] = []
    home = _place("home", req.zip, "zip")
    work = _place("work", req.work_zip, "work_zip")
    if home is None and patient is not None and patient.home_lat is not None and patient.home_lon is not None:
        home = Place("home", patient.zip, patient.home_lat, patient.home_lon)
    if work is None and patient is not None and patient.work_lat is not None and patient.work_lon is not None:
        work = Place("work", patient.work_zip, patient.work_lat, patient.work_lon)
    places = [p for p in (home, work) if p is not None]

    provider_name = (req.provider_name or "").strip() or rules.named_provider(req.need)
    if not places and not provider_name:
        field_name = "zip" if req.patient_id is None else "patient_id"
        raise ValidationFailed("give a home or work ZIP (or a patient with an address)", field=field_name)

    plan = _plan(session, tenant_id, req.plan_id, req.insurance)
    if (
        plan is None
        and patient is not None
        and patient.insurance_plan_id is not None
        and req.insurance is None
    ):
        plan = session.get(InsurancePlan, patient.insurance_plan_id)

    language = None
    if req.language and req.language.strip():
        try:
            language = validate.languages([req.language])[0]
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field="language") from exc
    elif patient is not None and patient.preferred_language and patient.preferred_language != "en":
        language = patient.preferred_language

    gender = None
    if req.gender and req.gender.strip():
        try:
            gender = validate.gender(req.gender)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field="gender") from exc
        gender = None if gender is Gender.UNKNOWN else str(gender)

    age = req.age
    if age is not None and not 0 <= age <= 130:
        raise ValidationFailed("age must be 0 to 130", field="age")
    if age is None and patient is not None:
        age = patient.age_on(utcnow().date())

    max_miles = weights.default_max_miles if req.max_miles is None else float(req.max_miles)
    if not 0 < max_miles <= MAX_MILES:
        raise ValidationFailed(
            f"max distance must be above 0 and at most {MAX_MILES:g} miles", field="max_miles"
        )

    words = (req.need or "").strip()
    match = vocab.match(words) if words else None
    need_from = "words"
    if req.specialty and req.specialty.strip():
        match = NeedMatch(
            _specialty_need(req.specialty, vocab.default), match.matched_phrase if match else None
        )
        need_from = "specialty"
    elif match is None:
        match = NeedMatch(vocab.default, None)
        need_from = "default"
    hint = vocab.age_hint(words) if words else None
    group = rules.age_group(age, hint or match.need.age)
    return _Resolved(
        tenant=tenant,
        weights=weights,
        vocabulary=vocab,
        match=match,
        need_from=need_from,
        child=group == "pediatric",
        age=age,
        age_group=group,
        places=tuple(places),
        plan=plan,
        language=language,
        gender=gender,
        max_miles=max_miles,
        provider_name=provider_name or None,
        patient_id=patient.id if patient else None,
    )


# ============================================================================ the candidate query


class Spot(NamedTuple):
    """An active location of the tenant within reach, with its distance from the nearer place."""

    id: int
    name: str
    address: str
    city: str
    zip: str
    lat: float
    lon: float
    timezone: str
    miles: float
    place: str


_L = Location.__table__


def _in_boxes(places: Sequence[Place], miles: float) -> Any:
    parts = [
        and_(_L.c.lat.between(lo_lat, hi_lat), _L.c.lon.between(lo_lon, hi_lon))
        for lo_lat, hi_lat, lo_lon, hi_lon in rules.boxes(places, miles)
    ]
    return parts[0] if len(parts) == 1 else or_(*parts)


def spots_within(session: Session, tenant_id: int, places: Sequence[Place], miles: float) -> list[Spot]:
    """The tenant's active locations within `miles` of the nearer place, nearest first (exact distance).

    One query on the (lat, lon) index for the bounding boxes (the tenant named explicitly, see below);
    a tenant has thousands of locations at most, so this stays small at 100,000 providers.
    """
    stmt = select(
        _L.c.id, _L.c.name, _L.c.address_line1, _L.c.city, _L.c.zip, _L.c.lat, _L.c.lon, _L.c.timezone
    ).where(_in_boxes(places, miles), plain(_L.c.tenant_id) == tenant_id, _L.c.active.is_(True))
    nearest_to = rules.nearest_fn(places)
    out = []
    for row in session.execute(stmt).all():
        distance, place = nearest_to(row[5], row[6])
        if distance <= miles:
            out.append(Spot(*row, distance, place))
    out.sort(key=lambda x: (x.miles, x.id))
    return out


# The candidate queries use the tables themselves (not the ORM classes), with the tenant named
# explicitly: `providers.tenant_id = :tenant` (the tenant was checked against the session's scope in
# `_resolve`), and the locations walked are the tenant's.
# Why: the scope filter adds `tenant_id IN (...)` on every table, and SQLite without table statistics
# (nobody runs ANALYZE) takes that short IN list for the most selective index and scans every row of
# the tenant. The joins are also written `InOrder`: SQLite must run them in the order written (CROSS
# JOIN), location -> provider links -> the provider's specialty rows -> the provider row, so the wide
# provider row is read only for providers of the specialty; and `plain(column)` (`+column` on SQLite)
# keeps it from using an index for a test that is cheaper made on the row already found. PostgreSQL,
# which has statistics, gets plain joins and columns and plans them itself. The results are the same.
_P = Provider.__table__
_S = ProviderSpecialty.__table__
_PL = ProviderLocation.__table__
_LANG = ProviderLanguage.__table__
_PP = ProviderPlan.__table__


class InOrder(Join):
    """An inner join that SQLite runs left to right (it renders as CROSS JOIN); a JOIN elsewhere."""

    inherit_cache = True


class plain(FunctionElement):
    """The column as is; on SQLite `+column`, which the planner will not look up through an index."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(plain)
def _plain(element: plain, compiler: Any, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(plain, "sqlite")
def _plain_sqlite(element: plain, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(next(iter(element.clauses)), **kw)


@compiles(InOrder, "sqlite")
def _cross_join(join: InOrder, compiler: Any, **kw: Any) -> str:
    kw.pop("asfrom", None)
    return (
        join.left._compiler_dispatch(compiler, asfrom=True, **kw)
        + " CROSS JOIN "
        + join.right._compiler_dispatch(compiler, asfrom=True, **kw)
        + " ON "
        + join.onclause._compiler_dispatch(compiler, **kw)
    )


def _hard_filters(stmt: Any, q: Query) -> Any:
    """The request's hard filters on providers (tenant, active, plan, accepting, language, gender, age)."""
    stmt = stmt.where(plain(_P.c.tenant_id) == q.tenant_id, _P.c.active.is_(True))
    if q.plan_id is not None:
        plan = exists().where(_PP.c.provider_id == _P.c.id, plain(_PP.c.plan_id) == q.plan_id)
        if q.accepting_required:
            plan = plan.where(_PP.c.accepting_new.is_(True))
        stmt = stmt.where(plan)
    if q.accepting_required:
        stmt = stmt.where(_P.c.accepting_new_patients.is_(True))
    if q.language and q.language_required:
        spoken = _LANG.alias("spoken")  # not the language end's own provider_languages
        stmt = stmt.where(
            exists().where(spoken.c.provider_id == _P.c.id, plain(spoken.c.language) == q.language)
        )
    if q.gender and q.gender_required:
        stmt = stmt.where(_P.c.gender == Gender(q.gender))
    if q.age_group is not None:
        stmt = stmt.where(_P.c[f"sees_{q.age_group}"].is_(True))
    if q.age is not None:
        stmt = stmt.where(
            or_(_P.c.min_age.is_(None), _P.c.min_age <= q.age),
            or_(_P.c.max_age.is_(None), _P.c.max_age >= q.age),
        )
    return stmt


def _columns(q: Query) -> list[Any]:
    """What a candidate row carries. Visit reasons come as their raw JSON text: most rows fail the
    cheap word check in `_reasons` and are never decoded."""
    cols: list[Any] = [
        _P.c.id.label("pid"),
        _P.c.first_name,
        _P.c.last_name,
        _P.c.credentials,
        _P.c.gender,
        _P.c.accepting_new_patients.label("accepting"),
        _P.c.telehealth,
        cast(_P.c.visit_reasons, Text).label("reasons_raw"),
        cast(_P.c.conditions, Text).label("conditions_raw"),
        _S.c.taxonomy_code.label("code"),
        _S.c.is_primary.label("primary"),
        _PL.c.location_id.label("lid"),
    ]
    if q.language and not q.language_required:
        spoken = _LANG.alias("spoken")
        cols.append(
            exists()
            .where(spoken.c.provider_id == _P.c.id, plain(spoken.c.language) == q.language)
            .label("speaks")
        )
    if q.plan_id is not None:
        plan = (
            select(_PP.c.accepting_new)
            .where(_PP.c.provider_id == _P.c.id, plain(_PP.c.plan_id) == q.plan_id)
            .limit(1)
            .scalar_subquery()
        )
        cols.append(plan.label("plan_accepting"))
    return cols


def _walk_from(q: Query) -> Any:
    """provider_locations -> the provider's specialty rows of the need -> providers, in that order."""
    links = InOrder(_PL, _S, and_(_S.c.provider_id == _PL.c.provider_id, _S.c.taxonomy_code.in_(q.codes)))
    return InOrder(links, _P, _P.c.id == _PL.c.provider_id)


def _at_spots(q: Query, location_ids: Sequence[int]) -> Any:
    """Providers of the need's specialties practising at these locations, hard filters applied."""
    stmt = select(*_columns(q)).select_from(_walk_from(q)).where(_PL.c.location_id.in_(list(location_ids)))
    return _hard_filters(stmt, q)


def _specialty_from(q: Query, location_ids: Sequence[int]) -> Any:
    """provider_specialties (taxonomy index) -> their links at these locations -> providers."""
    # plain(): probe a provider's one or two links by provider_id and test the location afterwards,
    # rather than one probe per listed location.
    links = InOrder(
        _S, _PL, and_(_PL.c.provider_id == _S.c.provider_id, plain(_PL.c.location_id).in_(list(location_ids)))
    )
    return InOrder(links, _P, _P.c.id == _S.c.provider_id)


def _by_specialty(q: Query, location_ids: Sequence[int], columns: Sequence[Any] | None = None) -> Any:
    """The same rows found from the other end, for a specialty with few rows: its specialty rows
    (taxonomy index) -> their links at these locations (an index-only probe) -> providers."""
    stmt = (
        select(*(columns or _columns(q)))
        .select_from(_specialty_from(q, location_ids))
        .where(_S.c.taxonomy_code.in_(q.codes))
    )
    return _hard_filters(stmt, q)


def _by_language(q: Query, location_ids: Sequence[int], columns: Sequence[Any] | None = None) -> Any:
    """The same rows from a required language's end: its speakers (language index) -> their specialty
    rows of the need -> their links at these locations -> providers."""
    speakers = InOrder(
        _LANG, _S, and_(_S.c.provider_id == _LANG.c.provider_id, _S.c.taxonomy_code.in_(q.codes))
    )
    links = InOrder(
        speakers,
        _PL,
        and_(_PL.c.provider_id == _LANG.c.provider_id, plain(_PL.c.location_id).in_(list(location_ids))),
    )
    stmt = (
        select(*(columns or _columns(q)))
        .select_from(InOrder(links, _P, _P.c.id == _LANG.c.provider_id))
        .where(_LANG.c.language == q.language)
    )
    return _hard_filters(stmt, q)


def _named(q: Query) -> Any:
    """A named provider ("Dr. Kim"): by surname or first-name prefix, every location, no other filter."""
    name = (q.name or "").strip().lower()
    loc = Location.__table__
    return (
        select(*_columns(q), loc.c.lat, loc.c.lon)
        .select_from(_P)
        .join(_PL, _PL.c.provider_id == _P.c.id)
        .join(loc, and_(loc.c.id == _PL.c.location_id, loc.c.active.is_(True)))
        .join(_S, and_(_S.c.provider_id == _P.c.id, _S.c.is_primary.is_(True)), isouter=True)
        .where(
            plain(_P.c.tenant_id) == q.tenant_id,
            _P.c.active.is_(True),
            plain(loc.c.tenant_id) == q.tenant_id,
            or_(func.lower(_P.c.last_name).startswith(name), func.lower(_P.c.first_name).startswith(name)),
        )
        .order_by(_P.c.last_name, _P.c.first_name, _P.c.id)
        .limit(500)
    )


def _reasons(r: Any, hints: Sequence[str]) -> tuple[str, ...]:
    """The provider's visit reasons and conditions, decoded only when they may mention the need."""
    raw = f"{r.reasons_raw or ''} {r.conditions_raw or ''}".lower()
    if not hints or not any(h in raw for h in hints):
        return ()
    out: list[str] = []
    for text in (r.reasons_raw, r.conditions_raw):
        try:
            values = json.loads(text) if text else []
        except ValueError:
            values = []
        out += [str(x) for x in values] if isinstance(values, list) else []
    return tuple(out)


def _candidate(r: Any, q: Query, rank: int, spot: Spot, hints: Sequence[str]) -> Candidate:
    plan_status = None
    if q.plan_id is not None:
        accepting_new = r.plan_accepting
        plan_status = "not_taken" if accepting_new is None else "accepting" if accepting_new else "closed"
    if q.language and not q.language_required:
        speaks: bool | None = bool(r.speaks)
    else:
        speaks = True if q.language else None
    return Candidate(
        provider_id=r.pid,
        first_name=r.first_name,
        last_name=r.last_name,
        credentials=r.credentials or "",
        gender=str(r.gender),
        accepting=bool(r.accepting),
        telehealth=bool(r.telehealth),
        code=r.code or "",
        code_rank=rank,
        primary=bool(r.primary) if r.code else True,
        location_id=spot.id,
        location_name=spot.name,
        address=spot.address,
        city=spot.city,
        zip=spot.zip,
        lat=spot.lat,
        lon=spot.lon,
        timezone=spot.timezone,
        distance=spot.miles if q.places else None,
        from_place=spot.place if q.places else None,
        visit_reasons=_reasons(r, hints),
        speaks_preferred=speaks,
        plan_status=plan_status,
    )


def _merge(
    out: dict[int, Candidate], rows: Iterable[Any], q: Query, spots: Mapping[int, Spot], hints: Sequence[str]
) -> None:
    """Fold rows (a provider once per specialty and location) into one candidate per provider:
    the best-placed of the need's specialties (primary before secondary), the nearest location."""
    order = {code: i for i, code in enumerate(q.codes)}
    for r in rows:
        spot = spots[r.lid]
        rank = order.get(r.code, 0) if r.code else 0
        primary = bool(r.primary) if r.code else True
        c = out.get(r.pid)
        if c is None:
            out[r.pid] = _candidate(r, q, rank, spot, hints)
            continue
        if (rank, not primary) < (c.code_rank, not c.primary):
            c.code, c.code_rank, c.primary = r.code, rank, primary
        if c.distance is not None and (spot.miles, spot.id) < (c.distance, c.location_id):
            c.location_id, c.location_name, c.address, c.city, c.zip = (
                spot.id,
                spot.name,
                spot.address,
                spot.city,
                spot.zip,
            )
            c.lat, c.lon, c.timezone, c.distance, c.from_place = (
                spot.lat,
                spot.lon,
                spot.timezone,
                spot.miles,
                spot.place,
            )


FIRST_BATCH = 8  # locations in the first step of the walk; each later step doubles
MAX_END_ROWS = 10000  # a specialty or language with more rows than this is never the end to read from
SMALL_BATCH = 1500  # a batch with at most this many provider links is always read location by location


def search(
    session: Session, q: Query, prefs: Preferences, w: Weights, limit: int
) -> tuple[dict[int, Candidate], int]:
    """Candidates for the top `limit`, walking the locations outward from home and work.

    Locations are taken nearest first in growing batches; after each batch the walk stops when the
    `limit`-th best score so far cannot be beaten by anyone farther away (their distance points are
    at most those of the next location, plus every other component at its maximum). So the top of
    the list is exact while the walk usually reads a few hundred rows, not every provider within
    reach. When reading on costs more than reading the need's specialty (or a required language)
    in the whole tenant, that end is read instead (index-only counts decide).
    Returns the candidates and how many locations were looked at.
    """
    hints = rules.reason_hints(prefs)
    if q.name is not None:
        return _search_named(session, q, hints), 0
    spots = spots_within(session, q.tenant_id, q.places, q.miles if q.miles is not None else MAX_MILES)
    by_id = {s.id: s for s in spots}
    out: dict[int, Candidate] = {}
    if not spots:
        return out, 0
    # Which end to read from. Walking locations costs their provider links; the other ends cost the
    # rows of the need's specialties, or of a required language, in the whole tenant (index-only
    # counts, capped, taken once the walk stops being small). A batch with more links than the other
    # end has rows (a hospital where every specialist has privileges) is read from that end; and a
    # walk that has not found enough after reading more than twice that many links (a thin specialty,
    # a rare language, filters few pass) reads everything left from that end at once.
    other: tuple[str, int] | None = None
    links_read = 0
    scores: list[float] = []
    rest = w.non_distance_max(prefs)
    i, size, rows_read = 0, FIRST_BATCH, 0
    while i < len(spots):
        batch = spots[i : i + size]
        before = set(out)
        ids = [s.id for s in batch]
        links = _link_rows(session, ids, SMALL_BATCH if other is None else max(other[1], SMALL_BATCH))
        if other is None and links_read + links > SMALL_BATCH:
            other = _other_end(session, q)
            if links > SMALL_BATCH:
                links = _link_rows(session, ids, max(other[1], SMALL_BATCH))
        stmt = _at_spots(q, ids)
        if other is not None and other[1] < MAX_END_ROWS:
            by_end = _by_specialty if other[0] == "specialty" else _by_language
            if len(out) < limit and links_read + links > 2 * other[1]:
                batch = spots[i:]
                stmt = by_end(q, [s.id for s in batch])
            elif links > other[1]:
                stmt = by_end(q, ids)
            else:
                links_read += links
        else:
            links_read += links
        rows = session.execute(stmt).all()
        i += len(batch)
        size *= 2
        rows_read += len(rows)
        _merge(out, rows, q, by_id, hints)
        # A provider's rows all arrive with its nearest location's batch, so its score is final now.
        scores.extend(rules.base_score(c, prefs, w) for pid, c in out.items() if pid not in before)
        if i >= len(spots) or rows_read >= w.candidate_cap:
            break
        if len(scores) >= limit:
            scores.sort(reverse=True)
            if scores[limit - 1] > rules.distance_points(spots[i].miles, w) + rest + 1e-9:
                break
    return out, i


def _other_end(session: Session, q: Query) -> tuple[str, int]:
    """The cheaper end to read from instead of locations, with its row count (capped)."""
    end = ("specialty", _code_rows(session, q.codes, MAX_END_ROWS))
    if q.language and q.language_required:
        some = select(_LANG.c.id).where(_LANG.c.language == q.language).limit(end[1]).subquery()
        speakers = int(session.scalar(select(func.count()).select_from(some)) or 0)
        if speakers < end[1]:
            end = ("language", speakers)
    return end


def _code_rows(session: Session, codes: Sequence[str], cap: int) -> int:
    """Specialty rows with these codes (every tenant's: the taxonomy index alone answers), up to cap."""
    some = select(_S.c.id).where(_S.c.taxonomy_code.in_(codes)).limit(cap).subquery()
    return int(session.scalar(select(func.count()).select_from(some)) or 0)


def _link_rows(session: Session, location_ids: Sequence[int], cap: int) -> int:
    """Provider links at these locations (the location index alone answers), counting at most cap + 1."""
    some = select(_PL.c.id).where(_PL.c.location_id.in_(list(location_ids))).limit(cap + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(some)) or 0)


def _search_named(session: Session, q: Query, hints: Sequence[str]) -> dict[int, Candidate]:
    out: dict[int, Candidate] = {}
    for r in session.execute(_named(q)).all():
        if q.places:
            miles, place = rules.nearest(r.lat, r.lon, q.places)
        else:
            miles, place = 0.0, ""
        spot = Spot(r.lid, "", "", "", "", r.lat, r.lon, "", miles, place)
        c = out.get(r.pid)
        if c is None or (c.distance is not None and miles < c.distance):
            keep = _candidate(r, q, 0, spot, hints)
            out[r.pid] = keep
    if out:
        _fill_locations(session, out)
    return out


def _fill_locations(session: Session, cands: Mapping[int, Candidate]) -> None:
    ids = {c.location_id for c in cands.values()}
    rows = {
        row.id: row
        for row in session.execute(
            select(
                Location.id,
                Location.name,
                Location.address_line1,
                Location.city,
                Location.zip,
                Location.timezone,
            ).where(Location.id.in_(ids))
        )
    }
    for c in cands.values():
        row = rows[c.location_id]
        c.location_name, c.address, c.city, c.zip, c.timezone = (
            row.name,
            row.address_line1,
            row.city,
            row.zip,
            row.timezone,
        )


def count_within(session: Session, q: Query, spots: Sequence[Spot], cap: int) -> tuple[int, bool]:
    """How many providers meet the query at these locations (up to `cap`; True when capped), read
    from whichever end has fewer rows: the locations' links, the specialty's or a language's rows."""
    if not spots:
        return 0, False
    ids = [s.id for s in spots]
    end, end_rows = _other_end(session, q)
    if end_rows < MAX_END_ROWS and _link_rows(session, ids, end_rows) > end_rows:
        stmt = (_by_specialty(q, ids) if end == "specialty" else _by_language(q, ids)).with_only_columns(
            _P.c.id
        )
    else:
        stmt = _hard_filters(select(_P.c.id).select_from(_walk_from(q)).where(_PL.c.location_id.in_(ids)), q)
    some = stmt.distinct().limit(cap + 1).subquery()
    n = int(session.scalar(select(func.count()).select_from(some)) or 0)
    return min(n, cap), n > cap


def any_at_client(session: Session, q: Query) -> bool:
    """Whether the tenant has any active provider of these specialties (and age group) at all."""
    loose = replace(q, plan_id=None, accepting_required=False, language_required=False, gender_required=False)
    stmt = (
        select(_P.c.id)
        .select_from(_S)
        .join(_P, _P.c.id == _S.c.provider_id)
        .where(_S.c.taxonomy_code.in_(q.codes))
    )
    return session.scalar(_hard_filters(stmt, loose).limit(1)) is not None


def _languages(session: Session, ids: Iterable[int]) -> dict[int, list[str]]:
    """The languages of these providers (ISO 639-1), in the order the directory lists them."""
    wanted = sorted(set(ids))
    out: dict[int, list[str]] = {i: [] for i in wanted}
    if not wanted:
        return out
    rows = session.execute(
        select(_LANG.c.provider_id, _LANG.c.language)
        .where(_LANG.c.provider_id.in_(wanted))
        .order_by(_LANG.c.provider_id, _LANG.c.id)
    )
    for pid, lang in rows:
        out[pid].append(lang)
    return out


# ============================================================================ next available (scheduling)


def next_available_for(
    session: Session,
    provider_ids: Sequence[int],
    *,
    tenant_id: int,
    age: int | None = None,
    telehealth: bool = False,
    days: int = 28,
    patient_id: int | None = None,
    actor: Actor | None = None,
) -> dict[int, Opening]:
    """Each provider's next new-patient opening within `days`, from scheduling ({} when none is known).

    The tenant's active new-patient appointment types (or, when it has none, its types for any
    patient) that suit the patient's age, in person (and telehealth when acceptable), without a
    referral requirement; for each type scheduling's `next_available_by_provider` gives every
    provider's first open time (it leaves out providers the type does not apply to, and with a
    patient those whose booking rules would refuse them); the earliest wins.
    """
    if not provider_ids:
        return {}
    try:
        from careline.scheduling import service as scheduling
        from careline.scheduling.models import AppointmentType, Modality, PatientKind
    except ImportError:  # scheduling not installed in this build
        return {}
    by_provider: Callable[..., dict[int, Any]] | None = getattr(
        scheduling, "next_available_by_provider", None
    )
    if by_provider is None:
        return {}
    types = list(
        session.scalars(
            select(AppointmentType)
            .where(AppointmentType.tenant_id == tenant_id, AppointmentType.active.is_(True))
            .order_by(AppointmentType.id)
        )
    )
    modalities = {Modality.IN_PERSON, Modality.TELEHEALTH} if telehealth else {Modality.IN_PERSON}
    suitable = [
        t
        for t in types
        if t.modality in modalities
        and not t.referral_required
        and (
            age is None
            or ((t.min_age is None or age >= t.min_age) and (t.max_age is None or age <= t.max_age))
        )
    ]
    chosen = [t for t in suitable if t.patient_kind == PatientKind.NEW] or [
        t for t in suitable if t.patient_kind == PatientKind.ANY
    ]
    out: dict[int, Opening] = {}
    who = {"patient_id": patient_id, "actor": actor} if patient_id is not None else {}
    for kind in chosen:
        for pid, slot in by_provider(session, list(provider_ids), kind.id, days=days, **who).items():
            if slot is None or (pid in out and out[pid].start_utc <= slot.start_at):
                continue
            out[pid] = Opening(
                start_utc=slot.start_at,
                timezone=slot.timezone,
                location_id=slot.location_id,
                location_name=slot.location_name,
                type_name=slot.type_name,
                type_id=slot.type_id,
            )
    return out


# ============================================================================ matching


def _query(r: _Resolved, *, fallback: bool = False) -> Query:
    need = r.match.need
    codes = need.fallback_codes(r.child) if fallback else need.codes(r.child)
    return Query(
        tenant_id=r.tenant.id,
        codes=tuple(codes),
        places=r.places,
        miles=r.max_miles,
        age=r.age,
        age_group=r.age_group,
        plan_id=r.plan.id if r.plan else None,
        accepting_required=True,
        language=r.language,
        gender=r.gender,
    )


def _need_dict(r: _Resolved, fallback: bool) -> dict[str, Any]:
    need = r.match.need
    codes = need.fallback_codes(r.child) if fallback else need.codes(r.child)
    later = [] if fallback else need.fallback_codes(r.child)
    return {
        "key": need.key,
        "label": need.label,
        "matched_phrase": r.match.matched_phrase,
        "from": r.need_from,
        "specialties": [{"code": c, "name": reference.specialty_name(c)} for c in codes],
        "fallback": [{"code": c, "name": reference.specialty_name(c)} for c in later],
        "using_fallback": fallback,
        "visit_type": need.visit_type,
        "age_group": r.age_group,
        "provider_name": r.provider_name,
    }


Searcher = Callable[[Session, Query, Preferences, Weights, int], tuple[dict[int, Candidate], int]]


def match(
    session: Session, req: MatchRequest, *, actor: Actor | None = None, search_with: Searcher | None = None
) -> MatchResult:
    """Rank the tenant's providers for the request; explain an empty list with relaxations.

    `search_with` swaps the candidate search (naive.full_scan, for the benchmark and the tests).
    """
    r = _resolve(session, req, actor)
    w = r.weights
    limit = max(1, min(int(req.limit or 10), MAX_LIMIT))
    fallback = bool(req.use_fallback) and bool(r.match.need.fallback_codes(r.child))
    base = replace(
        _query(r, fallback=fallback),
        accepting_required=req.accepting_required,
        language_required=bool(r.language) and req.language_required,
        gender_required=bool(r.gender) and req.gender_required,
    )
    if r.provider_name:
        base = replace(base, name=r.provider_name, codes=(), accepting_required=False)
    prefs = Preferences(
        places=r.places,
        specialties=base.codes,
        need_label=r.match.need.label,
        need_phrases=tuple(x for x in (r.match.matched_phrase, r.match.need.label) if x),
        fallback=fallback,
        language=r.language,
        language_required=base.language_required,
        gender=r.gender,
        gender_required=base.gender_required,
        telehealth=req.telehealth,
        soonest=req.soonest,
        accepting_required=base.accepting_required,
        plan_name=r.plan.name if r.plan else None,
        max_miles=None if r.provider_name else r.max_miles,
    )
    now = utcnow()
    found, _looked = (search_with or search)(session, base, prefs, w, limit)
    ranked = rules.rank(found.values(), prefs, w)[:limit]
    langs = _languages(session, [c.provider_id for c in ranked])
    for c in ranked:
        c.languages = tuple(langs.get(c.provider_id, []))
    top_n = min(w.availability_top, len(ranked))
    if top_n:
        openings = next_available_for(
            session,
            [c.provider_id for c in ranked[:top_n]],
            tenant_id=r.tenant.id,
            age=r.age,
            telehealth=req.telehealth,
            patient_id=r.patient_id,
            actor=actor,
        )
        for c in ranked[:top_n]:
            c.next_available = openings.get(c.provider_id)
        ranked = rules.with_availability(ranked[:top_n], prefs, w, now) + ranked[top_n:]
    for c in ranked:
        c.reasons = rules.reasons_for(c, prefs, now)
    if r.provider_name:
        searched = f"providers named {r.provider_name}"
    else:
        searched = rules.describe_search(
            codes=base.codes,
            age_group=r.age_group,
            language=r.language if base.language_required else None,
            plan_name=prefs.plan_name,
            accepting=base.accepting_required,
            gender=r.gender if base.gender_required else None,
            miles=r.max_miles,
            places=r.places,
        )
    result = MatchResult(
        tenant_id=r.tenant.id,
        need=_need_dict(r, fallback),
        results=ranked,
        searched=searched,
        places=list(r.places),
        patient_id=r.patient_id,
        now=now,
    )
    if not ranked:
        if r.provider_name:
            result.empty_because = f"no active provider named {r.provider_name} at this client"
            result.emptied_by = "name"
        else:
            _explain(session, r, base, result, fallback)
    return result


# ============================================================================ explaining an empty list


def _explain(session: Session, r: _Resolved, base: Query, result: MatchResult, fallback: bool) -> None:
    """Which constraint emptied the list, and what relaxing one constraint at a time would find."""
    w = r.weights
    plan_name = r.plan.name if r.plan else None
    near = spots_within(session, base.tenant_id, base.places, base.miles or MAX_MILES) if base.places else []
    # Add the constraints one at a time, in this order, until nobody is left: what the need is and
    # who the patient is first, then where, then who they need (language, gender), then the plan,
    # and last whether the provider takes new patients now.
    loose = replace(
        base, plan_id=None, accepting_required=False, language_required=False, gender_required=False
    )
    steps: list[tuple[str, Query, Callable[[Query], bool]]] = [
        ("specialty", replace(loose, age=None, age_group=None), lambda q: any_at_client(session, q)),
    ]
    if base.age_group or base.age is not None:
        steps.append(("age", loose, lambda q: any_at_client(session, q)))

    def within(q: Query) -> bool:
        return count_within(session, q, near, 1)[0] > 0

    steps.append(("distance", loose, within))
    q = loose
    for name, on in (
        ("language", base.language_required),
        ("gender", base.gender_required),
        ("plan", base.plan_id is not None),
        ("accepting", base.accepting_required),
    ):
        if on:
            q = replace(
                q,
                **{
                    "plan": {"plan_id": base.plan_id},
                    "accepting": {"accepting_required": True},
                    "language": {"language_required": True},
                    "gender": {"gender_required": True},
                }[name],
            )
            steps.append((name, q, within))
    culprit, upto = steps[-1][0], steps[-1][1]
    for name, step, has_any in steps:
        if not has_any(step):
            culprit, upto = name, step
            break
    result.emptied_by = culprit
    who = rules.describe_search(
        codes=upto.codes,
        age_group=upto.age_group,
        language=upto.language if upto.language_required else None,
        plan_name=plan_name if upto.plan_id is not None else None,
        accepting=upto.accepting_required,
        gender=upto.gender if upto.gender_required else None,
        miles=base.miles if culprit not in ("specialty", "age") else None,
        places=base.places,
    )
    result.empty_because = f"no {who}" + (" at this client" if culprit in ("specialty", "age") else "")

    relax: list[dict[str, Any]] = []

    def add(kind: str, variant: Query, spots: Sequence[Spot], apply: dict[str, Any], **words: Any) -> None:
        n, capped = count_within(session, variant, spots, RELAX_CAP)
        relax.append(
            {
                "relax": kind,
                "description": rules.relaxation_text(kind, n, capped=capped, **words),
                "count": n,
                "capped": capped,
                "apply": apply,
            }
        )

    if base.places and base.miles is not None:
        wider = min(MAX_MILES, round(base.miles * w.relax_distance_factor, 1))
        if wider > base.miles:
            far = spots_within(session, base.tenant_id, base.places, wider)
            add("distance", replace(base, miles=wider), far, {"max_miles": wider}, miles=wider)
    if base.language_required:
        add(
            "language",
            replace(base, language_required=False),
            near,
            {"language_required": False},
            language=base.language,
        )
    if base.gender_required:
        add(
            "gender",
            replace(base, gender_required=False),
            near,
            {"gender_required": False},
            gender=base.gender,
        )
    codes = r.match.need.fallback_codes(r.child)
    if codes and not fallback:
        add("specialty", replace(base, codes=tuple(codes)), near, {"use_fallback": True}, codes=codes)
    if base.accepting_required:
        add("accepting", replace(base, accepting_required=False), near, {"accepting_required": False})
    relax.sort(key=lambda x: x["count"] == 0)
    result.relaxations = relax


# ============================================================================ referral


class ContactsPort(Protocol):
    """What matching needs from the contacts domain to record a referral (connected by the app).

    contacts sits above matching in the layer order, so matching never imports it; the app factory
    hands its service module in with `connect_contacts`.
    """

    def get_contact(self, session: Session, contact_id: int) -> Any: ...
    def reasons_of(self, session: Session, contact: Any) -> list[Any]: ...
    def get_reason(self, session: Session, contact: Any, reason_id: int) -> Any: ...
    def add_reason(self, session: Session, contact: Any, by: Any, *, intent: Any, text: str = "") -> Any: ...
    def record_outcome(
        self,
        session: Session,
        contact: Any,
        by: Any,
        reason: Any,
        *,
        outcome: Any,
        detail: dict[str, Any] | None = None,
        disposition_code: str | None = None,
    ) -> Any: ...


_contacts: dict[str, Any] = {}


def connect_contacts(port: Any) -> None:
    """Called by the app factory with careline.contacts.service (see ContactsPort)."""
    _contacts["port"] = port


FIND_DOCTOR = "find_doctor"
REFERRAL_MADE = "referral_made"


def refer(
    session: Session,
    *,
    actor: Actor,
    user_id: int | None,
    provider_id: int,
    contact_id: int | None = None,
    patient_id: int | None = None,
    reason_id: int | None = None,
    location_id: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Record that the caller was referred to a provider: REFERRAL_MADE on the contact's find-a-doctor
    reason (added when the contact has none open), and an audit row; returns what booking needs."""
    if contact_id is None and patient_id is None:
        raise ValidationFailed("say which contact or patient was referred", field="contact_id")
    provider = session.get(Provider, provider_id)
    if provider is None or not scope_of(session).allows(provider.tenant_id):
        raise NotFound(f"provider {provider_id} not found")
    patient = None
    if patient_id is not None:
        from careline.patients.service import get_patient

        patient = get_patient(session, patient_id, actor=actor)
        if patient.tenant_id != provider.tenant_id:
            raise ValidationFailed("that patient belongs to another client", field="patient_id")
    if location_id is not None:
        link = session.scalar(
            select(ProviderLocation.id).where(
                ProviderLocation.provider_id == provider.id, ProviderLocation.location_id == location_id
            )
        )
        if link is None:
            raise ValidationFailed("the provider does not practise at that location", field="location_id")
    detail = {
        "provider_id": provider.id,
        "provider": provider.display_name,
        "location_id": location_id,
        "patient_id": patient.id if patient else None,
    }
    if note:
        detail["note"] = note[:500]
    reason_out = None
    if contact_id is not None:
        port = _contacts.get("port")
        if port is None:
            raise ValidationFailed("contacts are not connected in this process", field="contact_id")
        contact = port.get_contact(session, contact_id)
        if contact.tenant_id != provider.tenant_id:
            raise ValidationFailed("the contact belongs to another client", field="contact_id")
        by = _by(port, user_id, actor)
        if reason_id is not None:
            reason = port.get_reason(session, contact, reason_id)
        else:
            open_reasons = [
                x
                for x in port.reasons_of(session, contact)
                if str(x.intent) == FIND_DOCTOR and x.outcome is None
            ]
            reason = (
                open_reasons[0]
                if open_reasons
                else port.add_reason(
                    session, contact, by, intent=_intent(port, FIND_DOCTOR), text="find a doctor"
                )
            )
        port.record_outcome(
            session, contact, by, reason, outcome=_outcome(port, REFERRAL_MADE), detail=detail
        )
        reason_out = reason.id
        if patient is None and contact.patient_id is not None:
            detail["patient_id"] = contact.patient_id
    record(
        session,
        actor,
        "match.referral",
        tenant_id=provider.tenant_id,
        object_type="provider",
        object_id=provider.id,
        detail={
            k: v
            for k, v in {**detail, "contact_id": contact_id, "reason_id": reason_out}.items()
            if k != "note"
        },
    )
    return {
        "tenant_id": provider.tenant_id,
        "provider_id": provider.id,
        "provider": provider.display_name,
        "patient_id": detail["patient_id"],
        "contact_id": contact_id,
        "reason_id": reason_out,
        "outcome": REFERRAL_MADE if reason_out is not None else None,
        "booking": booking_hint(provider.id, detail["patient_id"], location_id, contact_id),
    }


def _by(port: Any, user_id: int | None, actor: Actor) -> Any:
    return port.By(user_id=user_id, actor=actor)


def _intent(port: Any, value: str) -> Any:
    enum = getattr(port, "Intent", None)
    return enum(value) if enum is not None else value


def _outcome(port: Any, value: str) -> Any:
    enum = getattr(port, "Outcome", None)
    return enum(value) if enum is not None else value


def booking_hint(
    provider_id: int, patient_id: int | None, location_id: int | None, contact_id: int | None
) -> dict[str, Any]:
    """What the console calls next to book with this provider: find its open times (scheduling's
    availability with `type_id` a new-patient type, `per_provider=1`), then POST the chosen one."""
    return {
        "provider_id": provider_id,
        "patient_id": patient_id,
        "location_id": location_id,
        "contact_id": contact_id,
        "new_patient": True,
        "availability": f"/api/v1/scheduling/availability?provider_ids={provider_id}&per_provider=1",
        "book": "/api/v1/scheduling/appointments",
    }
