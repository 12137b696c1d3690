"""Caller-intent classification from cue vocabulary, negation and temporal rules (no model)."""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

VOCABULARY_PATH = Path(__file__).with_name("intent_vocabulary.yaml")


class Intent(StrEnum):
    """What a contact wants; see docs/intents.md for the labelling conventions."""

    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    FIND_DOCTOR = "find_doctor"
    LOCATION_INFO = "location_info"
    REFILL = "refill"
    TEST_RESULTS = "test_results"
    BILLING = "billing"
    RECORDS = "records"
    CLINICAL = "clinical"
    SPEAK_TO_STAFF = "speak_to_staff"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class IntentScore:
    """One intent with its confidence and the words (text[start:end]) that triggered it."""

    intent: Intent
    score: float
    evidence: str
    start: int
    end: int


# --------------------------------------------------------------------------- vocabulary

_SYMPTOMS = "symptoms"
_DEPARTMENT = ("departments", 0)
_GAP = re.compile(r"\{gap(\d*)\}")
_MACRO = re.compile(r"\{([a-z_]+)\}")
# Cues are matched by alternative index, so their own groups must not capture.
_CAPTURING = re.compile(r"(?<!\\)\((?!\?)")


@dataclass(frozen=True, slots=True)
class _CueSet:
    regex: re.Pattern[str]
    weights: tuple[float, ...]  # indexed by capture group number


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    cfg: dict[str, Any]  # numbers straight from the YAML (threshold, windows, reaches...)
    spelling: dict[str, str]
    cues: dict[str, _CueSet]
    exclusions: dict[str, re.Pattern[str]]
    departments: dict[str, re.Pattern[str]]
    rx: dict[str, re.Pattern[str]]  # pseudo, past, present, resolved, hypothetical, pet, human_injury
    words: dict[str, frozenset[str]]  # negation, terminators, whether, fillers, abbreviations, known
    fuzzy_words: tuple[str, ...]
    fuzzy_cache: dict[str, str | None] = field(default_factory=dict)


def _expand(pattern: str, lexicons: dict[str, list[str]], depth: int = 0) -> str:
    """Expand {gapN} and {lexicon} macros into plain regex."""
    pattern = _GAP.sub(lambda m: rf"(?: [^\s.,]\S*){{0,{m.group(1) or 3}}}", pattern)

    def lexicon(match: re.Match[str]) -> str:
        words = sorted((str(w) for w in lexicons[match.group(1)]), key=len, reverse=True)
        return "(?:" + "|".join(_expand(w, lexicons, depth + 1) for w in words) + ")"

    if depth > 5:
        raise ValueError(f"lexicon nesting too deep in {pattern!r}")
    return _MACRO.sub(lexicon, pattern)


def _anchored(patterns: list[str], lexicons: dict[str, list[str]]) -> re.Pattern[str]:
    """One regex matching any of the patterns on whole tokens (never matches when empty)."""
    body = "|".join(_expand(str(p), lexicons) for p in patterns) or r"(?!x)x"
    return re.compile(rf"(?<!\S)(?:{body})(?!\S)")


def _cue_set(tiers: dict[Any, list[str]], lexicons: dict[str, list[str]]) -> _CueSet:
    """Compile weighted cues into one alternation; stronger and longer cues are tried first."""
    cues = sorted(
        ((float(w), _CAPTURING.sub("(?:", _expand(str(p), lexicons))) for w, ps in tiers.items() for p in ps),
        key=lambda wp: (-wp[0], -len(wp[1])),
    )
    body = "|".join(f"({p})" for _, p in cues)
    return _CueSet(re.compile(rf"(?<!\S)(?:{body})(?!\S)"), (0.0, *(w for w, _ in cues)))


def _check_strings(node: Any, where: str = "vocabulary") -> None:
    """Every list entry must be a string: YAML silently reads a bare `no` or `on` as a boolean."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        bad = [item for item in node if not isinstance(item, str)]
        if bad:
            raise ValueError(f"{where} has non-string entries {bad!r}; quote them")


@functools.cache
def load_vocabulary(path: Path = VOCABULARY_PATH) -> _Vocabulary:
    """Load and compile the cue vocabulary once per path."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    _check_strings(raw)
    lex: dict[str, list[str]] = raw["lexicons"]
    unknown = set(raw["intents"]) - set(Intent)
    if unknown:
        raise ValueError(f"vocabulary names unknown intents: {sorted(unknown)}")
    neg, temporal, hyp, fuzzy = raw["negation"], raw["temporal"], raw["hypothetical"], raw["fuzzy"]
    cues = {
        name: _cue_set(tiers, lex) for name, tiers in [*raw["intents"].items(), (_SYMPTOMS, raw["symptoms"])]
    }
    spelling = {str(k): str(v) for k, v in raw["spelling"].items()}
    patterns = {"pseudo": neg["pseudo"], "hypothetical": hyp["openers"], **raw["animals"]}
    patterns |= {kind: temporal[kind] for kind in ("past", "present", "resolved")}
    words = {"negation": neg["words"], "terminators": neg["terminators"], "whether": hyp["whether_verbs"]}
    words |= {"fillers": raw["fillers"], "abbreviations": raw["abbreviations"]}
    words["known"] = [*spelling.values(), *fuzzy["not_typos"]]
    return _Vocabulary(
        cfg={k: raw[k] for k in ("threshold", "fallback_min", "max_intents")}
        | {"negation_window": neg["window"], "temporal_reach": temporal["reach"]}
        | {"hypothetical_reach": hyp["reach"], "department_reach": raw["departments"]["reach"]}
        | {"department_weight": raw["departments"]["weight"]}
        | {f"fuzzy_{k}": fuzzy[k] for k in ("min_length", "cutoff")},
        spelling=spelling,
        cues=cues,
        exclusions={name: _anchored(ps, lex) for name, ps in raw["exclusions"].items()},
        departments={name: _anchored(ps, lex) for name, ps in raw["departments"]["map"].items()},
        rx={name: _anchored(ps, lex) for name, ps in patterns.items()},
        words={name: frozenset(ws) for name, ws in words.items()},
        fuzzy_words=tuple(fuzzy["words"]),
    )


# --------------------------------------------------------------------------- normalisation

_TOKEN = re.compile(
    r"(?P<special>w/o|w/|f/u|[ap]\.m\.)"
    r"|(?P<num>\d+(?:st|nd|rd|th)(?![^\W\d_])|\d+(?:[.:,]\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<stop>[.!?;]+)|(?P<comma>[,:()]|--|[—–])",
    re.IGNORECASE,
)
_SPECIAL = {"w/o": "without", "w/": "with", "f/u": "follow up", "a.m.": "am", "p.m.": "pm"}
_IS_AFTER = frozenset(["it", "he", "she", "that", "what", "there", "here", "who", "where", "how", "let"])
_CONTRACTIONS = {"m": "am", "re": "are", "ve": "have", "ll": "will", "d": "would"}


@dataclass(slots=True)
class _Doc:
    """Normalised text with a map back to original offsets and per-token sentence ids."""

    text: str
    starts: list[int]
    ends: list[int]
    tok_starts: list[int]
    toks: list[str]
    sent: list[int]

    def tok_at(self, offset: int) -> int:
        return bisect_right(self.tok_starts, offset) - 1


def _contract(word: str) -> str:
    """Expand one apostrophe contraction; drop possessive 's."""
    base, _, suffix = word.partition("'")
    if suffix == "t" and base.endswith("n"):
        return {"ca": "can not", "wo": "will not", "sha": "shall not"}.get(
            base[:-1], f"{base[:-1]} not"
        ).strip()
    if suffix == "s":
        return f"{base} is" if base in _IS_AFTER else base
    return f"{base} {_CONTRACTIONS[suffix]}" if suffix in _CONTRACTIONS else base + suffix


_FUZZY_CACHE_MAX = 50_000


def _fuzzy_word(token: str, voc: _Vocabulary) -> str | None:
    """Closest long cue word for a mangled token, or None (memoised per vocabulary)."""
    if token in voc.fuzzy_cache:
        return voc.fuzzy_cache[token]
    best = None
    # Inflections ("scheduled", "pharmacist") are not typos of the cue word.
    inflected = any(token[: len(w) - 1] == w[:-1] or w.startswith(token) for w in voc.fuzzy_words)
    if len(token) >= voc.cfg["fuzzy_min_length"] and token not in voc.words["known"] and not inflected:
        choices = [w for w in voc.fuzzy_words if w[0] == token[0] and abs(len(w) - len(token)) <= 2]
        found = process.extractOne(token, choices, scorer=fuzz.ratio, score_cutoff=voc.cfg["fuzzy_cutoff"])
        best = found[0] if found else None
    if len(voc.fuzzy_cache) >= _FUZZY_CACHE_MAX:  # names and noise would grow it without bound
        voc.fuzzy_cache.clear()
    voc.fuzzy_cache[token] = best
    return best


def _rewrite(word: str, voc: _Vocabulary) -> str:
    """Lower-case, expand contractions, fix known spellings and fuzzy-match long cue words."""
    low = word.lower().replace("’", "'")
    if "'" in low:
        low = _contract(low)
    if low in voc.spelling:
        return voc.spelling[low]
    if " " not in low and low.isalpha():
        return _fuzzy_word(low, voc) or low
    return low


def _normalise(text: str, voc: _Vocabulary) -> _Doc:
    """Tokenise and rewrite text, keeping original offsets for every normalised character."""
    doc = _Doc("", [], [], [], [], [])
    parts: list[str] = []
    pos, sentence, last_raw = 0, 0, ""
    for m in _TOKEN.finditer(text):
        kind, raw, start, end = m.lastgroup, m.group(), m.start(), m.end()
        if kind in ("stop", "comma"):
            if kind == "stop" and raw == "." and last_raw in voc.words["abbreviations"]:
                continue
            if not doc.toks or doc.toks[-1] in ".,":
                if doc.toks and kind == "stop" and doc.toks[-1] == ",":
                    doc.toks[-1] = parts[-1] = "."
                    sentence += 1
                continue
            out = "." if kind == "stop" else ","
        elif kind == "special":
            out = _SPECIAL[raw.lower()]
        elif kind == "num":
            out = raw.lower()
        else:
            out = _rewrite(raw, voc)
            if out in voc.words["fillers"]:
                continue
        last_raw = raw.lower()
        if parts:
            parts.append(" ")
            doc.starts.append(start)
            doc.ends.append(doc.ends[-1])
            pos += 1
        if out == raw.lower() and len(out) == end - start:
            doc.starts.extend(range(start, end))
            doc.ends.extend(range(start + 1, end + 1))
        else:
            doc.starts.extend([start] * len(out))
            doc.ends.extend([end] * len(out))
        offset = pos
        for sub in out.split(" "):
            doc.tok_starts.append(offset)
            doc.toks.append(sub)
            doc.sent.append(sentence)
            offset += len(sub) + 1
        pos += len(out)
        parts.append(out)
        if out == ".":
            sentence += 1
    doc.text = "".join(parts)
    return doc


# --------------------------------------------------------------------------- matching


@dataclass(slots=True)
class _Hit:
    weight: float
    start: int  # normalised offsets
    end: int
    tok: int
    cue: tuple[str, int] = ("", 0)  # repeating one cue adds no evidence


def _spans(regex: re.Pattern[str], doc: _Doc) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in regex.finditer(doc.text)]


def _overlaps(hit: _Hit, spans: list[tuple[int, int]]) -> bool:
    return any(s < hit.end and hit.start < e for s, e in spans)


def _find(name: str, cue: _CueSet, doc: _Doc) -> list[_Hit]:
    return [
        _Hit(
            cue.weights[m.lastindex or 0], m.start(), m.end(), doc.tok_at(m.start()), (name, m.lastindex or 0)
        )
        for m in cue.regex.finditer(doc.text)
    ]


def _negated(tok: int, doc: _Doc, voc: _Vocabulary, negators: set[int]) -> bool:
    """A negation word shortly before the cue, inside its clause, negates it."""
    for i in range(tok - 1, max(-1, tok - 1 - voc.cfg["negation_window"]), -1):
        word = doc.toks[i]
        if word in ".," or word in voc.words["terminators"]:
            return False
        if i in negators:
            return True
    return False


def _negators(doc: _Doc, voc: _Vocabulary) -> set[int]:
    pseudo = {
        i for s, e in _spans(voc.rx["pseudo"], doc) for i in range(doc.tok_at(s), doc.tok_at(e - 1) + 1)
    }
    return {i for i, t in enumerate(doc.toks) if t in voc.words["negation"] and i not in pseudo}


def _markers(doc: _Doc, voc: _Vocabulary) -> tuple[list[tuple[int, bool]], list[tuple[int, int]]]:
    """Temporal markers as (token, is_over) plus resolved spans in token units."""
    resolved = [(doc.tok_at(s), doc.tok_at(e - 1)) for s, e in _spans(voc.rx["resolved"], doc)]
    marks = [(doc.tok_at(s), True) for s, _ in _spans(voc.rx["past"], doc)]
    marks += [(a, True) for a, _ in resolved] + [(b, True) for _, b in resolved]
    for s, _ in _spans(voc.rx["present"], doc):
        tok = doc.tok_at(s)
        if not any(a <= tok <= b for a, b in resolved):
            marks.append((tok, False))
    return marks, resolved


def _not_current(hit: _Hit, doc: _Doc, voc: _Vocabulary, marks: list[tuple[int, bool]]) -> bool:
    """True when the nearest temporal marker in the sentence puts the symptom in the past."""
    best: tuple[int, bool] | None = None
    for tok, over in marks:
        dist = abs(tok - hit.tok)
        if doc.sent[tok] != doc.sent[hit.tok] or dist > voc.cfg["temporal_reach"]:
            continue
        if best is None or dist < best[0] or (dist == best[0] and not over):
            best = (dist, over)
    return best is not None and best[1]


def _hypothetical_spans(doc: _Doc, voc: _Vocabulary) -> list[tuple[int, int]]:
    """Token ranges of "if ..." clauses, minus indirect questions ("wondering if")."""
    out = []
    for s, _ in _spans(voc.rx["hypothetical"], doc):
        first = doc.tok_at(s)
        if first and doc.toks[first - 1] in voc.words["whether"]:
            continue
        last = first
        while (
            last + 1 < len(doc.toks)
            and doc.toks[last + 1] not in ".,"
            and last - first < voc.cfg["hypothetical_reach"]
        ):
            last += 1
        out.append((first, last))
    return out


# --------------------------------------------------------------------------- scoring


def _noisy_or(hits: list[_Hit]) -> float:
    """Combine distinct cues: 1 - prod(1 - w)."""
    distinct: dict[tuple[str, int], float] = {}
    for hit in hits:
        distinct[hit.cue] = max(hit.weight, distinct.get(hit.cue, 0.0))
    miss = 1.0
    for weight in distinct.values():
        miss *= 1.0 - weight
    return 1.0 - miss


def _strongest(hits: list[_Hit]) -> _Hit:
    return min(hits, key=lambda h: (-h.weight, h.start))


def _current_symptoms(hits: list[_Hit], doc: _Doc, voc: _Vocabulary) -> list[_Hit]:
    """Drop symptoms that are hypothetical, resolved or in the past."""
    marks, resolved = _markers(doc, voc)
    unreal = resolved + _hypothetical_spans(doc, voc)
    return [
        h
        for h in hits
        if not any(a <= h.tok <= b for a, b in unreal) and not _not_current(h, doc, voc, marks)
    ]


def _department_hits(staff: list[_Hit], doc: _Doc, voc: _Vocabulary) -> dict[str, list[_Hit]]:
    """Departments named right after a transfer cue add their own intent."""
    out: dict[str, list[_Hit]] = {}
    for name, regex in voc.departments.items():
        for s, e in _spans(regex, doc):
            tok = doc.tok_at(s)
            if any(h.tok <= tok <= doc.tok_at(h.end - 1) + voc.cfg["department_reach"] for h in staff):
                out.setdefault(name, []).append(_Hit(voc.cfg["department_weight"], s, e, tok, _DEPARTMENT))
    return out


def _collect(doc: _Doc, voc: _Vocabulary) -> tuple[dict[Intent, list[_Hit]], list[_Hit]]:
    """Kept cue hits per intent, plus every clinical-looking hit (for forced-clinical evidence)."""
    negators = _negators(doc, voc)
    clinical_any: list[_Hit] = []
    kept: dict[Intent, list[_Hit]] = {intent: [] for intent in Intent}
    for name, cue in voc.cues.items():
        found = _find(name, cue, doc)
        target = Intent.CLINICAL if name == _SYMPTOMS else Intent(name)
        if target is Intent.CLINICAL:
            clinical_any += found
        excluded = _spans(voc.exclusions[target], doc) if target in voc.exclusions else []
        found = [h for h in found if not _overlaps(h, excluded) and not _negated(h.tok, doc, voc, negators)]
        if name == _SYMPTOMS:
            found = _current_symptoms(found, doc, voc)
        kept[target] += found
    for name, hits in _department_hits(kept[Intent.SPEAK_TO_STAFF], doc, voc).items():
        kept[Intent(name)] += hits
    pets = _spans(voc.rx["pet"], doc)
    # When the animal hurt a person, the person is the patient; otherwise the pet's health is out of scope.
    if pets and voc.rx["human_injury"].search(doc.text):
        kept[Intent.OUT_OF_SCOPE] = [h for h in kept[Intent.OUT_OF_SCOPE] if not _overlaps(h, pets)]
    elif pets and kept[Intent.OUT_OF_SCOPE]:
        kept[Intent.CLINICAL] = []
    return kept, clinical_any


def _apply_conventions(
    scores: dict[Intent, float],
    best: dict[Intent, _Hit],
    kept: dict[Intent, list[_Hit]],
    doc: _Doc,
    threshold: float,
) -> None:
    """Labelling conventions that relate intents to each other (docs/intents.md)."""
    if Intent.CANCEL in scores and Intent.SCHEDULE in scores:
        # Cancelling and booking in one sentence ("cancel it and book me another") is one rebooking.
        cancelled = {doc.sent[h.tok] for h in kept[Intent.CANCEL]}
        if any(doc.sent[h.tok] in cancelled for h in kept[Intent.SCHEDULE]):
            scores[Intent.RESCHEDULE] = max(scores.get(Intent.RESCHEDULE, 0.0), scores[Intent.CANCEL])
            best.setdefault(Intent.RESCHEDULE, best[Intent.CANCEL])
            kept[Intent.RESCHEDULE] = kept[Intent.RESCHEDULE] + kept[Intent.CANCEL]
    if Intent.RESCHEDULE in scores:
        scores.pop(Intent.CANCEL, None)  # cancel-and-rebook is a reschedule
        # Booking words beside a move ("the scheduling desk", "find me a new time") are the same request.
        moved = {doc.sent[h.tok] for h in kept[Intent.RESCHEDULE]}
        own = [h for h in kept[Intent.SCHEDULE] if h.cue != _DEPARTMENT and doc.sent[h.tok] not in moved]
        if Intent.SCHEDULE in scores and _noisy_or(own) < threshold:
            scores.pop(Intent.SCHEDULE)
    oos = scores.get(Intent.OUT_OF_SCOPE)
    if oos is not None:
        oos_sentences = {doc.sent[h.tok] for h in kept[Intent.OUT_OF_SCOPE]}
        for intent in [i for i in scores if i not in (Intent.OUT_OF_SCOPE, Intent.CLINICAL)]:
            if scores[intent] <= oos and doc.sent[best[intent].tok] in oos_sentences:
                scores.pop(intent)  # e.g. another hospital's *bill* is not our billing


def _to_score(intent: Intent, score: float, hit: _Hit | None, text: str, doc: _Doc) -> IntentScore:
    if hit is None:
        return IntentScore(intent, round(score, 3), "", 0, 0)
    start, end = doc.starts[hit.start], doc.ends[hit.end - 1]
    return IntentScore(intent, round(min(score, 1.0), 3), text[start:end], start, end)


def classify(text: str, *, red_flag: bool = False, has_symptoms: bool = False) -> list[IntentScore]:
    """Return 1-3 intents for a contact, most likely first ([] for empty text or a bare greeting).

    ``red_flag`` / ``has_symptoms`` come from the red-flag screener running beside this and
    guarantee that ``clinical`` is present.
    """
    voc = load_vocabulary()
    doc = _normalise(text or "", voc)
    kept, clinical_any = _collect(doc, voc)
    best = {intent: _strongest(hits) for intent, hits in kept.items() if hits}
    raw = {intent: _noisy_or(hits) for intent, hits in kept.items() if hits}
    scores = {intent: s for intent, s in raw.items() if s >= voc.cfg["threshold"]}
    _apply_conventions(scores, best, kept, doc, voc.cfg["threshold"])
    if not scores and raw:
        intent, top = max(raw.items(), key=lambda kv: (kv[1], -best[kv[0]].start))
        if top >= voc.cfg["fallback_min"]:
            scores = {intent: top}
    forced = 0.99 if red_flag else 0.9 if has_symptoms else 0.0
    if forced:
        scores[Intent.CLINICAL] = max(scores.get(Intent.CLINICAL, 0.0), forced)
        if Intent.CLINICAL not in best and clinical_any:
            best[Intent.CLINICAL] = _strongest(clinical_any)
    ranked = sorted(scores, key=lambda i: (-scores[i], best[i].start if i in best else 0))
    top_n = ranked[: voc.cfg["max_intents"]]
    if forced and Intent.CLINICAL not in top_n:
        top_n = [*top_n[: voc.cfg["max_intents"] - 1], Intent.CLINICAL]
    return [_to_score(i, scores[i], best.get(i), text, doc) for i in top_n]
