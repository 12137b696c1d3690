"""Opening hours as pure logic: validate, read and write the compact text form, open-now, next opening.

Hours are local wall-clock intervals per weekday, `{"mon": [["08:00", "17:00"]], ...}`; a missing or
empty day is closed, "24:00" ends a day at midnight, and a closure date closes the whole day.
Times are compared in the place's own zone, so a clinic in Chicago opens at 08:00 Chicago time.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from careline.kit.timeutil import local_to_utc, to_local

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
ALWAYS_OPEN: dict[str, list[list[str]]] = {d: [["00:00", "24:00"]] for d in DAYS}
_TIME = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")
_ALIASES = {
    "monday": "mon",
    "tuesday": "tue",
    "tues": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "thur": "thu",
    "thurs": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}


def _minutes(text: str) -> int:
    m = _TIME.match(text.strip())
    if not m or (int(m.group(1)) == 24 and m.group(2) != "00"):
        raise ValueError(f"'{text}' is not a time like 08:00 or 17:30")
    return int(m.group(1)) * 60 + int(m.group(2))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def normalize_hours(raw: object) -> dict[str, list[list[str]]]:
    """Check weekly hours and return them tidy (HH:MM, sorted); ValueError says what is wrong."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError('hours must be an object like {"mon": [["08:00", "17:00"]]}')
    out: dict[str, list[list[str]]] = {}
    for key, intervals in raw.items():
        day = _ALIASES.get(str(key).lower(), str(key).lower())
        if day not in DAYS:
            raise ValueError(f"unknown day '{key}': use mon, tue, wed, thu, fri, sat, sun")
        if not intervals:
            continue
        if not isinstance(intervals, list):
            raise ValueError(f"{day}: expected a list of [open, close] pairs")
        spans = []
        for pair in intervals:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise ValueError(f"{day}: each interval is [open, close], e.g. ['08:00', '17:00']")
            start, end = _minutes(str(pair[0])), _minutes(str(pair[1]))
            if end <= start:
                raise ValueError(f"{day}: {pair[0]}-{pair[1]} closes before it opens (split overnight hours)")
            spans.append((start, end))
        spans.sort()
        for (_, end1), (start2, _) in pairwise(spans):
            if start2 < end1:
                raise ValueError(f"{day}: intervals overlap")
        out[day] = [[_hhmm(s), _hhmm(e)] for s, e in spans]
    return {d: out[d] for d in DAYS if d in out}


def _day_list(spec: str) -> list[str]:
    spec = spec.strip().lower()
    if spec in ("daily", "every day", "everyday", "24/7"):
        return list(DAYS)
    days: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (_ALIASES.get(x.strip(), x.strip()) for x in part.split("-", 1))
            if a not in DAYS or b not in DAYS:
                raise ValueError(f"'{part}' is not a day range like mon-fri")
            i, j = DAYS.index(a), DAYS.index(b)
            days += [DAYS[k % 7] for k in range(i, (j if j >= i else j + 7) + 1)]
        else:
            day = _ALIASES.get(part, part)
            if day not in DAYS:
                raise ValueError(f"'{part}' is not a day (mon, tue, ... sun)")
            days.append(day)
    return days


def parse_hours_text(text: str) -> dict[str, list[list[str]]]:
    """'Mon-Fri 08:00-17:00; Sat 09:00-12:00' (or one entry a line; '24/7'; 'Sun closed') -> hours."""
    hours: dict[str, list[list[str]]] = {}
    entries = [e.strip() for e in re.split(r"[;\n]", text or "") if e.strip()]
    for entry in entries:
        if entry.lower() == "24/7":
            hours.update({d: [["00:00", "24:00"]] for d in DAYS})
            continue
        m = re.match(r"^([A-Za-z,\- ]+?)\s+(closed|[0-9].*)$", entry, re.IGNORECASE)
        if not m:
            raise ValueError(f"'{entry}' should look like 'Mon-Fri 08:00-17:00'")
        days = _day_list(m.group(1))
        rest = m.group(2).strip().lower()
        for day in days:
            if rest == "closed":
                hours[day] = []
                continue
            spans = []
            for span in rest.split(","):
                parts = span.strip().split("-")
                if len(parts) != 2:
                    raise ValueError(f"'{span.strip()}' should look like 08:00-17:00")
                spans.append([parts[0].strip(), parts[1].strip()])
            hours[day] = hours.get(day, []) + spans
    return normalize_hours(hours)


def format_hours_text(hours: dict | None) -> str:
    """The compact text form, consecutive days with equal hours grouped: 'Mon-Fri 08:00-17:00; Sat ...'."""
    hours = hours or {}
    if all(hours.get(d) == [["00:00", "24:00"]] for d in DAYS):
        return "24/7"
    parts: list[str] = []
    i = 0
    while i < 7:
        spans = hours.get(DAYS[i]) or []
        j = i
        while j + 1 < 7 and (hours.get(DAYS[j + 1]) or []) == spans:
            j += 1
        if spans:
            label = DAYS[i].title() if i == j else f"{DAYS[i].title()}-{DAYS[j].title()}"
            parts.append(f"{label} " + ", ".join(f"{a}-{b}" for a, b in spans))
        i = j + 1
    return "; ".join(parts)


def intervals_on(hours: dict, closed: Collection[date], day: date) -> list[tuple[datetime, datetime]]:
    """The naive local (open, close) datetimes of one calendar day; none on a closure date."""
    if day in closed:
        return []
    midnight = datetime.combine(day, time())
    return [
        (midnight + timedelta(minutes=_minutes(a)), midnight + timedelta(minutes=_minutes(b)))
        for a, b in hours.get(DAYS[day.weekday()], [])
    ]


def is_open_local(hours: dict, closed: Collection[date], local: datetime) -> bool:
    """Whether naive local wall-clock time `local` falls in an opening interval."""
    return any(a <= local < b for a, b in intervals_on(hours, closed, local.date()))


def open_until_local(
    hours: dict, closed: Collection[date], local: datetime, horizon: int = 8
) -> datetime | None:
    """When the current opening ends (following intervals that touch across midnight); None if closed now."""
    if not is_open_local(hours, closed, local):
        return None
    end = local
    for offset in range(horizon):
        for a, b in intervals_on(hours, closed, local.date() + timedelta(days=offset)):
            if a <= end < b or (a == end and end > local):
                end = b
    return end if end - local < timedelta(days=horizon - 1) else None  # None also means "around the clock"


def next_open_local(
    hours: dict, closed: Collection[date], local: datetime, horizon: int = 60
) -> datetime | None:
    """The next naive local opening time strictly after `local`, within `horizon` days; None if none."""
    for offset in range(horizon):
        for a, _b in intervals_on(hours, closed, local.date() + timedelta(days=offset)):
            if a > local:
                return a
    return None


def _clock(dt: datetime) -> str:
    text = dt.strftime("%I:%M %p").lstrip("0")
    return text.replace(":00 ", " ")


def _when(target: datetime, now: datetime) -> str:
    days = (target.date() - now.date()).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif days < 7:
        day = DAY_NAMES[DAYS[target.weekday()]]
    else:
        day = target.strftime("%A %B %-d")
    return f"{day} at {_clock(target)}"


def describe(hours: dict, closed: Collection[date], at_utc: datetime, tz_name: str) -> str:
    """'Open now until 5 PM', 'Open 24 hours', 'Closed now; opens tomorrow at 8 AM', 'No opening hours'."""
    local = to_local(at_utc, tz_name).replace(tzinfo=None)
    if is_open_local(hours, closed, local):
        until = open_until_local(hours, closed, local)
        if until is None:
            return "Open 24 hours"
        return f"Open now until {_clock(until) if until.date() == local.date() else _when(until, local)}"
    nxt = next_open_local(hours, closed, local)
    if nxt is None:
        return "Closed; no opening hours in the next two months"
    return f"Closed now; opens {_when(nxt, local)}"


def next_open_utc(hours: dict, closed: Collection[date], at_utc: datetime, tz_name: str) -> datetime | None:
    """The next opening after `at_utc` as an aware UTC instant (DST-safe), or None."""
    local = to_local(at_utc, tz_name).replace(tzinfo=None)
    nxt = next_open_local(hours, closed, local)
    return None if nxt is None else local_to_utc(nxt, tz_name)
