"""Registering and changing patients: field checks, ZIP geocoding, MRNs, duplicates, tenants, audit."""

from __future__ import annotations

import json
from datetime import date

import pytest

from careline.errors import NotFound, ValidationFailed
from careline.patients import service
from careline.patients.models import Patient, PhoneKind, ReferralSource, Sex
from tests.patients.helpers import ACTOR, audit, register, scoped


def _create(sessions, tenant_id: int, **overrides):
    fields = {"first_name": "Ana", "last_name": "Kowalski", "dob": "1980-05-17", "phones": ["312-555-0150"]}
    fields.update(overrides)
    with scoped(sessions, tenant_id) as s:
        return service.create_patient(s, tenant_id=tenant_id, actor=ACTOR, **fields)


def test_a_full_registration_is_stored_normalised(world, sessions, db) -> None:
    patient = _create(
        sessions,
        world.tenant_a.id,
        first_name="  Ana ",
        last_name="Kowalski",
        preferred_name="Ania",
        dob="5/17/1980",
        sex="female",
        preferred_language="PL",
        email="ana.k@example.com",
        address_line1="2300 N Clark St",
        zip="60614-1234",
        work_zip="60601",
        consent_sms=True,
        consent_email=True,
        referral_source="friend_family",
        referral_note="neighbour recommended Dr. Kim",
        phones=[{"number": "(312) 555-0150", "kind": "mobile"}, {"number": "773.555.0151", "kind": "home"}],
    )
    stored = db.get(Patient, patient.id)
    assert (stored.first_name, stored.last_name, stored.preferred_name) == ("Ana", "Kowalski", "Ania")
    assert stored.dob == date(1980, 5, 17)
    assert stored.sex is Sex.FEMALE and stored.preferred_language == "pl"
    assert (stored.zip, stored.city, stored.state) == ("60614", "Chicago", "IL")
    assert stored.home_lat == pytest.approx(41.92, abs=0.05) and stored.home_lon == pytest.approx(
        -87.65, abs=0.05
    )
    assert stored.work_zip == "60601" and stored.work_lat is not None
    assert stored.consent_sms and stored.consent_email and not stored.consent_voice
    assert stored.referral_source is ReferralSource.FRIEND_FAMILY
    assert stored.referral_note == "neighbour recommended Dr. Kim"
    assert stored.last_name_key == "kowalski" and stored.last_name_sound == "K420"
    with scoped(sessions, world.tenant_a.id) as s:
        loaded = service.get_patient(s, patient.id, actor=ACTOR)
        assert [(p.e164, p.kind, p.is_primary) for p in loaded.phones] == [
            ("+13125550150", PhoneKind.MOBILE, True),
            ("+17735550151", PhoneKind.HOME, False),
        ]


def test_mrns_count_up_per_tenant_with_the_tenants_prefix(world, sessions) -> None:
    first = _create(sessions, world.tenant_a.id)
    second = _create(
        sessions, world.tenant_a.id, first_name="Bo", last_name="Diaz", dob="1990-01-01", phones=[]
    )
    other = _create(sessions, world.tenant_b.id)
    assert (first.mrn, second.mrn) == ("TA-000001", "TA-000002")  # Tenant A Health
    assert other.mrn == "TB-000001"


TWO_PRIMARIES = [
    {"number": "312-555-0150", "is_primary": True},
    {"number": "312-555-0151", "is_primary": True},
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"zip": "00000"}, "zip"),
        ({"zip": "6061"}, "zip"),
        ({"work_zip": "99999"}, "work_zip"),
        ({"phones": ["555-0142"]}, "phones[0]"),
        ({"phones": ["312-555-0150", "(123) 456-7890"]}, "phones[1]"),
        ({"phones": ["312-555-0150", "312.555.0150"]}, "phones[1]"),
        ({"phones": [{"number": "312-555-0150", "kind": "pager"}]}, "phones[0]"),
        ({"phones": TWO_PRIMARIES}, "phones"),
        ({"dob": "1/1/2099"}, "dob"),
        ({"dob": "12/31/1899"}, "dob"),
        ({"dob": "not a date"}, "dob"),
        ({"dob": ""}, "dob"),
        ({"first_name": "  "}, "first_name"),
        ({"last_name": ""}, "last_name"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"email": "ana at example"}, "email"),
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"sex": "robot"}, "sex"),
        ({"state": "Illinois"}, "state"),
        ({"referral_source": "billboard"}, "referral_source"),
        ({"insurance_plan_id": 999999}, "insurance_plan_id"),
        ({"pcp_provider_id": 999999}, "pcp_provider_id"),
    ],
)
def test_invalid_fields_are_refused_naming_the_field(world, sessions, db, overrides, field) -> None:
    with pytest.raises(ValidationFailed) as err:
        _create(sessions, world.tenant_a.id, **overrides)
    assert err.value.field == field, err.value.message
    assert err.value.status_code == 422
    db.rollback()
    assert db.query(Patient).count() == 0


def test_a_patient_cannot_be_created_in_a_tenant_outside_the_scope(world, sessions) -> None:
    with pytest.raises(NotFound) as err, scoped(sessions, world.tenant_a.id) as s:
        service.create_patient(
            s, tenant_id=world.tenant_b.id, actor=ACTOR, first_name="A", last_name="B", dob="1990-01-01"
        )
    assert err.value.field == "tenant_id"


def test_another_tenants_plan_or_provider_is_refused(world, sessions, directory) -> None:
    with pytest.raises(ValidationFailed) as err:
        _create(sessions, world.tenant_a.id, insurance_plan_id=directory.plan_b)
    assert err.value.field == "insurance_plan_id"
    with pytest.raises(ValidationFailed) as err:
        _create(sessions, world.tenant_a.id, pcp_provider_id=directory.provider_b)
    assert err.value.field == "pcp_provider_id"
    ok = _create(sessions, world.tenant_a.id, insurance_plan_id=directory.plan_a, member_id="XGH123456789",
                 pcp_provider_id=directory.provider_a)  # fmt: skip
    assert (ok.insurance_plan_id, ok.pcp_provider_id) == (directory.plan_a, directory.provider_a)


# --- duplicates ---------------------------------------------------------------------------------------


def test_the_same_phone_is_a_possible_duplicate(world, sessions) -> None:
    existing = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=["(312) 555-0142"])
    with pytest.raises(service.DuplicatePatients) as err:
        _create(sessions, world.tenant_a.id, first_name="Mary", last_name="Smith", dob="1963-08-09",
                phones=["312.555.0142"])  # fmt: skip
    assert err.value.status_code == 409
    [candidate] = err.value.to_dict()["candidates"]  # the ORM objects went with the rolled-back session
    assert candidate["patient_id"] == existing
    assert "same phone (312) 555-0142" in candidate["reasons"]


def test_the_same_dob_and_a_similar_name_is_a_possible_duplicate(world, sessions) -> None:
    existing = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=[])
    with pytest.raises(service.DuplicatePatients) as err:
        _create(sessions, world.tenant_a.id, first_name="Jon", last_name="Smyth", dob="3/4/1961", phones=[])
    [candidate] = err.value.to_dict()["candidates"]
    assert candidate["patient_id"] == existing
    assert "DOB exact" in candidate["reasons"]


def test_a_different_person_or_another_tenants_patient_is_no_duplicate(world, sessions) -> None:
    register(sessions, world.tenant_a.id, "Maria", "Lopez", "1961-03-04", phones=[])
    register(sessions, world.tenant_b.id, "John", "Smith", "1961-03-04", phones=["312-555-0142"])
    created = _create(sessions, world.tenant_a.id, first_name="John", last_name="Smith", dob="1961-03-04",
                      phones=["312-555-0142"])  # fmt: skip
    assert created.id


def test_confirm_new_registers_anyway_and_the_audit_says_so(world, sessions, db) -> None:
    existing = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=[])
    created = _create(sessions, world.tenant_a.id, first_name="John", last_name="Smith", dob="1961-03-04",
                      phones=[], confirm_new=True)  # fmt: skip
    row = audit(db, "patient.create")[-1]
    assert row.object_id == str(created.id)
    assert row.detail["registered_despite"] == [existing]


# --- updates ------------------------------------------------------------------------------------------


def test_update_changes_fields_phones_and_derived_columns(world, sessions, db) -> None:
    pid = register(
        sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=["312-555-0142"], zip="60614"
    )
    with scoped(sessions, world.tenant_a.id) as s:
        service.update_patient(
            s, pid, actor=ACTOR, last_name="Smythe", zip="60201", phones=["773-555-0160"], consent_voice=True
        )
    stored = db.get(Patient, pid)
    assert (stored.last_name, stored.last_name_key, stored.zip, stored.city) == (
        "Smythe",
        "smythe",
        "60201",
        "Evanston",
    )
    assert stored.consent_voice and stored.updated_at is not None
    with scoped(sessions, world.tenant_a.id) as s:
        assert [c.patient.id for c in service.lookup_by_phone(s, "773-555-0160", actor=ACTOR)] == [pid]
        assert service.lookup_by_phone(s, "312-555-0142", actor=ACTOR) == []
    row = audit(db, "patient.update")[-1]
    assert row.detail == {"fields": ["city", "consent_voice", "last_name", "phones", "zip"]}


def test_update_refuses_bad_values_and_changes_nothing(world, sessions, db) -> None:
    pid = register(sessions, world.tenant_a.id, zip="60614")
    with pytest.raises(ValidationFailed) as err, scoped(sessions, world.tenant_a.id) as s:
        service.update_patient(s, pid, actor=ACTOR, first_name="Jack", zip="00000")
    assert err.value.field == "zip"
    assert db.get(Patient, pid).first_name == "John"


def test_another_tenants_patient_cannot_be_read_or_changed(world, sessions) -> None:
    theirs = register(sessions, world.tenant_b.id)
    with scoped(sessions, world.tenant_a.id) as s:
        with pytest.raises(NotFound):
            service.get_patient(s, theirs, actor=ACTOR)
        with pytest.raises(NotFound):
            service.update_patient(s, theirs, actor=ACTOR, first_name="Mallory")


# --- audit --------------------------------------------------------------------------------------------


def test_create_read_update_and_search_are_audited_without_the_typed_details(world, sessions, db) -> None:
    a = world.tenant_a.id
    created = _create(
        sessions, a, first_name="John", last_name="Smith", dob="1961-03-04", phones=["312-555-0142"]
    )
    with scoped(sessions, a) as s:
        service.get_patient(s, created.id, actor=ACTOR)
        service.update_patient(s, created.id, actor=ACTOR, preferred_name="Jack")
        service.lookup_by_phone(s, "(312) 555-0142", actor=ACTOR)
        service.lookup_by_name_dob(s, "Jon Smyth", "3/4/1961", actor=ACTOR)
        service.lookup_by_name_dob(s, "Nobody Atall", "1/1/1950", actor=ACTOR)
    [create] = audit(db, "patient.create")
    [read] = audit(db, "patient.read")
    [update] = audit(db, "patient.update")
    searches = audit(db, "patient.search")
    for row in (create, read, update):
        assert (row.tenant_id, row.object_type, row.object_id, row.actor) == (
            a,
            "patient",
            str(created.id),
            "test",
        )
    assert update.detail == {"fields": ["preferred_name"]}
    assert [(r.detail["kind"], r.detail["count"]) for r in searches] == [
        ("phone", 1),
        ("name_dob", 1),
        ("name_dob", 0),
    ]
    assert searches[0].detail["patient_ids"] == [created.id]
    assert all(r.tenant_id == a for r in searches)
    text = json.dumps([r.detail for r in searches])
    for typed in ("555", "Smyth", "1961", "Nobody"):
        assert typed not in text
