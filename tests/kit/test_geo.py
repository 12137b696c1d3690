"""Tests for the offline ZIP index and distance helpers."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest
import zipcodes
from hypothesis import given
from hypothesis import strategies as st

from careline.kit import geo
from careline.kit.geo import (
    ZipInfo,
    bounding_box,
    haversine_miles,
    normalize_zip,
    require_zip,
    zip_info,
    zips_near,
)


@pytest.mark.parametrize(
    ("zip5", "city", "state", "timezone"),
    [
        ("60614", "Chicago", "IL", "America/Chicago"),
        ("10001", "New York", "NY", "America/New_York"),
        ("94110", "San Francisco", "CA", "America/Los_Angeles"),
        ("96701", "Aiea", "HI", "Pacific/Honolulu"),
        ("00501", "Holtsville", "NY", "America/New_York"),  # leading zero survives
    ],
)
def test_real_zip_codes(zip5: str, city: str, state: str, timezone: str) -> None:
    info = zip_info(zip5)
    assert info is not None
    assert (info.zip, info.city, info.state, info.timezone) == (zip5, city, state, timezone)
    assert isinstance(info.lat, float) and isinstance(info.lon, float)


def test_chicago_coordinates_are_floats_in_the_right_place() -> None:
    info = require_zip("60614")
    assert info.lat == pytest.approx(41.92, abs=0.05)
    assert info.lon == pytest.approx(-87.65, abs=0.05)


def test_unknown_zip() -> None:
    assert zip_info("99999") is None
    with pytest.raises(ValueError, match=r"^unknown ZIP code '99999'$"):
        require_zip("99999")


def test_require_zip_accepts_zip_plus_four_and_whitespace() -> None:
    assert require_zip(" 60614-1234 ").zip == "60614"


def test_zip_info_is_an_exact_lookup() -> None:
    assert zip_info("60614-1234") is None
    assert zip_info(" 60614") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("60614", "60614"),
        (" 60614 ", "60614"),
        ("60614-1234", "60614"),
        ("606141234", "60614"),
        ("02134", "02134"),
    ],
)
def test_normalize_zip(raw: str, expected: str) -> None:
    assert normalize_zip(raw) == expected


@pytest.mark.parametrize("raw", ["6061", "606145", "60614-12", "ABCDE", "", "60 614", "６０６１４", "60614-"])
def test_normalize_zip_rejects_junk_naming_the_value(raw: str) -> None:
    with pytest.raises(ValueError, match="invalid ZIP code") as excinfo:
        normalize_zip(raw)
    assert repr(raw) in str(excinfo.value)


def test_normalize_zip_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="2134"):
        normalize_zip(2134)  # type: ignore[arg-type]


def test_every_indexed_timezone_loads() -> None:
    zones = {info.timezone for info in geo._index().values()}
    for zone in zones:
        ZoneInfo(zone)
    assert "" not in zones


def test_bad_package_timezones_are_repaired() -> None:
    # The package gives 99634 (Napakiak, AK) the time zone "Napakiak".
    assert require_zip("99634").timezone == "America/Anchorage"
    # Military ZIPs with coordinates have no zone at all; the nearest ZIP's zone stands in.
    assert require_zip("96505").timezone == "America/Adak"


def test_zips_without_coordinates_are_left_out() -> None:
    # APO/FPO ZIPs such as 09001 sit at latitude 0, longitude 0 in the package data.
    assert zip_info("09001") is None


def test_index_is_built_once(monkeypatch) -> None:
    geo._index()
    calls = []
    monkeypatch.setattr(geo.zipcodes, "list_all", lambda: calls.append(1) or [])
    for _ in range(1_000):
        assert zip_info("60614") is not None
    assert calls == []  # lookups never scan the package's list again
    assert geo._index() is geo._index()


def test_index_covers_the_package() -> None:
    located = sum(
        1 for row in zipcodes.list_all() if not (float(row["lat"]) == 0 and float(row["long"]) == 0)
    )
    assert len(geo._index()) == located > 40_000


def test_haversine_chicago_loop_to_evanston() -> None:
    loop, evanston = require_zip("60601"), require_zip("60201")
    distance = haversine_miles(loop.lat, loop.lon, evanston.lat, evanston.lon)
    assert 11 <= distance <= 13


def test_haversine_known_city_pair() -> None:
    # O'Hare (41.9786, -87.9048) to JFK (40.6413, -73.7781): about 740 statute miles great-circle.
    assert haversine_miles(41.9786, -87.9048, 40.6413, -73.7781) == pytest.approx(740, abs=5)


def test_haversine_zero_and_symmetric() -> None:
    assert haversine_miles(41.9, -87.6, 41.9, -87.6) == 0
    assert haversine_miles(10, 20, 30, 40) == pytest.approx(haversine_miles(30, 40, 10, 20))


def _destination(lat: float, lon: float, bearing_deg: float, miles: float) -> tuple[float, float]:
    """Point reached from (lat, lon) along a great circle; longitude left unwrapped."""
    angular = miles / geo.EARTH_RADIUS_MILES
    phi1, lmb1, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    phi2 = math.asin(
        math.sin(phi1) * math.cos(angular) + math.cos(phi1) * math.sin(angular) * math.cos(theta)
    )
    lmb2 = lmb1 + math.atan2(
        math.sin(theta) * math.sin(angular) * math.cos(phi1),
        math.cos(angular) - math.sin(phi1) * math.sin(phi2),
    )
    return math.degrees(phi2), math.degrees(lmb2)


@given(
    lat=st.floats(min_value=-60, max_value=72),
    lon=st.floats(min_value=-179, max_value=179),
    miles=st.floats(min_value=0, max_value=500),
    bearing=st.floats(min_value=0, max_value=360),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_bounding_box_contains_the_circle(
    lat: float, lon: float, miles: float, bearing: float, fraction: float
) -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, miles)
    point_lat, point_lon = _destination(lat, lon, bearing, miles * fraction)
    assert min_lat <= point_lat <= max_lat
    assert min_lon <= point_lon <= max_lon
    assert haversine_miles(lat, lon, point_lat, point_lon) == pytest.approx(miles * fraction, abs=1e-6)


def test_bounding_box_is_tight_enough_to_be_useful() -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(41.9, -87.6, 10)
    assert max_lat - min_lat == pytest.approx(20 / 69.1, rel=0.01)
    assert max_lon - min_lon == pytest.approx(20 / (69.1 * math.cos(math.radians(41.9))), rel=0.01)


def test_bounding_box_near_the_pole_spans_all_longitudes() -> None:
    assert bounding_box(89.9, 0, 50)[2:] == (-180.0, 180.0)


def test_bounding_box_rejects_negative_radius() -> None:
    with pytest.raises(ValueError, match="negative"):
        bounding_box(41.9, -87.6, -1)


def test_zips_near_chicago() -> None:
    near = zips_near("60614", 5)
    assert near[0].zip == "60614"
    assert {"60657", "60610"} <= {info.zip for info in near}
    center = near[0]
    distances = [haversine_miles(center.lat, center.lon, info.lat, info.lon) for info in near]
    assert distances == sorted(distances)
    assert max(distances) <= 5
    assert all(isinstance(info, ZipInfo) for info in near)


def test_zips_near_matches_a_brute_force_scan() -> None:
    center = require_zip("94110")
    expected = {
        info.zip
        for info in geo._index().values()
        if haversine_miles(center.lat, center.lon, info.lat, info.lon) <= 8
    }
    assert {info.zip for info in zips_near("94110", 8)} == expected


def test_zips_near_standard_only() -> None:
    near = zips_near("10001", 3, standard_only=True)
    assert near and all(info.kind == "STANDARD" and info.active for info in near)
    assert len(near) < len(zips_near("10001", 3))


def test_zips_near_unknown_zip() -> None:
    with pytest.raises(ValueError, match="unknown ZIP code"):
        zips_near("99999", 10)


def test_a_serving_process_builds_the_zip_table_at_start(settings) -> None:
    """The ZIP table (about a second to build) is built in a thread when the app starts, not by the
    first caller's search."""
    import time

    from fastapi.testclient import TestClient

    from careline.app import create_app

    geo._index.cache_clear()
    serving = settings.model_copy(
        update={"environment": "development", "run_worker": False, "match_index": "off"}
    )
    app = create_app(serving)
    with TestClient(app):
        deadline = time.monotonic() + 30
        while geo._index.cache_info().currsize == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    app.state.engine.dispose()
    assert geo._index.cache_info().currsize == 1
    assert geo.zip_info("60614") is not None
