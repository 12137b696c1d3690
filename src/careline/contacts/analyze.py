"""What a caller said, read two ways at once: red-flag screening and caller intents.

Screening always runs and always wins: a red flag or any symptom puts `clinical` among the intents,
and the disposition comes from the screener alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from careline.contacts.intents import IntentScore, classify
from careline.triage.model import Disposition, Screening
from careline.triage.rules import screen


@dataclass(frozen=True)
class Analysis:
    """The screening and the intents of one text."""

    screening: Screening
    intents: list[IntentScore]

    def to_dict(self) -> dict[str, Any]:
        """`careline analyze --json` and `/api/v1/analyze` output."""
        body = self.screening.to_dict()
        body["intents"] = [i.intent.value for i in self.intents]
        body["intent_evidence"] = [
            {
                "intent": i.intent.value,
                "score": round(i.score, 3),
                "evidence": i.evidence,
                "start": i.start,
                "end": i.end,
            }
            for i in self.intents
        ]
        return body


def analyze(
    text: str, *, age_years: float | None = None, sex: str | None = None, pregnant: bool | None = None
) -> Analysis:
    """Screen for red flags and classify intents; the screening decides whether it is clinical."""
    screening = screen(text, age_years=age_years, sex=sex, pregnant=pregnant)
    has_symptoms = bool(screening.symptoms) or screening.disposition is not Disposition.NONE
    intents = classify(text, red_flag=screening.red_flag, has_symptoms=has_symptoms)
    return Analysis(screening=screening, intents=intents)
