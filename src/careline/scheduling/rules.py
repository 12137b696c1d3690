"""Pure scheduling rules: template expansion in local time (DST-safe), open-time search, booking checks.

Nothing here touches the database; `service.py` loads rows into these small facts and calls in.

Time model: a template is a local wall-clock window ("08:00"-"12:00") on a weekday. For one local
date it becomes a pair of UTC instants via `kit.timeutil.local_to_utc` (a start in a spring-forward
gap moves forward, an ambiguous fall-back time takes its first occurrence). Open times are then
stepped in *real* minutes from the window's start, so on a transition day a window that spans the
jump has exactly as many slots as real time allows, never a phantom or a doubled one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from careline.kit.timeutil import get_zone, local_to_utc

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Named parts of the day for time-of-day preferences: [after, before) local minutes of the start.
DAY_PARTS = {"morning": (0, 12 * 60), "afternoon": (12 * 60, 17 * 60), "evening": (17 * 60, 24 * 60)}
ESTABLISHED_YEARS = 3  # seen by the provider within this long: an established patient
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


# --- clock text -----------------------------------------------------------------------------------


@cache
def parse_hhmm(text: str) -> int:
    """Minutes after midnight for 'HH:MM' (24-hour; '24:00' means the end of the day)."""
    value = (text or "").strip()
    if value == "24:00":
        return 24 * 60
    match = _HHMM.fullmatch(value)
    if match is None:
        raise ValueError(f"expected a time like 08:30, got {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def hhmm(minutes: int) -> str:
    """'HH:MM' for minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_weekday(value: int | str) -> int:
    """0 (Monday) .. 6 (Sunday) from an int or a name ('mon', 'Monday')."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 6:
            return value
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {value}")
    text = str(value).strip().lower()
    if text.isdigit():
        return parse_weekday(int(text))
    if text[:3] in WEEKDAYS:
        return WEEKDAYS.index(text[:3])
    raise ValueError(f"unknown weekday {value!r}")


# --- expansion ------------------------------------------------------------------------------------


def window_utc(day: date, start_min: int, end_min: int, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants of a local window on one local date (DST resolved per instant, not per day)."""

    def at(minutes: int) -> datetime:
        if minutes >= 24 * 60:
            return local_to_utc(datetime.combine(day + timedelta(days=1), time()), tz)
        return local_to_utc(datetime.combine(day, time(minutes // 60, minutes % 60)), tz)

    return at(start_min), at(end_min)


def slot_starts(
    window_start: datetime, window_end: datetime, step_minutes: int, duration_minutes: int
) -> list[datetime]:
    """Every start on the window's grid (real minutes from its start) whose visit ends inside it."""
    step, duration = timedelta(minutes=step_minutes), timedelta(minutes=duration_minutes)
    out, at = [], window_start
    while at + duration <= window_end:
        out.append(at)
        at += step
    return out


def release_instant(day: date, release_at_local: str | None, days_before: int, tz: str) -> datetime | None:
    """When a reserved window on `day` opens to every type; None = it stays reserved."""
    if release_at_local is None:
        return None
    minutes = parse_hhmm(release_at_local)
    return window_utc(day - timedelta(days=days_before), minutes, minutes, tz)[0]


def local_midnight(day: date, tz: str) -> datetime:
    """The UTC instant a local date begins."""
    return local_to_utc(datetime.combine(day, time()), tz)


def merge(intervals: Iterable[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Union of [start, end) intervals as two sorted lists (starts, ends), disjoint."""
    starts: list[int] = []
    ends: list[int] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if ends and s <= ends[-1]:
            ends[-1] = max(ends[-1], e)
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


@dataclass(frozen=True, slots=True)
class TemplateFacts:
    """One weekly window, as the search needs it."""

    id: int
    provider_id: int
    location_id: int
    weekday: int
    start_min: int
    end_min: int
    slot_minutes: int
    effective_from: date
    effective_to: date | None
    reserved_type_id: int | None = None
    release_at_local: str | None = None
    release_days_before: int = 0

    def applies_on(self, day: date) -> bool:
        """True when this window runs on that local date."""
        return (
            day.weekday() == self.weekday
            and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )


@dataclass(frozen=True, slots=True)
class LocationFacts:
    id: int
    tz: str
    closed: frozenset[date] = frozenset()
    distance_miles: float | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """An open time: who, where, when (UTC and local), for which type."""

    provider_id: int
    location_id: int
    type_id: int
    start_at: datetime
    end_at: datetime
    tz: str
    template_id: int
    distance_miles: float | None = None

    @property
    def start_local(self) -> datetime:
        """The start on the location's wall clock (aware)."""
        return self.start_at.astimezone(get_zone(self.tz))


@dataclass
class SearchSpec:
    """What to look for: the type's length and rules, the date range, the preferences, how many."""

    type_id: int
    duration_minutes: int
    date_from: date  # local dates, inclusive
    date_to: date
    now: datetime
    earliest: datetime  # now + the type's notice
    latest_day_offset: int | None = None  # the type's horizon in days from each location's today
    weekdays: frozenset[int] = frozenset()  # empty: any
    after_min: int | None = None  # local start minute >= this
    before_min: int | None = None  # local start minute < this
    limit: int = 20
    per_provider: int | None = None  # at most this many per provider (next-available per provider)


@dataclass
class BusyIndex:
    """Busy intervals (epoch seconds) per provider, per location, per provider-at-location, tenant-wide."""

    provider: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    location: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    everywhere: list[tuple[int, int]] = field(default_factory=list)
    pair: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)  # provider at a location
    _merged: dict[tuple[int, int], tuple[list[int], list[int]]] = field(default_factory=dict)

    def merged(self, provider_id: int, location_id: int) -> tuple[list[int], list[int]]:
        """Everything that blocks this provider at this location, as disjoint sorted intervals."""
        key = (provider_id, location_id)
        found = self._merged.get(key)
        if found is None:
            found = merge(
                [
                    *self.provider.get(provider_id, ()),
                    *self.location.get(location_id, ()),
                    *self.pair.get(key, ()),
                    *self.everywhere,
                ]
            )
            self._merged[key] = found
        return found


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def find_slots(
    spec: SearchSpec,
    templates: Sequence[TemplateFacts],
    locations: dict[int, LocationFacts],
    busy: BusyIndex,
) -> list[Slot]:
    """Open times in start order: templates minus closures, exceptions and busy time, first `limit`.

    Days are walked in order and the walk stops once enough slots are certain to be the earliest
    (no later local day, in any of the zones involved, can start before them).
    """
    by_weekday: dict[int, list[TemplateFacts]] = {}
    for t in sorted(templates, key=lambda t: (t.start_min, t.provider_id, t.id)):
        if t.location_id in locations:
            by_weekday.setdefault(t.weekday, []).append(t)
    zones = sorted({locations[t.location_id].tz for t in templates if t.location_id in locations})
    if not zones or spec.date_to < spec.date_from:
        return []
    duration = spec.duration_minutes * 60
    earliest = _ts(spec.earliest)
    now_ts = _ts(spec.now)
    today_by_zone = {tz: spec.now.astimezone(get_zone(tz)).date() for tz in zones}
    windows: dict[tuple[str, date, int, int], tuple[int, int]] = {}
    found: list[Slot] = []
    per_provider: dict[int, int] = {}
    providers = {t.provider_id for t in templates}
    day = spec.date_from
    while day <= spec.date_to:
        if spec.weekdays and day.weekday() not in spec.weekdays:
            day += timedelta(days=1)
            continue
        for t in by_weekday.get(day.weekday(), ()):
            if not t.applies_on(day):
                continue
            loc = locations[t.location_id]
            if day in loc.closed:
                continue
            if (
                spec.latest_day_offset is not None
                and (day - today_by_zone[loc.tz]).days > spec.latest_day_offset
            ):
                continue
            if spec.per_provider is not None and per_provider.get(t.provider_id, 0) >= spec.per_provider:
                continue
            if t.reserved_type_id is not None and t.reserved_type_id != spec.type_id:
                released = release_instant(day, t.release_at_local, t.release_days_before, loc.tz)
                if released is None or now_ts < _ts(released):
                    continue
            key = (loc.tz, day, t.start_min, t.end_min)
            win = windows.get(key)
            if win is None:
                ws, we = window_utc(day, t.start_min, t.end_min, loc.tz)
                win = windows[key] = (_ts(ws), _ts(we))
            starts, ends = busy.merged(t.provider_id, t.location_id)
            step = t.slot_minutes * 60
            at = win[0]
            if at < earliest:  # jump to the first grid point at or after the earliest allowed start
                at += -(-(earliest - at) // step) * step
            while at + duration <= win[1]:
                idx = bisect_right(ends, at)
                if idx < len(starts) and starts[idx] < at + duration:
                    # Overlaps a busy interval: skip to the first grid point after it ends.
                    at += -(-(ends[idx] - at) // step) * step
                    continue
                start = datetime.fromtimestamp(at, UTC)
                if spec.after_min is not None or spec.before_min is not None:
                    local = start.astimezone(get_zone(loc.tz))
                    minute = local.hour * 60 + local.minute
                    if (spec.after_min is not None and minute < spec.after_min) or (
                        spec.before_min is not None and minute >= spec.before_min
                    ):
                        at += step  # not `break`: on a fall-back day local minutes run backwards once
                        continue
                found.append(
                    Slot(
                        provider_id=t.provider_id,
                        location_id=t.location_id,
                        type_id=spec.type_id,
                        start_at=start,
                        end_at=datetime.fromtimestamp(at + duration, UTC),
                        tz=loc.tz,
                        template_id=t.id,
                        distance_miles=loc.distance_miles,
                    )
                )
                if spec.per_provider is not None:
                    per_provider[t.provider_id] = per_provider.get(t.provider_id, 0) + 1
                    if per_provider[t.provider_id] >= spec.per_provider:
                        break
                at += step
        day += timedelta(days=1)
        if _enough(found, spec, day, zones, providers, per_provider):
            break
    return _finish(found, spec)


def _enough(
    found: list[Slot],
    spec: SearchSpec,
    next_day: date,
    zones: list[str],
    providers: set[int],
    per_provider: dict[int, int],
) -> bool:
    if not found:
        return False
    if spec.per_provider is not None:
        return all(per_provider.get(p, 0) >= spec.per_provider for p in providers)
    boundary = min(local_midnight(next_day, tz) for tz in zones)
    return sum(1 for s in found if s.start_at < boundary) >= spec.limit


def _finish(found: list[Slot], spec: SearchSpec) -> list[Slot]:
    # Two templates of one provider may cover the same minute (e.g. at two locations): keep the first.
    found.sort(key=lambda s: (s.start_at, s.distance_miles or 0.0, s.provider_id, s.location_id))
    seen: set[tuple[int, datetime]] = set()
    out: list[Slot] = []
    for slot in found:
        key = (slot.provider_id, slot.start_at)
        if key in seen:
            continue
        seen.add(key)
        out.append(slot)
    if spec.per_provider is not None:
        return out
    return out[: spec.limit]


def start_is_open(
    start: datetime,
    duration_minutes: int,
    type_id: int,
    templates: Sequence[TemplateFacts],
    location: LocationFacts,
    busy: BusyIndex,
    now: datetime,
) -> bool:
    """Whether `start` is an open start in one of these windows at this location: on the window's
    grid, ending inside it, not taken out by a closure or an exception, and not held for another
    type. (Bookings are not in `busy` here: the database decides those.) Same rules as find_slots."""
    zone = get_zone(location.tz)
    day = start.astimezone(zone).date()
    if day in location.closed:
        return False
    at, end = _ts(start), _ts(start) + duration_minutes * 60
    for t in templates:
        if t.location_id != location.id or not t.applies_on(day):
            continue
        if t.reserved_type_id is not None and t.reserved_type_id != type_id:
            released = release_instant(day, t.release_at_local, t.release_days_before, location.tz)
            if released is None or now < released:
                continue
        ws, we = window_utc(day, t.start_min, t.end_min, location.tz)
        if at < _ts(ws) or end > _ts(we) or (at - _ts(ws)) % (t.slot_minutes * 60):
            continue
        starts, ends = busy.merged(t.provider_id, location.id)
        idx = bisect_right(ends, at)
        return not (idx < len(starts) and starts[idx] < end)
    return False


def nearest(slots: Sequence[Slot], wanted: datetime, count: int) -> list[Slot]:
    """The `count` slots closest in time to `wanted`, in start order (alternatives after a conflict)."""
    best = sorted(slots, key=lambda s: (abs((s.start_at - wanted).total_seconds()), s.start_at))[:count]
    return sorted(best, key=lambda s: s.start_at)


# --- booking rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeFacts:
    id: int
    name: str
    duration_minutes: int
    patient_kind: str = "any"  # any | new | established
    modality: str = "in_person"
    min_notice_minutes: int = 0
    max_days_ahead: int = 90
    min_age: int | None = None
    max_age: int | None = None
    referral_required: bool = False
    specialty_codes: frozenset[str] = frozenset()
    provider_ids: frozenset[int] = frozenset()
    active: bool = True


@dataclass(frozen=True)
class ProviderFacts:
    id: int
    name: str  # as messages say it: "Dr. Kim"
    accepting_new_patients: bool = True
    telehealth: bool = False
    sees_pediatric: bool = False
    sees_adult: bool = True
    sees_geriatric: bool = True
    min_age: int | None = None
    max_age: int | None = None
    specialty_codes: frozenset[str] = frozenset()
    active: bool = True


@dataclass(frozen=True)
class PatientFacts:
    age: int  # on the appointment's local date
    is_new: bool  # has not been seen by this provider within ESTABLISHED_YEARS
    has_referral: bool = False


@dataclass(frozen=True)
class Violation:
    """A booking rule that refuses this booking: a code for programs, a sentence for the agent."""

    code: str
    message: str
    field: str | None = None


def provider_label(first_name: str, last_name: str, credentials: str) -> str:
    """'Dr. Kim' for physicians (MD, DO...), else the full name with credentials ('Ana Ruiz, NP')."""
    doctor = {"MD", "DO", "DPM", "DDS", "DMD", "OD", "PHD", "PSYD", "DC", "DPT", "DNP", "AUD"}
    creds = {c.strip().upper().replace(".", "") for c in re.split(r"[,/ ]+", credentials or "") if c.strip()}
    if creds & doctor:
        return f"Dr. {last_name}"
    name = f"{first_name} {last_name}".strip()
    return f"{name}, {credentials}" if credentials else name


def _notice_text(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour's" if hours == 1 else f"{hours} hours'"
    return "1 minute's" if minutes == 1 else f"{minutes} minutes'"


def offer_problem(kind: TypeFacts, provider: ProviderFacts) -> Violation | None:
    """Why this provider cannot be booked for this type at all, or None."""
    if not kind.active:
        return Violation("type_inactive", f"{kind.name} is no longer offered", "type_id")
    if not provider.active:
        return Violation("provider_inactive", f"{provider.name} is not taking appointments", "provider_id")
    if kind.provider_ids and provider.id not in kind.provider_ids:
        return Violation("not_offered", f"{provider.name} does not offer {kind.name}", "type_id")
    if kind.specialty_codes and not (kind.specialty_codes & provider.specialty_codes):
        return Violation("not_offered", f"{provider.name} does not offer {kind.name}", "type_id")
    if kind.modality == "telehealth" and not provider.telehealth:
        return Violation("no_telehealth", f"{provider.name} does not offer telehealth visits", "type_id")
    return None


def timing_problem(kind: TypeFacts, start: datetime, now: datetime, tz: str) -> Violation | None:
    """Too soon (the type's notice), in the past, or too far ahead (its horizon in local days)."""
    if start <= now:
        return Violation("past", "that time has already passed", "start_at")
    if start < now + timedelta(minutes=kind.min_notice_minutes):
        return Violation(
            "too_soon",
            f"too soon: {kind.name} needs {_notice_text(kind.min_notice_minutes)} notice",
            "start_at",
        )
    zone = get_zone(tz)
    if (start.astimezone(zone).date() - now.astimezone(zone).date()).days > kind.max_days_ahead:
        days = kind.max_days_ahead
        span = "today only" if days == 0 else ("1 day out" if days == 1 else f"{days} days out")
        return Violation("too_far", f"too far ahead: bookable up to {span}", "start_at")
    return None


def patient_problems(kind: TypeFacts, provider: ProviderFacts, patient: PatientFacts) -> list[Violation]:
    """Age limits (provider's and type's), new-patient acceptance, new/established type, referral."""
    out: list[Violation] = []
    age, who = patient.age, provider.name
    if provider.min_age is not None and age < provider.min_age:
        out.append(Violation("age", f"{who} does not see patients under {provider.min_age}", "patient_id"))
    elif provider.max_age is not None and age > provider.max_age:
        out.append(Violation("age", f"{who} does not see patients over {provider.max_age}", "patient_id"))
    elif age < 18 and not provider.sees_pediatric:
        out.append(Violation("age", f"{who} does not see patients under 18", "patient_id"))
    elif 18 <= age < 65 and not provider.sees_adult:
        out.append(Violation("age", f"{who} does not see patients 18 and over", "patient_id"))
    elif age >= 65 and not provider.sees_geriatric:
        out.append(Violation("age", f"{who} does not see patients 65 and over", "patient_id"))
    if kind.min_age is not None and age < kind.min_age:
        out.append(Violation("age", f"{kind.name} is for patients {kind.min_age} and over", "patient_id"))
    if kind.max_age is not None and age > kind.max_age:
        out.append(Violation("age", f"{kind.name} is for patients {kind.max_age} and under", "patient_id"))
    if patient.is_new and not provider.accepting_new_patients:
        out.append(Violation("not_accepting_new", f"{who} is not accepting new patients", "provider_id"))
    if kind.patient_kind == "new" and not patient.is_new:
        out.append(
            Violation(
                "established_patient",
                f"{kind.name} is for new patients; this patient is established with {who}",
                "type_id",
            )
        )
    if kind.patient_kind == "established" and patient.is_new:
        out.append(
            Violation(
                "new_patient",
                f"{kind.name} is for established patients; this patient is new to {who}",
                "type_id",
            )
        )
    if kind.referral_required and not patient.has_referral:
        out.append(
            Violation("referral_required", f"{kind.name} needs a referral; record it to book", "has_referral")
        )
    return out


def age_on(dob: date, day: date) -> int:
    """Whole years of age on a day."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
