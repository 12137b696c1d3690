"""Template expansion across time zones and DST transition days (property tests).

US transitions: 2026-03-08 and 2026-11-01, 2027-03-14 and 2027-11-07 (Sundays, at 02:00 local);
Phoenix and Honolulu keep standard time all year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careline.scheduling import rules

ZONES = [
    "America/Chicago",
    "America/New_York",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Pacific/Honolulu",
]
TRANSITIONS = [date(2026, 3, 8), date(2026, 11, 1), date(2027, 3, 14), date(2027, 11, 7)]
DAYS = TRANSITIONS + [d + timedelta(days=delta) for d in TRANSITIONS for delta in (-1, 1)]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _template(day: date, start_min: int, end_min: int, step: int, **extra) -> rules.TemplateFacts:
    return rules.TemplateFacts(
        id=1,
        provider_id=1,
        location_id=1,
        weekday=day.weekday(),
        start_min=start_min,
        end_min=end_min,
        slot_minutes=step,
        effective_from=date(2026, 1, 1),
        effective_to=None,
        **extra,
    )


def _search(day: date, tz: str, start_min: int, end_min: int, step: int, duration: int) -> list[rules.Slot]:
    spec = rules.SearchSpec(
        type_id=1, duration_minutes=duration, date_from=day, date_to=day, now=NOW, earliest=NOW, limit=10_000
    )
    locations = {1: rules.LocationFacts(1, tz)}
    return rules.find_slots(spec, [_template(day, start_min, end_min, step)], locations, rules.BusyIndex())


def _touches_transition(start_min: int, end_min: int) -> bool:
    return start_min < 3 * 60 and end_min > 60  # clocks change at 02:00 local (01:00-03:00 is odd)


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    day=st.sampled_from(DAYS),
    start_hour=st.integers(min_value=3, max_value=21),
    start_quarter=st.integers(min_value=0, max_value=3),
    length=st.integers(min_value=1, max_value=12).map(lambda n: n * 30),
    step=st.sampled_from([5, 10, 15, 20, 30]),
    duration=st.sampled_from([15, 20, 30, 40, 60]),
)
def test_slots_fall_on_the_wall_clock_grid_away_from_the_jump(
    tz: str, day: date, start_hour: int, start_quarter: int, length: int, step: int, duration: int
) -> None:
    start_min = start_hour * 60 + start_quarter * 15
    end_min = min(start_min + length, 24 * 60)
    slots = _search(day, tz, start_min, end_min, step, duration)
    zone = ZoneInfo(tz)
    expected = []
    at = start_min
    while at + duration <= end_min:
        local = datetime.combine(day, time()) + timedelta(minutes=at)
        expected.append(local.replace(tzinfo=zone).astimezone(UTC))
        at += step
    assert [s.start_at for s in slots] == expected
    for s in slots:
        local = s.start_at.astimezone(zone)
        assert local.date() == day  # never spills into the neighbouring day
        assert local.utcoffset() == zone.utcoffset(local.replace(tzinfo=None).replace(tzinfo=zone))
        assert s.end_at - s.start_at == timedelta(minutes=duration)
        assert s.start_local.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    day=st.sampled_from(TRANSITIONS),
    start_min=st.integers(min_value=0, max_value=3 * 60).map(lambda m: m - m % 5),
    length=st.integers(min_value=30, max_value=6 * 60).map(lambda m: m - m % 5),
    step=st.sampled_from([5, 10, 15, 30]),
    duration=st.sampled_from([10, 15, 20, 30]),
)
def test_windows_spanning_the_jump_have_exactly_the_real_time(
    tz: str, day: date, start_min: int, length: int, step: int, duration: int
) -> None:
    end_min = min(start_min + length, 24 * 60)
    slots = _search(day, tz, start_min, end_min, step, duration)
    ws, we = rules.window_utc(day, start_min, end_min, tz)
    real = int((we - ws).total_seconds() // 60)
    expected = 0 if real < duration else (real - duration) // step + 1
    assert len(slots) == expected
    starts = [s.start_at for s in slots]
    assert starts == sorted(set(starts))  # no doubled instants on the fall-back day
    for a, b in pairwise(starts):
        assert b - a == timedelta(minutes=step)
    for s in slots:
        assert ws <= s.start_at and s.end_at <= we


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("day", TRANSITIONS)
@pytest.mark.parametrize("hour", [8, 11, 13, 16])  # before and after noon
def test_transition_day_starts_use_that_days_offset(tz: str, day: date, hour: int) -> None:
    (first, *_rest) = _search(day, tz, hour * 60, hour * 60 + 60, 15, 15)
    local = first.start_at.astimezone(ZoneInfo(tz))
    assert (local.hour, local.minute) == (hour, 0)
    noon_after = datetime.combine(day, time(12), ZoneInfo(tz))
    assert local.utcoffset() == noon_after.utcoffset()  # after the 02:00 change, all day long
    before = datetime.combine(day - timedelta(days=1), time(12), ZoneInfo(tz)).utcoffset()
    if tz in ("America/Phoenix", "Pacific/Honolulu"):
        assert local.utcoffset() == before
    elif day.month == 3:
        assert local.utcoffset() == before + timedelta(hours=1)  # type: ignore[operator]
    else:
        assert local.utcoffset() == before - timedelta(hours=1)  # type: ignore[operator]


def test_chicago_spring_forward_in_numbers() -> None:
    # 2026-03-08: 08:00 CDT is 13:00 UTC (the day before, 08:00 CST was 14:00 UTC).
    assert _search(date(2026, 3, 8), "America/Chicago", 8 * 60, 9 * 60, 30, 30)[0].start_at == datetime(
        2026, 3, 8, 13, tzinfo=UTC
    )
    assert _search(date(2026, 3, 7), "America/Chicago", 8 * 60, 9 * 60, 30, 30)[0].start_at == datetime(
        2026, 3, 7, 14, tzinfo=UTC
    )
    # A 01:00-04:00 window that day is only two real hours long.
    assert len(_search(date(2026, 3, 8), "America/Chicago", 60, 240, 60, 60)) == 2
    # ...and four on the fall-back day, with 01:00 happening twice.
    fall = _search(date(2026, 11, 1), "America/Chicago", 60, 240, 60, 60)
    assert [s.start_at.astimezone(ZoneInfo("America/Chicago")).strftime("%H:%M %Z") for s in fall] == [
        "01:00 CDT",
        "01:00 CST",
        "02:00 CST",
        "03:00 CST",
    ]


@settings(max_examples=100, deadline=None)
@given(tz=st.sampled_from(ZONES), day=st.sampled_from(DAYS), release=st.integers(min_value=6, max_value=14))
def test_a_reserved_window_opens_at_its_local_release_time(tz: str, day: date, release: int) -> None:
    template = _template(day, 8 * 60, 17 * 60, 60, reserved_type_id=99, release_at_local=f"{release:02d}:00")
    released = datetime.combine(day, time(release), ZoneInfo(tz)).astimezone(UTC)
    locations = {1: rules.LocationFacts(1, tz)}

    def found(now: datetime, type_id: int) -> int:
        spec = rules.SearchSpec(
            type_id=type_id,
            duration_minutes=60,
            date_from=day,
            date_to=day,
            now=now,
            earliest=now.replace(year=2025),
            limit=100,
        )
        return len(rules.find_slots(spec, [template], locations, rules.BusyIndex()))

    assert found(released - timedelta(seconds=1), 1) == 0  # still held for type 99
    assert found(released - timedelta(seconds=1), 99) == 9
    assert found(released, 1) == 9


@settings(max_examples=150, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    day=st.sampled_from(DAYS),
    start_min=st.integers(min_value=0, max_value=20 * 60).map(lambda m: m - m % 5),
    length=st.integers(min_value=30, max_value=8 * 60).map(lambda m: m - m % 5),
    step=st.sampled_from([5, 10, 15, 20, 30]),
    duration=st.sampled_from([10, 15, 20, 40]),
    probe=st.integers(min_value=-60, max_value=10 * 60),
)
def test_the_booking_check_agrees_with_the_search(
    tz: str, day: date, start_min: int, length: int, step: int, duration: int, probe: int
) -> None:
    end_min = min(start_min + length, 24 * 60)
    template = _template(day, start_min, end_min, step)
    place = rules.LocationFacts(1, tz)
    found = {s.start_at for s in _search(day, tz, start_min, end_min, step, duration)}
    for start in found:
        assert rules.start_is_open(start, duration, 1, [template], place, rules.BusyIndex(), NOW)
    ws, _we = rules.window_utc(day, start_min, end_min, tz)
    candidate = ws + timedelta(minutes=probe)
    assert rules.start_is_open(candidate, duration, 1, [template], place, rules.BusyIndex(), NOW) == (
        candidate in found
    )
