"""Pure helpers for the console: the simulated caller's opening lines."""

from __future__ import annotations

import random

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
