"""Loading the protocol library (YAML data beside this module) into compiled, validated rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from careline.triage.model import Disposition, RedFlagKind

HERE = Path(__file__).parent
PROTOCOL_DIR = HERE / "protocols"
_GAP = re.compile(r" ?@n(\d+) ?")
_MACRO = re.compile(r"@([a-z_]+)")
# word boundaries that treat apostrophes as part of a word ("he's" is one word)
# (\b on the left is much faster than a lookbehind and only differs around apostrophes)
_LEFT, _RIGHT = r"\b", r"(?![\w'])"


class ProtocolError(ValueError):
    """A protocol or lexicon file is malformed."""


@dataclass(frozen=True, slots=True)
class Question:
    """A guided nurse-triage question and the disposition a 'yes' sets."""

    id: str
    text: str
    if_yes: Disposition


@dataclass(frozen=True, slots=True)
class When:
    """Patient conditions a rule needs; an unknown fact passes except where noted."""

    min_age_years: float | None = None
    max_age_years: float | None = None  # an unknown age does not pass: infant rules need an age
    pregnant: bool | None = None
    child: bool | None = None
    min_weeks: float | None = None
    sex: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """All groups must be present (each group is any-of its concepts) and none of `unless` to fire."""

    id: str
    protocol: str
    kind: RedFlagKind | None
    groups: tuple[tuple[str, ...], ...]
    disposition: Disposition
    when: When
    advice: str
    unless: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Protocol:
    """One protocol file: its rules (most serious first), advice and guided questions."""

    id: str
    title: str
    kind: RedFlagKind | None
    source: str
    priority: int
    rules: tuple[Rule, ...]
    questions: tuple[Question, ...]
    advice: Mapping[Disposition, str]
    path: Path
    concepts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Concept:
    """A compiled concept: one regex over normalised text."""

    name: str
    pattern: re.Pattern[str]
    name_check: bool = True


@dataclass(frozen=True, slots=True)
class Measure:
    """A concept read from a number: fires when the quantity is within [low, high]."""

    name: str
    quantity: str
    low: float = float("-inf")
    high: float = float("inf")


@dataclass(frozen=True)
class Library:
    """Everything the engine needs, compiled once."""

    protocols: tuple[Protocol, ...]
    concepts: Mapping[str, Concept]
    measures: Mapping[str, Measure]
    facts: Mapping[str, re.Pattern[str]]
    context: Mapping[str, Any]
    advice: Mapping[str, str]
    by_id: Mapping[str, Protocol] = field(default_factory=dict)


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse one YAML mapping file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ProtocolError(f"{path.name}: expected a mapping at the top level")
    return data


def compile_patterns(patterns: Iterable[str], macros: Mapping[str, str], where: str) -> re.Pattern[str]:
    """Expand macros, wrap each alternative in word boundaries and compile them as one regex."""
    parts = [f"{_LEFT}(?:{expand(p, macros)}){_RIGHT}" for p in patterns]
    try:
        return re.compile("|".join(parts))
    except re.error as exc:
        raise ProtocolError(f"{where}: bad pattern: {exc}") from exc


def expand(pattern: str, macros: Mapping[str, str]) -> str:
    """Replace ' @nK ' gaps and @macro names with their regex text."""
    pattern = _GAP.sub(lambda m: rf"(?:,? [\w']+){{0,{m.group(1)}}}?,? ", pattern)
    return _MACRO.sub(lambda m: _macro(m.group(1), macros), pattern)


def _macro(name: str, macros: Mapping[str, str]) -> str:
    if name not in macros:
        raise ProtocolError(f"unknown macro @{name}")
    return macros[name]


def _concepts(raw: Mapping[str, Any], macros: Mapping[str, str], where: str) -> dict[str, Concept]:
    out: dict[str, Concept] = {}
    for name, spec in raw.items():
        patterns, name_check = (
            (spec, True) if isinstance(spec, list) else (spec["patterns"], spec["name_check"])
        )
        out[name] = Concept(name, compile_patterns(patterns, macros, f"{where}:{name}"), name_check)
    return out


def _when(raw: Mapping[str, Any] | None) -> When:
    raw = dict(raw or {})
    unknown = set(raw) - set(When.__dataclass_fields__)
    if unknown:
        raise ProtocolError(f"unknown 'when' keys: {sorted(unknown)}")
    return When(**raw)


def _rule(
    raw: Mapping[str, Any], protocol: str, kind: RedFlagKind | None, advice: Mapping[Disposition, str]
) -> Rule:
    groups = tuple((g,) if isinstance(g, str) else tuple(g) for g in raw["all"])
    disposition = Disposition(raw["disposition"])
    rule_kind = RedFlagKind(raw["kind"]) if "kind" in raw else kind
    if disposition is Disposition.EMERGENCY and rule_kind is None:
        raise ProtocolError(f"{raw['id']}: an emergency rule needs a red-flag kind")
    text = raw.get("advice") or advice.get(disposition, "")
    unless = tuple(raw.get("unless") or ())
    return Rule(raw["id"], protocol, rule_kind, groups, disposition, _when(raw.get("when")), text, unless)


def _protocol(path: Path, macros: Mapping[str, str], concepts: dict[str, Concept]) -> Protocol:
    raw = read_yaml(path)
    for key in ("id", "source", "rules", "questions", "advice", "priority"):
        if not raw.get(key):
            raise ProtocolError(f"{path.name}: missing '{key}'")
    pid = raw["id"]
    for name, concept in _concepts(raw.get("concepts") or {}, macros, path.name).items():
        if name in concepts:
            raise ProtocolError(f"{path.name}: concept '{name}' is defined twice")
        concepts[name] = concept
    kind = RedFlagKind(raw["kind"]) if raw.get("kind") else None
    advice = {Disposition(k): v for k, v in raw["advice"].items()}
    rules = tuple(_rule(r, pid, kind, advice) for r in raw["rules"])
    questions = tuple(Question(q["id"], q["text"], Disposition(q["if_yes"])) for q in raw["questions"])
    used = frozenset(c for rule in rules for group in rule.groups for c in group)
    return Protocol(
        pid,
        raw.get("title", pid),
        kind,
        raw["source"].strip(),
        int(raw["priority"]),
        rules,
        questions,
        advice,
        path,
        used,
    )


def _check_references(protocols: Iterable[Protocol], known: set[str]) -> None:
    for protocol in protocols:
        for rule in protocol.rules:
            missing = ({c for group in rule.groups for c in group} | set(rule.unless)) - known
            if missing:
                raise ProtocolError(f"{rule.id}: unknown concepts {sorted(missing)}")


@cache
def load_library(protocol_dir: Path = PROTOCOL_DIR) -> Library:
    """Load and compile the lexicon, context triggers and every protocol file (once per process)."""
    lexicon = read_yaml(HERE / "lexicon.yaml")
    macros = lexicon["macros"]
    concepts = _concepts(lexicon["concepts"], macros, "lexicon.yaml")
    measures = {
        n: Measure(n, m["quantity"], m.get("min", float("-inf")), m.get("max", float("inf")))
        for n, m in lexicon["measures"].items()
    }
    facts = {n: compile_patterns(p, macros, f"facts:{n}") for n, p in lexicon["facts"].items()}
    files = sorted(protocol_dir.glob("*.yaml"))
    protocols = sorted((_protocol(p, macros, concepts) for p in files), key=lambda p: (p.priority, p.id))
    _check_references(protocols, set(concepts) | set(measures))
    context = read_yaml(HERE / "context.yaml")
    return Library(
        tuple(protocols), concepts, measures, facts, context, lexicon["advice"], {p.id: p for p in protocols}
    )
