"""Pure helpers for the console: evidence highlighting and the simulated caller's opening lines."""

from __future__ import annotations

import random
from collections.abc import Iterable

from markupsafe import Markup, escape

# What simulated callers say first: a realistic mix of reasons, some several at once, a few alarming.
OPENING_LINES = [
    "Hi, I need to make an appointment for my annual physical, and where do I park at your main clinic?",
    "I have to move my appointment on Thursday, something came up at work.",
    "I'm new to the area and looking for a family doctor who takes Blue Cross.",
    "Can I get a refill on my blood pressure medication? I'm almost out.",
    "I got a bill I don't understand and I want to know what insurance paid.",
    "I was calling about my lab results from last week.",
    "My son has had a fever and a cough for two days, can someone see him this week?",
    "I need to cancel my appointment tomorrow, and can you tell me your hours on Saturday?",
    "Can you put me through to medical records? I need a copy of my chart.",
    "The redness around the spider bite keeps spreading and I have chills.",
    "I can't catch my breath and my left arm hurts.",
    "I'd like to see a dermatologist, I have a rash that won't go away.",
    "Is Dr. Kim taking new patients? My neighbour recommended her.",
    "What's the address of the Oak Street office, and is there parking?",
]


def opening_line(rng: random.Random) -> str:
    """One caller's first sentence."""
    return rng.choice(OPENING_LINES)


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> Markup:
    """The text, HTML-escaped, with each (start, end) span wrapped in <mark> (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)
