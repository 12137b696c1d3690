"""Caller-lookup rules without a database: name folding, phonetic keys, nicknames, dates of birth, scores.

A caller says "Jon Smyth, 3/4/1961"; the chart says "John Smith, 1961-03-04". The service narrows the
rows in SQL (by date of birth and its likely typos, or by last-name prefix and sound) and these
functions score what it found, with the reasons an agent reads beside each candidate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

EARLIEST_DOB = date(1900, 1, 1)
NICKNAMES_FILE = Path(__file__).resolve().parent / "nicknames.yaml"

# Letters NFKD does not split into a base letter and a mark.
_SPECIAL_LETTERS = str.maketrans(
    {"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i"}
)
_NOT_LETTER = re.compile(r"[^a-z]+")


@lru_cache(maxsize=65536)
def fold(text: str | None) -> str:
    """Lower-case ASCII words: 'José  O'Brien-Łukasz' -> "jose obrien lukasz"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    plain = plain.replace("'", "").replace("’", "")  # O'Brien is one word
    return " ".join(_NOT_LETTER.sub(" ", plain).split())


@lru_cache(maxsize=65536)
def name_key(text: str | None) -> str:
    """Letters only, folded: names are compared and prefix-searched so ('De la Cruz' -> 'delacruz')."""
    return fold(text).replace(" ", "")


def name_tokens(text: str | None) -> list[str]:
    """The folded words of a name."""
    return fold(text).split()


_SOUNDEX = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


@lru_cache(maxsize=65536)
def phonetic(text: str | None) -> str:
    """A sound-alike key: Soundex after a few English spelling rules (Smyth = Smith, Catherine = Katherine).

    Empty for an empty name. Coarse on purpose: it finds candidates and nudges scores; the edit
    distance still decides the ranking.
    """
    key = name_key(text)
    if not key:
        return ""
    for prefix, replacement in (("kn", "n"), ("wr", "r"), ("ps", "s"), ("pn", "n")):
        if key.startswith(prefix):
            key = replacement + key[len(prefix) :]
    key = key.replace("ph", "f").replace("ck", "k").replace("sch", "sk").replace("q", "k").replace("y", "i")
    key = re.sub(r"c(?=[eiy])", "s", key).replace("c", "k").replace("z", "s").replace("x", "ks")
    first, rest = key[0], key[1:]
    digits: list[str] = []
    previous = _SOUNDEX.get(first, "")
    for ch in rest:
        code = _SOUNDEX.get(ch, "")
        if code and code != previous:
            digits.append(code)
        if ch not in "hw":  # h and w do not separate letters with the same code
            previous = code
    return (first.upper() + "".join(digits) + "000")[:4]


@cache
def _nickname_groups() -> dict[str, frozenset[int]]:
    data = yaml.safe_load(NICKNAMES_FILE.read_text(encoding="utf-8"))
    groups: dict[str, set[int]] = {}
    for index, names in enumerate(data["groups"]):
        for name in names:
            groups.setdefault(name_key(str(name)), set()).add(index)
    return {name: frozenset(ids) for name, ids in groups.items()}


@lru_cache(maxsize=65536)
def are_nicknames(a: str, b: str) -> bool:
    """True when two given names are known variants of each other (Bill and William, Peggy and Margaret)."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb or ka == kb:
        return False
    groups = _nickname_groups()
    return bool(groups.get(ka, frozenset()) & groups.get(kb, frozenset()))


@cache
def _names_by_group() -> dict[int, frozenset[str]]:
    members: dict[int, set[str]] = {}
    for name, ids in _nickname_groups().items():
        for group in ids:
            members.setdefault(group, set()).add(name)
    return {group: frozenset(names) for group, names in members.items()}


def nickname_variants(name: str) -> frozenset[str]:
    """Every known variant of a given name, itself included, as name keys ('bill' -> william, will...)."""
    key = name_key(name)
    groups = _names_by_group()
    found = {key} if key else set()
    for group in _nickname_groups().get(key, frozenset()):
        found |= groups[group]
    return frozenset(found)


def similarity(a: str, b: str) -> float:
    """0-100 likeness of two name keys: edit distance and Jaro-Winkler (kind to typos near the end)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    return 0.5 * fuzz.ratio(a, b) + 50.0 * JaroWinkler.normalized_similarity(a, b)


@dataclass(frozen=True)
class Part:
    """How one part of the name compared: its score and the reason shown to the agent."""

    score: float
    reason: str


def _compare(query: str, stored: str, label: str, *, given: bool) -> Part:
    q, s = name_key(query), name_key(stored)
    if not q or not s:
        return Part(0.0, "")
    if q == s:
        return Part(100.0, f"{label} exact")
    if given and are_nicknames(q, s):
        return Part(95.0, f"nickname {query.strip().title()}={stored.strip()}")
    if given and len(q) == 1 and s.startswith(q):
        return Part(75.0, f"initial {q.upper()} for {stored.strip()}")
    score = similarity(q, s)
    # Sound-alike matters for family names (Smyth, Smith); short given names sound alike too easily
    # (Jon, Joan, Jan), and their real variants are in the nickname list.
    if not given and phonetic(q) == phonetic(s):
        score += (100.0 - score) / 2  # sounds alike: halfway to a match
        return Part(score, f"{label} {score:.0f}% like {stored.strip()} (sounds alike)")
    return Part(score, f"{label} {score:.0f}% like {stored.strip()}")


def _best(parts: list[Part]) -> Part:
    return max(parts, key=lambda p: p.score, default=Part(0.0, ""))


def _given_part(query: str, first: str, preferred: str | None) -> Part:
    options = [first, *name_tokens(first)[:1], *([preferred] if preferred else [])]
    return _best([_compare(query, option, "first name", given=True) for option in options if option])


def _family_part(query: str, last: str) -> Part:
    parts = [_compare(query, last, "last name", given=False)]
    words = name_tokens(last)
    if len(words) > 1:  # 'Garcia' for 'Garcia Lopez': a little short of the whole name
        for word in words:
            part = _compare(query, word, "last name", given=False)
            parts.append(Part(part.score * 0.95, part.reason.replace("exact", f"part of {last}")))
    return _best(parts)


@dataclass(frozen=True)
class ParsedName:
    """A typed name split into the given name and family-name guesses."""

    given: str
    families: tuple[str, ...]
    text: str


def parse_name(text: str) -> ParsedName:
    """'Jon Smyth', 'Smith, John', 'Maria Garcia Lopez' -> given name and possible family names."""
    text = " ".join((text or "").split())
    if "," in text:
        family, _, rest = text.partition(",")
        given_words = rest.split()
        return ParsedName(given_words[0] if given_words else "", (family.strip(),), text)
    words = text.split()
    if len(words) <= 1:
        return ParsedName("", tuple(words), text)
    families = [words[-1]]
    if len(words) > 2:
        families.append(" ".join(words[1:]))
    return ParsedName(words[0], tuple(families), text)


@dataclass(frozen=True)
class NameScore:
    score: float
    reasons: list[str] = field(default_factory=list)


GIVEN_WEIGHT, FAMILY_WEIGHT = 0.4, 0.6
SWAP_PENALTY = 2.0
SINGLE_WORD_FACTOR = 0.85


def score_name(query: str | ParsedName, first: str, last: str, preferred: str | None = None) -> NameScore:
    """0-100: how well a typed name fits a patient's name, straight or with first and last swapped."""
    parsed = query if isinstance(query, ParsedName) else parse_name(query)
    if not parsed.families:
        return NameScore(0.0)
    options: list[NameScore] = []
    if not parsed.given:  # one word: a last name usually, a first name sometimes
        word = parsed.families[0]
        fam = _family_part(word, last)
        giv = _given_part(word, first, preferred)
        options.append(NameScore(fam.score * SINGLE_WORD_FACTOR, [fam.reason, "last name only"]))
        options.append(NameScore(giv.score * SINGLE_WORD_FACTOR * 0.9, [giv.reason, "first name only"]))
    else:
        for family in parsed.families:
            giv, fam = _given_part(parsed.given, first, preferred), _family_part(family, last)
            options.append(
                NameScore(GIVEN_WEIGHT * giv.score + FAMILY_WEIGHT * fam.score, [giv.reason, fam.reason])
            )
            # Swapped: the caller (or the last agent) put the last name first.
            giv, fam = _given_part(family, first, preferred), _family_part(parsed.given, last)
            swapped = GIVEN_WEIGHT * giv.score + FAMILY_WEIGHT * fam.score - SWAP_PENALTY
            options.append(NameScore(swapped, ["first/last swapped", giv.reason, fam.reason]))
        whole = fuzz.token_sort_ratio(fold(parsed.text), fold(f"{first} {last}"))
        options.append(NameScore(whole * 0.97, [f"name {whole:.0f}% like {first} {last} (any order)"]))
    best = max(options, key=lambda o: o.score)
    return NameScore(round(max(0.0, best.score), 1), [r for r in best.reasons if r])


# --- dates of birth -----------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_US = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})")
_DIGITS8 = re.compile(r"\d{8}")


def parse_dob(value: date | str, *, today: date) -> date:
    """A date of birth typed the US way ('3/4/1961', '03-04-61', '03041961') or ISO ('1961-03-04').

    Two-digit years are the most recent past year with those digits. Raises ValueError with a
    message for the agent when the text is not a date or is out of range.
    """
    if isinstance(value, date):
        parsed = value
    else:
        text = (value or "").strip()
        parsed = _parse_dob_text(text, today)
        if parsed is None:
            raise ValueError(f"'{text}' is not a date of birth; type it like 3/4/1961 or 1961-03-04")
    if parsed > today:
        raise ValueError("date of birth is in the future")
    if parsed < EARLIEST_DOB:
        raise ValueError("date of birth is before 1900")
    return parsed


def _make(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _parse_dob_text(text: str, today: date) -> date | None:
    if match := _ISO.fullmatch(text):
        return _make(int(match[1]), int(match[2]), int(match[3]))
    if match := _US.fullmatch(text):
        year = int(match[3])
        if len(match[3]) == 2:
            year += 2000 if year <= today.year % 100 else 1900
        return _make(year, int(match[1]), int(match[2]))
    if _DIGITS8.fullmatch(text):  # MMDDYYYY, or YYYYMMDD when that is the only reading
        return _make(int(text[4:]), int(text[:2]), int(text[2:4])) or _make(
            int(text[:4]), int(text[4:6]), int(text[6:])
        )
    return None


DOB_EXACT = "DOB exact"
DOB_SWAPPED = "DOB day/month swapped"
DOB_DIGIT = "DOB one digit off"
DOB_TRANSPOSED = "DOB digits transposed"

DOB_SCORES = {DOB_EXACT: 100.0, DOB_SWAPPED: 90.0, DOB_DIGIT: 82.0, DOB_TRANSPOSED: 85.0}


def dob_variants(dob: date, *, today: date) -> dict[date, str]:
    """The dates a typo could turn this date of birth into, with how: exact, day/month swapped, one
    digit changed, two neighbouring digits of the year or day transposed. All within 1900..today."""
    found: dict[date, str] = {dob: DOB_EXACT}

    def add(candidate: date | None, how: str) -> None:
        if candidate and EARLIEST_DOB <= candidate <= today and candidate not in found:
            found[candidate] = how

    add(_make(dob.year, dob.day, dob.month), DOB_SWAPPED)
    y, m, d = f"{dob.year:04d}", f"{dob.month:02d}", f"{dob.day:02d}"
    for text, rebuild in (
        (y, lambda t: _make(int(t), dob.month, dob.day)),
        (d, lambda t: _make(dob.year, dob.month, int(t))),
        (m, lambda t: _make(dob.year, int(t), dob.day)),
    ):
        for i in range(len(text) - 1):
            swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            if swapped != text:
                add(rebuild(swapped), DOB_TRANSPOSED)
    for text, rebuild in (
        (y, lambda t: _make(int(t), dob.month, dob.day)),
        (m, lambda t: _make(dob.year, int(t), dob.day)),
        (d, lambda t: _make(dob.year, dob.month, int(t))),
    ):
        for i, digit in enumerate(text):
            for other in "0123456789":
                if other != digit:
                    add(rebuild(text[:i] + other + text[i + 1 :]), DOB_DIGIT)
    return found


# --- putting it together ------------------------------------------------------------------------------

MIN_NAME_EXACT_DOB = 55.0  # the DOB matched: a weaker name still makes the list
MIN_NAME_NEAR_DOB = 75.0  # a DOB typo: only a strong name
MIN_NAME_NO_DOB = 70.0
DOB_WEIGHT, NAME_WEIGHT = 0.3, 0.7


def combined_score(name: NameScore, dob_how: str | None) -> float | None:
    """The candidate's 0-100 score, or None when it is too weak to show.

    dob_how is how the date of birth matched (a DOB_* constant) or None when no date was given.
    """
    if dob_how is None:
        return name.score if name.score >= MIN_NAME_NO_DOB else None
    floor = MIN_NAME_EXACT_DOB if dob_how == DOB_EXACT else MIN_NAME_NEAR_DOB
    if name.score < floor:
        return None
    return round(DOB_WEIGHT * DOB_SCORES[dob_how] + NAME_WEIGHT * name.score, 1)
