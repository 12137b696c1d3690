"""Numbers and patient facts read from normalised text: temperatures, blood sugar, age, pregnancy."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from careline.triage.protocols import Library

_NOT_UNIT = r"(?! ?(?:weeks?|years?|months?|days?|minutes?|hours?|times|lbs|pounds|kg|mg|percent|%|pads?|/))"
_TEMP_NUMBER = re.compile(rf"(?<![\d.])(\d{{2,3}}(?:\.\d{{1,2}})?)(?![\d]){_NOT_UNIT}")
_TEMP_CUE_BEFORE = re.compile(
    r"(?:temp\w*|fever\w*|thermometer|febrile|degrees?|reading|rectal\w*|burning up)\b[^.!?;]{0,30}$"
)
_TEMP_CUE_AFTER = re.compile(
    r"^ ?(?:°|degrees?|f\b|c\b|fahrenheit|celsius|rectal\w*|orally|by mouth|under (?:the|his|her|my) arm"
    r"|axillary|in (?:the|his|her|my) (?:ear|armpit|bottom))\w*"
)
_GLUCOSE = re.compile(
    r"\b(?:sugars?|glucose|bg|bs|meter|reading|glucometer|levels?)\b(?: [\w']+){0,4}? "
    rf"(\d{{2,3}}|hi|high|lo|low)\b{_NOT_UNIT}"
)
_GLUCOSE_WORDS = {"hi": 600.0, "high": 300.0, "lo": 30.0, "low": 45.0}
_NUMBER = r"(?P<n>\d+(?:\.\d+)?)"
_NOT_AGE = (
    r"(?! ?(?:weeks?|days?|months?|minutes?|hours?|times|percent|degrees|pounds|lbs|kg|cm|inches|feet|%|pads"
    r"|towels|mg|am|pm|o clock|\.\d))\b"
)
_AGES = (
    # "my 6 week old", "she is 2 months old", "a 14 year old"
    re.compile(rf"(?<![\w.]){_NUMBER} ?(?P<unit>day|week|month|year)s? old\b"),
    # "baby 1 month", "my son is 3 weeks"
    re.compile(
        r"\b(?:baby|infant|newborn|son|daughter|girl|boy|he|she)(?: is| who is)? (?:only |just |about )?"
        rf"{_NUMBER} (?P<unit>day|week|month)s?\b(?! (?:pregnant|along|late|early|overdue|postpartum|ago))"
    ),
    # "14yo", "aged 70"
    re.compile(rf"(?<![\w.]){_NUMBER} ?yo\b"),
    re.compile(rf"\b(?:aged?|age of) {_NUMBER}\b"),
    # "she is 70", "I'm 58" (not "I'm 34 weeks pregnant")
    re.compile(
        r"\b(?:he|she|i|they|who|baby|son|daughter|mother|father|mom|dad|wife|husband|grandmother|grandfather)"
        rf" (?:is|am|are|was|turned|just turned) (?:only |just |about |almost |nearly )?{_NUMBER}{_NOT_AGE}"
    ),
)
_UNIT_YEARS = {"day": 1 / 365.25, "week": 7 / 365.25, "month": 1 / 12, "year": 1.0}
_GESTATION = re.compile(
    r"\b(\d+(?:\.\d+)?) weeks? (?:pregnant|along|gestation|with|check|scan|visit|ultrasound|appointment)"
    r"|\bpregnant (?:with \w+ )?(?:for )?(\d+) weeks?"
    r"|\b(?:i am|she is|wife is|girlfriend is|daughter is) (\d+) weeks?\b(?! old| ago)"
)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the engine knows about the patient for age and pregnancy modifiers."""

    age_years: float | None
    pregnant: bool
    child: bool
    gest_weeks: float | None
    sex: str | None


def patient_facts(
    text: str, lib: Library, *, age_years: float | None, sex: str | None, pregnant: bool | None
) -> Facts:
    """Combine the caller's record with what the text says; text can only add risk, never remove it."""
    age = age_years if age_years is not None else text_age(text, lib)
    is_pregnant = bool(pregnant) or bool(lib.facts["pregnant"].search(text))
    child = (age is not None and age < 18) or (age is None and bool(lib.facts["child"].search(text)))
    normalized_sex = sex.strip().lower()[:1] if sex else None
    return Facts(
        age, is_pregnant, child, gestation_weeks(text), {"m": "male", "f": "female"}.get(normalized_sex or "")
    )


def text_age(text: str, lib: Library) -> float | None:
    """The youngest age stated in the text ('my 6 week old', 'she is 70'), in years."""
    ages = [_age(m) for pattern in _AGES for m in pattern.finditer(text)]
    ages = [a for a in ages if 0 <= a <= 120]
    if lib.facts["newborn"].search(text):
        ages.append(0.02)
    return min(ages) if ages else None


def _age(m: re.Match[str]) -> float:
    groups = m.groupdict()
    return float(groups["n"]) * _UNIT_YEARS[groups.get("unit") or "year"]


def gestation_weeks(text: str) -> float | None:
    """Weeks of pregnancy stated in the text ('34 weeks pregnant', 'pregnant twelve weeks')."""
    m = _GESTATION.search(text)
    if not m:
        return None
    return float(m.group(1) or m.group(2) or m.group(3))


def temperatures_f(text: str) -> Iterator[tuple[float, int, int]]:
    """Temperature readings in Fahrenheit with their span; a number needs a temperature cue nearby."""
    for m in _TEMP_NUMBER.finditer(text):
        value = float(m.group(1))
        before = _TEMP_CUE_BEFORE.search(text, max(0, m.start() - 45), m.start())
        after = _TEMP_CUE_AFTER.match(text, m.end())
        if not (before or after):
            continue
        fahrenheit = value if 95 <= value <= 110 else value * 9 / 5 + 32 if 34 <= value <= 43.5 else None
        if fahrenheit is not None:
            yield fahrenheit, (before.start() if before else m.start()), (after.end() if after else m.end())


def glucose_readings(text: str) -> Iterator[tuple[float, int, int]]:
    """Blood sugar readings in mg/dL; a meter showing HI counts as 600, LO as 30."""
    for m in _GLUCOSE.finditer(text):
        raw = m.group(1)
        value = _GLUCOSE_WORDS.get(raw) or float(raw)
        if 10 <= value <= 1000:
            yield value, m.start(), m.end()


QUANTITIES: dict[str, Callable[[str], Iterator[tuple[float, int, int]]]] = {
    "temperature_f": temperatures_f,
    "glucose": glucose_readings,
}


def measure_mentions(text: str, lib: Library) -> Iterator[tuple[str, int, int]]:
    """(measure name, start, end) for every quantity in the text that meets a measure's bounds."""
    readings = {q: list(fn(text)) for q, fn in QUANTITIES.items()}
    for measure in lib.measures.values():
        for value, start, end in readings[measure.quantity]:
            if measure.low <= value <= measure.high:
                yield measure.name, start, end
