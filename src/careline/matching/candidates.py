"""The candidate search: who of the tenant's providers can meet a request, nearest first.

The walk (see docs/matching.md, "How it is fast"): the tenant's active locations inside the bounding
boxes around home and work (one query on the `locations (lat, lon)` index), exact distances to the
nearer place, then batches of locations nearest first, each one query from the provider links of
those locations to the providers of the need's specialties with every hard filter in SQL, until the
`limit`-th best score cannot be beaten by anyone farther away. When reading on would cost more than
reading the need's specialty, or a required language, in the whole tenant, that end is read instead.
`naive.full_scan` gives the same answer the slow way; the tests hold the two together.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Connection,
    Integer,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Join

from careline.directory.models import (
    Gender,
    Location,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.matching import rules
from careline.matching.rules import Candidate, Place, Preferences, Weights, normalize

MAX_MILES = 200.0  # the largest search radius
FIRST_BATCH = 8  # locations in the first step of the walk; each later step doubles
MAX_END_ROWS = 10000  # a specialty or language with more rows than this is never the end to read from
SMALL_BATCH = 1500  # a batch with at most this many provider links is always read location by location
COUNTS_TTL = 600.0  # seconds this process reuses a count of rows (they steer the walk, see RowCounts)
FIRST_RING = 2.0  # miles: the walk reads locations out to max(this, a quarter of the radius), then doubles


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


def _spot_stmt(tenant_id: int, places: Sequence[Place], miles: float, inside: float | None = None) -> Any:
    """The tenant's active locations inside the boxes of `miles` (and outside those of `inside`)."""
    stmt = select(
        _L.c.id, _L.c.name, _L.c.address_line1, _L.c.city, _L.c.zip, _L.c.lat, _L.c.lon, _L.c.timezone
    ).where(_in_boxes(places, miles), plain(_L.c.tenant_id) == tenant_id, _L.c.active.is_(True))
    return stmt if inside is None else stmt.where(not_(_in_boxes(places, inside)))


class Reach:
    """The tenant's active locations around the places, read ring by ring as the walk needs them.

    The first ring reaches a quarter of the radius (at least FIRST_RING miles), each next one twice
    as far, up to the radius; a ring's query asks for the boxes around the places minus the boxes
    already read, so each location is read and measured once. `spots` holds every location within
    `reach` miles, nearest first: the same list `spots_within` gives, read no farther than needed.
    """

    def __init__(self, session: Session, tenant_id: int, places: Sequence[Place], miles: float) -> None:
        self.session, self.tenant_id, self.places, self.miles = session, tenant_id, tuple(places), miles
        self.spots: list[Spot] = []
        self.by_id: dict[int, Spot] = {}
        self.reach = 0.0  # every location this near is in spots
        self._boxed: float | None = None  # the radius of the boxes read so far
        self._farther: list[Spot] = []  # read (inside a box) but farther than reach
        self._nearest = rules.nearest_fn(places)
        key = ("matching.spots", tenant_id, self.places, miles)
        if key in session.info:  # already read whole
            self._add(session.info[key], miles)

    @property
    def complete(self) -> bool:
        return self.reach >= self.miles

    def next_miles(self, i: int) -> float:
        """The distance of the i-th nearest location, or at least how far it is when not read yet."""
        return self.spots[i].miles if i < len(self.spots) else self.reach

    def need(self, n: int) -> None:
        """Read rings until there are n locations or none is left within the radius."""
        while len(self.spots) < n and not self.complete:
            self._ring()

    def _add(self, spots: Sequence[Spot], reach: float) -> None:
        self.spots.extend(spots)
        self.by_id.update((s.id, s) for s in spots)
        self.reach = reach

    def _ring(self) -> None:
        if self._boxed is None:
            reach = min(self.miles, max(FIRST_RING, self.miles / 4))
        else:
            reach = min(self.miles, self._boxed * 2)
        stmt = _spot_stmt(self.tenant_id, self.places, reach, self._boxed)
        candidates = self._farther
        for row in self.session.execute(stmt).all():
            distance, place = self._nearest(row[5], row[6])
            if distance <= self.miles:
                candidates.append(Spot(*row, distance, place))
        candidates.sort(key=lambda x: (x.miles, x.id))
        cut = next((k for k, spot in enumerate(candidates) if spot.miles > reach), len(candidates))
        self._add(candidates[:cut], reach)
        self._farther = candidates[cut:]
        self._boxed = reach
        if self.complete:
            key = ("matching.spots", self.tenant_id, self.places, self.miles)
            self.session.info[key] = list(self.spots)  # what spots_within would read


def spots_within(session: Session, tenant_id: int, places: Sequence[Place], miles: float) -> list[Spot]:
    """The tenant's active locations within `miles` of the nearer place, nearest first (exact distance).

    One query on the (lat, lon) index for the bounding boxes (the tenant named explicitly, see below);
    a tenant has thousands of locations at most, so this stays small at 100,000 providers.
    """
    key = ("matching.spots", tenant_id, tuple(places), miles)
    if key in session.info:  # the walk and the explanation of an empty list ask for the same
        return session.info[key]
    stmt = _spot_stmt(tenant_id, places, miles)
    nearest_to = rules.nearest_fn(places)
    out = []
    for row in session.execute(stmt).all():
        distance, place = nearest_to(row[5], row[6])
        if distance <= miles:
            out.append(Spot(*row, distance, place))
    out.sort(key=lambda x: (x.miles, x.id))
    session.info[key] = out
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


def _bonus(q: Query, prefs: Preferences, w: Weights, hints: Sequence[str]) -> Any:
    """A provider row's points beyond distance and specialty, at most (`rules.base_score`'s other
    components, in SQL): a preferred language or gender, telehealth, taking new patients when that is
    not required, and the visit reason whenever the reasons' text could hold the need's words."""
    terms: list[Any] = []
    if prefs.language and not prefs.language_required and w.language:
        spoken = _LANG.alias("spoken_bonus")
        speaks = exists().where(spoken.c.provider_id == _P.c.id, plain(spoken.c.language) == prefs.language)
        terms.append(case((speaks, w.language), else_=0.0))
    if prefs.gender and not prefs.gender_required and w.gender:
        terms.append(case((_P.c.gender == Gender(prefs.gender), w.gender), else_=0.0))
    if prefs.telehealth and w.telehealth:
        terms.append(case((_P.c.telehealth.is_(True), w.telehealth), else_=0.0))
    if not prefs.accepting_required and w.accepting:
        terms.append(case((_P.c.accepting_new_patients.is_(True), w.accepting), else_=0.0))
    # A reason "treats the need" when, normalized, it holds one of the need's phrases word for word;
    # the raw text of the list then holds those words in that order (normalizing only drops
    # punctuation and "'s"), which LIKE '%w1%w2%' finds: never fewer than the ranking counts.
    phrases = [normalize(p).split() for p in prefs.need_phrases]
    patterns = ["%" + "%".join(words) + "%" for words in phrases if words]
    if hints and patterns and w.visit_reason:
        texts = [func.lower(cast(_P.c.visit_reasons, Text)), func.lower(cast(_P.c.conditions, Text))]
        mentions = or_(*(text.like(pattern) for text in texts for pattern in patterns))
        terms.append(case((mentions, w.visit_reason), else_=0.0))
    total: Any = literal(0.0)
    for term in terms:
        total = total + term
    return total


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


def _among(column: Any, location_ids: Any) -> Any:
    """`column IN (...)` for a list of location ids, or for the parameter a statement reused for many
    lists takes (`_ids_param`): on PostgreSQL `column = ANY(ARRAY[...])`, one short literal rather
    than hundreds of parameters (psycopg parses a statement with more than 50 parameters or 4 kB of
    text again on every execution); elsewhere an expanding IN."""
    if isinstance(location_ids, BindParameter):
        return (
            column == any_(location_ids) if isinstance(location_ids.type, ARRAY) else column.in_(location_ids)
        )
    return column.in_(list(location_ids))


def _ids_param(dialect: str) -> BindParameter[Any]:
    """The parameter `_among` takes for a statement run with many lists of location ids (`lids`)."""
    if dialect == "postgresql":
        # Rendered into the text (ARRAY[...]), not sent as a parameter: psycopg prepares a statement
        # it sees five times, and PostgreSQL's generic plan for `= ANY($1)` cannot know how many
        # locations, or which (a hospital), a batch holds; it was twice as slow on such a batch.
        return bindparam("lids", type_=ARRAY(Integer), literal_execute=True)
    return bindparam("lids", expanding=True)


def _walk_from(q: Query) -> Any:
    """provider_locations -> the provider's specialty rows of the need -> providers, in that order."""
    links = InOrder(_PL, _S, and_(_S.c.provider_id == _PL.c.provider_id, _S.c.taxonomy_code.in_(q.codes)))
    return InOrder(links, _P, _P.c.id == _PL.c.provider_id)


def _at_spots(q: Query, location_ids: Sequence[int]) -> Any:
    """Providers of the need's specialties practising at these locations, hard filters applied."""
    stmt = select(*_columns(q)).select_from(_walk_from(q)).where(_among(_PL.c.location_id, location_ids))
    return _hard_filters(stmt, q)


def _specialty_from(q: Query, location_ids: Sequence[int]) -> Any:
    """provider_specialties (taxonomy index) -> their links at these locations -> providers."""
    # plain(): probe a provider's one or two links by provider_id and test the location afterwards,
    # rather than one probe per listed location.
    links = InOrder(
        _S, _PL, and_(_PL.c.provider_id == _S.c.provider_id, _among(plain(_PL.c.location_id), location_ids))
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
        and_(_PL.c.provider_id == _LANG.c.provider_id, _among(plain(_PL.c.location_id), location_ids)),
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


def tenant_rows(db: Session | Connection, model: type, tenant_id: int, *names: str) -> Any:
    """Plain rows of some columns of one table, for the whole tenant (Core, not ORM objects: the way
    to read a lot). JSON columns come as text, decoded only for providers that may mention the need.
    The full scan (`naive`) and the in-memory index (`index.load`) read the directory with it."""
    table = model.__table__  # type: ignore[attr-defined]
    columns = [
        cast(table.c[n], Text).label(n) if isinstance(table.c[n].type, JSON) else table.c[n] for n in names
    ]
    return db.execute(select(*columns).where(table.c.tenant_id == tenant_id))


def reasons_listed(r: Any, hints: Sequence[str]) -> tuple[str, ...]:
    """The provider's visit reasons and conditions, decoded only when they may mention the need."""
    raw = f"{r.reasons_raw or ''} {r.conditions_raw or ''}".lower()
    if not hints or not any(h in raw for h in hints):
        return ()
    return _decoded(r.reasons_raw) + _decoded(r.conditions_raw)


@lru_cache(maxsize=8192)
def _decoded(text: str | None) -> tuple[str, ...]:
    """A JSON list of words as a tuple (cached: many providers list the same ones)."""
    try:
        values = json.loads(text) if text else []
    except ValueError:
        values = []
    return tuple(str(x) for x in values) if isinstance(values, list) else ()


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
        visit_reasons=reasons_listed(r, hints),
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


def search(
    session: Session, q: Query, prefs: Preferences, w: Weights, limit: int
) -> tuple[dict[int, Candidate], int]:
    """Candidates for the top `limit`, walking the locations outward from home and work.

    Locations are taken nearest first in growing batches; after each batch the walk stops when the
    `limit`-th best score so far cannot be beaten by anyone farther away (their distance points are
    at most those of the next location, plus every other component at its maximum), and each batch
    asks only for providers who could still reach that score. So the top of the list is exact while
    the walk usually reads a few dozen to a few hundred rows, not every provider within reach.
    Specialties of the need that can no longer place are dropped from the queries as the walk goes.
    When reading on costs more than reading the need's specialty (or a required language) in the
    whole tenant, that end is read instead (index-only counts decide).
    Returns the candidates and how many locations were looked at.
    """
    hints = rules.reason_hints(prefs)
    if q.name is not None:
        return _search_named(session, q, hints), 0
    reach = Reach(session, q.tenant_id, q.places, q.miles if q.miles is not None else MAX_MILES)
    reach.need(FIRST_BATCH)
    spots, by_id = reach.spots, reach.by_id  # they grow as the walk reads farther rings
    out: dict[int, Candidate] = {}
    if not spots:
        return out, 0
    # Which end to read from. Walking locations costs their provider links; the other ends cost the
    # rows of the need's specialties, or of a required language, in the whole tenant (index-only
    # counts, capped, taken once the walk stops being small). A batch with more links than the other
    # end has rows (a hospital where every specialist has privileges) is read from that end; and a
    # walk still short of candidates that meets such a batch, or has read more than twice that many
    # links (a thin specialty, a rare language, filters few pass), reads on from there.
    other: tuple[str, int] | None = None
    links_read = 0
    scores: list[float] = []
    rest = w.non_distance_max(prefs) - w.specialty  # every component but distance and the specialty
    look = q  # what the next queries ask for: the need's specialties that can still place
    found_since = False  # whether those found anyone since they were narrowed
    order = {code: rank for rank, code in enumerate(q.codes)}

    def needed(nearest: float, pool: list[float] = scores) -> float | None:
        """Once there is a limit-th best score, the rows to read are those that could reach it:
        their distance points at most those of the batch's nearest location, the best specialty
        still asked for, and at least this many of the other points their own provider could get
        (`_bonus`). A provider below it never makes the top (the limit-th best only rises), and the
        rows of one provider stand or fall together, so what is read is what could place, ties
        included. None: no such limit yet."""
        if len(pool) < limit:
            return None
        floor = sorted(pool, reverse=True)[limit - 1]
        best = max(rules.specialty_points(order.get(code, 0), True, w) for code in look.codes)
        least = floor - rules.distance_points(nearest, w) - best - 1e-6
        return least if least > 0 else None

    # Each shape of query is built once per search and run for each batch with its locations (and
    # the points needed) as parameters.
    built: dict[tuple[str, tuple[str, ...], bool], Any] = {}
    lids = _ids_param(session.get_bind().dialect.name)
    makers = {"spots": _at_spots, "specialty": _by_specialty, "language": _by_language}

    def statement(end: str, least: float | None, probe: bool = False) -> Any:
        key = (end + ("?" if probe else ""), look.codes, least is not None)
        if key not in built:
            stmt = makers[end](look, lids)
            if least is not None:
                stmt = stmt.where(_bonus(q, prefs, w, hints) >= bindparam("least"))
            if probe:
                stmt = stmt.order_by(_bonus(q, prefs, w, hints).desc(), _P.c.id).limit(3 * limit)
            built[key] = stmt
        return built[key]

    i, size, rows_read = 0, FIRST_BATCH, 0
    while True:
        reach.need(i + size)
        if i >= len(spots):
            break
        batch = spots[i : i + size]
        before = set(out)
        ids = [s.id for s in batch]
        links = _link_rows(session, ids)
        if other is None and links_read + links > SMALL_BATCH:
            other = _other_end(session, look)
        end = "spots"
        if other is not None and other[1] < MAX_END_ROWS:
            # Short of candidates after reading some locations (or, looking only for the need's first
            # specialties now, finding none of them): reading the rest from the other end costs what
            # this batch would.
            short = links_read > 0 and (len(out) < limit or (look is not q and not found_since))
            if short and (links > other[1] or links_read + links > 2 * other[1]):
                # Short of candidates where walking costs more than that end: read from there, in
                # batches growing twice as fast (each costs that end's rows, from the index alone).
                end = other[0]
                size *= 2
            elif links > other[1]:
                end = other[0]
            else:
                links_read += links
        else:
            links_read += links
        least = needed(batch[0].miles)
        probed: list[Any] = []
        if least is None and (links > SMALL_BATCH or end != "spots"):
            # A large batch (a hospital, or a whole specialty's rows) and no limit-th best yet: its
            # most promising providers first. Their scores so far may be low (a nearer location of
            # theirs may be left out), which only lowers the bar the whole batch is then read with.
            probed = session.execute(statement(end, None, probe=True), {"lids": ids}).all()
            _merge(out, probed, q, by_id, hints)
            pool = scores + [rules.base_score(c, prefs, w) for pid, c in out.items() if pid not in before]
            least = needed(batch[0].miles, pool)
        params: dict[str, Any] = {"lids": ids} if least is None else {"lids": ids, "least": least}
        rows = probed + session.execute(statement(end, least), params).all()
        if not rows and i == 0 and (q.age_group or q.age is not None) and not any_at_client(session, q):
            return out, len(batch)  # nobody of the need's specialties sees this age group: stop here
        found_since = found_since or bool(rows)
        i += len(batch)
        size *= 2
        rows_read += len(rows)
        _merge(out, rows, q, by_id, hints)  # ranks are the need's own order (q), whatever was asked
        # A provider's rows all arrive with its nearest location's batch, so its score is final now.
        scores.extend(rules.base_score(c, prefs, w) for pid, c in out.items() if pid not in before)
        if (i >= len(spots) and reach.complete) or rows_read >= w.candidate_cap:
            break
        if len(scores) >= limit:
            # Anyone farther has at most the next location's distance points (that location, or the
            # ring not read yet), the points of their specialty's place in the need, and every other
            # component in full. Specialties that cannot beat the limit-th best that way are not
            # asked for again; none left: stop.
            scores.sort(reverse=True)
            ceiling = scores[limit - 1] - rules.distance_points(reach.next_miles(i), w) - rest - 1e-9
            codes = tuple(
                code
                for rank, code in enumerate(q.codes)
                if code in look.codes and rules.specialty_points(rank, True, w) > ceiling
            )
            if not codes:
                break
            if codes != look.codes:
                look, other, links_read, found_since = replace(q, codes=codes), None, 0, False
    return out, i


class RowCounts:
    """Row counts that steer the walk: a location's provider links, a specialty's or a language's
    rows (every tenant's; the indexes alone answer). They decide only which end a batch is read
    from, never what it finds (any end finds the same rows), so this process keeps them for
    COUNTS_TTL seconds rather than counting again for every request: a request then usually sends
    none of these queries. Keyed by the database, so tests and tools with several keep them apart.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, Hashable], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def get(
        self,
        session: Session,
        kind: str,
        keys: Iterable[Hashable],
        count: Callable[[list[Any]], Mapping[Any, int]],
    ) -> dict[Any, int]:
        """Each key's count, asking `count(missing keys)` for those not known (absent means 0)."""
        db = str(session.get_bind().url)
        now = time.monotonic()
        out: dict[Any, int] = {}
        missing = []
        with self._lock:
            for key in dict.fromkeys(keys):
                known = self._rows.get((db, kind, key))
                if known is not None and known[0] > now:
                    out[key] = known[1]
                else:
                    missing.append(key)
        if missing:
            fresh = count(missing)
            with self._lock:
                if len(self._rows) > 100_000:  # many databases or a very long run: start again
                    self._rows.clear()
                for key in missing:
                    out[key] = int(fresh.get(key, 0))
                    self._rows[(db, kind, key)] = (now + COUNTS_TTL, out[key])
        return out


ROW_COUNTS = RowCounts()


def _other_end(session: Session, q: Query) -> tuple[str, int]:
    """The cheaper end to read from instead of locations, with its row count (capped)."""
    end = ("specialty", _code_rows(session, q.codes, MAX_END_ROWS))
    if q.language and q.language_required:
        speakers = _language_rows(session, q.language, MAX_END_ROWS)
        if speakers < end[1]:
            end = ("language", speakers)
    return end


def _code_rows(session: Session, codes: Sequence[str], cap: int) -> int:
    """Specialty rows with these codes (every tenant's: the taxonomy index alone answers), up to cap."""

    def count(missing: list[Any]) -> dict[Any, int]:
        stmt = (
            select(_S.c.taxonomy_code, func.count())
            .where(_S.c.taxonomy_code.in_(missing))
            .group_by(_S.c.taxonomy_code)
        )
        return {code: n for code, n in session.execute(stmt)}

    return min(cap, sum(ROW_COUNTS.get(session, "specialty", codes, count).values()))


def _language_rows(session: Session, language: str, cap: int) -> int:
    """A language's rows (every tenant's, from the language index), up to cap."""

    def count(missing: list[Any]) -> dict[Any, int]:
        some = select(_LANG.c.language).where(_LANG.c.language == language).limit(MAX_END_ROWS).subquery()
        return {language: int(session.scalar(select(func.count()).select_from(some)) or 0)}

    return min(cap, ROW_COUNTS.get(session, "language", [language], count)[language])


def _link_rows(session: Session, location_ids: Sequence[int]) -> int:
    """Provider links at these locations (the location index alone answers)."""

    def count(missing: list[Any]) -> dict[Any, int]:
        stmt = (
            select(_PL.c.location_id, func.count())
            .where(_PL.c.location_id.in_(missing))
            .group_by(_PL.c.location_id)
        )
        return {lid: n for lid, n in session.execute(stmt)}

    return sum(ROW_COUNTS.get(session, "links", location_ids, count).values())


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
    if end_rows < MAX_END_ROWS and _link_rows(session, ids) > end_rows:
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


def languages_of(session: Session, ids: Iterable[int]) -> dict[int, list[str]]:
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
