"""The protocol library is data: every file loads, cites its source and asks its questions in order."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from careline.triage.model import Disposition, RedFlagKind
from careline.triage.protocols import PROTOCOL_DIR, Protocol, ProtocolError, load_library
from careline.triage.rules import questions_for, screen

LIB = load_library()
FILES = sorted(PROTOCOL_DIR.glob("*.yaml"))
REQUIRED = {
    "cardiac",
    "stroke",
    "breathing",
    "anaphylaxis",
    "bleeding",
    "suicidal",
    "poisoning",
    "pediatric_fever",
    "sepsis_infection",
    "head_injury",
    "abdominal",
    "pregnancy",
    "seizure",
    "diabetic",
    "testicular",
    "burns",
    "dehydration",
    "eye_injury",
    "cold_flu",
    "cough",
    "sore_throat",
    "back_pain",
    "rash",
    "urinary",
    "earache",
    "headache",
    "sprain",
    "medication",
}


def test_every_protocol_file_loads_once_into_the_library() -> None:
    assert len(LIB.protocols) == len(FILES)
    assert {p.path for p in LIB.protocols} == set(FILES)
    assert load_library() is LIB


def test_the_required_protocols_are_all_present() -> None:
    assert set(LIB.by_id) >= REQUIRED


@pytest.mark.parametrize("protocol", LIB.protocols, ids=lambda p: p.id)
def test_each_protocol_cites_its_source_and_has_rules_advice_and_questions(protocol: Protocol) -> None:
    assert len(protocol.source) > 40
    assert protocol.rules and protocol.questions
    for rule in protocol.rules:
        assert rule.id and rule.advice, rule.id
        assert rule.disposition in protocol.advice, f"{rule.id}: no advice for {rule.disposition}"


@pytest.mark.parametrize("protocol", LIB.protocols, ids=lambda p: p.id)
def test_questions_are_asked_most_serious_first(protocol: Protocol) -> None:
    ranks = [q.if_yes.rank for q in protocol.questions]
    assert ranks == sorted(ranks, reverse=True), protocol.id
    assert len({q.id for q in protocol.questions}) == len(protocol.questions)


@pytest.mark.parametrize("protocol", LIB.protocols, ids=lambda p: p.id)
def test_rules_are_listed_most_serious_first(protocol: Protocol) -> None:
    ranks = [r.disposition.rank for r in protocol.rules]
    assert ranks == sorted(ranks, reverse=True), protocol.id


def test_rule_ids_are_unique_and_stable_looking() -> None:
    ids = [r.id for p in LIB.protocols for r in p.rules]
    assert len(ids) == len(set(ids))
    assert all("." in i and i == i.lower() and " " not in i for i in ids)


def test_every_emergency_rule_has_a_red_flag_kind() -> None:
    for protocol in LIB.protocols:
        for rule in protocol.rules:
            if rule.disposition is Disposition.EMERGENCY:
                assert isinstance(rule.kind, RedFlagKind), rule.id


def test_every_concept_in_the_lexicon_is_used_by_a_rule() -> None:
    used = {c for p in LIB.protocols for r in p.rules for c in (*r.unless, *(c for g in r.groups for c in g))}
    assert set(LIB.concepts) | set(LIB.measures) == used


def test_every_red_flag_kind_has_a_protocol() -> None:
    kinds = {r.kind for p in LIB.protocols for r in p.rules if r.disposition is Disposition.EMERGENCY}
    assert kinds == set(RedFlagKind)


def test_raw_files_use_only_known_keys() -> None:
    allowed = {"id", "title", "kind", "priority", "source", "concepts", "rules", "advice", "questions"}
    for path in FILES:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(raw) <= allowed, path.name
        assert raw["id"] == path.stem, path.name


def test_a_rule_naming_an_unknown_concept_is_rejected(tmp_path: Path) -> None:
    bad = {
        "id": "broken",
        "priority": 1,
        "source": "nowhere in particular, for a test of the loader",
        "rules": [{"id": "broken.rule", "all": ["no_such_concept"], "disposition": "routine"}],
        "advice": {"routine": "x"},
        "questions": [{"id": "q", "text": "?", "if_yes": "routine"}],
    }
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(ProtocolError, match="unknown concepts"):
        load_library.__wrapped__(tmp_path)


def test_guided_questions_follow_the_protocols_that_fired() -> None:
    questions = questions_for(screen("I have chest pain going down my left arm"))
    assert questions[0].id.startswith("cardiac.")
    assert questions[0].if_yes is Disposition.EMERGENCY
    assert [q.if_yes.rank for q in questions] == sorted((q.if_yes.rank for q in questions), reverse=True)
