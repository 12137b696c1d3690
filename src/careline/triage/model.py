"""Value types of the red-flag screen: dispositions, red-flag kinds, findings and the screening result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Disposition(StrEnum):
    """How soon the caller needs clinical help, from 911-now down to nothing clinical."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"
    SELF_CARE = "self_care"
    NONE = "none"

    @property
    def rank(self) -> int:
        """Higher is more serious: none 0 ... emergency 4."""
        return _RANK[self]


_RANK = {
    Disposition.NONE: 0,
    Disposition.SELF_CARE: 1,
    Disposition.ROUTINE: 2,
    Disposition.URGENT: 3,
    Disposition.EMERGENCY: 4,
}


class RedFlagKind(StrEnum):
    """The categories of red flag a nurse or 911 must hear about now."""

    CARDIAC = "cardiac"
    STROKE = "stroke"
    BREATHING = "breathing"
    ANAPHYLAXIS = "anaphylaxis"
    BLEEDING = "bleeding"
    SUICIDAL = "suicidal"
    POISONING = "poisoning"
    SEPSIS_INFECTION = "sepsis_infection"
    PEDIATRIC_FEVER = "pediatric_fever"
    HEAD_INJURY = "head_injury"
    ABDOMINAL = "abdominal"
    PREGNANCY = "pregnancy"
    OTHER = "other"


def max_disposition(*dispositions: Disposition | str | None) -> Disposition:
    """The most serious of the given dispositions (None and missing count as `none`)."""
    best = Disposition.NONE
    for value in dispositions:
        if value is not None and Disposition(value).rank > best.rank:
            best = Disposition(value)
    return best


def never_lower(person_set: Disposition | str | None, suggested: Disposition | str | None) -> Disposition:
    """The higher of a person's disposition and the engine's: the engine may raise, never lower."""
    return max_disposition(person_set, suggested)


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired: what kind, which protocol, the words that triggered it and where they are."""

    kind: RedFlagKind | None
    protocol: str
    evidence: str
    rule: str
    disposition: Disposition
    start: int
    end: int
    # every supporting mention, so a UI can highlight all the words a combination rule used
    spans: tuple[tuple[int, int], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used by the API and the agent console."""
        kind = None if self.kind is None else str(self.kind)
        return {
            "kind": kind,
            "evidence": self.evidence,
            "rule": self.rule,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class Screening:
    """The result of screening one utterance: disposition, red flags first-is-primary, other symptoms."""

    disposition: Disposition
    red_flags: list[Finding]
    symptoms: list[Finding]
    advice: str

    @property
    def red_flag(self) -> bool:
        """True when at least one red flag fired."""
        return bool(self.red_flags)

    @property
    def kind(self) -> RedFlagKind | None:
        """The primary red-flag kind, or None."""
        return self.red_flags[0].kind if self.red_flags else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used by the API and the agent console."""
        return {
            "disposition": str(self.disposition),
            "red_flags": [f.to_dict() for f in self.red_flags],
            "symptoms": [f.to_dict() for f in self.symptoms],
            "advice": self.advice,
        }
