"""Matching as pure logic: the need vocabulary, nearer-of-home-or-work, scores, reasons and relaxations.

No database here. `service.py` fetches candidate rows with one indexed query and hands them to these
functions; the ranking weights live in `Weights` (defaults below, per-tenant overrides in
tenant.settings["matching"]["weights"]) and are documented in docs/matching.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from careline.directory import reference
from careline.kit import geo

NEEDS_PATH = Path(__file__).with_name("needs.yaml")
AGE_GROUP_WORDS = {"pediatric": "children", "adult": "adults", "geriatric": "seniors"}
VISIT_TYPES = (
    "new_patient",
    "physical",
    "prenatal",
    "sick",
    "injury",
    "follow_up",
    "behavioral",
    "procedure",
)


class VocabularyError(ValueError):
    """A need entry or weight that cannot be used; the message names it."""


# ============================================================================ weights


@dataclass(frozen=True)
class Weights:
    """How a candidate's score is made: points per component (each component scores 0..1) and knobs.

    score = distance·f(miles) + specialty·(order of the specialty in the need) + language·(speaks the
    preferred language) + gender·(preferred gender) + availability·g(days to next opening)
    + telehealth·(offers it, when acceptable) + visit_reason·(lists the need among their visit
    reasons) + accepting·(taking new patients, when that is not a hard filter).
    """

    distance: float = 40.0
    specialty: float = 25.0
    language: float = 15.0
    gender: float = 10.0
    availability: float = 15.0
    telehealth: float = 5.0
    visit_reason: float = 10.0
    accepting: float = 10.0
    # f(miles) = 1 / (1 + miles / half_miles): 1 next door, 0.5 at half_miles.
    half_miles: float = 5.0
    # g(days) = 1 / (1 + days / availability_half_days).
    availability_half_days: float = 7.0
    # "soonest availability wanted" multiplies the availability points.
    soonest_factor: float = 3.0
    # Each later specialty in the need's list scores this much less (first = 1.0), never below 0.2.
    specialty_step: float = 0.2
    # A match on a provider's secondary (not primary) specialty counts this fraction.
    secondary_specialty: float = 0.85
    # The search radius when the request gives none, and how far the distance relaxation reaches.
    default_max_miles: float = 15.0
    relax_distance_factor: float = 2.5
    # Candidate rows read per query (nearest first) and providers given a next-available time.
    candidate_cap: int = 2000
    availability_top: int = 10

    def non_distance_max(self, prefs: Preferences) -> float:
        """The most points a candidate can get from everything but distance and availability."""
        total = self.specialty + self.visit_reason
        if prefs.language and not prefs.language_required:
            total += self.language
        if prefs.gender and not prefs.gender_required:
            total += self.gender
        if prefs.telehealth:
            total += self.telehealth
        if not prefs.accepting_required:
            total += self.accepting
        return total


DEFAULT_WEIGHTS = Weights()
_INT_WEIGHTS = {"candidate_cap": (50, 20000), "availability_top": (0, 50)}


def weights_from(overrides: Mapping[str, Any] | None) -> Weights:
    """The defaults with a tenant's overrides; unknown names or bad numbers raise VocabularyError."""
    if not overrides:
        return DEFAULT_WEIGHTS
    if not isinstance(overrides, Mapping):
        raise VocabularyError('weights must be an object like {"distance": 40}')
    known = {f.name for f in fields(Weights)}
    values: dict[str, Any] = {}
    for name, raw in overrides.items():
        if name not in known:
            raise VocabularyError(f"unknown weight '{name}' (known: {', '.join(sorted(known))})")
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw < 0:
            raise VocabularyError(f"weight '{name}' must be a number >= 0")
        if name in _INT_WEIGHTS:
            low, high = _INT_WEIGHTS[name]
            if int(raw) != raw or not low <= raw <= high:
                raise VocabularyError(f"weight '{name}' must be a whole number from {low} to {high}")
            raw = int(raw)
        elif name in ("half_miles", "availability_half_days", "default_max_miles") and raw <= 0:
            raise VocabularyError(f"weight '{name}' must be above 0")
        elif name in ("specialty_step", "secondary_specialty") and raw > 1:
            raise VocabularyError(f"weight '{name}' must be between 0 and 1")
        elif name == "relax_distance_factor" and raw <= 1:
            raise VocabularyError("weight 'relax_distance_factor' must be above 1")
        values[name] = float(raw) if name not in _INT_WEIGHTS else raw
    return replace(DEFAULT_WEIGHTS, **values)


# ============================================================================ words


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """Lower case words separated by single spaces: "My son's  ASTHMA!" -> "my son asthma"."""
    t = (text or "").lower().replace("\u2019", "'")
    t = re.sub(r"'s\b", "", t)
    t = t.replace("'", "")
    t = re.sub(r"[^a-z0-9]+", " ", t)
    return " ".join(t.split())


def _pattern_regex(pattern: str) -> tuple[re.Pattern[str], int]:
    """A pattern ("knee .. pain", "pregnan*") as a regex on normalized text, and its word count."""
    parts: list[str] = []
    words = 0
    gap = False
    for raw in pattern.split():
        if raw == "..":
            gap = True
            continue
        star = raw.endswith("*")
        tokens = normalize(raw.rstrip("*")).split()
        for i, token in enumerate(tokens):
            piece = re.escape(token) + (r"[a-z0-9]*" if star and i == len(tokens) - 1 else "")
            if parts:
                parts.append(r"(?: [a-z0-9]+){0,3} " if gap else " ")
            parts.append(piece)
            gap = False
            words += 1
    if not words:
        raise VocabularyError(f"pattern '{pattern}' has no words")
    return re.compile(r"(?<![a-z0-9])" + "".join(parts) + r"(?![a-z0-9])"), words


# ============================================================================ vocabulary


@dataclass(frozen=True)
class Need:
    """One entry of the vocabulary: the words for a need and the specialties that meet it."""

    key: str
    label: str
    patterns: tuple[str, ...]
    specialties: tuple[str, ...]
    child_specialties: tuple[str, ...]
    fallback: tuple[str, ...]
    child_fallback: tuple[str, ...]
    visit_type: str | None = None
    age: str | None = None  # "child" or "senior" when the words say so
    source: str = "default"  # tenant, default, specialty (names and synonyms) or reason

    def codes(self, child: bool) -> tuple[str, ...]:
        """The specialties to look for, best first."""
        return self.child_specialties if child else self.specialties

    def fallback_codes(self, child: bool) -> tuple[str, ...]:
        """Specialties to try when the first ones find nobody, minus those already tried."""
        first = set(self.codes(child))
        return tuple(c for c in (self.child_fallback if child else self.fallback) if c not in first)


@dataclass(frozen=True)
class NeedMatch:
    """What the caller's words mapped to."""

    need: Need
    matched_phrase: str | None  # the (normalized) words that matched; None for the default need
    excluded: tuple[str, ...] = ()  # specialties the words rule out ("not a pediatrician")


@dataclass(frozen=True)
class VisitHint:
    """The kind of visit the words ask for ("a new patient visit", "a telehealth visit"), else the
    need's own `visit_type`: it picks the appointment type of the next openings."""

    visit_type: str | None = None
    telehealth: bool = False  # the words ask for a video visit
    said: str | None = None  # the words that named it; None when it is the need's visit type


# Negation: "no", "not", "don't want" ... rule out what the next few words name ("not a
# pediatrician", "no cardiology"), up to a word that starts another thought ("but", "and", "I").
_NEGATION = re.compile(
    r"(?<![a-z0-9])(?:no|not|never|without|dont want|do not want|dont need|do not need|rather not"
    r"|other than|instead of|anything but|except)(?![a-z0-9])"
)
_NEGATION_STOPS = frozenset(
    {"but", "and", "or", "so", "because", "i", "im", "we", "my", "our", "he", "she", "they", "just"}
    | {"only", "instead", "rather", "need", "needs", "want", "wants", "looking", "please"}
)
NEGATION_REACH = 4  # words after the negation that it covers


def negated_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of `normalize(text)` that a negation covers: the words after it (not the cue
    itself), at most NEGATION_REACH of them, not past a stop word or the end of the clause (a comma,
    a full stop: "not telehealth, knee pain" rules out telehealth only)."""
    norm = normalize(text)
    clauses = [c for c in (normalize(part) for part in re.split(r"[,.;:!?()\n]+", text or "")) if c]
    ends, at = [], 0
    for clause in clauses:
        at += len(clause)
        ends.append(at)
        at += 1
    if " ".join(clauses) != norm:  # punctuation inside a word: no clause ends then
        ends = [len(norm)]
    spans = []
    for cue in _NEGATION.finditer(norm):
        stop = next((e for e in ends if e >= cue.end()), len(norm))
        end, words = cue.end(), 0
        for word in re.finditer(r"[a-z0-9]+", norm[cue.end() : stop]):
            if words >= NEGATION_REACH or word.group(0) in _NEGATION_STOPS:
                break
            end, words = cue.end() + word.end(), words + 1
        if end > cue.end():
            spans.append((cue.end(), end))
    return spans


def _first_match(
    regex: re.Pattern[str], norm: str, negated: Sequence[tuple[int, int]]
) -> re.Match[str] | None:
    """The first match that no negation covers."""
    for m in regex.finditer(norm):
        if not any(start <= m.start() < end for start, end in negated):
            return m
    return None


def _without(need: Need, codes: Sequence[str]) -> Need:
    """The need without specialties the words ruled out; its fallback when none of its own are left."""
    if not codes:
        return need

    def keep(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(c for c in values if c not in codes)

    adult, child = keep(need.specialties), keep(need.child_specialties)
    fallback, child_fallback = keep(need.fallback), keep(need.child_fallback)
    if not adult:
        adult, fallback = fallback, ()
    if not child:
        child, child_fallback = child_fallback, ()
    return replace(
        need,
        specialties=adult,
        child_specialties=child,
        fallback=fallback,
        child_fallback=child_fallback,
    )


@dataclass(frozen=True)
class _Compiled:
    need: Need
    regex: re.Pattern[str]
    words: int
    order: int


@dataclass(frozen=True)
class Vocabulary:
    """The default need vocabulary with a tenant's entries merged over it, compiled."""

    needs: tuple[Need, ...]
    default: Need
    child_hints: tuple[re.Pattern[str], ...]
    senior_hints: tuple[re.Pattern[str], ...]
    compiled: tuple[_Compiled, ...] = field(repr=False)
    derived: tuple[_Compiled, ...] = field(repr=False)
    visit_words: tuple[tuple[str, re.Pattern[str], int], ...] = field(default=(), repr=False)

    def match(self, text: str) -> NeedMatch | None:
        """The best need for the words: most words matched wins, then the earlier entry; None if none.

        Words after a negation ("not a pediatrician", "no cardiology") match no need, and the
        specialties they name (the directory's names and synonyms) are taken out of the need found
        (its fallback serves when none of its own are left); with nothing else said, the default need
        without them."""
        norm = normalize(text)
        if not norm:
            return None
        negated = negated_spans(text)
        excluded: list[str] = []
        if negated:
            for c in self.derived:
                if c.need.source != "specialty":
                    continue
                for m in c.regex.finditer(norm):
                    if any(start <= m.start() < end for start, end in negated):
                        excluded += [code for code in c.need.specialties if code not in excluded]
                        break
        for table in (self.compiled, self.derived):
            best: tuple[int, int, str, Need] | None = None
            for c in table:
                m = _first_match(c.regex, norm, negated) if negated else c.regex.search(norm)
                if m and (best is None or (c.words, -c.order) > (best[0], -best[1])):
                    best = (c.words, c.order, m.group(0), c.need)
            if best is not None:
                return NeedMatch(_without(best[3], excluded), best[2], tuple(excluded))
        if excluded:
            return NeedMatch(_without(self.default, excluded), None, tuple(excluded))
        return None

    def visit_hint(self, text: str | None, need: Need | None = None) -> VisitHint:
        """The visit the words name ("new patient", "annual physical", "telehealth"), else the need's.

        The most words win; a specific visit (a physical) beats "new patient"; negated words ("not a
        video visit") name nothing."""
        norm = normalize(text or "")
        negated = negated_spans(text or "") if norm else []
        kind: tuple[int, int, str, str] | None = None  # (specific, words, phrase, visit type)
        telehealth = None
        for visit, regex, words in self.visit_words if norm else ():
            m = _first_match(regex, norm, negated)
            if m is None:
                continue
            if visit == "telehealth":
                telehealth = telehealth or m.group(0)
                continue
            rank = (int(visit != "new_patient"), words)
            if kind is None or rank > kind[:2]:
                kind = (*rank, m.group(0), visit)
        if kind is not None:
            return VisitHint(kind[3], telehealth is not None, kind[2])
        return VisitHint(need.visit_type if need else None, telehealth is not None, telehealth)

    def age_hint(self, text: str) -> str | None:
        """'child' or 'senior' when the words say who the patient is ("my son's asthma"), else None."""
        norm = normalize(text)
        if any(r.search(norm) for r in self.child_hints):
            return "child"
        if any(r.search(norm) for r in self.senior_hints):
            return "senior"
        return None

    def get(self, key: str) -> Need | None:
        """An entry by key."""
        return next((n for n in self.needs if n.key == key), None)


def _expand(values: Any, groups: Mapping[str, Sequence[str]], where: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple):
        raise VocabularyError(f"{where}: expected a list of taxonomy codes")
    known = reference.specialties()
    out: list[str] = []
    for raw in values:
        item = str(raw).strip()
        if item.startswith("@"):
            group = groups.get(item[1:])
            if group is None:
                raise VocabularyError(f"{where}: unknown group '{item}'")
            items = list(group)
        else:
            items = [item.upper()]
        for code in items:
            if code not in known:
                raise VocabularyError(f"{where}: unknown taxonomy code '{code}'")
            if code not in out:
                out.append(code)
    return tuple(out)


def _need(
    row: Mapping[str, Any], groups: Mapping[str, Sequence[str]], default: Need | None, source: str
) -> Need:
    if not isinstance(row, Mapping):
        raise VocabularyError("each need is an object with key, patterns and specialties")
    key = str(row.get("key") or "").strip()
    if not key or not re.fullmatch(r"[a-z0-9_:\-]{1,60}", key):
        raise VocabularyError(f"need key '{key}' must be 1-60 lower-case letters, digits or _")
    where = f"need '{key}'"
    patterns = row.get("patterns") or []
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p.strip() for p in patterns):
        raise VocabularyError(f"{where}: patterns must be a list of phrases")
    for p in patterns:
        _pattern_regex(p)
    specialties = _expand(row.get("specialties"), groups, f"{where} specialties")
    if not specialties and default is not None:
        raise VocabularyError(f"{where}: give at least one specialty")
    child = _expand(row.get("child_specialties"), groups, f"{where} child_specialties") or specialties
    if "fallback" in row:
        fallback = _expand(row.get("fallback"), groups, f"{where} fallback")
    else:
        fallback = default.specialties if default else ()
    if "child_fallback" in row:
        child_fallback = _expand(row.get("child_fallback"), groups, f"{where} child_fallback")
    elif "fallback" in row and not fallback:
        child_fallback = ()
    else:
        child_fallback = default.child_specialties if default else ()
    visit_type = row.get("visit_type")
    if visit_type is not None and visit_type not in VISIT_TYPES:
        raise VocabularyError(f"{where}: visit_type must be one of {', '.join(VISIT_TYPES)}")
    age = row.get("age")
    if age is not None and age not in ("child", "senior"):
        raise VocabularyError(f"{where}: age must be child or senior")
    label = str(row.get("label") or key.replace("_", " ")).strip()[:100]
    return Need(
        key=key,
        label=label,
        patterns=tuple(p.strip().lower() for p in patterns),
        specialties=specialties,
        child_specialties=child,
        fallback=fallback,
        child_fallback=child_fallback,
        visit_type=visit_type,
        age=age,
        source=source,
    )


@cache
def default_data() -> dict[str, Any]:
    """needs.yaml as loaded (treat as read-only)."""
    return yaml.safe_load(NEEDS_PATH.read_text(encoding="utf-8"))


def _derived(default: Need) -> list[Need]:
    """Needs built from the directory's specialty names, synonyms and typical visit reasons."""
    by_phrase: dict[str, list[str]] = {}
    by_reason: dict[str, list[str]] = {}
    for spec in reference.specialties().values():
        for phrase in (spec.plain, *spec.synonyms):
            if normalize(phrase):
                by_phrase.setdefault(phrase.lower(), []).append(spec.code)
        for reason in spec.reasons:
            if normalize(reason):
                by_reason.setdefault(reason.lower(), []).append(spec.code)
    out = []
    for source, table in (("specialty", by_phrase), ("reason", by_reason)):
        for phrase, codes in table.items():
            out.append(
                Need(
                    key=f"{source}:{normalize(phrase).replace(' ', '_')}"[:60],
                    label=phrase,
                    patterns=(phrase,),
                    specialties=tuple(dict.fromkeys(codes)),
                    child_specialties=tuple(dict.fromkeys(codes)),
                    fallback=default.specialties,
                    child_fallback=default.child_specialties,
                    visit_type="new_patient",
                    source=source,
                )
            )
    return out


def _hints(words: Any) -> tuple[re.Pattern[str], ...]:
    if not isinstance(words, list):
        raise VocabularyError("age_hints entries must be lists of phrases")
    return tuple(_pattern_regex(str(w))[0] for w in words)


def build_vocabulary(
    overrides: Sequence[Mapping[str, Any]] | None = None, data: Mapping | None = None
) -> Vocabulary:
    """The vocabulary from needs.yaml (or `data`) with a tenant's entries first; validates everything."""
    data = data if data is not None else default_data()
    groups = {name: tuple(codes) for name, codes in (data.get("groups") or {}).items()}
    for name, codes in groups.items():
        groups[name] = _expand(list(codes), {}, f"group '{name}'")
    default = _need(
        {"key": "default", "label": "a new doctor", **(data.get("default") or {})}, groups, None, "default"
    )
    if not default.specialties:
        raise VocabularyError("the default need names no specialties")
    defaults = [_need(row, groups, default, "default") for row in data.get("needs") or []]
    tenant: list[Need] = []
    disabled: set[str] = set()
    if overrides is not None and not isinstance(overrides, list | tuple):
        raise VocabularyError("needs must be a list of need objects")
    for row in overrides or []:
        if isinstance(row, Mapping) and row.get("disabled"):
            disabled.add(str(row.get("key")))
            continue
        tenant.append(_need(row, groups, default, "tenant"))
    replaced = {n.key for n in tenant} | disabled
    needs = tuple(tenant + [n for n in defaults if n.key not in replaced])
    compiled = []
    for order, need in enumerate(needs):
        for pattern in need.patterns:
            regex, words = _pattern_regex(pattern)
            compiled.append(_Compiled(need, regex, words, order))
    derived = []
    for order, need in enumerate(_derived(default)):
        regex, words = _pattern_regex(need.patterns[0])
        derived.append(_Compiled(need, regex, words, order))
    hints = data.get("age_hints") or {}
    return Vocabulary(
        needs=needs,
        default=default,
        child_hints=_hints(hints.get("child") or []),
        senior_hints=_hints(hints.get("senior") or []),
        compiled=tuple(compiled),
        derived=tuple(derived),
        visit_words=_visit_words(data.get("visit_words") or {}),
    )


def _visit_words(table: Any) -> tuple[tuple[str, re.Pattern[str], int], ...]:
    if not isinstance(table, Mapping):
        raise VocabularyError("visit_words maps a visit type (or telehealth) to a list of phrases")
    out = []
    for visit, phrases in table.items():
        if visit not in (*VISIT_TYPES, "telehealth"):
            raise VocabularyError(f"visit_words: unknown visit type '{visit}'")
        if not isinstance(phrases, list):
            raise VocabularyError(f"visit_words: {visit} must be a list of phrases")
        for phrase in phrases:
            regex, words = _pattern_regex(str(phrase))
            out.append((str(visit), regex, words))
    return tuple(out)


# How an appointment type's name says which visit it is ("Annual physical", "Well-child visit").
APPOINTMENT_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "physical": ("physical", "well child", "wellness", "annual exam", "checkup", "check up"),
    "prenatal": ("prenatal", "obstetric", "pregnan"),
    "sick": ("sick",),
    "injury": ("injury", "urgent"),
    "behavioral": ("behavioral", "behavioural", "therapy", "counsel", "mental health", "psych"),
    "procedure": ("procedure",),
}


def type_is_visit(type_name: str, visit_type: str | None) -> bool:
    """Whether an appointment type's name says it is this kind of visit."""
    words = APPOINTMENT_TYPE_WORDS.get(visit_type or "")
    name = f" {normalize(type_name)} "
    return bool(words) and any(f" {normalize(w)}" in name for w in words)


_NAMED = re.compile(r"\b(?:dr\.?|doctor)\s+([A-Za-z][A-Za-z'\-]+)", re.IGNORECASE)
_NOT_NAMES = {
    "who",
    "for",
    "that",
    "to",
    "near",
    "in",
    "at",
    "with",
    "and",
    "or",
    "the",
    "a",
    "an",
    "appointment",
    "visit",
    "office",
    "about",
    "taking",
    "accepting",
    "is",
    "are",
    "my",
}


def named_provider(text: str | None) -> str | None:
    """The surname in "is Dr. Kim taking new patients?" ("Kim"); None when no doctor is named."""
    for m in _NAMED.finditer(text or ""):
        word = m.group(1)
        said_doctor = m.group(0).lower().startswith("doctor")
        if word.lower() in _NOT_NAMES or (said_doctor and not word[0].isupper()):
            continue
        return word
    return None


def places_zip(raw: str | None) -> str | None:
    """The ZIP in '60614', '60614-1234' or '2400 N Lincoln Ave, Chicago, IL 60614' (the last one)."""
    if raw is None or not raw.strip():
        return None
    found = re.findall(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)", raw)
    if not found:
        raise ValueError(f"no ZIP code in '{raw.strip()[:60]}'")
    return found[-1]


# ============================================================================ age


def age_group(age: int | None, hint: str | None = None) -> str | None:
    """pediatric (under 18), adult or geriatric (65 and over); from the hint when no age is known."""
    if age is not None:
        return "pediatric" if age < 18 else "geriatric" if age >= 65 else "adult"
    return {"child": "pediatric", "senior": "geriatric"}.get(hint or "")


def age_flags(provider: Any) -> dict[str, bool]:
    """A provider's (or a provider row's) age-group flags, as `sees` takes them."""
    return {
        "sees_pediatric": provider.sees_pediatric,
        "sees_adult": provider.sees_adult,
        "sees_geriatric": provider.sees_geriatric,
    }


def sees(
    age: int | None, group: str | None, flags: Mapping[str, bool], min_age: int | None, max_age: int | None
) -> bool:
    """Whether a provider with these flags and limits sees this patient (the SQL filter, in Python)."""
    if group is not None and not flags.get(f"sees_{group}", False):
        return False
    if age is not None:
        if min_age is not None and age < min_age:
            return False
        if max_age is not None and age > max_age:
            return False
    return True


# ============================================================================ places and distance


@dataclass(frozen=True)
class Place:
    """Where the patient starts from: 'home' or 'work', with the ZIP's (or the record's) coordinates."""

    name: str
    zip: str | None
    lat: float
    lon: float


def nearest(lat: float, lon: float, places: Sequence[Place]) -> tuple[float, str]:
    """(miles, place name) from whichever place is nearer to the point; ties go to the first place."""
    return nearest_fn(places)(lat, lon)


def nearest_fn(places: Sequence[Place]) -> Callable[[float, float], tuple[float, str]]:
    """`nearest` with the places' trigonometry done once: for scoring many locations in a loop."""
    if not places:
        raise ValueError("no place to measure from")
    pre = [(math.radians(p.lat), math.cos(math.radians(p.lat)), math.radians(p.lon), p.name) for p in places]
    radius2 = 2 * geo.EARTH_RADIUS_MILES
    sin, cos, asin, sqrt, rad = math.sin, math.cos, math.asin, math.sqrt, math.radians

    def nearest_to(lat: float, lon: float) -> tuple[float, str]:
        phi2, lam2 = rad(lat), rad(lon)
        cos2 = cos(phi2)
        best, name = math.inf, pre[0][3]
        for phi1, cos1, lam1, pname in pre:
            h = sin((phi2 - phi1) / 2) ** 2 + cos1 * cos2 * sin((lam2 - lam1) / 2) ** 2
            miles = radius2 * asin(min(1.0, sqrt(h)))
            if miles < best:
                best, name = miles, pname
        return best, name

    return nearest_to


def boxes(places: Sequence[Place], miles: float) -> list[tuple[float, float, float, float]]:
    """A bounding box (min_lat, max_lat, min_lon, max_lon) around each place."""
    return [geo.bounding_box(p.lat, p.lon, miles) for p in places]


# ============================================================================ candidates and scoring


@dataclass(frozen=True)
class Preferences:
    """What the ranking needs to know about the request."""

    places: tuple[Place, ...]
    specialties: tuple[str, ...]  # in the need's order
    need_label: str | None = None
    need_phrases: tuple[str, ...] = ()  # words to look for among the provider's visit reasons
    fallback: bool = False  # the specialties are the need's fallback
    language: str | None = None
    language_required: bool = False
    gender: str | None = None
    gender_required: bool = False
    telehealth: bool = False
    soonest: bool = False
    accepting_required: bool = True
    plan_name: str | None = None
    max_miles: float | None = None


@dataclass(frozen=True)
class Opening:
    """The next new-patient time a provider has (from scheduling)."""

    start_utc: datetime
    timezone: str
    location_id: int | None = None
    location_name: str | None = None
    type_name: str | None = None
    type_id: int | None = None

    @property
    def start_local(self) -> datetime:
        return self.start_utc.astimezone(ZoneInfo(self.timezone))

    def short(self, now: datetime | None = None) -> str:
        """'Tue 9:40am' within the coming week, else 'Dec 22 9:40am' (the location's wall clock)."""
        local = self.start_local
        clock = local.strftime("%-I:%M") + local.strftime("%p").lower()
        if now is not None and (self.start_utc - now).days >= 6:
            return f"{local.strftime('%b %-d')} {clock}"
        return f"{local.strftime('%a')} {clock}"


@dataclass
class Candidate:
    """One provider as matching sees it: the best specialty and the nearest location for this request."""

    provider_id: int
    first_name: str
    last_name: str
    credentials: str
    gender: str
    accepting: bool
    telehealth: bool
    code: str
    code_rank: int
    primary: bool
    location_id: int
    location_name: str
    address: str
    city: str
    zip: str
    lat: float
    lon: float
    timezone: str
    distance: float | None  # None when no place was given (a named-provider question)
    from_place: str | None
    visit_reasons: tuple[str, ...] = ()
    speaks_preferred: bool | None = None
    plan_status: str | None = None  # accepting, closed (not for new patients), not_taken; None: no plan asked
    languages: tuple[str, ...] = ()
    next_available: Opening | None = None
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return f"{full}, {self.credentials}" if self.credentials else full


def specialty_points(rank: int, primary: bool, w: Weights) -> float:
    """1.0 for the need's first specialty on the provider's primary specialty, less further down."""
    share = max(0.2, 1.0 - w.specialty_step * rank)
    return w.specialty * share * (1.0 if primary else w.secondary_specialty)


def distance_points(miles: float, w: Weights) -> float:
    return w.distance / (1.0 + miles / w.half_miles)


def availability_points(opening: Opening | None, now: datetime, w: Weights, soonest: bool) -> float:
    """Points for how soon the next opening is (none when there is no known opening)."""
    if opening is None:
        return 0.0
    days = max(0.0, (opening.start_utc - now).total_seconds() / 86400)
    return w.availability * (w.soonest_factor if soonest else 1.0) / (1.0 + days / w.availability_half_days)


def treats_need(c: Candidate, prefs: Preferences) -> str | None:
    """The provider's own visit reason or condition that contains the need's words, if any."""
    return _treats(c.visit_reasons, prefs.need_phrases) if c.visit_reasons else None


@lru_cache(maxsize=8192)
def _treats(reasons: tuple[str, ...], phrases: tuple[str, ...]) -> str | None:
    # Cached: providers of a specialty often list the same reasons, and every candidate is scored.
    wanted = [f" {normalize(p)} " for p in phrases if normalize(p)]
    for reason in reasons:
        norm = f" {normalize(reason)} "
        if any(w in norm for w in wanted):
            return reason
    return None


def reason_hints(prefs: Preferences) -> tuple[str, ...]:
    """A word of each need phrase that a matching visit reason must contain (a cheap first check)."""
    out = []
    for phrase in prefs.need_phrases:
        words = normalize(phrase).split()
        if words:
            out.append(max(words, key=len))
    return tuple(dict.fromkeys(out))


def base_score(c: Candidate, prefs: Preferences, w: Weights) -> float:
    """Everything but availability (known only for the top few, added by `with_availability`)."""
    score = specialty_points(c.code_rank, c.primary, w)
    if c.distance is not None:
        score += distance_points(c.distance, w)
    if prefs.language and not prefs.language_required and c.speaks_preferred:
        score += w.language
    if prefs.gender and not prefs.gender_required and c.gender == prefs.gender:
        score += w.gender
    if prefs.telehealth and c.telehealth:
        score += w.telehealth
    if not prefs.accepting_required and c.accepting:
        score += w.accepting
    if treats_need(c, prefs):
        score += w.visit_reason
    return score


def _order(c: Candidate) -> tuple[float, float, str, str, int]:
    distance = math.inf if c.distance is None else c.distance
    return (-round(c.score, 9), distance, c.last_name, c.first_name, c.provider_id)


def rank(cands: Iterable[Candidate], prefs: Preferences, w: Weights) -> list[Candidate]:
    """Score and sort: best first; ties by distance, then name, then id (stable across databases)."""
    out = list(cands)
    for c in out:
        c.score = base_score(c, prefs, w)
    out.sort(key=_order)
    return out


def with_availability(top: list[Candidate], prefs: Preferences, w: Weights, now: datetime) -> list[Candidate]:
    """Add availability points to the top few (their openings filled in) and sort them again."""
    for c in top:
        c.score = base_score(c, prefs, w) + availability_points(c.next_available, now, w, prefs.soonest)
    return sorted(top, key=_order)


def reasons_for(c: Candidate, prefs: Preferences, now: datetime | None = None) -> list[str]:
    """The ranking in words: 'speaks Spanish', 'accepts Aetna PPO', '2.1 mi from work', 'next opening Tue'.

    Shown joined with ' · '. Preferences not met are said too ('does not speak Spanish').
    """
    out: list[str] = []
    if prefs.language and prefs.language != "en":
        name = reference.language_name(prefs.language)
        out.append(f"speaks {name}" if c.speaks_preferred is not False else f"does not speak {name}")
    if prefs.plan_name:
        if c.plan_status == "closed":
            out.append(f"takes {prefs.plan_name} but not for new patients")
        elif c.plan_status == "not_taken":
            out.append(f"does not take {prefs.plan_name}")
        else:
            out.append(f"accepts {prefs.plan_name}")
    if c.distance is not None:
        out.append(f"{c.distance:.1f} mi from {c.from_place}")
    if c.next_available is not None:
        out.append(f"next opening {c.next_available.short(now)}")
    if prefs.gender and c.gender == prefs.gender:
        out.append(f"{prefs.gender}, as preferred")
    elif prefs.gender:
        out.append(f"not {prefs.gender}")
    if prefs.telehealth and c.telehealth:
        out.append("offers telehealth")
    treated = treats_need(c, prefs)
    if treated:
        out.append(f"sees {treated}")
    if prefs.fallback:
        out.append(f"{reference.specialty_name(c.code)} (fallback for {prefs.need_label or 'this need'})")
    elif c.code_rank > 0 or not c.primary:
        out.append(reference.specialty_name(c.code))
    if not prefs.accepting_required:
        out.append("accepting new patients" if c.accepting else "not accepting new patients")
    return out


# ============================================================================ relaxation words


def specialty_words(codes: Sequence[str], limit: int = 2) -> str:
    """'dermatology', 'orthopedics or sports medicine', 'family medicine, internal medicine or ...'."""
    names = list(dict.fromkeys(reference.specialty_name(c) for c in codes))
    if len(names) > limit + 1:
        names = [*names[:limit], f"{len(names) - limit} more"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def describe_search(
    *,
    codes: Sequence[str],
    age_group: str | None,
    language: str | None,
    plan_name: str | None,
    accepting: bool,
    gender: str | None,
    miles: float | None,
    places: Sequence[Place],
) -> str:
    """The constraints in words: "Spanish-speaking dermatology provider ... within 10 mi of home"."""
    words = []
    if gender:
        words.append(gender)
    if language:
        words.append(f"{reference.language_name(language)}-speaking")
    words.append(specialty_words(codes))
    text = " ".join(words) + " provider"
    if age_group:
        text += f" who sees {AGE_GROUP_WORDS.get(age_group, age_group)}"
    if accepting:
        text += " taking new patients"
    if plan_name:
        text += f"{' on' if accepting else ' taking'} {plan_name}"
    if miles is not None and places:
        text += f" within {miles:g} mi of {' or '.join(p.name for p in places)}"
    return text


def relaxation_text(
    kind: str,
    count: int,
    *,
    miles: float | None = None,
    language: str | None = None,
    gender: str | None = None,
    codes: Sequence[str] = (),
    capped: bool = False,
) -> str:
    """One relaxation in words: '2 within 25 mi', '3 if Spanish is preferred, not required'."""
    n = f"{count:,}+" if capped else f"{count:,}"
    if kind == "distance":
        return f"{n} within {miles:g} mi"
    if kind == "language":
        return f"{n} if {reference.language_name(language or '')} is preferred, not required"
    if kind == "gender":
        return f"{n} if {gender} is preferred, not required"
    if kind == "specialty":
        return f"{n} in {specialty_words(codes)} instead"
    if kind == "accepting":
        return f"{n} counting providers not taking new patients now"
    raise ValueError(kind)
