"""What the words say beyond the need: a visit they name ("new patient", "annual physical",
"telehealth") picks the appointment type of the next openings, and negation ("no cardiology", "not a
pediatrician") keeps that specialty out."""

from __future__ import annotations

from datetime import date

import pytest

from careline.matching import rules
from tests.matching.conftest import names
from tests.matching.world import PEDIATRICS

CARDIOLOGY = "207RC0000X"
VOCAB = rules.build_vocabulary()


# ---------------------------------------------------------------- negation (pure)


@pytest.mark.parametrize(
    ("words", "key", "excluded"),
    [
        ("no cardiology", "default", CARDIOLOGY),
        ("heart palpitations but not a cardiologist", "heart", CARDIOLOGY),
        ("I don't want a cardiologist, my heart races", "heart", CARDIOLOGY),
        ("not a pediatrician", "default", PEDIATRICS),
        ("My son's asthma, not a pediatrician!", "asthma", PEDIATRICS),
    ],
)
def test_a_negated_specialty_is_ruled_out(words: str, key: str, excluded: str) -> None:
    found = VOCAB.match(words)
    assert found is not None and found.need.key == key
    assert excluded in found.excluded
    need = found.need
    for codes in (need.specialties, need.child_specialties, need.fallback, need.child_fallback):
        assert excluded not in codes
    assert need.specialties and need.child_specialties  # something is still looked for


def test_a_need_whose_every_specialty_is_ruled_out_uses_its_fallback() -> None:
    need = VOCAB.match("heart palpitations, no cardiology").need
    assert need.specialties == VOCAB.default.specialties  # heart's fallback: primary care
    assert need.fallback == ()


@pytest.mark.parametrize(
    ("words", "key"),
    [
        ("not feeling well", "sick"),  # the negation is part of the need's own words
        ("not telehealth, knee pain", "knee_pain"),  # a negation ends with its clause
        ("I have no insurance, need a physical", "physical"),  # ... or at a word like "need"
        ("sore throat but no fever", "sick"),
    ],
)
def test_a_negation_reaches_only_its_own_words(words: str, key: str) -> None:
    found = VOCAB.match(words)
    assert found is not None and found.need.key == key
    assert found.excluded == ()


def test_words_after_a_negation_match_no_need() -> None:
    assert VOCAB.match("no knee pain, just a rash").need.key == "sick"
    assert VOCAB.match("knee pain").need.key == "knee_pain"


# ---------------------------------------------------------------- visit hints (pure)


@pytest.mark.parametrize(
    ("words", "visit", "telehealth", "said"),
    [
        ("knee pain after a fall", "injury", False, None),  # the need's own visit type
        ("knee pain, new patient", "new_patient", False, "new patient"),
        ("need a physical", "physical", False, "physical"),
        ("new patient annual physical", "physical", False, "annual physical"),  # specific beats new
        ("telehealth visit for my rash", "sick", True, "telehealth"),
        ("a video visit about my anxiety", "behavioral", True, "video visit"),
        ("not a video visit, my knee hurts", "injury", False, None),
    ],
)
def test_the_visit_the_words_name(words: str, visit: str, telehealth: bool, said: str | None) -> None:
    need = VOCAB.match(words).need
    hint = VOCAB.visit_hint(words, need)
    assert (hint.visit_type, hint.telehealth, hint.said) == (visit, telehealth, said)


def test_appointment_type_names_say_which_visit_they_are() -> None:
    assert rules.type_is_visit("Annual physical", "physical")
    assert rules.type_is_visit("Well-child visit", "physical")
    assert rules.type_is_visit("Same-day sick visit", "sick")
    assert not rules.type_is_visit("New patient visit", "physical")
    assert not rules.type_is_visit("Annual physical", None)


def test_bad_visit_words_are_refused() -> None:
    data = dict(rules.default_data())
    with pytest.raises(rules.VocabularyError, match="visit_words"):
        rules.build_vocabulary(data={**data, "visit_words": {"party": ["party"]}})


# ---------------------------------------------------------------- in a match


@pytest.fixture
def visit_types(sessions, world, chicago, clock) -> dict[str, int]:
    """New patient, annual physical, telehealth and follow-up types; Dr. Fischer (family medicine,
    Lincoln Park) and Dr. Flores (family medicine, Lakeview, offers telehealth) work Monday afternoons."""
    from careline.db import transaction
    from careline.scheduling import config

    out = {}
    with transaction(sessions) as s:
        for key, name, kind, modality in (
            ("new", "New patient", "new", "in_person"),
            ("physical", "Annual physical", "any", "in_person"),
            ("video", "Telehealth visit", "any", "telehealth"),
            ("follow", "Follow-up", "established", "in_person"),
        ):
            out[key] = config.create_type(
                s,
                tenant_id=world.tenant_a.id,
                name=name,
                duration_minutes=30,
                patient_kind=kind,
                modality=modality,
            ).id
        for who, where in (("frank", "lp"), ("fiona", "lv")):
            config.create_template(
                s,
                provider_id=chicago.doc[who],
                location_id=chicago.loc[where],
                weekday=0,
                start_local="13:00",
                end_local="17:00",
                effective_from=date(2026, 1, 1),
            )
    return out


def _types(result) -> dict[str, str | None]:
    return {c.last_name: c.next_available.type_name if c.next_available else None for c in result.results[:2]}


def test_a_physical_asked_for_opens_an_annual_physical(find, chicago, visit_types) -> None:
    result = find(need="need a physical", zip="60614")
    assert result.need["visit_type"] == "physical" and result.need["visit_words"] == "physical"
    assert _types(result) == {"Fischer": "Annual physical", "Flores": "Annual physical"}
    booking = result.to_dict()["results"][0]["booking"]["body"]
    assert booking["type_id"] == visit_types["physical"]


def test_a_new_patient_visit_asked_for_opens_a_new_patient_visit(find, chicago, visit_types) -> None:
    result = find(need="a new patient visit with a family doctor", zip="60614")
    assert result.need["visit_type"] == "new_patient"
    assert _types(result) == {"Fischer": "New patient", "Flores": "New patient"}


def test_a_telehealth_visit_asked_for_opens_one_and_ranks_who_offers_it(find, chicago, visit_types) -> None:
    plain = find(need="a sore throat", zip="60614")
    assert _types(plain) == {"Fischer": "New patient", "Flores": "New patient"}
    video = find(need="a telehealth visit for a sore throat", zip="60614")
    assert video.need["telehealth"] is True
    # Dr. Fischer offers no telehealth: scheduling leaves him out of that type, so his opening is
    # the new-patient one.
    assert _types(video) == {"Fischer": "New patient", "Flores": "Telehealth visit"}
    flores = next(c for c in video.results if c.last_name == "Flores")
    assert "offers telehealth" in flores.reasons


def test_a_type_for_established_patients_is_never_the_opening(find, chicago, visit_types) -> None:
    result = find(need="high blood pressure, follow up visit", zip="60614")
    assert result.need["visit_type"] == "follow_up"
    assert set(_types(result).values()) == {"New patient"}


def test_a_negated_specialty_never_matches(find, chicago) -> None:
    assert names(find(need="my son's asthma", zip="60625", age=8), chicago)[0] == "paula"
    result = find(need="my son's asthma, not a pediatrician", zip="60625", age=8)
    assert "paula" not in names(result, chicago)
    assert names(result, chicago) == ["alice"]
    assert result.need["excluded"] == [{"code": PEDIATRICS, "name": "pediatrics"}]
