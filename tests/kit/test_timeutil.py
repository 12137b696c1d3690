"""Tests for UTC/local conversions across DST transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.kit.timeutil import (
    ensure_aware_utc,
    get_zone,
    is_ambiguous,
    is_nonexistent,
    local_to_utc,
    to_local,
)

CHICAGO = "America/Chicago"
NEW_YORK = "America/New_York"


def test_ensure_aware_utc_converts() -> None:
    eastern = datetime(2024, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=-4)))
    result = ensure_aware_utc(eastern)
    assert result == datetime(2024, 7, 1, 13, 0, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_ensure_aware_utc_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        ensure_aware_utc(datetime(2024, 7, 1, 9, 0))


def test_to_local_summer_and_winter() -> None:
    summer = to_local(datetime(2024, 7, 1, 15, 0, tzinfo=UTC), CHICAGO)
    winter = to_local(datetime(2024, 1, 15, 15, 0, tzinfo=UTC), CHICAGO)
    assert (summer.hour, summer.utcoffset()) == (10, timedelta(hours=-5))
    assert (winter.hour, winter.utcoffset()) == (9, timedelta(hours=-6))


def test_to_local_rejects_naive_and_unknown_zone() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_local(datetime(2024, 7, 1, 15, 0), CHICAGO)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        to_local(datetime(2024, 7, 1, 15, 0, tzinfo=UTC), "Mars/Olympus")


def test_get_zone_rejects_junk() -> None:
    for name in ["", "Not/AZone", "../etc/passwd"]:
        with pytest.raises(ValueError, match="unknown time zone"):
            get_zone(name)


def test_local_to_utc_ordinary() -> None:
    assert local_to_utc(datetime(2024, 7, 1, 9, 0), NEW_YORK) == datetime(2024, 7, 1, 13, 0, tzinfo=UTC)


def test_local_to_utc_rejects_aware() -> None:
    with pytest.raises(ValueError, match="naive local"):
        local_to_utc(datetime(2024, 7, 1, 9, 0, tzinfo=UTC), NEW_YORK)


@pytest.mark.parametrize(
    ("tz", "day", "standard_offset_h"),
    [
        (CHICAGO, datetime(2024, 3, 10), 6),
        (NEW_YORK, datetime(2024, 3, 10), 5),
        (NEW_YORK, datetime(2025, 3, 9), 5),
    ],
)
def test_spring_forward_gap_shifts_forward_by_the_gap(tz: str, day: datetime, standard_offset_h: int) -> None:
    # Clocks jump 02:00 -> 03:00, so 02:30 never happens and becomes 03:30 daylight time.
    gap_time = day.replace(hour=2, minute=30)
    utc = local_to_utc(gap_time, tz)
    assert utc == (gap_time + timedelta(hours=standard_offset_h)).replace(tzinfo=UTC)
    assert to_local(utc, tz).replace(tzinfo=None) == day.replace(hour=3, minute=30)
    assert is_nonexistent(gap_time, tz)
    assert not is_ambiguous(gap_time, tz)


def test_edges_of_the_gap_exist() -> None:
    assert not is_nonexistent(datetime(2024, 3, 10, 1, 59), CHICAGO)
    assert not is_nonexistent(datetime(2024, 3, 10, 3, 0), CHICAGO)
    assert local_to_utc(datetime(2024, 3, 10, 1, 59), CHICAGO) == datetime(2024, 3, 10, 7, 59, tzinfo=UTC)
    assert local_to_utc(datetime(2024, 3, 10, 3, 0), CHICAGO) == datetime(2024, 3, 10, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "day", "daylight_offset_h"),
    [
        (CHICAGO, datetime(2024, 11, 3), 5),
        (NEW_YORK, datetime(2024, 11, 3), 4),
        (NEW_YORK, datetime(2025, 11, 2), 4),
    ],
)
def test_fall_back_fold_takes_the_first_occurrence(tz: str, day: datetime, daylight_offset_h: int) -> None:
    # Clocks go 02:00 -> 01:00, so 01:30 happens twice; fold=0 is the earlier, daylight one.
    ambiguous = day.replace(hour=1, minute=30)
    utc = local_to_utc(ambiguous, tz)
    assert utc == (ambiguous + timedelta(hours=daylight_offset_h)).replace(tzinfo=UTC)
    second = to_local(utc + timedelta(hours=1), tz)
    assert second.replace(tzinfo=None) == ambiguous and second.fold == 1
    assert is_ambiguous(ambiguous, tz)
    assert not is_nonexistent(ambiguous, tz)


def test_ordinary_times_are_neither_gap_nor_fold() -> None:
    ordinary = datetime(2024, 11, 3, 3, 0)
    assert not is_ambiguous(ordinary, CHICAGO)
    assert not is_nonexistent(ordinary, CHICAGO)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)),
    st.sampled_from([CHICAGO, NEW_YORK, "America/Phoenix", "Pacific/Honolulu", "America/Los_Angeles"]),
)
def test_round_trip_for_existing_unambiguous_times(naive: datetime, tz: str) -> None:
    utc = local_to_utc(naive, tz)
    assert utc.tzinfo is UTC
    if not is_nonexistent(naive, tz):
        assert to_local(utc, tz).replace(tzinfo=None) == naive


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)))
def test_utc_round_trip_is_exact(instant: datetime) -> None:
    local = to_local(instant, CHICAGO)
    assert ensure_aware_utc(local) == instant
