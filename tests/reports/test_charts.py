"""Server-side charts: well-formed SVG, safe text, ids distinct when several share a page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from careline.reports import charts

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(28)]


def test_every_chart_is_well_formed_svg_with_an_accessible_title() -> None:
    made = [
        charts.daily_volume(DAYS, list(range(28)), [1] * 28, "Contacts per day"),
        charts.horizontal_bars(["a", "b"], [3, 1], "Reasons"),
        charts.rate_lines(DAYS, {"CSAT": [0.5] * 27 + [None]}, "Satisfaction", target=0.8),
        charts.nps_bars(["Nov 2", "Nov 9"], [20.0, -5.0], "NPS"),
        charts.staffing(["Mon 09:00", "Mon 09:30"], [3, 4], [3, 2], [5.0, 7.5], "Staffing"),
        charts.staffing(["Mon 09:00"], [3], None, [5.0], "Required only"),
    ]
    for svg in made:
        root = ET.fromstring(svg)  # noqa: S314 - our own output
        assert root.tag.endswith("svg") and root.get("role") == "img"
        assert "<script" not in svg


def test_text_from_the_data_is_escaped() -> None:
    svg = charts.horizontal_bars(["Orthopedics & <Sports>"], [2], 'Northside "Ortho" & Co')
    ET.fromstring(svg)  # noqa: S314 - our own output; fails on a raw & or <
    assert "&lt;Sports&gt;" in svg and "<Sports>" not in svg


def test_two_charts_on_one_page_share_no_element_ids() -> None:
    first = charts.daily_volume(DAYS, [1] * 28, [0] * 28, "A")
    second = charts.daily_volume(DAYS, [1] * 28, [0] * 28, "A")
    ids_first = set(re.findall(r'id="([^"]+)"', first))
    ids_second = set(re.findall(r'id="([^"]+)"', second))
    assert ids_first and not ids_first & ids_second
    for ref in re.findall(r"url\(#([^)]+)\)", second):
        assert ref in ids_second


def test_empty_data_says_so_instead_of_drawing_nothing() -> None:
    assert "no data in this range" in charts.daily_volume([], [], [], "Contacts per day")
    assert "no data in this range" in charts.rate_lines(DAYS[:3], {"x": [None] * 3}, "Empty")
