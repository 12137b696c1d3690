"""The same search done the slow, obvious way: load every provider and location of the tenant and
filter in Python.

Not used to serve requests. It is the baseline bench/match.py measures the indexed walk against, and
the oracle the tests compare the walk's answers with: `match(session, request, search_with=full_scan)`
must give exactly what `match(session, request)` gives.
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy.orm import Session

from careline.directory.models import (
    Location,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.matching import rules
from careline.matching.candidates import MAX_MILES, Query, tenant_rows
from careline.matching.rules import Candidate, Preferences, Weights


def full_scan(
    session: Session, q: Query, prefs: Preferences, w: Weights, limit: int
) -> tuple[dict[int, Candidate], int]:
    """Every candidate of the tenant meeting the query (same shape as `candidates.search`)."""
    tid = q.tenant_id
    providers = tenant_rows(
        session, Provider, tid,
        "id", "first_name", "last_name", "credentials", "gender", "accepting_new_patients", "telehealth",
        "sees_pediatric", "sees_adult", "sees_geriatric", "min_age", "max_age", "visit_reasons", "conditions",
        "active",
    )  # fmt: skip
    locations = {
        r.id: r
        for r in tenant_rows(
            session,
            Location,
            tid,
            "id",
            "name",
            "address_line1",
            "city",
            "zip",
            "lat",
            "lon",
            "timezone",
            "active",
        )
    }
    specialties: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for pid, code, primary in tenant_rows(
        session, ProviderSpecialty, tid, "provider_id", "taxonomy_code", "is_primary"
    ):
        specialties[pid].append((code, primary))
    languages: dict[int, set[str]] = defaultdict(set)
    if q.language:  # only a language asked for matters here
        for pid, lang in tenant_rows(session, ProviderLanguage, tid, "provider_id", "language"):
            languages[pid].add(lang)
    links: dict[int, list[int]] = defaultdict(list)
    for pid, lid in tenant_rows(session, ProviderLocation, tid, "provider_id", "location_id"):
        links[pid].append(lid)
    plans: dict[int, dict[int, bool]] = defaultdict(dict)
    if q.plan_id is not None:  # only the plan asked for (a tenant has ~10 plan rows per provider)
        for pid, plan_id, accepting in tenant_rows(
            session, ProviderPlan, tid, "provider_id", "plan_id", "accepting_new"
        ):
            if plan_id == q.plan_id:
                plans[pid][plan_id] = accepting
    order = {code: i for i, code in enumerate(q.codes)}
    miles_cap = q.miles if q.miles is not None else MAX_MILES
    nearest = rules.nearest_fn(q.places) if q.places else None
    hints = rules.reason_hints(prefs)
    out: dict[int, Candidate] = {}
    for p in providers:
        if not p.active:
            continue
        ages = q.age_group is not None or q.age is not None
        if ages and not rules.sees(q.age, q.age_group, rules.age_flags(p), p.min_age, p.max_age):
            continue
        if q.accepting_required and not p.accepting_new_patients:
            continue
        plan_state = plans[p.id].get(q.plan_id) if q.plan_id is not None else None
        if q.plan_id is not None and (plan_state is None or (q.accepting_required and not plan_state)):
            continue
        speaks = q.language in languages[p.id] if q.language else None
        if q.language and q.language_required and not speaks:
            continue
        if q.gender and q.gender_required and str(p.gender) != q.gender:
            continue
        ranked = sorted((order[c], not primary, c) for c, primary in specialties[p.id] if c in order)
        if not ranked:
            continue
        rank, not_primary, code = ranked[0]
        best = None
        for lid in links[p.id]:
            loc = locations.get(lid)
            if loc is None or not loc.active:
                continue
            miles, place = nearest(loc.lat, loc.lon) if nearest else (0.0, "")
            if miles <= miles_cap and (best is None or (miles, lid) < (best[0], best[2].id)):
                best = (miles, place, loc)
        if best is None:
            continue
        miles, place, loc = best
        text = f"{p.visit_reasons or ''} {p.conditions or ''}".lower()
        reasons: list[str] = []
        if any(h in text for h in hints):
            for raw in (p.visit_reasons, p.conditions):
                values = json.loads(raw) if raw else []
                reasons += [str(x) for x in values] if isinstance(values, list) else []
        out[p.id] = Candidate(
            provider_id=p.id,
            first_name=p.first_name,
            last_name=p.last_name,
            credentials=p.credentials or "",
            gender=str(p.gender),
            accepting=bool(p.accepting_new_patients),
            telehealth=bool(p.telehealth),
            code=code,
            code_rank=rank,
            primary=not not_primary,
            location_id=loc.id,
            location_name=loc.name,
            address=loc.address_line1,
            city=loc.city,
            zip=loc.zip,
            lat=loc.lat,
            lon=loc.lon,
            timezone=loc.timezone,
            distance=miles,
            from_place=place,
            visit_reasons=tuple(reasons),
            speaks_preferred=speaks
            if q.language and not q.language_required
            else (True if q.language else None),
            plan_status=None if q.plan_id is None else "accepting" if plan_state else "closed",
        )
    return out, len(locations)
