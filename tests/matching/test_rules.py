"""Matching's pure rules: the need vocabulary, places, scores, reasons and the words of relaxations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from careline.directory import reference
from careline.kit import geo
from careline.matching import rules
from careline.matching.rules import Candidate, Opening, Place, Preferences

ORTHO, SPORTS_ORTHO, SPORTS = "207X00000X", "207XX0005X", "207QS0010X"
FAMILY, INTERNAL, PEDIATRICS, OBGYN, DERM = (
    "207Q00000X",
    "207R00000X",
    "208000000X",
    "207V00000X",
    "207N00000X",
)


@pytest.fixture(scope="module")
def vocab() -> rules.Vocabulary:
    return rules.build_vocabulary()


def place(name: str, zip5: str) -> Place:
    info = geo.require_zip(zip5)
    return Place(name, zip5, info.lat, info.lon)


# ---------------------------------------------------------------- the need vocabulary


@pytest.mark.parametrize(
    ("words", "key", "first", "phrase"),
    [
        ("knee pain after a fall", "knee_pain", ORTHO, "knee pain"),
        ("need a physical", "physical", FAMILY, "physical"),
        ("pregnant, first visit", "pregnancy", OBGYN, "pregnant"),
        ("my son's asthma", "asthma", "207K00000X", "asthma"),
        ("I'd like a dermatologist", "skin", DERM, "dermatologist"),
        ("my knee is in pain", "knee_pain", ORTHO, "knee is in pain"),
        ("physical therapy for my shoulder", "physical_therapy", "225100000X", "physical therapy"),
    ],
)
def test_plain_words_map_to_ordered_specialties(vocab, words, key, first, phrase) -> None:
    found = vocab.match(words)
    assert found is not None and found.need.key == key
    assert found.need.specialties[0] == first
    assert found.matched_phrase == phrase


def test_knee_pain_is_orthopedics_then_sports_medicine_with_primary_care_as_the_fallback(vocab) -> None:
    need = vocab.match("knee pain").need
    assert need.codes(child=False) == (ORTHO, SPORTS_ORTHO, SPORTS)
    assert need.fallback_codes(child=False)[:2] == (FAMILY, INTERNAL)
    assert need.visit_type == "injury"


def test_a_child_gets_the_child_specialties_and_the_words_say_who_the_patient_is(vocab) -> None:
    need = vocab.match("my son's asthma").need
    assert need.codes(child=True)[0] == PEDIATRICS
    assert vocab.age_hint("my son's asthma") == "child"
    assert vocab.age_hint("my daughter has a rash") == "child"
    assert vocab.age_hint("my grandmother keeps falling") == "senior"
    assert vocab.age_hint("knee pain") is None
    assert vocab.match("well-child visit").need.age == "child"


def test_specialty_names_synonyms_and_visit_reasons_come_from_the_directory(vocab) -> None:
    assert vocab.match("looking for a cardiologist").need.specialties == ("207RC0000X",)
    eye = vocab.match("an eye doctor please").need
    assert set(eye.specialties) >= {"152W00000X", "207W00000X"}
    assert vocab.match("heart murmur").need.source in ("default", "reason")
    assert vocab.match("asdf qwerty") is None


def test_more_words_matched_win_then_the_earlier_entry(vocab) -> None:
    assert vocab.match("sports physical").need.key == "well_child"  # two words beat "physical"
    assert vocab.match("need a physical").need.key == "physical"


def test_a_tenant_adds_replaces_and_removes_needs() -> None:
    vocab = rules.build_vocabulary(
        [
            {"key": "sore_knee", "patterns": ["sore knee"], "specialties": [SPORTS], "visit_type": "injury"},
            {"key": "physical", "patterns": ["physical"], "specialties": [INTERNAL]},
            {"key": "skin", "disabled": True},
        ]
    )
    assert vocab.match("a sore knee").need.specialties == (SPORTS,)
    assert vocab.match("a sore knee").need.source == "tenant"
    assert vocab.match("need a physical").need.specialties == (INTERNAL,)
    assert vocab.match("acne").need.key != "skin"
    # The defaults still back the rest, and a tenant need falls back to primary care by default.
    assert vocab.match("knee pain").need.key == "knee_pain"
    assert vocab.get("sore_knee").fallback_codes(child=False)[0] == FAMILY


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"key": "x", "patterns": ["x"], "specialties": ["NOPE"]}, "unknown taxonomy code"),
        ({"key": "x", "patterns": ["x"], "specialties": ["@nope"]}, "unknown group"),
        ({"key": "x", "patterns": ["x"], "specialties": [FAMILY], "visit_type": "party"}, "visit_type"),
        ({"key": "x", "patterns": ["x"], "specialties": [FAMILY], "age": "teen"}, "age must be"),
        ({"key": "x", "patterns": ["x"], "specialties": []}, "at least one specialty"),
        ({"key": "Bad Key", "patterns": ["x"], "specialties": [FAMILY]}, "lower-case"),
        ({"key": "x", "patterns": ["..."], "specialties": [FAMILY]}, "no words"),
    ],
)
def test_bad_need_entries_say_what_is_wrong(row, message) -> None:
    with pytest.raises(rules.VocabularyError, match=message):
        rules.build_vocabulary([row])


def test_weights_take_overrides_and_refuse_nonsense() -> None:
    w = rules.weights_from({"distance": 10, "half_miles": 2.5, "availability_top": 5})
    assert (w.distance, w.half_miles, w.availability_top, w.specialty) == (10.0, 2.5, 5, 25.0)
    for bad, message in [
        ({"nearness": 1}, "unknown weight"),
        ({"distance": -1}, ">= 0"),
        ({"distance": "high"}, ">= 0"),
        ({"half_miles": 0}, "above 0"),
        ({"availability_top": 2.5}, "whole number"),
        ({"relax_distance_factor": 1}, "above 1"),
    ]:
        with pytest.raises(rules.VocabularyError, match=message):
            rules.weights_from(bad)


def test_named_providers_and_zip_codes_in_addresses() -> None:
    assert rules.named_provider("is Dr. Kim taking new patients?") == "Kim"
    assert rules.named_provider("is dr lopez-garcia in network") == "lopez-garcia"
    assert rules.named_provider("I want to see Doctor Nguyen") == "Nguyen"
    assert rules.named_provider("a doctor for my knee") is None
    assert rules.named_provider("knee pain") is None
    assert rules.places_zip("2400 N Lincoln Ave, Chicago, IL 60614-1234") == "60614"
    assert rules.places_zip(" 60601 ") == "60601"
    assert rules.places_zip("") is None
    with pytest.raises(ValueError, match="no ZIP"):
        rules.places_zip("Lincoln Park")


def test_age_groups() -> None:
    assert [rules.age_group(a) for a in (0, 8, 17, 18, 64, 65, 90)] == [
        "pediatric",
        "pediatric",
        "pediatric",
        "adult",
        "adult",
        "geriatric",
        "geriatric",
    ]
    assert rules.age_group(None, "child") == "pediatric"
    assert rules.age_group(None, "senior") == "geriatric"
    assert rules.age_group(None) is None
    assert rules.age_group(30, "child") == "adult"  # a known age wins over the words


# ---------------------------------------------------------------- places and scores


def test_distance_counts_from_whichever_place_is_nearer() -> None:
    home, work = place("home", "60302"), place("work", "60601")  # Oak Park, the Loop
    loop = geo.require_zip("60601")
    miles, where = rules.nearest(loop.lat, loop.lon, [home, work])
    assert (round(miles, 1), where) == (0.0, "work")
    oak = geo.require_zip("60302")
    assert rules.nearest(oak.lat, oak.lon, [home, work])[1] == "home"
    lincoln_park = geo.require_zip("60614")
    miles, where = rules.nearest(lincoln_park.lat, lincoln_park.lon, [home, work])
    assert where == "work" and round(miles, 1) == 3.0


def cand(**kw) -> Candidate:
    base = dict(
        provider_id=1,
        first_name="Ana",
        last_name="Ortiz",
        credentials="MD",
        gender="female",
        accepting=True,
        telehealth=False,
        code=ORTHO,
        code_rank=0,
        primary=True,
        location_id=1,
        location_name="Loop",
        address="1 Main",
        city="Chicago",
        zip="60601",
        lat=41.88,
        lon=-87.62,
        timezone="America/Chicago",
        distance=2.1,
        from_place="work",
    )
    base.update(kw)
    return Candidate(**base)


def prefs(**kw) -> Preferences:
    base = dict(
        places=(place("home", "60614"),),
        specialties=(ORTHO, SPORTS_ORTHO),
        need_label="knee pain",
        need_phrases=("knee pain",),
    )
    base.update(kw)
    return Preferences(**base)


def test_the_reasons_read_like_the_agent_would_say_them() -> None:
    c = cand(speaks_preferred=True, plan_status="accepting")
    c.next_available = Opening(datetime(2026, 12, 8, 15, 40, tzinfo=UTC), "America/Chicago")
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    p = prefs(language="es", language_required=True, plan_name="Aetna PPO")
    assert " · ".join(rules.reasons_for(c, p, now)) == (
        "speaks Spanish · accepts Aetna PPO · 2.1 mi from work · next opening Tue 9:40am"
    )


def test_openings_a_week_or_more_away_give_the_date() -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert Opening(datetime(2026, 12, 22, 20, 5, tzinfo=UTC), "America/Chicago").short(now) == "Dec 22 2:05pm"
    assert Opening(datetime(2026, 12, 8, 20, 5, tzinfo=UTC), "America/New_York").short(now) == "Tue 3:05pm"


def test_unmet_preferences_are_said_too() -> None:
    c = cand(speaks_preferred=False, gender="male", accepting=False, visit_reasons=("knee pain", "acl tear"))
    p = prefs(language="es", gender="female", accepting_required=False, telehealth=True)
    words = rules.reasons_for(c, p)
    assert "does not speak Spanish" in words and "not female" in words
    assert "not accepting new patients" in words and "sees knee pain" in words
    assert "offers telehealth" not in words


def test_nearer_ranks_higher_and_the_first_specialty_beats_a_later_one_at_equal_distance() -> None:
    w = rules.DEFAULT_WEIGHTS
    p = prefs()
    near = cand(provider_id=1, distance=1.0)
    far = cand(provider_id=2, distance=6.0)
    second_choice = cand(provider_id=3, distance=1.0, code=SPORTS_ORTHO, code_rank=1)
    assert [c.provider_id for c in rules.rank([far, second_choice, near], p, w)] == [1, 3, 2]


def test_preferences_add_points_and_hard_filters_do_not() -> None:
    w = rules.DEFAULT_WEIGHTS
    speaks = cand(provider_id=1, distance=3.0, speaks_preferred=True)
    silent = cand(provider_id=2, distance=1.0, speaks_preferred=False)
    preferred = prefs(language="es", language_required=False)
    assert rules.rank([silent, speaks], preferred, w)[0].provider_id == 1
    required = prefs(language="es", language_required=True)
    assert rules.base_score(speaks, required, w) == rules.base_score(cand(distance=3.0), prefs(), w)


def test_soonest_weighs_availability_more() -> None:
    w = rules.DEFAULT_WEIGHTS
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    soon = cand(provider_id=1, distance=4.0)
    soon.next_available = Opening(datetime(2026, 12, 8, 15, 0, tzinfo=UTC), "America/Chicago")
    later = cand(provider_id=2, distance=1.0)
    later.next_available = Opening(datetime(2027, 1, 20, 15, 0, tzinfo=UTC), "America/Chicago")
    assert rules.with_availability([soon, later], prefs(), w, now)[0].provider_id == 2
    assert rules.with_availability([soon, later], prefs(soonest=True), w, now)[0].provider_id == 1


def test_the_walk_bound_covers_every_component_but_distance() -> None:
    w = rules.DEFAULT_WEIGHTS
    p = prefs(
        language="es", language_required=False, gender="female", telehealth=True, accepting_required=False
    )
    best = cand(
        distance=0.0, speaks_preferred=True, telehealth=True, accepting=True, visit_reasons=("knee pain",)
    )
    assert rules.base_score(best, p, w) == pytest.approx(
        rules.distance_points(0.0, w) + w.non_distance_max(p)
    )


def test_relaxations_and_empty_lists_in_words() -> None:
    text = rules.describe_search(
        codes=[DERM],
        age_group=None,
        language="es",
        plan_name="Aetna PPO",
        accepting=True,
        gender=None,
        miles=10,
        places=[place("home", "60614")],
    )
    assert (
        text == "Spanish-speaking dermatology provider taking new patients on Aetna PPO within 10 mi of home"
    )
    assert rules.relaxation_text("distance", 2, miles=25) == "2 within 25 mi"
    assert rules.relaxation_text("language", 3, language="es") == "3 if Spanish is preferred, not required"
    assert rules.relaxation_text("specialty", 1000, codes=[FAMILY], capped=True) == (
        "1,000+ in family medicine instead"
    )
    assert rules.specialty_words([ORTHO, SPORTS_ORTHO, SPORTS, FAMILY]) == (
        f"orthopedics, {reference.specialty_name(SPORTS_ORTHO)} or 2 more"
    )


def test_normalize_words() -> None:
    assert rules.normalize("My son's  ASTHMA!") == "my son asthma"
    assert rules.normalize("Women’s health / OB-GYN") == "women health ob gyn"
