"""Find a doctor: resolve the request, find the candidates, rank them with reasons, explain an empty
list; the client's vocabulary and weights.

`match()` maps the words to specialties (the client's vocabulary), reads the patient record when
given (audited), finds candidates near home or work (`index.search`: an exact nearest-first walk over
the tenant's directory held in memory, or over indexed queries, `candidates.search`), ranks them
(`rules`), asks scheduling for the next new-patient opening of the top few, and says in words why the
list is empty and what relaxing one constraint would find.
Referrals are in `referrals.py` (re-exported here).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.audit.service import Actor, record
from careline.db import scope_of
from careline.directory import reference, validate
from careline.directory.models import (
    Gender,
    InsurancePlan,
)
from careline.errors import NotFound, ValidationFailed
from careline.kit import geo
from careline.kit.clock import utcnow
from careline.matching import rules
from careline.matching.candidates import (
    MAX_MILES,
    Query,
    Spot,
    any_at_client,
    count_within,
    languages_of,
    spots_within,
)
from careline.matching.index import search
from careline.matching.referrals import ContactsPort, booking_hint, connect_contacts, refer
from careline.matching.rules import (
    Candidate,
    NeedMatch,
    Opening,
    Place,
    Preferences,
    VisitHint,
    Vocabulary,
    Weights,
)
from careline.tenants.models import Tenant

MAX_LIMIT = 50
RELAX_CAP = 200  # providers counted for a relaxation; more is reported as "200+"


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
    visit: VisitHint = field(default_factory=VisitHint)


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
    visit = vocab.visit_hint(words, match.need)
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
        visit=visit,
    )


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
    visit: VisitHint | None = None,
) -> dict[int, Opening]:
    """Each provider's next new-patient opening within `days`, from scheduling ({} when none is known).

    The tenant's active new-patient appointment types (or, when it has none, its types for any
    patient) that suit the patient's age, in person (and telehealth when acceptable), without a
    referral requirement; for each type scheduling's `next_available_by_provider` gives every
    provider's first open time (it leaves out providers the type does not apply to, and with a
    patient those whose booking rules would refuse them); the earliest wins.

    A visit the words name (`visit`: "an annual physical", "a telehealth visit") is looked for first:
    the types whose name says that visit (telehealth ones for telehealth), new-patient or for any
    patient; providers with no such opening get the new-patient one. Types only for established
    patients are never offered: the patient is new to these providers.
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
    telehealth = telehealth or bool(visit and visit.telehealth)
    modalities = {Modality.IN_PERSON, Modality.TELEHEALTH} if telehealth else {Modality.IN_PERSON}
    suitable = [
        t
        for t in types
        if t.modality in modalities
        and not t.referral_required
        and t.patient_kind != PatientKind.ESTABLISHED
        and (
            age is None
            or ((t.min_age is None or age >= t.min_age) and (t.max_age is None or age <= t.max_age))
        )
    ]
    chosen = [t for t in suitable if t.patient_kind == PatientKind.NEW] or [
        t for t in suitable if t.patient_kind == PatientKind.ANY
    ]
    wanted: list[Any] = []
    if visit is not None and visit.visit_type not in (None, "new_patient"):
        wanted = [t for t in suitable if rules.type_is_visit(t.name, visit.visit_type)]
    if visit is not None and visit.telehealth:
        video = [t for t in suitable if t.modality == Modality.TELEHEALTH]
        wanted = [t for t in wanted if t.modality == Modality.TELEHEALTH] or video
    who = {"patient_id": patient_id, "actor": actor} if patient_id is not None else {}

    def earliest(kinds: Sequence[Any], ids: list[int]) -> dict[int, Opening]:
        out: dict[int, Opening] = {}
        for kind in kinds:
            for pid, slot in by_provider(session, ids, kind.id, days=days, **who).items():
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

    ids = list(provider_ids)
    found = earliest(wanted, ids) if wanted else {}
    rest = [pid for pid in ids if pid not in found]
    others = [t for t in chosen if t not in wanted]
    if rest and others:
        found.update(earliest(others, rest))
    return found


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
        "visit_type": r.visit.visit_type,
        "visit_words": r.visit.said,
        "telehealth": r.visit.telehealth,
        "excluded": [{"code": c, "name": reference.specialty_name(c)} for c in r.match.excluded],
        "age_group": r.age_group,
        "provider_name": r.provider_name,
    }


__all__ = [
    "MAX_MILES",
    "ContactsPort",
    "MatchRequest",
    "MatchResult",
    "Query",
    "booking_hint",
    "connect_contacts",
    "match",
    "next_available_for",
    "refer",
    "result_dict",
    "search",
    "settings_view",
    "update_settings",
]

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
        telehealth=req.telehealth or r.visit.telehealth,
        soonest=req.soonest,
        accepting_required=base.accepting_required,
        plan_name=r.plan.name if r.plan else None,
        max_miles=None if r.provider_name else r.max_miles,
    )
    now = utcnow()
    # (When nobody of the need's specialties sees the patient's age group, the walk's first batch
    # finds nobody and it asks `any_at_client` before walking on.)
    found, _looked = (search_with or search)(session, base, prefs, w, limit)
    ranked = rules.rank(found.values(), prefs, w)[:limit]
    langs = languages_of(session, [c.provider_id for c in ranked])
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
            visit=r.visit,
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

    def near() -> list[Spot]:  # the walk usually asked for these already: spots_within remembers
        return (
            spots_within(session, base.tenant_id, base.places, base.miles or MAX_MILES) if base.places else []
        )

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
        return count_within(session, q, near(), 1)[0] > 0

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

    # Nobody of these specialties (who sees this age group) at the client: only other specialties help.
    hopeless = culprit in ("specialty", "age")

    def add(
        kind: str, variant: Query, spots: Callable[[], list[Spot]], apply: dict[str, Any], **words: Any
    ) -> None:
        if hopeless and kind != "specialty":
            n, capped = 0, False
        else:
            n, capped = count_within(session, variant, spots(), RELAX_CAP)
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
            add(
                "distance",
                replace(base, miles=wider),
                lambda: spots_within(session, base.tenant_id, base.places, wider),
                {"max_miles": wider},
                miles=wider,
            )
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
