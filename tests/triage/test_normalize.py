"""Normalisation keeps a map back to the original text; the screen never breaks on odd input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careline.triage.normalize import normalize, words_to_number
from careline.triage.rules import Disposition, screen


@pytest.mark.parametrize(
    ("phrase", "digits"),
    [
        ("a hundred and four", "104"),
        ("one oh two point five", "102.5"),
        ("ninety nine point five", "99.5"),
        ("thirty-eight point two", "38.2"),
        ("twenty", "20"),
        ("one hundred two", "102"),
        ("one", None),
    ],
)
def test_it_turns_spoken_numbers_into_digits(phrase: str, digits: str | None) -> None:
    assert words_to_number(phrase) == digits


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("I CAN’T breathe", "i can not breathe"),
        ("cant   catch my breath", "can not catch my breath"),
        ("my 5-wk-old w/ fever", "my 5 week old with fever"),
        ("he's sixty two and won't eat", "he is 62 and will not eat"),
        ("stuffy nose + sore throat", "stuffy nose and sore throat"),
    ],
)
def test_it_normalizes_case_contractions_and_shorthand(text: str, normalized: str) -> None:
    assert normalize(text).text == normalized


def test_every_normalized_span_maps_back_into_the_original() -> None:
    text = "My 2-month-old can’t stop crying, temp a hundred and one"
    norm = normalize(text)
    start = norm.text.index("101")
    s, e = norm.span(start, start + 3)
    assert text[s:e] == "a hundred and one"
    s, e = norm.span(norm.text.index("can not"), norm.text.index("can not") + 7)
    assert text[s:e] == "can’t"


WORDS = st.sampled_from(
    [
        "chest",
        "pain",
        "no",
        "not",
        "can't",
        "breathe",
        "fever",
        "my",
        "baby",
        "6",
        "week",
        "old",
        "a",
        "hundred",
        "and",
        "one",
        "last",
        "year",
        "what",
        "if",
        "bleeding",
        "won't",
        "stop",
        "dog",
        "face",
        "drooping",
        ",",
        ".",
        "?",
        "temp",
        "38.5",
        "pregnant",
        "stroke",
        "center",
        "İ",
        "’",
        "  ",
        "-",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=30).map(" ".join))
def test_findings_always_point_at_real_text(text: str) -> None:
    result = screen(text)
    for finding in [*result.red_flags, *result.symptoms]:
        assert 0 <= finding.start <= finding.end <= len(text)
        assert text[finding.start : finding.end] == finding.evidence
        assert finding.disposition.rank <= result.disposition.rank
    assert all(f.disposition is Disposition.EMERGENCY for f in result.red_flags)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_it_never_crashes_on_arbitrary_text(text: str) -> None:
    result = screen(text)
    assert isinstance(result.disposition, Disposition)
