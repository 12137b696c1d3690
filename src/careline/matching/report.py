"""A match result as a readable text table (the `careline match` command prints this)."""

from __future__ import annotations

import textwrap

from careline.directory import reference
from careline.matching.service import MatchResult


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(result: MatchResult, *, width: int = 140) -> str:
    """The need, then one block per provider: rank, name, specialty, where and how far, languages,
    next opening, and the reasons; or why the list is empty and what relaxing would find."""
    need = result.need
    lines = [f"Looking for {result.searched}."]
    if need.get("matched_phrase"):
        lines[0] += f' (from "{need["matched_phrase"]}")'
    if not result.results:
        lines.append(f"Nobody: {result.empty_because}.")
        for r in result.relaxations:
            fields = ", ".join(f"{k}={v}" for k, v in r["apply"].items())
            lines.append(f"  - {r['description']}  [{fields}]")
        return "\n".join(lines)
    head = (
        f"{'#':>2}  {'provider':<26} {'specialty':<20} {'location':<28} {'distance':<13} "
        f"{'languages':<18} next opening"
    )
    lines += [head, "-" * len(head)]
    for n, c in enumerate(result.results, 1):
        far = f"{c.distance:.1f} mi {c.from_place}" if c.distance is not None else "-"
        opening = c.next_available.start_local.strftime("%a %b %-d %-I:%M %p") if c.next_available else "-"
        langs = ", ".join(reference.language_name(x) for x in c.languages)
        specialty = reference.specialty_name(c.code) if c.code else ""
        row = (
            f"{n:>2}  {_cut(c.name, 26):<26} {_cut(specialty, 20):<20} {_cut(c.location_name, 28):<28} "
            f"{far:<13} {_cut(langs, 18):<18} {opening}"
        )
        lines.append(row.rstrip())
        for part in textwrap.wrap(" · ".join(c.reasons), width=max(40, width - 6)):
            lines.append(f"      {part}")
    return "\n".join(lines)
