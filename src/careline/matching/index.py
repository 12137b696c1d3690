"""Each tenant's matched directory in memory: the candidate search without a query per batch.

`candidates.search` walks locations outward with one SQL query per batch; at 100,000 providers its
slowest requests spend most of their time in those queries (compiling each new shape, and SQLite
joining a batch's every link to its specialty and provider rows). A call center's directory changes
a few times an hour and is read on every find-a-doctor call, so each serving process keeps what the
walk reads (active locations with their coordinates, and which active providers of which specialty
practise at each; the providers' flags, ages, languages and plans) and walks it in memory: the same
walk, the same stop rule, the same answer (the tests compare both with `naive.full_scan`).

Freshness is the database's to say, not a timer's: triggers count every change to the six matched
tables into `directory_versions` (migration 0014), and a request reads its tenant's (epoch, version)
in its own transaction, about 0.1 ms. An index loaded at that version is the directory as that
request sees it; any other version and the request takes the SQL walk while a thread loads the new
version (background mode: the serving app, which also loads every client's directory at start) or
loads it first (sync mode: tests). Several processes each keep their own copy and each learns of a
change from the same row. Mode "off" (the default for the CLI and tools, which answer one request
and exit) always takes the SQL walk.

Cost, measured by bench/match.py on the 100,000-provider world (docs/matching.md): the largest
tenant (81,193 providers) loads in 4-5 s and takes about 80 MB of each serving process's memory.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.orm import Session

from careline.db import READ_ONLY
from careline.directory.models import (
    DirectoryVersion,
    Location,
    Provider,
    ProviderLanguage,
    ProviderLocation,
    ProviderPlan,
    ProviderSpecialty,
)
from careline.kit import geo
from careline.matching import candidates, rules
from careline.matching.candidates import MAX_MILES, Query, Spot, tenant_rows
from careline.matching.rules import Candidate, Preferences, Weights

log = logging.getLogger("careline.matching")

Mode = Literal["off", "background", "sync"]
APPROX = 1e-6  # miles: numpy's distances differ from the exact ones by far less (rounding only)
RETRY_SECONDS = 60.0  # after a failed load, the SQL walk serves this long before loading is tried again

Stamp = tuple[str, int]  # (epoch, version) of a tenant's directory_versions row; ("", 0) when none

_V = DirectoryVersion.__table__
_STAMP = select(_V.c.epoch, _V.c.version).where(_V.c.tenant_id == bindparam("tenant"))


def stamp_of(conn: Connection, tenant_id: int) -> Stamp:
    """The tenant's directory version as this connection's transaction sees it."""
    row = conn.execute(_STAMP, {"tenant": tenant_id}).first()
    return (str(row[0]), int(row[1])) if row is not None else ("", 0)


@dataclass(slots=True)
class Doctor:
    """What the walk and the ranking need of one active provider."""

    pid: int
    first_name: str
    last_name: str
    credentials: str
    gender: str
    accepting: bool
    telehealth: bool
    sees_pediatric: bool
    sees_adult: bool
    sees_geriatric: bool
    min_age: int | None
    max_age: int | None
    reasons_raw: str | None  # visit reasons and conditions as their JSON text (decoded when they may matter)
    conditions_raw: str | None
    specialties: tuple[tuple[str, bool], ...] = ()
    languages: frozenset[str] = frozenset()


class TenantIndex:
    """One tenant's matched directory at one version."""

    def __init__(self, tenant_id: int, stamp: Stamp) -> None:
        self.tenant_id, self.stamp = tenant_id, stamp
        self.loc_ids = np.zeros(0, dtype=np.int64)
        self.loc_lat = np.zeros(0)
        self.loc_lon = np.zeros(0)
        # active location id -> (id, name, address, city, zip, lat, lon, tz): a Spot without the distance
        self.places: dict[int, tuple[Any, ...]] = {}
        self.at: dict[int, dict[str, tuple[int, ...]]] = {}  # location -> specialty code -> active providers
        self.doctors: dict[int, Doctor] = {}
        self.plan_takers: dict[int, set[int]] = {}  # plan -> the providers who take it
        self.plan_closed: dict[int, set[int]] = {}  # plan -> those of them not taking new patients on it
        self.seconds = 0.0  # how long the load took

    @property
    def size(self) -> int:
        return len(self.doctors)

    # ------------------------------------------------------------------ the walk

    def spots(self, places: Sequence[rules.Place], miles: float) -> Iterator[Spot]:
        """Active locations within `miles` of the nearer place, nearest first by (distance, id): the
        locations `candidates.Reach` reads (the same bounding boxes, the same exact distances).

        The order is found lazily: numpy measures every location in the boxes at once, and the exact
        distance (`rules.nearest_fn`, the one every search and the full scan use) is computed only for
        locations that could come next, those whose rough distance is within APPROX of the nearest
        exact one not yet given: a walk that stops after 30 locations measures about 30, not 700."""
        if not len(self.loc_ids):
            return
        mask = np.zeros(len(self.loc_ids), dtype=bool)
        for lo_lat, hi_lat, lo_lon, hi_lon in rules.boxes(places, miles):
            mask |= (
                (self.loc_lat >= lo_lat)
                & (self.loc_lat <= hi_lat)
                & (self.loc_lon >= lo_lon)
                & (self.loc_lon <= hi_lon)
            )
        inside = np.flatnonzero(mask)
        lat, lon = np.radians(self.loc_lat[inside]), np.radians(self.loc_lon[inside])
        rough = np.full(len(inside), np.inf)
        for p in places:
            phi, lam = math.radians(p.lat), math.radians(p.lon)
            h = np.sin((lat - phi) / 2) ** 2 + math.cos(phi) * np.cos(lat) * np.sin((lon - lam) / 2) ** 2
            rough = np.minimum(rough, 2 * geo.EARTH_RADIUS_MILES * np.arcsin(np.minimum(1.0, np.sqrt(h))))
        order = np.argsort(rough, kind="stable")
        ids = self.loc_ids[inside][order].tolist()
        roughly = rough[order].tolist()
        nearest = rules.nearest_fn(places)
        pending: list[tuple[float, int, Spot]] = []  # measured exactly, not given yet (a heap)
        j, n, last = 0, len(ids), miles + APPROX
        while True:
            while j < n and roughly[j] <= last and (not pending or roughly[j] <= pending[0][0] + APPROX):
                row = self.places[ids[j]]
                distance, place = nearest(row[5], row[6])
                if distance <= miles:
                    heapq.heappush(pending, (distance, row[0], Spot(*row, distance, place)))
                j += 1
            if not pending:
                return
            yield heapq.heappop(pending)[2]

    def search(
        self, q: Query, prefs: Preferences, w: Weights, limit: int
    ) -> tuple[dict[int, Candidate], int]:
        """`candidates.search` in memory: locations nearest first; each provider taken at the first
        (nearest) location where one of the need's specialties still asked for lists them, with every
        hard filter; stop when the `limit`-th best score cannot be reached from the next location on
        (its distance points, the best specialty still asked for, every other component in full).
        A provider who could not reach the `limit`-th best even here is passed over unbuilt."""
        spots = self.spots(q.places, q.miles if q.miles is not None else MAX_MILES)
        out: dict[int, Candidate] = {}
        spot = next(spots, None)
        if spot is None:
            return out, 0
        hints = rules.reason_hints(prefs)
        order = {code: rank for rank, code in enumerate(q.codes)}
        look = list(q.codes)
        rest = w.non_distance_max(prefs) - w.specialty  # every component but distance and the specialty
        admits = self._filter(q)
        closed = self.plan_closed.get(q.plan_id, set()) if q.plan_id is not None else None
        speaks_asked = bool(q.language) and not q.language_required
        best: list[float] = []  # the `limit` best scores so far (a min-heap)
        seen: set[int] = set()
        doctors, at = self.doctors, self.at
        k = 0
        while spot is not None:
            k += 1
            here = at.get(spot.id)
            if here:
                near = rules.distance_points(spot.miles, w)
                for code in look:
                    for pid in here.get(code, ()):
                        if pid in seen:
                            continue
                        seen.add(pid)
                        d = doctors[pid]
                        if not admits(d):
                            continue
                        rank, not_primary, code_of = min(
                            (order[c], not primary, c) for c, primary in d.specialties if c in order
                        )
                        if len(best) >= limit:
                            could = near + rules.specialty_points(rank, not not_primary, w) + rest
                            if could < best[0] - 1e-9:
                                continue
                        c = Candidate(
                            provider_id=pid,
                            first_name=d.first_name,
                            last_name=d.last_name,
                            credentials=d.credentials,
                            gender=d.gender,
                            accepting=d.accepting,
                            telehealth=d.telehealth,
                            code=code_of,
                            code_rank=rank,
                            primary=not not_primary,
                            location_id=spot.id,
                            location_name=spot.name,
                            address=spot.address,
                            city=spot.city,
                            zip=spot.zip,
                            lat=spot.lat,
                            lon=spot.lon,
                            timezone=spot.timezone,
                            distance=spot.miles,
                            from_place=spot.place,
                            visit_reasons=candidates.reasons_listed(d, hints),
                            speaks_preferred=(q.language in d.languages)
                            if speaks_asked
                            else (True if q.language else None),
                            plan_status=None
                            if closed is None
                            else ("closed" if pid in closed else "accepting"),
                        )
                        out[pid] = c
                        score = rules.base_score(c, prefs, w)
                        if len(best) < limit:
                            heapq.heappush(best, score)
                        elif score > best[0]:
                            heapq.heapreplace(best, score)
            spot = next(spots, None)
            if spot is None or len(out) >= w.candidate_cap:
                break
            if len(best) >= limit:
                # As the SQL walk: specialties that cannot reach the limit-th best from the next
                # location on are not looked for again; none left, stop.
                ceiling = best[0] - rules.distance_points(spot.miles, w) - rest - 1e-9
                look = [code for code in look if rules.specialty_points(order[code], True, w) > ceiling]
                if not look:
                    break
        return out, k

    def _filter(self, q: Query) -> Any:
        """The request's hard filters on one provider (`candidates._hard_filters`, in Python)."""
        takers = self.plan_takers.get(q.plan_id, set()) if q.plan_id is not None else None
        closed = self.plan_closed.get(q.plan_id, set())
        accepting_required = q.accepting_required
        language = q.language if q.language and q.language_required else None
        gender = q.gender if q.gender and q.gender_required else None
        age, ages = q.age, q.age_group is not None or q.age is not None

        def admits(d: Doctor) -> bool:
            if accepting_required and not d.accepting:
                return False
            if takers is not None and (d.pid not in takers or (accepting_required and d.pid in closed)):
                return False
            if language is not None and language not in d.languages:
                return False
            if gender is not None and d.gender != gender:
                return False
            return not ages or rules.sees(age, q.age_group, rules.age_flags(d), d.min_age, d.max_age)

        return admits


# ---------------------------------------------------------------------- loading


def load(conn: Connection, tenant_id: int) -> TenantIndex:
    """Read one tenant's matched directory on this connection (its transaction should be a snapshot:
    REPEATABLE READ on PostgreSQL, one transaction on SQLite) into a TenantIndex."""
    started = time.perf_counter()
    index = TenantIndex(tenant_id, stamp_of(conn, tenant_id))
    doctors = index.doctors
    # Names, credentials, codes, reason lists and language sets repeat across thousands of providers:
    # each distinct value is kept once (about half the memory of a row's own copies).
    kept: dict[Any, Any] = {}

    def one(value: Any) -> Any:
        return kept.setdefault(value, value)

    for r in tenant_rows(
        conn, Provider, tenant_id,
        "id", "first_name", "last_name", "credentials", "gender", "accepting_new_patients", "telehealth",
        "sees_pediatric", "sees_adult", "sees_geriatric", "min_age", "max_age", "visit_reasons", "conditions",
        "active",
    ):  # fmt: skip
        if r.active:
            doctors[r.id] = Doctor(
                r.id, one(r.first_name), one(r.last_name), one(r.credentials or ""), one(str(r.gender)),
                bool(r.accepting_new_patients), bool(r.telehealth), bool(r.sees_pediatric),
                bool(r.sees_adult), bool(r.sees_geriatric), r.min_age, r.max_age,
                one(r.visit_reasons), one(r.conditions),
            )  # fmt: skip
    specialties: dict[int, list[tuple[str, bool]]] = {}
    for pid, code, primary in tenant_rows(
        conn, ProviderSpecialty, tenant_id, "provider_id", "taxonomy_code", "is_primary"
    ):
        if pid in doctors:
            specialties.setdefault(pid, []).append(one((code, bool(primary))))
    for pid, codes in specialties.items():
        doctors[pid].specialties = one(tuple(codes))
    languages: dict[int, set[str]] = {}
    for pid, language in tenant_rows(conn, ProviderLanguage, tenant_id, "provider_id", "language"):
        if pid in doctors:
            languages.setdefault(pid, set()).add(language)
    for pid, spoken in languages.items():
        doctors[pid].languages = one(frozenset(spoken))
    for pid, plan_id, accepting in tenant_rows(
        conn, ProviderPlan, tenant_id, "provider_id", "plan_id", "accepting_new"
    ):
        if pid in doctors:
            pid = doctors[pid].pid  # one int object per provider, however many rows name it
            index.plan_takers.setdefault(plan_id, set()).add(pid)
            if not accepting:
                index.plan_closed.setdefault(plan_id, set()).add(pid)
    ids, lats, lons = [], [], []
    for r in tenant_rows(
        conn,
        Location,
        tenant_id,
        "id",
        "name",
        "address_line1",
        "city",
        "zip",
        "lat",
        "lon",
        "timezone",
        "active",
    ):
        if r.active and r.lat is not None and r.lon is not None:
            index.places[r.id] = (r.id, r.name, r.address_line1, r.city, r.zip, r.lat, r.lon, r.timezone)
            ids.append(r.id)
            lats.append(r.lat)
            lons.append(r.lon)
    index.loc_ids = np.array(ids, dtype=np.int64)
    index.loc_lat = np.array(lats, dtype=float)
    index.loc_lon = np.array(lons, dtype=float)
    at: dict[int, dict[str, list[int]]] = {}
    for pid, lid in tenant_rows(conn, ProviderLocation, tenant_id, "provider_id", "location_id"):
        d = doctors.get(pid)
        if d is None or lid not in index.places:
            continue
        codes = at.setdefault(lid, {})
        for code, _primary in d.specialties:
            codes.setdefault(code, []).append(pid)
    index.at = {lid: {code: tuple(sorted(pids)) for code, pids in codes.items()} for lid, codes in at.items()}
    index.seconds = time.perf_counter() - started
    return index


# ---------------------------------------------------------------------- the indexes a process keeps


class Indexes:
    """The tenant indexes this process holds, one per database and tenant, at their latest version."""

    def __init__(self, mode: Mode = "off") -> None:
        self.mode: Mode = mode
        self._held: dict[tuple[str, int], TenantIndex] = {}
        self._loading: set[tuple[str, int]] = set()
        self._retry_at: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
            self._retry_at.clear()

    def held(self, session: Session, tenant_id: int) -> TenantIndex | None:
        """The index this process holds for the tenant, whatever its version (for tools and tests)."""
        return self._held.get((_db_key(session), tenant_id))

    def current(self, session: Session, tenant_id: int) -> TenantIndex | None:
        """The tenant's index if it is the directory this session's transaction sees, else None
        (and a load of the current version is started, or done first in sync mode)."""
        if self.mode == "off":
            return None
        key = (_db_key(session), tenant_id)
        stamp = stamp_of(session.connection(), tenant_id)
        held = self._held.get(key)
        if held is not None and held.stamp == stamp:
            return held
        if self.mode == "sync":
            index = load(session.connection(), tenant_id)
            with self._lock:
                self._held[key] = index
            return index if index.stamp == stamp else None
        self._start_loading(session, key, tenant_id)
        return None

    def _start_loading(self, session: Session, key: tuple[str, int], tenant_id: int) -> None:
        with self._lock:
            if key in self._loading or self._retry_at.get(key, 0.0) > time.monotonic():
                return
            self._loading.add(key)
        bind = session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        thread = threading.Thread(
            target=self._load, args=(engine, key, tenant_id), name=f"match-index-{tenant_id}", daemon=True
        )
        thread.start()

    def _load(self, engine: Engine, key: tuple[str, int], tenant_id: int) -> None:
        try:
            options: dict[str, Any] = (
                {"isolation_level": "REPEATABLE READ"}
                if engine.dialect.name == "postgresql"
                else {READ_ONLY: True}
            )
            with engine.connect().execution_options(**options) as conn, conn.begin():
                index = load(conn, tenant_id)
            with self._lock:
                self._held[key] = index
                self._retry_at.pop(key, None)
            log.info(
                "matching index of tenant %s loaded: %d providers, version %s, %.1f s",
                tenant_id, index.size, index.stamp[1], index.seconds,
            )  # fmt: skip
        except Exception:
            log.exception("loading the matching index of tenant %s failed; the SQL walk serves", tenant_id)
            with self._lock:
                self._retry_at[key] = time.monotonic() + RETRY_SECONDS
        finally:
            with self._lock:
                self._loading.discard(key)

    def preload(self, engine: Engine) -> threading.Thread | None:
        """In background mode, load every client's directory in a thread, one after the other (the
        serving app calls this at start), so the first searches after a start or a deploy are
        answered from memory too. Each load is the one a request would start; a client whose load is
        already running is skipped."""
        if self.mode != "background":
            return None
        db = str(engine.url)

        def run() -> None:
            try:
                with engine.connect() as conn:
                    tenants = list(conn.execute(select(_V.c.tenant_id).order_by(_V.c.tenant_id)).scalars())
            except Exception:
                log.exception("listing the clients to preload their directories failed")
                return
            for tenant_id in tenants:
                key = (db, tenant_id)
                with self._lock:
                    if key in self._loading or key in self._held:
                        continue
                    self._loading.add(key)
                self._load(engine, key, tenant_id)

        thread = threading.Thread(target=run, name="match-index-preload", daemon=True)
        thread.start()
        return thread

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait until no load is running (benchmarks and tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._loading:
                    return True
            time.sleep(0.05)
        return False


def _db_key(session: Session) -> str:
    return str(session.get_bind().url)


INDEXES = Indexes()


def search(
    session: Session, q: Query, prefs: Preferences, w: Weights, limit: int
) -> tuple[dict[int, Candidate], int]:
    """The candidate search matching uses: in memory when this process holds the tenant's directory
    at the version the session sees, else the SQL walk (`candidates.search`). A named provider
    question always goes to SQL (a name search over every location, no walk)."""
    if q.name is None and INDEXES.mode != "off":
        index = INDEXES.current(session, q.tenant_id)
        if index is not None:
            return index.search(q, prefs, w, limit)
    return candidates.search(session, q, prefs, w, limit)
