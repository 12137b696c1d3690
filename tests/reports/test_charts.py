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


def test_the_same_figures_are_drawn_once_and_still_get_their_own_ids(monkeypatch) -> None:
    drawn = []
    real = charts._figure
    monkeypatch.setattr(charts, "_figure", lambda *a, **k: drawn.append(1) or real(*a, **k))
    labels, values = ["Billing", "Refill", "Cache test"], [3, 1, 7]
    first = charts.horizontal_bars(labels, values, "Reasons (cache test)")
    again = charts.horizontal_bars(labels, values, "Reasons (cache test)")
    assert len(drawn) == 1  # the second came from the cache
    ids = lambda svg: set(re.findall(r'id="([^"]+)"', svg))  # noqa: E731
    assert ids(first) and not ids(first) & ids(again)  # both can sit on one page
    plain = lambda svg: re.sub(r"([\"#])c\d+-", r"\1", svg)  # noqa: E731 - without the per-use prefix
    assert plain(first) == plain(again)
    charts.horizontal_bars(labels, [3, 1, 8], "Reasons (cache test)")
    assert len(drawn) == 2  # other figures, another drawing
