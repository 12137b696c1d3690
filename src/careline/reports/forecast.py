"""Call-volume forecasts from arrival history, by weekday and time of day in local time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from careline.kit.timeutil import get_zone, local_to_utc, to_local

MINUTES_PER_DAY = 24 * 60

Slot = tuple[int, int]
"""(weekday, minute_of_day): weekday as date.weekday() (Monday = 0), minute_of_day the slot's start."""


@dataclass(frozen=True, slots=True)
class IntervalForecast:
    """Expected calls for one real interval of a target week."""

    start_utc: datetime
    local_start: datetime  # aware, in the tenant's zone; the fall-back hour shows up twice
    weekday: int
    minute_of_day: int
    expected_calls: float


def forecast_intervals(
    arrivals: Iterable[datetime],
    *,
    weeks: int,
    interval_minutes: int = 30,
    tz: str,
    end_date: date | None = None,
) -> dict[Slot, float]:
    """Average calls per (weekday, interval) over the last `weeks` whole weeks, in local time.

    Method: bucket each arrival by its local weekday and interval start in `tz`, count the
    buckets over the `weeks * 7` local days ending the day before `end_date` (default: the day
    after the latest arrival), and divide by `weeks`. It is a simple mean of the same weekday and
    interval over the past N weeks, with quiet weeks counting as zero; no trend, no seasonality
    and no holiday handling. Every slot of the week is in the result, zero when never busy.
    DST days are bucketed by wall clock, so the repeated fall-back hour counts double and the
    skipped spring-forward hour counts nothing, once a year each.
    """
    _check_interval(interval_minutes)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 1:
        raise ValueError(f"weeks must be a whole number >= 1, got {weeks!r}")
    get_zone(tz)
    local_times = [to_local(arrival, tz) for arrival in arrivals]
    if not local_times:
        return dict.fromkeys(all_slots(interval_minutes), 0.0)
    if end_date is None:
        end_date = max(t.date() for t in local_times) + timedelta(days=1)
    start_date = end_date - timedelta(weeks=weeks)
    counts = Counter(_slot(t, interval_minutes) for t in local_times if start_date <= t.date() < end_date)
    return {slot: counts[slot] / weeks for slot in all_slots(interval_minutes)}


def lay_over_week(
    forecast: Mapping[Slot, float],
    week_start: date,
    *,
    tz: str,
    interval_minutes: int = 30,
) -> list[IntervalForecast]:
    """The forecast placed on the 7 local days from `week_start`, one entry per real interval.

    Steps through real (UTC) time from local midnight to local midnight, so a spring-forward
    day has one hour fewer of intervals and a fall-back day has the repeated hour twice, each
    with the usual volume for that wall-clock slot. Slots missing from `forecast` count as zero.
    """
    _check_interval(interval_minutes)
    step = timedelta(minutes=interval_minutes)
    start = local_to_utc(datetime.combine(week_start, datetime.min.time()), tz)
    end = local_to_utc(datetime.combine(week_start + timedelta(weeks=1), datetime.min.time()), tz)
    result: list[IntervalForecast] = []
    instant = start
    while instant < end:
        local = to_local(instant, tz)
        weekday, minute = _slot(local, interval_minutes)
        result.append(
            IntervalForecast(instant, local, weekday, minute, float(forecast.get((weekday, minute), 0.0)))
        )
        instant += step
    return result


def all_slots(interval_minutes: int = 30) -> list[Slot]:
    """Every (weekday, minute_of_day) slot of a week, Monday 00:00 first."""
    _check_interval(interval_minutes)
    return [(day, minute) for day in range(7) for minute in range(0, MINUTES_PER_DAY, interval_minutes)]


def _slot(local: datetime, interval_minutes: int) -> Slot:
    """The slot a local wall-clock time falls in."""
    minute = local.hour * 60 + local.minute
    return local.weekday(), minute - minute % interval_minutes


def _check_interval(interval_minutes: int) -> None:
    """Intervals must tile a day exactly, or slots would straddle midnight."""
    valid = isinstance(interval_minutes, int) and not isinstance(interval_minutes, bool)
    if not valid or interval_minutes <= 0 or MINUTES_PER_DAY % interval_minutes:
        raise ValueError(f"interval_minutes must divide 1440 (e.g. 15, 30, 60), got {interval_minutes!r}")
