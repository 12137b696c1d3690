"""Time zone conversions between stored UTC instants and a tenant's local wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache
def get_zone(tz_name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, raising ValueError (not KeyError) when unknown."""
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {tz_name!r}") from exc


def ensure_aware_utc(dt: datetime) -> datetime:
    """Return `dt` converted to UTC, raising ValueError if it is naive."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {dt.isoformat()}")
    return dt.astimezone(UTC)


def to_local(dt_utc: datetime, tz_name: str) -> datetime:
    """The aware local wall-clock time in `tz_name` for an aware instant."""
    return ensure_aware_utc(dt_utc).astimezone(get_zone(tz_name))


def local_to_utc(naive_local: datetime, tz_name: str) -> datetime:
    """The UTC instant for a naive local wall-clock time in `tz_name`.

    DST is resolved deterministically, as java.time does:
    - a time in a spring-forward gap (e.g. 02:30 when clocks jump 02:00 -> 03:00) does not exist and
      is shifted forward by the length of the gap (02:30 -> 03:30 daylight time);
    - a time in a fall-back overlap (e.g. 01:30 when clocks go 02:00 -> 01:00) is ambiguous and takes
      fold=0, the first occurrence (daylight time).
    """
    if naive_local.tzinfo is not None:
        raise ValueError(f"expected a naive local datetime, got aware {naive_local.isoformat()}")
    # PEP 495: with fold=0 a gap time uses the offset in force before the transition, which is
    # exactly "shift forward by the gap", and an ambiguous time takes its first occurrence.
    return naive_local.replace(tzinfo=get_zone(tz_name), fold=0).astimezone(UTC)


def is_nonexistent(naive_local: datetime, tz_name: str) -> bool:
    """Whether a naive local time falls in a spring-forward gap and never shows on the wall clock."""
    back = to_local(local_to_utc(naive_local, tz_name), tz_name).replace(tzinfo=None)
    return back != naive_local


def is_ambiguous(naive_local: datetime, tz_name: str) -> bool:
    """Whether a naive local time occurs twice because clocks fall back."""
    zone = get_zone(tz_name)
    first = naive_local.replace(tzinfo=zone, fold=0)
    second = naive_local.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and not is_nonexistent(naive_local, tz_name)
