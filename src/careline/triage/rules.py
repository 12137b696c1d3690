"""The red-flag screening engine: conservative, explainable, and never lowers a person's disposition."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from careline.triage.context import ContextRules, Mention, Status, apply_context, context_rules, is_name
from careline.triage.facts import Facts, measure_mentions, patient_facts
from careline.triage.model import (
    Disposition,
    Finding,
    RedFlagKind,
    Screening,
    max_disposition,
    never_lower,
)
from careline.triage.normalize import Normalized, normalize
from careline.triage.protocols import Library, Protocol, Question, Rule, When, load_library

__all__ = [
    "Disposition",
    "Finding",
    "RedFlagKind",
    "Screening",
    "load_library",
    "max_disposition",
    "never_lower",
    "questions_for",
    "screen",
]

# a combination rule's evidence is the whole stretch of text when it is short enough to read
_MAX_EVIDENCE = 120
_Index = Mapping[str, Sequence[Mention]]
_SERIOUS = frozenset({Disposition.EMERGENCY, Disposition.URGENT})
# a settled serious symptom still gets a nurse call, a future one a routine callback
_ECHOES = (
    (Status.RESOLVED, Disposition.URGENT, "resolved"),
    (Status.HYPOTHETICAL, Disposition.ROUTINE, "hypothetical"),
)


@dataclass(frozen=True, slots=True)
class _Hit:
    finding: Finding
    advice: str
    priority: int


def screen(
    text: str, *, age_years: float | None = None, sex: str | None = None, pregnant: bool | None = None
) -> Screening:
    """Screen one utterance for red flags and other symptoms; the result explains every flag."""
    lib, ctx = load_library(), context_rules()
    norm = normalize(text)
    facts = patient_facts(norm.text, lib, age_years=age_years, sex=sex, pregnant=pregnant)
    mentions = apply_context(norm.text, find_mentions(norm.text, lib, ctx), ctx)
    indexes = _Indexes(mentions)
    hits = []
    for protocol in lib.protocols:
        if not protocol.concepts.isdisjoint(indexes.present):
            hit = _protocol_hit(protocol, indexes, facts, norm, lib)
            if hit is not None:
                hits.append(hit)
    return _screening(hits, lib)


def find_mentions(text: str, lib: Library, ctx: ContextRules) -> list[Mention]:
    """Every concept and measure found in normalised text, skipping names like 'stroke center'."""
    out = []
    for concept in lib.concepts.values():
        for m in concept.pattern.finditer(text):
            if m.end() > m.start() and not (concept.name_check and is_name(text, m.start(), m.end(), ctx)):
                out.append(Mention(concept.name, m.start(), m.end()))
    out.extend(Mention(name, s, e) for name, s, e in measure_mentions(text, lib))
    return out


def questions_for(screening: Screening) -> list[Question]:
    """Guided nurse questions for the protocols that fired, most serious first."""
    lib = load_library()
    seen: dict[str, Protocol] = {}
    for f in [*screening.red_flags, *screening.symptoms]:
        seen.setdefault(f.protocol, lib.by_id[f.protocol])
    questions = [q for p in seen.values() for q in p.questions]
    return sorted(questions, key=lambda q: -q.if_yes.rank)


def _index(mentions: Iterable[Mention], statuses: set[Status]) -> dict[str, list[Mention]]:
    out: dict[str, list[Mention]] = {}
    for m in mentions:
        if m.status in statuses:
            out.setdefault(m.concept, []).append(m)
    return out


class _Indexes:
    """Mentions by concept: current ones, and current plus settled or future ones (the echoes)."""

    def __init__(self, mentions: Sequence[Mention]) -> None:
        self.present = {m.concept for m in mentions}
        self.affirmed = _index(mentions, {Status.AFFIRMED})
        statuses = {m.status for m in mentions}
        self.echoes = [
            (_index(mentions, {Status.AFFIRMED, status}), disposition, suffix)
            for status, disposition, suffix in _ECHOES
            if status in statuses
        ]


def _protocol_hit(
    protocol: Protocol, indexes: _Indexes, facts: Facts, norm: Normalized, lib: Library
) -> _Hit | None:
    """The first (most serious) rule of a protocol that fires, or a settled/future echo of one."""
    rules = [r for r in protocol.rules if holds(r.when, facts)]
    for rule in rules:
        if used := _match(rule, indexes.affirmed):
            return _hit(rule, used, rule.disposition, rule.id, rule.advice, protocol, norm)
    serious = [r for r in rules if r.disposition in _SERIOUS]
    for index, disposition, suffix in indexes.echoes:
        for rule in serious:
            if used := _match(rule, index):
                return _hit(
                    rule, used, disposition, f"{rule.id}.{suffix}", lib.advice[suffix], protocol, norm
                )
    return None


def holds(when: When, facts: Facts) -> bool:
    """True when the patient meets a rule's conditions; unknown facts pass except a maximum age."""
    age, weeks = facts.age_years, facts.gest_weeks
    # infant rules need a known age: an adult with a fever must not become a 6-week-old
    if when.max_age_years is not None and (age is None or age > when.max_age_years):
        return False
    if when.min_age_years is not None and age is not None and age < when.min_age_years:
        return False
    if when.min_weeks is not None and weeks is not None and weeks < when.min_weeks:
        return False
    pairs = ((when.pregnant, facts.pregnant), (when.child, facts.child), (when.sex, facts.sex))
    return all(want is None or have is None or want == have for want, have in pairs)


def _match(rule: Rule, index: _Index) -> list[Mention] | None:
    """The earliest mention of each group, or None when a group has none or an `unless` concept is present."""
    if any(c in index for c in rule.unless):
        return None
    used = []
    for group in rule.groups:
        candidates = [m for c in group for m in index.get(c, ())]
        if not candidates:
            return None
        used.append(min(candidates, key=lambda m: m.start))
    return used


def _hit(
    rule: Rule,
    used: Sequence[Mention],
    disposition: Disposition,
    rule_id: str,
    advice: str,
    protocol: Protocol,
    norm: Normalized,
) -> _Hit:
    spans = tuple(sorted({norm.span(m.start, m.end) for m in used}))
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    if end - start > _MAX_EVIDENCE:
        start, end = norm.span(used[0].start, used[0].end)
    evidence = norm.original[start:end]
    finding = Finding(rule.kind, rule.protocol, evidence, rule_id, disposition, start, end, spans)
    return _Hit(finding, advice, protocol.priority)


def _screening(hits: list[_Hit], lib: Library) -> Screening:
    red = sorted(
        (h for h in hits if h.finding.disposition is Disposition.EMERGENCY),
        key=lambda h: (h.priority, h.finding.start),
    )
    other = sorted(
        (h for h in hits if h.finding.disposition is not Disposition.EMERGENCY),
        key=lambda h: (-h.finding.disposition.rank, h.priority, h.finding.start),
    )
    disposition = max_disposition(*(h.finding.disposition for h in hits))
    top = red[0] if red else other[0] if other else None
    advice = top.advice if top else lib.advice["none"]
    return Screening(disposition, [h.finding for h in red], [h.finding for h in other], advice)
