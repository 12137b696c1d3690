"""Tests for weekday/interval forecasting from arrival history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from careline.kit.timeutil import local_to_utc
from careline.reports.forecast import all_slots, forecast_intervals, lay_over_week

CHICAGO = "America/Chicago"
MONDAY = 0


def at(local: datetime, tz: str = CHICAGO) -> datetime:
    """A local wall-clock time as the UTC instant a call log would store."""
    return local_to_utc(local, tz)


def history() -> list[datetime]:
    """Three weeks ending Sunday 2024-06-23: Mondays 09:00-09:30 get 3, 5 and 7 calls."""
    arrivals: list[datetime] = []
    for week, count in enumerate([3, 5, 7]):
        monday = datetime(2024, 6, 3) + timedelta(weeks=week)
        arrivals += [at(monday.replace(hour=9, minute=minute)) for minute in range(count)]
    # One Tuesday 14:45 call in the last week only.
    arrivals.append(at(datetime(2024, 6, 18, 14, 45)))
    return arrivals


def test_mean_of_the_same_weekday_and_interval() -> None:
    result = forecast_intervals(history(), weeks=3, tz=CHICAGO, end_date=date(2024, 6, 24))
    assert result[(MONDAY, 9 * 60)] == pytest.approx(5.0)
    assert result[(1, 14 * 60 + 30)] == pytest.approx(1 / 3)  # quiet weeks count as zero
    assert result[(MONDAY, 9 * 60 + 30)] == 0
    assert sum(result.values()) == pytest.approx(16 / 3)


def test_every_slot_is_present() -> None:
    result = forecast_intervals(history(), weeks=3, tz=CHICAGO, interval_minutes=15)
    assert len(result) == 7 * 96
    assert list(result) == all_slots(15)


def test_only_the_last_n_weeks_count() -> None:
    result = forecast_intervals(history(), weeks=1, tz=CHICAGO, end_date=date(2024, 6, 24))
    assert result[(MONDAY, 9 * 60)] == 7
    two = forecast_intervals(history(), weeks=2, tz=CHICAGO, end_date=date(2024, 6, 24))
    assert two[(MONDAY, 9 * 60)] == 6


def test_default_window_ends_after_the_latest_arrival() -> None:
    default = forecast_intervals(history(), weeks=2, tz=CHICAGO)
    # Latest arrival is Tuesday 2024-06-18, so the window is 2024-06-05 .. 2024-06-18: Mondays 10 and 17.
    assert default[(MONDAY, 9 * 60)] == pytest.approx((5 + 7) / 2)


def test_buckets_by_local_time_not_utc() -> None:
    # 23:30 Sunday in Chicago is already Monday 04:30 UTC.
    late = at(datetime(2024, 6, 23, 23, 30))
    assert late.weekday() == MONDAY
    result = forecast_intervals([late], weeks=1, tz=CHICAGO)
    assert result[(6, 23 * 60 + 30)] == 1
    assert result[(MONDAY, 4 * 60 + 30)] == 0


def test_hourly_intervals() -> None:
    result = forecast_intervals(
        history(), weeks=3, tz=CHICAGO, interval_minutes=60, end_date=date(2024, 6, 24)
    )
    assert result[(1, 14 * 60)] == pytest.approx(1 / 3)


def test_no_history_forecasts_zero() -> None:
    result = forecast_intervals([], weeks=4, tz=CHICAGO)
    assert len(result) == 7 * 48 and not any(result.values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weeks": 0}, "weeks"),
        ({"interval_minutes": 7}, "1440"),
        ({"interval_minutes": 0}, "1440"),
        ({"tz": "Nowhere/City"}, "time zone"),
    ],
)
def test_validates(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"weeks": 2, "tz": CHICAGO} | kwargs
    with pytest.raises(ValueError, match=message):
        forecast_intervals(history(), **args)  # type: ignore[arg-type]


def test_naive_arrivals_are_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        forecast_intervals([datetime(2024, 6, 3, 9)], weeks=1, tz=CHICAGO)


def test_lay_over_an_ordinary_week() -> None:
    forecast = forecast_intervals(history(), weeks=3, tz=CHICAGO, end_date=date(2024, 6, 24))
    week = lay_over_week(forecast, date(2024, 7, 1), tz=CHICAGO)
    assert len(week) == 7 * 48
    monday_nine = next(item for item in week if (item.weekday, item.minute_of_day) == (MONDAY, 540))
    assert monday_nine.expected_calls == 5.0
    assert monday_nine.start_utc == datetime(2024, 7, 1, 14, 0, tzinfo=UTC)
    assert monday_nine.local_start.replace(tzinfo=None) == datetime(2024, 7, 1, 9, 0)
    assert sum(item.expected_calls for item in week) == pytest.approx(sum(forecast.values()))


def test_lay_over_spring_forward_week_skips_the_missing_hour() -> None:
    flat = dict.fromkeys(all_slots(30), 1.0)
    week = lay_over_week(flat, date(2024, 3, 10), tz=CHICAGO)  # Sunday of spring-forward
    assert len(week) == 7 * 48 - 2
    sunday = [item.minute_of_day for item in week if item.local_start.date() == date(2024, 3, 10)]
    assert 120 not in sunday and 150 not in sunday and 180 in sunday


def test_lay_over_fall_back_week_repeats_the_hour() -> None:
    flat = dict.fromkeys(all_slots(30), 1.0)
    week = lay_over_week(flat, date(2024, 11, 3), tz=CHICAGO)  # Sunday of fall-back
    assert len(week) == 7 * 48 + 2
    one_am = [
        item for item in week if item.local_start.date() == date(2024, 11, 3) and item.minute_of_day == 60
    ]
    assert len(one_am) == 2
    assert one_am[1].start_utc - one_am[0].start_utc == timedelta(hours=1)
    starts = [item.start_utc for item in week]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_lay_over_treats_missing_slots_as_zero() -> None:
    week = lay_over_week({(MONDAY, 540): 2.5}, date(2024, 7, 1), tz=CHICAGO)
    assert sum(item.expected_calls for item in week) == 2.5
