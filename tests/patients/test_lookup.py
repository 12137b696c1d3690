"""Caller lookup: by phone in any format, by name and date of birth with typos, nicknames and swaps."""

from __future__ import annotations

import pytest

from careline.errors import ValidationFailed
from careline.patients import service
from tests.patients.helpers import ACTOR, register, scoped


@pytest.fixture
def smith(world, sessions) -> int:
    return register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=["(312) 555-0142"])


def _ids(candidates) -> list[int]:
    return [c.patient.id for c in candidates]


def test_jon_smyth_3_4_1961_finds_john_smith_1961_03_04(world, sessions, smith) -> None:
    with scoped(sessions, world.tenant_a.id) as s:
        found = service.lookup_by_name_dob(s, "Jon Smyth", "3/4/1961", actor=ACTOR)
        assert _ids(found)[:1] == [smith]
        best = found[0]
        assert best.score > 90
        assert "DOB exact" in best.reasons
        assert "nickname Jon=John" in best.reasons
        assert any("Smith" in r and "last name" in r for r in best.reasons)


@pytest.mark.parametrize(
    "typed",
    ["(312) 555-0142", "312.555.0142", "+1 312 555 0142", "312-555-0142", "3125550142", "1 (312) 555-0142",
     "+13125550142", "312 555 0142 x12"],
)  # fmt: skip
def test_every_phone_format_finds_the_patient(world, sessions, smith, typed: str) -> None:
    with scoped(sessions, world.tenant_a.id) as s:
        found = service.lookup_by_phone(s, typed, actor=ACTOR)
        assert _ids(found) == [smith]
        assert found[0].score == 100
        assert found[0].reasons == ["phone (312) 555-0142 (mobile, primary)"]


def test_a_number_nobody_has_finds_nobody(world, sessions, smith) -> None:
    with scoped(sessions, world.tenant_a.id) as s:
        assert service.lookup_by_phone(s, "(773) 555-0199", actor=ACTOR) == []


@pytest.mark.parametrize("typed", ["555-0142", "12345", "(123) 456-7890", "call me", ""])
def test_a_malformed_phone_is_a_validation_error_on_phone(world, sessions, typed: str) -> None:
    with scoped(sessions, world.tenant_a.id) as s, pytest.raises(ValidationFailed) as err:
        service.lookup_by_phone(s, typed, actor=ACTOR)
    assert err.value.field == "phone"


def test_a_shared_home_phone_lists_the_family_primary_holder_first(world, sessions) -> None:
    home = {"number": "773-555-0111", "kind": "home"}
    kid_phones = [home, {"number": "312-555-0177", "is_primary": True}]
    kid = register(sessions, world.tenant_a.id, "Adam", "Novak", "2015-06-01", phones=kid_phones)
    mom = register(sessions, world.tenant_a.id, "Anna", "Novak", "1985-02-11", phones=[home])
    with scoped(sessions, world.tenant_a.id) as s:
        assert _ids(service.lookup_by_phone(s, "773 555 0111", actor=ACTOR)) == [mom, kid]


@pytest.mark.parametrize(
    ("name", "dob", "reason"),
    [
        ("Smith John", "3/4/1961", "first/last swapped"),
        ("Smith, John", "1961-03-04", "first name exact"),
        ("Jhon Smtih", "3/4/1961", "DOB exact"),
        ("Johnny Smith", "03/04/1961", "nickname Johnny=John"),
        ("john smith", "4/3/1961", "DOB day/month swapped"),
        ("John Smith", "3/4/1962", "DOB one digit off"),
        ("John Smith", "3/4/1916", "DOB digits transposed"),
    ],
)
def test_fuzzy_name_and_dob_cases_find_the_patient(world, sessions, smith, name, dob, reason) -> None:
    with scoped(sessions, world.tenant_a.id) as s:
        found = service.lookup_by_name_dob(s, name, dob, actor=ACTOR)
        assert _ids(found)[:1] == [smith], f"{name} {dob}: {[(c.patient.full_name, c.score) for c in found]}"
        assert reason in found[0].reasons


def test_nicknames_find_the_formal_name(world, sessions) -> None:
    bill = register(sessions, world.tenant_a.id, "William", "Jones", "1950-07-20", phones=[])
    peggy = register(sessions, world.tenant_a.id, "Margaret", "Olson", "1948-01-02", phones=[])
    with scoped(sessions, world.tenant_a.id) as s:
        assert _ids(service.lookup_by_name_dob(s, "Bill Jones", "7/20/1950", actor=ACTOR)) == [bill]
        assert _ids(service.lookup_by_name_dob(s, "Peggy Olsen", "1/2/1948", actor=ACTOR)) == [peggy]


def test_the_preferred_name_counts_as_a_first_name(world, sessions) -> None:
    pid = register(
        sessions, world.tenant_a.id, "Xiaoming", "Wang", "1990-05-05", phones=[], preferred_name="Sam"
    )
    with scoped(sessions, world.tenant_a.id) as s:
        found = service.lookup_by_name_dob(s, "Sam Wang", "5/5/1990", actor=ACTOR)
        assert _ids(found) == [pid]
        assert "first name exact" in found[0].reasons


def test_without_a_dob_the_name_alone_finds_by_last_name_prefix_and_sound(world, sessions, smith) -> None:
    other = register(sessions, world.tenant_a.id, "Maria", "Lopez", "1970-01-01", phones=[])
    with scoped(sessions, world.tenant_a.id) as s:
        for typed in ("John Smith", "Jon Smyth", "Smith", "Smith John", "J Smith"):
            found = service.lookup_by_name_dob(s, typed, None, actor=ACTOR)
            assert _ids(found)[:1] == [smith], typed
            assert "no DOB given" in found[0].reasons
        assert _ids(service.lookup_by_name_dob(s, "Lopez", "", actor=ACTOR)) == [other]


def test_ranking_puts_the_exact_match_first_and_leaves_out_strangers(world, sessions, smith) -> None:
    a = world.tenant_a.id
    smyth = register(sessions, a, "Jon", "Smyth", "1961-03-04", phones=[])
    swapped_dob = register(sessions, a, "John", "Smith", "1961-04-03", phones=[])
    stranger = register(sessions, a, "Maria", "Lopez", "1961-03-04", phones=[])
    far = register(sessions, a, "John", "Smith", "1975-11-30", phones=[])
    with scoped(sessions, a) as s:
        found = service.lookup_by_name_dob(s, "John Smith", "3/4/1961", actor=ACTOR)
    ids = _ids(found)
    assert ids[0] == smith and found[0].score == 100
    assert set(ids) == {smith, smyth, swapped_dob}
    assert stranger not in ids and far not in ids
    scores = [c.score for c in found]
    assert scores == sorted(scores, reverse=True)
    with scoped(sessions, a) as s:
        found = service.lookup_by_name_dob(s, "Jon Smyth", "3/4/1961", actor=ACTOR)
    assert _ids(found)[:2] == [smyth, smith]  # the exact spelling beats the nickname and sound-alike


def test_lookup_limit(world, sessions) -> None:
    for i in range(6):
        register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=[f"312-555-01{i:02d}"])
    with scoped(sessions, world.tenant_a.id) as s:
        assert len(service.lookup_by_name_dob(s, "John Smith", "3/4/1961", actor=ACTOR, limit=4)) == 4


@pytest.mark.parametrize(
    ("name", "dob", "field"),
    [("", "3/4/1961", "name"), ("John Smith", "31/31/1961", "dob"), ("John Smith", "1/1/2099", "dob")],
)
def test_lookup_input_errors_name_their_field(world, sessions, name, dob, field) -> None:
    with scoped(sessions, world.tenant_a.id) as s, pytest.raises(ValidationFailed) as err:
        service.lookup_by_name_dob(s, name, dob, actor=ACTOR)
    assert err.value.field == field


def test_search_needs_a_phone_or_a_name(world, sessions) -> None:
    with scoped(sessions, world.tenant_a.id) as s:
        with pytest.raises(ValidationFailed) as err:
            service.search_patients(s, actor=ACTOR)
        assert err.value.field == "phone"
        with pytest.raises(ValidationFailed) as err:
            service.search_patients(s, actor=ACTOR, dob="3/4/1961")
        assert err.value.field == "name"


def test_lookups_see_only_the_sessions_tenants(world, sessions, smith) -> None:
    theirs = register(sessions, world.tenant_b.id, "John", "Smith", "1961-03-04", phones=["(312) 555-0142"])
    with scoped(sessions, world.tenant_a.id) as s:
        assert _ids(service.lookup_by_phone(s, "312-555-0142", actor=ACTOR)) == [smith]
        assert _ids(service.lookup_by_name_dob(s, "John Smith", "3/4/1961", actor=ACTOR)) == [smith]
        assert _ids(service.lookup_by_name_dob(s, "John Smith", None, actor=ACTOR)) == [smith]
    with scoped(sessions, world.tenant_b.id) as s:
        assert _ids(service.lookup_by_phone(s, "312-555-0142", actor=ACTOR)) == [theirs]
    with scoped(sessions, world.tenant_a.id, world.tenant_b.id) as s:
        both = service.lookup_by_phone(s, "312-555-0142", actor=ACTOR)
        assert set(_ids(both)) == {smith, theirs}
        only_b = service.lookup_by_phone(s, "312-555-0142", actor=ACTOR, tenant_ids=[world.tenant_b.id])
        assert _ids(only_b) == [theirs]


def test_inactive_patients_are_not_offered(world, sessions, smith) -> None:
    with scoped(sessions, world.tenant_a.id) as s:
        service.update_patient(s, smith, actor=ACTOR, active=False)
    with scoped(sessions, world.tenant_a.id) as s:
        assert service.lookup_by_phone(s, "312-555-0142", actor=ACTOR) == []
        assert service.lookup_by_name_dob(s, "John Smith", "3/4/1961", actor=ACTOR) == []
        assert _ids(service.lookup_by_phone(s, "312-555-0142", actor=ACTOR, include_inactive=True)) == [smith]
