"""The matching rules on their own: folding, sound-alike keys, nicknames, dates of birth and name scores."""

from __future__ import annotations

from datetime import date

import pytest

from careline.patients import rules

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/4/1961", date(1961, 3, 4)),
        ("03/04/1961", date(1961, 3, 4)),
        ("3-4-1961", date(1961, 3, 4)),
        ("3.4.1961", date(1961, 3, 4)),
        ("1961-03-04", date(1961, 3, 4)),
        ("03041961", date(1961, 3, 4)),
        ("19610304", date(1961, 3, 4)),
        ("3/4/61", date(1961, 3, 4)),
        ("3/4/24", date(2024, 3, 4)),
        (" 3/4/1961 ", date(1961, 3, 4)),
    ],
)
def test_dates_of_birth_are_read_the_ways_agents_type_them(text: str, expected: date) -> None:
    assert rules.parse_dob(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("13/45/1961", "not a date of birth"),
        ("yesterday", "not a date of birth"),
        ("2/30/1990", "not a date of birth"),
        ("1/1/2027", "in the future"),
        ("12/31/1899", "before 1900"),
    ],
)
def test_impossible_dates_of_birth_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.parse_dob(text, today=TODAY)


def test_dob_variants_cover_swapped_day_and_month_and_one_digit_typos() -> None:
    variants = rules.dob_variants(date(1961, 3, 4), today=TODAY)
    assert variants[date(1961, 3, 4)] == rules.DOB_EXACT
    assert variants[date(1961, 4, 3)] == rules.DOB_SWAPPED
    assert variants[date(1961, 3, 14)] == rules.DOB_DIGIT
    assert variants[date(1962, 3, 4)] == rules.DOB_DIGIT
    assert variants[date(1916, 3, 4)] == rules.DOB_TRANSPOSED
    assert all(rules.EARLIEST_DOB <= d <= TODAY for d in variants)
    assert len(variants) < 60  # stays a small IN (...) list for the index


def test_folding_drops_accents_case_and_punctuation() -> None:
    assert rules.fold("José  O'Brien-Łukasz") == "jose obrien lukasz"
    assert rules.name_key("De la Cruz") == "delacruz"
    assert rules.name_key("Müller") == "muller"


@pytest.mark.parametrize(
    ("a", "b"),
    [("Smith", "Smyth"), ("Catherine", "Katherine"), ("Philips", "Filips"), ("Nguyen", "Nguyenn")],
)
def test_sound_alike_names_share_a_phonetic_key(a: str, b: str) -> None:
    assert rules.phonetic(a) == rules.phonetic(b)


def test_different_names_have_different_phonetic_keys() -> None:
    assert rules.phonetic("Smith") != rules.phonetic("Jones")
    assert rules.phonetic("") == ""


@pytest.mark.parametrize(
    ("a", "b"),
    [("Jon", "John"), ("Bill", "William"), ("Bob", "Robert"), ("Liz", "Elizabeth"), ("Peggy", "Margaret"),
     ("Kate", "Katherine"), ("Beth", "Elizabeth"), ("Will", "William"), ("Johnny", "Jonathan")],
)  # fmt: skip
def test_nicknames_are_known_both_ways(a: str, b: str) -> None:
    assert rules.are_nicknames(a, b)
    assert rules.are_nicknames(b, a)


def test_unrelated_given_names_are_not_nicknames() -> None:
    assert not rules.are_nicknames("John", "Mary")
    assert not rules.are_nicknames("John", "John")  # the same name is an exact match, not a nickname
    assert "william" in rules.nickname_variants("Bill")


def test_the_issue_example_scores_high_with_its_reasons() -> None:
    score = rules.score_name("Jon Smyth", "John", "Smith")
    assert score.score > 90
    assert "nickname Jon=John" in score.reasons
    assert any(r.startswith("last name") and "Smith" in r for r in score.reasons)


def test_exact_beats_nickname_beats_typo_beats_a_stranger() -> None:
    exact = rules.score_name("John Smith", "John", "Smith").score
    nickname = rules.score_name("Johnny Smith", "John", "Smith").score
    typo = rules.score_name("Jhon Smtih", "John", "Smith").score
    stranger = rules.score_name("Maria Lopez", "John", "Smith").score
    assert exact == 100
    assert exact > nickname > typo > stranger
    assert stranger < rules.MIN_NAME_EXACT_DOB


@pytest.mark.parametrize("query", ["Smith John", "Smith, John", "SMITH JOHN"])
def test_swapped_and_comma_names_match(query: str) -> None:
    assert rules.score_name(query, "John", "Smith").score >= 95


def test_a_part_of_a_compound_last_name_matches() -> None:
    assert rules.score_name("Maria Garcia", "Maria", "Garcia Lopez").score > 90
    assert rules.score_name("Maria Garcia Lopez", "Maria", "Garcia Lopez").score == 100


def test_one_word_is_taken_as_a_last_name_and_scores_below_a_full_match() -> None:
    single = rules.score_name("Smith", "John", "Smith")
    assert rules.MIN_NAME_NO_DOB <= single.score < 100
    assert "last name only" in single.reasons


def test_combined_score_needs_a_stronger_name_when_the_dob_is_only_near() -> None:
    middling = rules.NameScore(65.0, [])
    assert rules.combined_score(middling, rules.DOB_EXACT) is not None
    assert rules.combined_score(middling, rules.DOB_DIGIT) is None
    assert rules.combined_score(middling, None) is None
    strong = rules.NameScore(95.0, [])
    assert rules.combined_score(strong, rules.DOB_EXACT) > rules.combined_score(strong, rules.DOB_SWAPPED)
