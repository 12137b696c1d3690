"""Server-side charts: matplotlib's Agg/SVG backends (no pyplot, so threads never share a figure).

Each function returns an SVG document as text, for inline use (`{{ svg | safe }}`) or download;
text stays text (svg.fonttype none) so the page's font is used and screen readers can read labels.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

PALETTE = ["#0b5cad", "#d9822b", "#1f7a3a", "#b3261e", "#6b4fa0", "#5b6877", "#0f8b8d", "#a05a2c"]
matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "careline",  # stable ids: the same chart renders the same bytes
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#9fb0c2",
        "axes.grid": True,
        "grid.color": "#e3e8ef",
        "grid.linewidth": 0.8,
    }
)

_chart_ids = itertools.count(1)  # next() is atomic in CPython: no lock needed across request threads

# Drawing a chart takes ~0.1 s of CPU; a dashboard viewed again with the same figures (any past
# period, or today's between calls) draws none: the SVG of the same inputs is kept, a few hundred.
_CACHE: OrderedDict[str, str] = OrderedDict()
_CACHE_SIZE = 256
_CACHE_LOCK = threading.Lock()


def _cached(draw: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        key = repr((draw.__name__, args, sorted(kwargs.items())))
        with _CACHE_LOCK:
            raw = _CACHE.get(key)
            if raw is not None:
                _CACHE.move_to_end(key)
        if raw is None:
            raw = draw(*args, **kwargs)
            with _CACHE_LOCK:
                _CACHE[key] = raw
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        return _unique(raw)

    return wrapper


def _figure(width: float = 7.0, height: float = 2.6) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Figure, title: str) -> str:
    """The figure as SVG with a title for assistive tech (ids made unique per use by `_unique`)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Title": title, "Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE for inline use


def _unique(text: str) -> str:
    """Several charts on one page: make their internal ids (clip paths, glyphs) distinct."""
    prefix = f"c{next(_chart_ids)}-"
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}{m.group(1)}"', text)
    return text.replace("<svg ", '<svg role="img" class="chart" ', 1)


def _empty(ax, message: str = "no data in this range") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#5b6877")
    ax.set_xticks([])
    ax.set_yticks([])


def _step(count: int, most: int = 8) -> int:
    """Every how many ticks to label so at most `most` labels show."""
    return max(1, -(-count // most))


def _day_labels(ax, days: Sequence[date]) -> None:
    step = _step(len(days))
    ax.set_xticks(range(0, len(days), step))
    ax.set_xticklabels([d.strftime("%b %-d") for d in days[::step]], rotation=0)


@_cached
def daily_volume(days: Sequence[date], handled: Sequence[int], abandoned: Sequence[int], title: str) -> str:
    """Stacked bars per day: handled and abandoned contacts."""
    fig = _figure()
    ax = fig.add_subplot()
    if not days or (not any(handled) and not any(abandoned)):
        _empty(ax)
    else:
        xs = range(len(days))
        ax.bar(xs, handled, color=PALETTE[0], label="handled", width=0.8)
        ax.bar(xs, abandoned, bottom=handled, color=PALETTE[3], label="abandoned", width=0.8)
        _day_labels(ax, days)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", frameon=False, ncols=2)
        ax.grid(axis="x", visible=False)
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig, title)


@_cached
def horizontal_bars(labels: Sequence[str], values: Sequence[float], title: str, *, color: int = 0) -> str:
    """One bar per label, largest on top."""
    fig = _figure(height=max(1.6, 0.26 * len(labels) + 0.7))
    ax = fig.add_subplot()
    if not labels or not any(values):
        _empty(ax)
    else:
        ys = range(len(labels))[::-1]
        ax.barh(list(ys), values, color=PALETTE[color % len(PALETTE)], height=0.7)
        ax.set_yticks(list(ys))
        ax.set_yticklabels(labels)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", visible=False)
        for y, v in zip(ys, values, strict=True):
            ax.text(v, y, f" {v:g}", va="center", fontsize=8, color="#1d2733")
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig, title)


@_cached
def rate_lines(
    xs: Sequence[date],
    series: dict[str, Sequence[float | None]],
    title: str,
    *,
    target: float | None = None,
    percent: bool = True,
    labels: Sequence[str] | None = None,
) -> str:
    """Lines of rates (0..1 shown as %), gaps where a value is missing; an optional target line."""
    fig = _figure()
    ax = fig.add_subplot()
    present = any(v is not None for values in series.values() for v in values)
    if not xs or not present:
        _empty(ax)
    else:
        positions = list(range(len(xs)))
        for i, (name, values) in enumerate(series.items()):
            ys = [float("nan") if v is None else v for v in values]
            ax.plot(
                positions,
                ys,
                marker="o",
                markersize=3,
                linewidth=1.8,
                color=PALETTE[i % len(PALETTE)],
                label=name,
            )
        if target is not None:
            ax.axhline(target, color="#5b6877", linestyle="--", linewidth=1, label=f"target {target:.0%}")
        if percent:
            ax.set_ylim(0, 1.05)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        if labels is not None:
            step = _step(len(xs))
            ax.set_xticks(positions[::step])
            ax.set_xticklabels(list(labels)[::step])
        else:
            _day_labels(ax, xs)
        ax.legend(loc="lower left", frameon=False, ncols=4)
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig, title)


@_cached
def nps_bars(labels: Sequence[str], values: Sequence[float | None], title: str) -> str:
    """NPS per period, -100..100, bars coloured by sign."""
    fig = _figure(height=2.2)
    ax = fig.add_subplot()
    if not labels or all(v is None for v in values):
        _empty(ax)
    else:
        xs = range(len(labels))
        vals = [0 if v is None else v for v in values]
        colors = [PALETTE[2] if v >= 0 else PALETTE[3] for v in vals]
        ax.bar(list(xs), vals, color=colors, width=0.6)
        ax.axhline(0, color="#5b6877", linewidth=0.8)
        ax.set_ylim(-100, 100)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels)
        ax.grid(axis="x", visible=False)
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig, title)


@_cached
def staffing(
    labels: Sequence[str],
    required: Sequence[int],
    scheduled: Sequence[int] | None,
    forecast: Sequence[float],
    title: str,
) -> str:
    """Required agents per interval (steps), the scheduled roster if any, and forecast contacts."""
    fig = _figure(width=11, height=3.2)
    ax = fig.add_subplot()
    if not labels:
        _empty(ax, "no intervals")
        return _svg(fig, title)
    xs = list(range(len(labels)))
    ax.step(
        xs,
        required,
        where="post",
        color=PALETTE[0],
        linewidth=1.8,
        label="required (scheduled, with shrinkage)",
    )
    if scheduled is not None:
        ax.step(xs, scheduled, where="post", color=PALETTE[1], linewidth=1.8, label="scheduled (roster)")
        short = [r > s for r, s in zip(required, scheduled, strict=True)]
        ax.fill_between(
            xs, scheduled, required, where=short, step="post", color=PALETTE[3], alpha=0.18, label="short"
        )
    ax.set_ylabel("agents")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    calls = ax.twinx()
    calls.bar(xs, forecast, color="#9fb0c2", alpha=0.35, width=1.0, align="edge", label="forecast contacts")
    calls.set_ylabel("contacts per interval", color="#5b6877")
    calls.grid(False)
    calls.spines["right"].set_visible(True)
    ax.set_zorder(calls.get_zorder() + 1)
    ax.patch.set_visible(False)
    step = _step(len(labels), 14)
    ax.set_xticks(xs[::step])
    ax.set_xticklabels(list(labels)[::step])
    handles, names = ax.get_legend_handles_labels()
    h2, n2 = calls.get_legend_handles_labels()
    fig.legend(handles + h2, names + n2, loc="outside upper right", frameon=False, ncols=4)
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig, title)
