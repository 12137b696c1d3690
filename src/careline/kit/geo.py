"""US ZIP code lookups and great-circle distance helpers, offline."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import zipcodes

EARTH_RADIUS_MILES = 3958.8

_ZIP_RE = re.compile(r"([0-9]{5})(?:-?[0-9]{4})?", re.ASCII)


@dataclass(frozen=True, slots=True)
class ZipInfo:
    """One US ZIP code with its place, centroid and IANA time zone."""

    zip: str
    city: str
    state: str
    lat: float
    lon: float
    timezone: str
    kind: str = "STANDARD"  # STANDARD, PO BOX, UNIQUE or MILITARY, as USPS classifies it
    active: bool = True


def normalize_zip(raw: str) -> str:
    """Return the 5-digit ZIP from '60614', ' 60614 ', '60614-1234' or '606141234'."""
    if not isinstance(raw, str):
        raise ValueError(f"invalid ZIP code {raw!r}: expected text like '60614'")
    match = _ZIP_RE.fullmatch(raw.strip())
    if match is None:
        raise ValueError(f"invalid ZIP code {raw!r}: expected 5 digits, optionally with a ZIP+4 suffix")
    return match.group(1)


def zip_info(zip5: str) -> ZipInfo | None:
    """Look up an exact 5-digit ZIP; None when it is unknown or has no location."""
    return _index().get(zip5)


def require_zip(zip5: str) -> ZipInfo:
    """Look up a ZIP (ZIP+4 and whitespace allowed), raising ValueError when unknown."""
    zip5 = normalize_zip(zip5)
    info = _index().get(zip5)
    if info is None:
        raise ValueError(f"unknown ZIP code {zip5!r}")
    return info


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in statute miles between two points in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat: float, lon: float, miles: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing every point within `miles` of (lat, lon).

    Longitudes are not wrapped at the antimeridian, so a box near it may run past +/-180.
    """
    if miles < 0:
        raise ValueError(f"radius must not be negative, got {miles!r}")
    angular = miles / EARTH_RADIUS_MILES
    # A hair of slack keeps points exactly on the circle inside despite float rounding.
    dlat = math.degrees(angular) * (1 + 1e-9) + 1e-12
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90 or max_lat >= 90:
        return max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0
    # Widest longitude of a spherical cap is at its tangent points, not at its own latitude.
    ratio = math.sin(angular) / math.cos(math.radians(lat))
    if ratio >= 1:
        return min_lat, max_lat, -180.0, 180.0
    dlon = math.degrees(math.asin(ratio)) * (1 + 1e-9) + 1e-12
    return min_lat, max_lat, lon - dlon, lon + dlon


def zips_near(zip5: str, miles: float, *, standard_only: bool = False) -> list[ZipInfo]:
    """ZIPs whose centroid lies within `miles` of `zip5`'s, nearest first (itself included).

    With standard_only, keep active street-delivery ZIPs and drop PO boxes and single-firm ZIPs.
    """
    center = require_zip(zip5)
    min_lat, max_lat, min_lon, max_lon = bounding_box(center.lat, center.lon, miles)
    found: list[tuple[float, str, ZipInfo]] = []
    for info in _index().values():
        if not (min_lat <= info.lat <= max_lat and min_lon <= info.lon <= max_lon):
            continue
        if standard_only and (info.kind != "STANDARD" or not info.active):
            continue
        distance = haversine_miles(center.lat, center.lon, info.lat, info.lon)
        if distance <= miles:
            found.append((distance, info.zip, info))
    found.sort(key=lambda item: (item[0], item[1]))
    return [info for _, _, info in found]


def warm() -> threading.Thread:
    """Build the ZIP index now, in a thread (about a second): a serving process does it at start, so
    the first caller whose ZIP is looked up does not wait for it."""
    thread = threading.Thread(target=_index, name="zip-index", daemon=True)
    thread.start()
    return thread


@cache
def _index() -> dict[str, ZipInfo]:
    """Every located ZIP keyed by its 5 digits, built once from the package's full list."""
    rows = [row for row in zipcodes.list_all() if _has_location(row)]
    by_state = _state_default_zones(rows)
    valid_rows = [row for row in rows if _is_zone(row["timezone"])]
    index: dict[str, ZipInfo] = {}
    for row in rows:
        zone = row["timezone"]
        if not _is_zone(zone):
            zone = by_state.get(row["state"]) or _nearest_zone(row, valid_rows)
        index[row["zip_code"]] = ZipInfo(
            zip=row["zip_code"],
            city=row["city"],
            state=row["state"],
            lat=float(row["lat"]),
            lon=float(row["long"]),
            timezone=zone,
            kind=row["zip_code_type"],
            active=bool(row["active"]),
        )
    return index


def _has_location(row: dict[str, Any]) -> bool:
    """False for the ~870 ZIPs (mostly APO/FPO) that the data places at latitude 0, longitude 0."""
    return not (float(row["lat"]) == 0.0 and float(row["long"]) == 0.0)


@cache
def _is_zone(name: str) -> bool:
    """Whether `name` is an IANA zone that zoneinfo can load (the data has '' and a city name)."""
    if not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _state_default_zones(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Each state's most common valid zone, the fallback for a ZIP whose own zone is bad."""
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        if _is_zone(row["timezone"]):
            counts.setdefault(row["state"], Counter())[row["timezone"]] += 1
    return {state: counter.most_common(1)[0][0] for state, counter in counts.items()}


def _nearest_zone(row: dict[str, Any], valid_rows: list[dict[str, Any]]) -> str:
    """Zone of the nearest ZIP with a valid zone, for military 'states' (AA/AE/AP) with coordinates."""
    lat, lon = float(row["lat"]), float(row["long"])
    nearest = min(
        valid_rows, key=lambda other: haversine_miles(lat, lon, float(other["lat"]), float(other["long"]))
    )
    return nearest["timezone"]
