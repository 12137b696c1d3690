"""ConText-style context for symptom mentions: negated, historical, hypothetical, resolved, or a pet's."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import Any

from careline.triage.protocols import compile_patterns, load_library

_WORD = re.compile(r"[\w']+")
_PUNCTUATION = re.compile(r"[,;:]")


class Status(StrEnum):
    """What the context says about one mention; only affirmed mentions can raise a red flag."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    RESOLVED = "resolved"
    PET = "pet"


# When several contexts apply, the first in this order wins: a pet is never the patient, and a
# definite negation or a past event outranks a question about the future.
_PRECEDENCE = (Status.PET, Status.NEGATED, Status.HISTORICAL, Status.HYPOTHETICAL, Status.RESOLVED)


@dataclass(frozen=True, slots=True)
class Mention:
    """A concept found in the normalised text at [start, end)."""

    concept: str
    start: int
    end: int
    status: Status = Status.AFFIRMED


@dataclass(frozen=True, slots=True)
class Trigger:
    """One context trigger type: its pattern, direction, reach in words and what ends its scope."""

    status: Status
    pattern: re.Pattern[str]
    forward: bool
    backward: bool
    window: int
    terminators: re.Pattern[str]
    punctuation_ends: bool = False


@dataclass(frozen=True, slots=True)
class ContextRules:
    """All compiled context patterns."""

    triggers: tuple[Trigger, ...]
    pseudo: re.Pattern[str]
    pets: re.Pattern[str]
    human: re.Pattern[str]
    name_suffix: re.Pattern[str]
    name_prefix: re.Pattern[str]
    sentence_end: re.Pattern[str]


@cache
def context_rules() -> ContextRules:
    """Compile context.yaml once."""
    raw = load_library().context
    sets = raw["terminator_sets"]
    triggers = tuple(_trigger(spec, sets) for spec in raw["triggers"])
    suffix = "|".join(raw["name_suffix"])
    prefix = "|".join(raw["name_prefix"])
    return ContextRules(
        triggers=triggers,
        pseudo=_compile(raw["pseudo"], "pseudo"),
        pets=_compile(raw["pets"]["mention"], "pets"),
        human=_compile(raw["pets"]["human"], "pets.human"),
        name_suffix=re.compile(rf" (?:{suffix})(?![\w'])"),
        # a topic word may sit between the prefix and the mention: "treats (child) seizures"
        name_prefix=re.compile(
            rf"(?<![\w'])(?:{prefix}) (?:(?:the|a|an|adult|child|pediatric|kids?|children) )?$"
        ),
        sentence_end=re.compile(raw["sentence_end"]),
    )


def _compile(patterns: Iterable[str], where: str) -> re.Pattern[str]:
    return compile_patterns(patterns, {}, f"context.yaml:{where}")


def _trigger(spec: dict[str, Any], sets: dict[str, list[str]]) -> Trigger:
    direction = spec["direction"]
    terminators = [p for name in spec["terminators"] for p in sets[name]]
    return Trigger(
        status=Status(spec["status"]),
        pattern=_compile(spec["patterns"], spec["status"]),
        forward=direction in ("forward", "both"),
        backward=direction in ("backward", "both"),
        window=int(spec["window"]),
        terminators=_compile(terminators, f"{spec['status']}.terminators"),
        punctuation_ends=bool(spec.get("punctuation_ends", False)),
    )


def is_name(text: str, start: int, end: int, rules: ContextRules) -> bool:
    """True when the words around a mention make it a name or topic ('seizure clinic', 'treats seizures')."""
    if rules.name_suffix.match(text, end) is not None:
        return True
    return rules.name_prefix.search(text, max(0, start - 40), start) is not None


def apply_context(text: str, mentions: Sequence[Mention], rules: ContextRules) -> list[Mention]:
    """Give every mention its context status."""
    if not mentions:
        return []
    doc = _Doc(text, rules, mentions)
    found: list[set[Status]] = [set() for _ in mentions]
    for trigger in rules.triggers:
        for t in trigger.pattern.finditer(text):
            if doc.blocked(t.start(), t.end()):
                continue
            lo, hi = doc.scope(trigger, t.start(), t.end())
            for i, m in enumerate(mentions):
                if (t.end() <= m.start < hi) or (lo <= m.start and m.end <= t.start()):
                    found[i].add(trigger.status)
    for i, m in enumerate(mentions):
        if doc.pet_sentence(m.start):
            found[i].add(Status.PET)
    return [replace(m, status=_pick(s)) for m, s in zip(mentions, found, strict=True)]


def _pick(statuses: set[Status]) -> Status:
    return next((s for s in _PRECEDENCE if s in statuses), Status.AFFIRMED)


class _Doc:
    """Per-text indexes: word starts, sentence bounds, blocked spans and pet sentences."""

    def __init__(self, text: str, rules: ContextRules, mentions: Sequence[Mention]) -> None:
        self.text = text
        self.words = [m.start() for m in _WORD.finditer(text)]
        ends = [m.end() for m in rules.sentence_end.finditer(text)]
        self.sentences = list(zip([0, *ends], [*ends, len(text)], strict=True))
        # a trigger inside a symptom phrase or a pseudo-trigger is part of that phrase, not context
        self.spans = [(m.start, m.end) for m in mentions] + [m.span() for m in rules.pseudo.finditer(text)]
        self.terms: dict[int, list[tuple[int, int]]] = {}
        self.pets = self._pet_sentences(rules)

    def blocked(self, start: int, end: int) -> bool:
        """True when [start, end) overlaps a mention or a pseudo-trigger."""
        return any(s < end and start < e for s, e in self.spans)

    def sentence(self, pos: int) -> tuple[int, int]:
        """The sentence containing pos."""
        return next(((s, e) for s, e in self.sentences if s <= pos < e), self.sentences[-1])

    def scope(self, trigger: Trigger, start: int, end: int) -> tuple[int, int]:
        """The trigger's reach: mentions starting in [lo, start) or [end, hi) are in scope."""
        lo = self._backward_limit(trigger, start) if trigger.backward else start
        hi = self._forward_limit(trigger, end) if trigger.forward else end
        return lo, hi

    def _forward_limit(self, trigger: Trigger, end: int) -> int:
        idx = bisect_left(self.words, end) + trigger.window
        limit = min(self.words[idx] if idx < len(self.words) else len(self.text), self.sentence(end)[1])
        for s, _ in self._terminators(trigger):
            if end <= s < limit:
                return s
        return limit

    def _backward_limit(self, trigger: Trigger, start: int) -> int:
        idx = bisect_left(self.words, start) - trigger.window
        limit = max(self.words[idx] if idx >= 0 else 0, self.sentence(start)[0])
        for _, e in reversed(self._terminators(trigger)):
            if limit < e <= start:
                return e
        return limit

    def _terminators(self, trigger: Trigger) -> list[tuple[int, int]]:
        key = id(trigger)
        if key not in self.terms:
            spans = [m.span() for m in trigger.terminators.finditer(self.text)]
            if trigger.punctuation_ends:
                spans = sorted(spans + [m.span() for m in _PUNCTUATION.finditer(self.text)])
            self.terms[key] = spans
        return self.terms[key]

    def _pet_sentences(self, rules: ContextRules) -> list[tuple[int, int]]:
        # a pet sentence, and the sentences after it until a person is named with symptoms again
        out, carry = [], False
        for s, e in self.sentences:
            pet = rules.pets.search(self.text, s, e) is not None
            human = rules.human.search(self.text, s, e) is not None
            if (pet or carry) and not human:
                out.append((s, e))
                carry = True
            else:
                carry = False
        return out

    def pet_sentence(self, pos: int) -> bool:
        """True when pos is in a sentence about a pet."""
        return any(s <= pos < e for s, e in self.pets)
