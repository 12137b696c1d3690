"""The pure booking rules: notice, horizon, ages, new-patient acceptance, new/established, referral."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from careline.scheduling import rules
from careline.scheduling.rules import PatientFacts, ProviderFacts, TypeFacts

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
CHI = "America/Chicago"
NEW_VISIT = TypeFacts(
    1, "New patient visit", 40, patient_kind="new", min_notice_minutes=1440, max_days_ahead=90
)
KIM = ProviderFacts(7, "Dr. Kim")


def test_notice_is_counted_to_the_minute() -> None:
    assert rules.timing_problem(NEW_VISIT, NOW + timedelta(hours=24), NOW, CHI) is None
    v = rules.timing_problem(NEW_VISIT, NOW + timedelta(hours=23, minutes=59), NOW, CHI)
    assert v is not None and v.code == "too_soon"
    assert v.message == "too soon: New patient visit needs 24 hours' notice"
    assert rules.timing_problem(NEW_VISIT, NOW - timedelta(minutes=1), NOW, CHI).message == (  # type: ignore[union-attr]
        "that time has already passed"
    )


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(60, "1 hour's"), (120, "2 hours'"), (30, "30 minutes'"), (1, "1 minute's"), (2880, "48 hours'")],
)
def test_notice_wording(minutes: int, text: str) -> None:
    kind = TypeFacts(1, "Visit", 20, min_notice_minutes=minutes)
    v = rules.timing_problem(kind, NOW + timedelta(seconds=30), NOW, CHI)
    assert v is not None and v.message == f"too soon: Visit needs {text} notice"


def test_the_horizon_counts_local_days() -> None:
    # 90 local days from Monday Dec 7 is Sunday Mar 7; late that evening is still inside.
    last = datetime(2027, 3, 7, 23, 30)
    inside = last.replace(tzinfo=rules.get_zone(CHI))
    assert rules.timing_problem(NEW_VISIT, inside.astimezone(UTC), NOW, CHI) is None
    v = rules.timing_problem(NEW_VISIT, (inside + timedelta(hours=1)).astimezone(UTC), NOW, CHI)
    assert v is not None and v.message == "too far ahead: bookable up to 90 days out"
    one = TypeFacts(2, "Visit", 20, max_days_ahead=1)
    assert rules.timing_problem(one, NOW + timedelta(days=2), NOW, CHI).message == (  # type: ignore[union-attr]
        "too far ahead: bookable up to 1 day out"
    )


def test_provider_age_limits() -> None:
    adult_only = ProviderFacts(1, "Dr. Kim", sees_pediatric=False)
    assert rules.patient_problems(TypeFacts(1, "V", 20), adult_only, PatientFacts(17, False))[0].message == (
        "Dr. Kim does not see patients under 18"
    )
    assert rules.patient_problems(TypeFacts(1, "V", 20), adult_only, PatientFacts(18, False)) == []
    peds = ProviderFacts(2, "Dr. Young", sees_pediatric=True, sees_adult=False, sees_geriatric=False)
    assert rules.patient_problems(TypeFacts(1, "V", 20), peds, PatientFacts(30, False))[0].message == (
        "Dr. Young does not see patients 18 and over"
    )
    explicit = ProviderFacts(3, "Dr. Ode", min_age=12, max_age=65, sees_pediatric=True)
    assert rules.patient_problems(TypeFacts(1, "V", 20), explicit, PatientFacts(11, False))[0].message == (
        "Dr. Ode does not see patients under 12"
    )
    assert rules.patient_problems(TypeFacts(1, "V", 20), explicit, PatientFacts(66, False))[0].message == (
        "Dr. Ode does not see patients over 65"
    )
    no_seniors = ProviderFacts(4, "Dr. Fox", sees_geriatric=False)
    assert rules.patient_problems(TypeFacts(1, "V", 20), no_seniors, PatientFacts(70, False))[0].message == (
        "Dr. Fox does not see patients 65 and over"
    )


def test_type_age_limits() -> None:
    physical = TypeFacts(1, "Annual physical", 30, min_age=18)
    well_child = TypeFacts(2, "Well-child visit", 30, max_age=17)
    anyone = ProviderFacts(1, "Dr. Kim", sees_pediatric=True)
    assert rules.patient_problems(physical, anyone, PatientFacts(17, True))[0].message == (
        "Annual physical is for patients 18 and over"
    )
    assert rules.patient_problems(well_child, anyone, PatientFacts(18, True))[0].message == (
        "Well-child visit is for patients 17 and under"
    )


def test_new_patient_acceptance_and_patient_kind() -> None:
    closed = ProviderFacts(1, "Dr. Lee", accepting_new_patients=False)
    any_kind = TypeFacts(1, "Office visit", 20)
    assert [v.message for v in rules.patient_problems(any_kind, closed, PatientFacts(40, True))] == [
        "Dr. Lee is not accepting new patients"
    ]
    assert rules.patient_problems(any_kind, closed, PatientFacts(40, False)) == []  # established: fine
    follow = TypeFacts(2, "Follow-up", 20, patient_kind="established")
    assert rules.patient_problems(follow, KIM, PatientFacts(40, True))[0].code == "new_patient"
    assert rules.patient_problems(NEW_VISIT, KIM, PatientFacts(40, False))[0].message == (
        "New patient visit is for new patients; this patient is established with Dr. Kim"
    )


def test_referral_required() -> None:
    consult = TypeFacts(1, "Ortho consult", 30, referral_required=True)
    assert rules.patient_problems(consult, KIM, PatientFacts(40, True))[0].message == (
        "Ortho consult needs a referral; record it to book"
    )
    assert rules.patient_problems(consult, KIM, PatientFacts(40, True, has_referral=True)) == []


def test_who_offers_a_type() -> None:
    ortho = TypeFacts(1, "Ortho consult", 30, specialty_codes=frozenset({"207X00000X"}))
    assert rules.offer_problem(ortho, KIM).message == "Dr. Kim does not offer Ortho consult"  # type: ignore[union-attr]
    surgeon = ProviderFacts(2, "Dr. Bone", specialty_codes=frozenset({"207X00000X"}))
    assert rules.offer_problem(ortho, surgeon) is None
    only_kim = TypeFacts(2, "Procedure", 60, provider_ids=frozenset({7}))
    assert rules.offer_problem(only_kim, KIM) is None
    assert rules.offer_problem(only_kim, surgeon) is not None
    video = TypeFacts(3, "Telehealth visit", 20, modality="telehealth")
    assert rules.offer_problem(video, KIM).message == "Dr. Kim does not offer telehealth visits"  # type: ignore[union-attr]
    retired = TypeFacts(4, "Old", 20, active=False)
    assert rules.offer_problem(retired, KIM).code == "type_inactive"  # type: ignore[union-attr]


def test_provider_labels() -> None:
    assert rules.provider_label("Grace", "Kim", "MD") == "Dr. Kim"
    assert rules.provider_label("Ana", "Ruiz", "DO, FACP") == "Dr. Ruiz"
    assert rules.provider_label("Ana", "Ruiz", "NP") == "Ana Ruiz, NP"
    assert rules.provider_label("Sam", "Lo", "") == "Sam Lo"


def test_clock_text_and_weekdays() -> None:
    assert rules.parse_hhmm("8:05") == 485 and rules.parse_hhmm("24:00") == 1440
    assert rules.hhmm(485) == "08:05"
    with pytest.raises(ValueError):
        rules.parse_hhmm("25:00")
    assert (
        rules.parse_weekday("Tuesday") == 1 and rules.parse_weekday(6) == 6 and rules.parse_weekday("3") == 3
    )
    with pytest.raises(ValueError):
        rules.parse_weekday(7)


def test_merge_and_nearest() -> None:
    assert rules.merge([(5, 7), (1, 3), (2, 4), (7, 8), (10, 10)]) == ([1, 5], [4, 8])
    base = datetime(2026, 12, 8, 15, tzinfo=UTC)
    slots = [
        rules.Slot(1, 1, 1, base + timedelta(minutes=m), base + timedelta(minutes=m + 20), CHI, 1)
        for m in (-60, -15, 30, 45, 120)
    ]
    picked = rules.nearest(slots, base, 3)
    assert [int((s.start_at - base).total_seconds() // 60) for s in picked] == [-15, 30, 45]


def test_age_on() -> None:
    assert rules.age_on(date(2008, 12, 8), date(2026, 12, 7)) == 17
    assert rules.age_on(date(2008, 12, 7), date(2026, 12, 7)) == 18
