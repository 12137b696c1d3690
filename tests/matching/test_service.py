"""Matching against a small hand-made Chicago directory: every filter and preference, nearer of home
or work, children, relaxations, patients, tenant settings, scheduling's openings, tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.audit.service import Actor
from careline.db import Scope, transaction
from careline.directory.models import Provider
from careline.errors import NotFound, ValidationFailed
from careline.matching import candidates, service
from careline.matching.service import MatchRequest, match
from tests.matching.conftest import names
from tests.matching.world import SPORTS


def test_knee_pain_counts_distance_from_the_nearer_of_home_and_work(find, chicago) -> None:
    result = find(need="knee pain after a fall", zip="60302", work_zip="60601")  # Oak Park, the Loop
    assert names(result, chicago) == ["olivia", "oscar", "sam"]
    olivia, oscar, sam = result.results
    assert (olivia.from_place, round(olivia.distance, 1)) == ("work", 0.0)
    assert (oscar.from_place, round(oscar.distance, 1)) == ("home", 0.0)
    assert "0.0 mi from work" in olivia.reasons and "sees knee pain" in olivia.reasons
    assert sam.from_place == "home" and "12.2 mi from home" in sam.reasons
    assert result.need["key"] == "knee_pain" and result.need["matched_phrase"] == "knee pain"
    assert next(s["name"] for s in result.need["specialties"]) == "orthopedics"
    # From home alone the Loop clinic is 8.8 miles away.
    home_only = find(need="knee pain after a fall", zip="60302")
    assert names(home_only, chicago) == ["oscar", "olivia", "sam"]
    assert "8.8 mi from home" in home_only.results[1].reasons


def test_the_fallback_specialties_are_a_relaxation_not_part_of_the_list(find, chicago) -> None:
    result = find(need="knee pain", zip="60614")
    assert not {"frank", "fiona", "nora", "ian"} & set(names(result, chicago))
    fallback = find(need="knee pain", zip="60614", use_fallback=True)
    assert names(fallback, chicago)[:2] == ["frank", "nora"]
    assert "family medicine (fallback for knee pain)" in fallback.results[0].reasons
    assert fallback.need["using_fallback"] is True


def test_the_insurance_plan_is_a_hard_filter(find, chicago) -> None:
    bcbs = find(need="knee pain", zip="60302", work_zip="60601", plan_id=chicago.plan["bcbs"])
    assert names(bcbs, chicago) == ["oscar", "sam"]  # Dr. Ortiz takes only Aetna
    assert "accepts BCBS HMO" in bcbs.results[0].reasons
    by_name = find(need="knee pain", zip="60302", work_zip="60601", insurance="aetna")
    assert names(by_name, chicago) == ["olivia", "sam"]


def test_a_plan_closed_to_new_patients_and_a_provider_not_taking_any_are_left_out(find, chicago) -> None:
    aetna = find(need="need a physical", zip="60614", plan_id=chicago.plan["aetna"])
    assert "nora" not in names(aetna, chicago) and "kim" not in names(aetna, chicago)
    assert {"frank", "fiona", "ian"} <= set(names(aetna, chicago))
    everyone = find(
        need="need a physical", zip="60614", plan_id=chicago.plan["aetna"], accepting_required=False
    )
    by_name = {chicago.name_of(c.provider_id): c for c in everyone.results}
    assert "takes Aetna PPO but not for new patients" in by_name["nora"].reasons
    assert "not accepting new patients" in by_name["kim"].reasons
    assert "accepting new patients" in by_name["frank"].reasons


def test_accepting_new_patients_is_hard_by_default(find, chicago) -> None:
    assert "kim" not in names(find(need="need a physical", zip="60614"), chicago)
    assert "kim" in names(find(need="need a physical", zip="60614", accepting_required=False), chicago)


def test_a_required_language_filters_and_a_preferred_one_ranks(find, chicago) -> None:
    required = find(need="need a physical", zip="60614", language="es")
    assert names(required, chicago) == ["fiona"]
    assert required.results[0].reasons[0] == "speaks Spanish"
    preferred = find(need="need a physical", zip="60614", language="Spanish", language_required=False)
    order = names(preferred, chicago)
    assert order[0] == "fiona" and "frank" in order  # the nearer English-only doctors stay, lower
    frank = preferred.results[order.index("frank")]
    assert "does not speak Spanish" in frank.reasons
    assert preferred.results[0].languages == ("en", "es")


def test_gender_is_a_preference_unless_required(find, chicago) -> None:
    assert names(find(need="need a physical", zip="60614"), chicago)[0] == "frank"
    preferred = find(need="need a physical", zip="60614", gender="f")
    assert names(preferred, chicago)[:2] == ["nora", "fiona"]
    assert "female, as preferred" in preferred.results[0].reasons
    assert "not female" in preferred.results[2].reasons
    required = find(need="need a physical", zip="60614", gender="female", gender_required=True)
    assert set(names(required, chicago)) == {"nora", "fiona"}


def test_children_are_never_matched_to_providers_who_do_not_see_children(find, chicago, db) -> None:
    asthma = find(need="my son's asthma", zip="60614")  # no age given: the words say it is a child
    assert asthma.need["age_group"] == "pediatric"
    assert names(asthma, chicago) == ["paula", "alice"]  # not Dr. Abbott next door: adults only
    for request in (
        {"need": "need a physical", "age": 8},
        {"need": "allergies", "age": 8},
        {"need": "my daughter has a rash"},
        {"specialty": "internal medicine", "age": 3, "max_miles": 50},
        {"need": "knee pain", "age": 12},
    ):
        result = find(zip="60614", **request)
        for c in result.results:
            assert db.get(Provider, c.provider_id).sees_pediatric, (request, chicago.name_of(c.provider_id))
    assert names(find(need="allergies", zip="60614", age=8), chicago) == ["alice"]
    assert names(find(need="allergies", zip="60614", age=40), chicago) == ["adam", "alice"]
    child_physical = find(need="need a physical", zip="60614", age=8)
    assert "ian" not in names(child_physical, chicago) and "paula" in names(child_physical, chicago)


def test_telehealth_when_acceptable_adds_points_and_a_reason(find, chicago) -> None:
    plain = find(need="knee pain", zip="60201")
    virtual = find(need="knee pain", zip="60201", telehealth=True)
    sam_plain = next(c for c in plain.results if chicago.name_of(c.provider_id) == "sam")
    sam_virtual = next(c for c in virtual.results if chicago.name_of(c.provider_id) == "sam")
    assert sam_virtual.score == pytest.approx(sam_plain.score + 5)
    assert "offers telehealth" in sam_virtual.reasons and "offers telehealth" not in sam_plain.reasons


def test_maximum_distance(find, chicago) -> None:
    assert names(find(need="knee pain", zip="60614", max_miles=5), chicago) == ["olivia"]
    assert names(find(need="knee pain", zip="60614", max_miles=8), chicago) == ["olivia", "oscar"]


def test_a_named_provider_question(find, chicago) -> None:
    result = find(need="is Dr. Kim taking new patients?")
    assert names(result, chicago) == ["kim"]  # not tenant B's Dr. Kimball
    kim = result.results[0]
    assert kim.accepting is False and "not accepting new patients" in kim.reasons
    assert kim.distance is None and kim.location_name == "Lincoln Park Clinic"
    near = find(provider_name="kim", zip="60601", plan_id=chicago.plan["aetna"])
    assert "3.0 mi from home" in near.results[0].reasons and "accepts Aetna PPO" in near.results[0].reasons
    nobody = find(need="is Dr. Zzyzx in?")
    assert nobody.results == [] and nobody.emptied_by == "name"


def test_a_specialty_picked_instead_of_words(find, chicago) -> None:
    result = find(specialty="dermatology", zip="60614")
    assert names(result, chicago) == ["derek", "diana"]
    assert result.need["from"] == "specialty"
    assert names(find(specialty="207N00000X", zip="60614"), chicago) == ["derek", "diana"]
    with pytest.raises(ValidationFailed) as exc:
        find(specialty="astrology", zip="60614")
    assert exc.value.field == "specialty"


def test_inactive_providers_and_locations_never_appear(find, chicago) -> None:
    found = names(find(need="need a physical", zip="60614", accepting_required=False, limit=50), chicago)
    assert "gone" not in found and "annex" not in found


# ---------------------------------------------------------------- empty lists and relaxations


def test_an_empty_list_says_which_constraint_emptied_it_and_what_relaxing_finds(find, chicago) -> None:
    result = find(specialty="dermatology", zip="60601", language="es", max_miles=10)
    assert result.results == []
    assert result.emptied_by == "language"
    assert result.empty_because == "no Spanish-speaking dermatology provider within 10 mi of home"
    assert result.searched == (
        "Spanish-speaking dermatology provider taking new patients within 10 mi of home"
    )
    relax = {r["relax"]: r for r in result.relaxations}
    assert relax["distance"]["description"] == "1 within 25 mi" and relax["distance"]["apply"] == {
        "max_miles": 25.0
    }
    assert relax["language"]["description"] == "1 if Spanish is preferred, not required"
    assert relax["accepting"]["count"] == 0
    assert result.relaxations[-1]["count"] == 0  # the ones that find nobody come last
    wider = find(specialty="dermatology", zip="60601", language="es", **relax["distance"]["apply"])
    assert names(wider, chicago) == ["diana"]
    looser = find(
        specialty="dermatology", zip="60601", language="es", max_miles=10, **relax["language"]["apply"]
    )
    assert names(looser, chicago) == ["derek"] and "does not speak Spanish" in looser.results[0].reasons


def test_emptied_by_distance_offers_a_wider_search_and_the_fallback(find, chicago) -> None:
    result = find(need="knee pain", zip="60614", max_miles=2)
    assert result.emptied_by == "distance"
    assert result.empty_because.startswith("no orthopedics") and result.empty_because.endswith(
        "within 2 mi of home"
    )
    relax = {r["relax"]: r for r in result.relaxations}
    assert relax["distance"]["description"] == "1 within 5 mi"
    assert relax["specialty"]["count"] == 4 and relax["specialty"]["apply"] == {"use_fallback": True}
    assert relax["specialty"]["description"].startswith("4 in family medicine")


def test_emptied_by_the_specialty_or_the_age_group(find) -> None:
    none = find(specialty="urology", zip="60614")
    assert none.emptied_by == "specialty" and none.empty_because == "no urology provider at this client"
    child = find(specialty="internal medicine", zip="60614", age=6)
    assert child.emptied_by == "age"
    assert child.empty_because == "no internal medicine provider who sees children at this client"


def test_emptied_by_the_plan_gender_and_accepting(find, chicago) -> None:
    plan = find(
        specialty="dermatology",
        zip="60657",
        max_miles=3,
        plan_id=chicago.plan["aetna"],
        gender="f",
        gender_required=True,
    )
    assert plan.emptied_by == "gender"  # Dr. Dunn takes Aetna but is not female
    relax = {r["relax"]: r for r in plan.relaxations}
    assert (
        relax["gender"]["count"] == 1
        and relax["gender"]["description"] == "1 if female is preferred, not required"
    )
    kim_only = find(
        provider_name=None,
        specialty="family medicine",
        zip="60614",
        max_miles=0.5,
        gender="f",
        gender_required=True,
        language="ko",
    )
    assert kim_only.emptied_by == "accepting"  # Dr. Kim speaks Korean but takes no new patients
    assert {r["relax"]: r["count"] for r in kim_only.relaxations}["accepting"] == 1


# ---------------------------------------------------------------- validation, patients, isolation


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"zip": "00000"}, "zip"),
        ({"zip": "not a zip"}, "zip"),
        ({"zip": "60614", "work_zip": "99999"}, "work_zip"),
        ({}, "zip"),
        ({"zip": "60614", "plan_id": 999999}, "plan_id"),
        ({"zip": "60614", "insurance": "Acme Gold"}, "insurance"),
        ({"zip": "60614", "language": "klingon"}, "language"),
        ({"zip": "60614", "gender": "robot"}, "gender"),
        ({"zip": "60614", "max_miles": 0}, "max_miles"),
        ({"zip": "60614", "age": 200}, "age"),
    ],
)
def test_bad_requests_name_the_field(find, fields, field) -> None:
    with pytest.raises(ValidationFailed) as exc:
        find(need="knee pain", **fields)
    assert exc.value.field == field


def test_an_address_with_a_zip_is_a_place(find, chicago) -> None:
    result = find(need="knee pain", zip="1 N State St, Chicago, IL 60601-1234")
    assert result.places[0].zip == "60601" and names(result, chicago)[0] == "olivia"


def test_a_patient_record_gives_places_plan_language_and_age(find, chicago, sessions, world, db) -> None:
    from careline.patients.service import create_patient

    with transaction(sessions) as s:
        pid = create_patient(
            s,
            tenant_id=world.tenant_a.id,
            actor=Actor("test"),
            first_name="Lucia",
            last_name="Reyes",
            dob="1986-03-02",
            zip="60302",
            work_zip="60601",
            insurance_plan_id=chicago.plan["aetna"],
            preferred_language="es",
            confirm_new=True,
        ).id
    result = find(need="knee pain", patient_id=pid)
    assert names(result, chicago) == ["olivia"]  # Spanish, Aetna, next to work; Dr. Olsen takes BCBS only
    assert [p.name for p in result.places] == ["home", "work"] and result.patient_id == pid
    assert result.need["age_group"] == "adult"
    reads = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "patient.read", AuditEvent.object_id == str(pid))
    ).all()
    assert len(reads) == 1 and reads[0].tenant_id == world.tenant_a.id
    # What the request says wins over the record.
    assert names(
        find(need="knee pain", patient_id=pid, language="en", plan_id=chicago.plan["bcbs"]), chicago
    ) == ["oscar", "sam"]


def test_another_tenants_providers_patients_plans_and_tenant_are_out_of_reach(
    find, chicago, sessions, world
) -> None:
    from careline.patients.service import create_patient

    for request in (
        {"need": "need a physical"},
        {"need": "knee pain"},
        {"specialty": "dermatology"},
        {"need": "my son's asthma"},
        {"need": "need a physical", "accepting_required": False},
    ):
        result = find(zip="60614", limit=50, **request)
        assert chicago.other_tenant_doc not in [c.provider_id for c in result.results]
    assert find(need="is Dr. Kimball taking new patients?").results == []
    with transaction(sessions) as s:
        b_patient = create_patient(
            s,
            tenant_id=world.tenant_b.id,
            actor=Actor("test"),
            first_name="Bea",
            last_name="Other",
            dob="1970-01-01",
            zip="60614",
            confirm_new=True,
        ).id
        from tests.directory import factories as f

        b_plan = f.plan(s, world.tenant_b.id).id
    with pytest.raises(NotFound):
        find(need="knee pain", patient_id=b_patient)
    with pytest.raises(NotFound):
        find(need="knee pain", zip="60614", tenant_id=world.tenant_b.id)
    with pytest.raises(ValidationFailed) as exc:
        find(need="knee pain", zip="60614", plan_id=b_plan)
    assert exc.value.field == "plan_id"
    # Tenant B's own agent finds Dr. Kimball.
    with transaction(sessions, Scope(frozenset({world.tenant_b.id}))) as s:
        mine = match(s, MatchRequest(need="need a physical", zip="60614"))
    assert [c.provider_id for c in mine.results] == [chicago.other_tenant_doc]


# ---------------------------------------------------------------- tenant settings


def test_a_tenant_edits_the_vocabulary_and_the_weights(find, chicago, sessions, world) -> None:
    a = world.tenant_a.id
    assert names(find(need="need a physical", zip="60614", age=8), chicago)[0] == "frank"
    with transaction(sessions) as s:
        service.update_settings(
            s,
            a,
            needs=[
                {
                    "key": "sore_knee",
                    "label": "a sore knee",
                    "patterns": ["sore knee"],
                    "specialties": [SPORTS],
                }
            ],
            weights={"distance": 5},
        )
    sore = find(need="my sore knee", zip="60614")
    assert names(sore, chicago) == ["sam"] and sore.need["key"] == "sore_knee"
    # With distance worth little, the need's first specialty (pediatrics) outranks the nearer family doctor.
    assert names(find(need="need a physical", zip="60614", age=8), chicago)[0] == "paula"
    with transaction(sessions) as s:
        view = service.settings_view(s, a)
        assert view["weights"]["distance"] == 5.0 and view["needs"][0]["key"] == "sore_knee"
        with pytest.raises(ValidationFailed) as exc:
            service.update_settings(s, a, weights={"nearness": 3})
        assert exc.value.field == "weights"
        with pytest.raises(ValidationFailed) as exc:
            service.update_settings(s, a, needs=[{"key": "x", "patterns": ["x"], "specialties": ["BAD"]}])
        assert exc.value.field == "needs"


# ---------------------------------------------------------------- next opening (scheduling)


def test_the_top_results_get_their_next_new_patient_opening(find, chicago, calendars) -> None:
    result = find(need="knee pain after a fall", zip="60302", work_zip="60601")
    by_name = {chicago.name_of(c.provider_id): c for c in result.results}
    oscar, olivia = by_name["oscar"].next_available, by_name["olivia"].next_available
    assert oscar.start_utc == datetime(2026, 12, 7, 19, 0, tzinfo=UTC)  # today 1 pm in Chicago
    assert oscar.type_name == "New patient" and oscar.location_name == "Oak Park Office"
    assert olivia.start_utc == datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
    assert by_name["sam"].next_available is None
    assert "next opening Mon 1:00pm" in by_name["oscar"].reasons
    assert "next opening Dec 14 9:00am" in by_name["olivia"].reasons
    assert names(result, chicago) == ["olivia", "oscar", "sam"]
    body = service.result_dict(result.results[1])["booking"]["body"]
    assert body == {
        "provider_id": chicago.doc["oscar"],
        "location_id": chicago.loc["op"],
        "type_id": calendars["new"],
        "start_at": "2026-12-07T19:00:00+00:00",
        "patient_id": None,
    }


def test_soonest_availability_reorders_the_top(find, chicago, calendars) -> None:
    soonest = find(need="knee pain after a fall", zip="60302", work_zip="60601", soonest=True)
    assert names(soonest, chicago) == ["oscar", "olivia", "sam"]


def test_no_opening_is_made_up_when_nothing_is_bookable(find, chicago) -> None:
    result = find(need="knee pain after a fall", zip="60302", work_zip="60601")
    assert all(c.next_available is None for c in result.results)
    assert not any(r.startswith("next opening") for c in result.results for r in c.reasons)


# ---------------------------------------------------------------- the walk is exact


def vocabulary_codes(words: str) -> tuple[str, ...]:
    from careline.matching import rules

    return rules.build_vocabulary().match(words).need.specialties


def test_the_indexed_walk_finds_what_a_full_scan_finds(sessions, world, monkeypatch) -> None:
    """A random directory of 600 providers at 60 places around Chicago, queried many ways: the walk
    (with small batch thresholds, so both ends of the search are used) equals the naive full scan."""
    import random

    from careline.matching.index import INDEXES
    from careline.matching.naive import full_scan
    from tests.matching.world import random_directory, random_requests

    monkeypatch.setattr(INDEXES, "mode", "off")  # the SQL walk (the in-memory one: test_index.py)
    rng = random.Random(7)
    a = world.tenant_a.id
    zips, plans = random_directory(sessions, world, rng)
    monkeypatch.setattr(candidates, "SMALL_BATCH", 30)
    monkeypatch.setattr(candidates, "FIRST_BATCH", 2)
    requests = random_requests(rng, zips, plans)
    seen = 0
    ends: list[str] = []
    asked: set[tuple[str, ...]] = set()
    other_end = candidates._other_end

    def spy(s, q):
        asked.add(q.codes)
        ends.append(other_end(s, q)[0])
        return other_end(s, q)

    monkeypatch.setattr(candidates, "_other_end", spy)
    with transaction(sessions, Scope(frozenset({a}))) as s:
        for request in requests:
            walked = match(s, MatchRequest(tenant_id=a, **request))
            scanned = match(s, MatchRequest(tenant_id=a, **request), search_with=full_scan)
            key = [(c.provider_id, round(c.score, 9), c.location_id, c.code) for c in walked.results]
            assert key == [
                (c.provider_id, round(c.score, 9), c.location_id, c.code) for c in scanned.results
            ], request
            seen += len(key)
    assert seen > 100
    assert {"specialty", "language"} <= set(ends)  # both other ends were taken, not only locations
    knee = vocabulary_codes("knee pain")
    assert any(set(codes) < set(knee) for codes in asked)  # and specialties that could not place dropped
