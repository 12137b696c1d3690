"""Each bad field is refused with 422 and the name of the field; nothing is saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careline.db import Scope, open_session, transaction
from careline.directory import service
from careline.directory.models import Location, Provider
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.kit.npi import npi_check_digit
from tests.directory import factories as make


def _provider_body(world, **extra):
    return {
        "tenant_id": world.tenant_a.id,
        "npi": make.npi(),
        "first_name": "Ada",
        "last_name": "Okafor",
        "specialties": ["207Q00000X"],
        "languages": ["en"],
        **extra,
    }


def _bad_check_digit(npi: str) -> str:
    return npi[:9] + str((npi_check_digit(npi[:9]) + 1) % 10)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"npi": "BAD"}, "npi"),
        ({"specialties": ["207Q00000X", "999ZZ0000X"]}, "specialties"),
        ({"languages": ["en", "xx"]}, "languages"),
        ({"gender": "robot"}, "gender"),
        ({"min_age": 40, "max_age": 10}, "min_age"),
        ({"first_name": "  "}, "first_name"),
    ],
)
def test_bad_provider_fields_answer_422_naming_the_field(admin, world, db, extra, field) -> None:
    response = admin.post("/api/v1/providers", json=_provider_body(world, **extra))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert db.scalar(select(func.count()).select_from(Provider)) == 0


def test_an_npi_with_a_wrong_check_digit_is_refused(admin, world) -> None:
    good = make.npi()
    response = admin.post("/api/v1/providers", json=_provider_body(world, npi=_bad_check_digit(good)))
    assert response.status_code == 422
    assert response.json()["field"] == "npi"
    assert "check digit" in response.json()["message"]
    assert admin.post("/api/v1/providers", json=_provider_body(world, npi=good)).status_code == 201


def _location_body(world, **extra):
    return {
        "tenant_id": world.tenant_a.id,
        "name": "North Clinic",
        "address_line1": "1 Main St",
        "zip": "60614",
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"zip": "00000"}, "zip"),
        ({"zip": "6061"}, "zip"),
        ({"phone": "555-1234"}, "phone"),
        ({"phone": "(123) 456-7890"}, "phone"),
        ({"hours": "Mon-Fri 17:00-08:00"}, "hours"),
        ({"hours": {"funday": [["08:00", "17:00"]]}}, "hours"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_bad_location_fields_answer_422_naming_the_field(admin, world, db, extra, field) -> None:
    response = admin.post("/api/v1/locations", json=_location_body(world, **extra))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert db.scalar(select(func.count()).select_from(Location)) == 0


def test_a_good_location_gets_place_coordinates_and_zone_from_its_zip(admin, world) -> None:
    response = admin.post(
        "/api/v1/locations", json=_location_body(world, phone="312.555.0142", zip="60614-1234")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["city"], body["state"], body["zip"], body["timezone"]) == (
        "Chicago",
        "IL",
        "60614",
        "America/Chicago",
    )
    assert abs(body["lat"] - 41.92) < 0.05 and abs(body["lon"] + 87.65) < 0.05
    assert body["phone"] == "+13125550142"


def test_department_and_resource_phones_are_checked(admin, world) -> None:
    bad = {"tenant_id": world.tenant_a.id, "name": "Billing", "kind": "billing", "phone": "12"}
    response = admin.post("/api/v1/departments", json=bad)
    assert (response.status_code, response.json()["field"]) == (422, "phone")
    unreachable = {"tenant_id": world.tenant_a.id, "name": "Billing", "kind": "billing"}
    assert admin.post("/api/v1/departments", json=unreachable).json()["field"] == "phone"
    crisis = {"tenant_id": world.tenant_a.id, "name": "988 Lifeline", "kind": "crisis", "phone": "988"}
    assert admin.post("/api/v1/resources", json=crisis).status_code == 201
    wrong = {"tenant_id": world.tenant_a.id, "name": "X", "kind": "crisis", "phone": "98"}
    assert admin.post("/api/v1/resources", json=wrong).json()["field"] == "phone"


def test_duplicate_npi_and_location_name_conflict_within_a_tenant_only(sessions, world) -> None:
    with transaction(sessions) as db:
        p = make.provider(db, world.tenant_a.id)
        make.location(db, world.tenant_a.id, name="Main Clinic")
        npi = p.npi
    with transaction(sessions) as db, pytest.raises(Conflict) as exc:
        make.provider(db, world.tenant_a.id, npi=npi)
    assert exc.value.field == "npi"
    with transaction(sessions) as db, pytest.raises(Conflict):
        make.location(db, world.tenant_a.id, name="Main Clinic")
    with transaction(sessions) as db:  # another client may list the same clinician and name
        make.provider(db, world.tenant_b.id, npi=npi)
        make.location(db, world.tenant_b.id, name="Main Clinic")


def test_links_to_another_tenants_location_or_plan_are_refused(sessions, world) -> None:
    with transaction(sessions) as db:
        loc_b = make.location(db, world.tenant_b.id).id
        plan_b = make.plan(db, world.tenant_b.id).id
    with transaction(sessions) as db, pytest.raises(ValidationFailed) as exc:
        make.provider(db, world.tenant_a.id, location_ids=[loc_b])
    assert exc.value.field == "location_ids"
    with transaction(sessions) as db, pytest.raises(ValidationFailed) as exc:
        make.provider(db, world.tenant_a.id, plans=[{"plan_id": plan_b, "accepting_new": True}])
    assert exc.value.field == "plans"


def test_a_scoped_session_cannot_create_in_another_tenant(sessions, world) -> None:
    db = open_session(sessions, Scope(frozenset({world.tenant_a.id})))
    try:
        with pytest.raises(NotFound):
            make.location(db, world.tenant_b.id)
        with pytest.raises(NotFound):
            make.provider(db, world.tenant_b.id)
    finally:
        db.rollback()
        db.close()


def test_a_failed_update_changes_nothing(sessions, world) -> None:
    with transaction(sessions) as db:
        p = make.provider(db, world.tenant_a.id, first_name="Kim")
    with transaction(sessions) as db, pytest.raises(ValidationFailed):
        service.update_provider(db, p.id, {"first_name": "Lee", "languages": ["zz"]})
    with transaction(sessions) as db:
        assert service.get_provider(db, p.id).first_name == "Kim"
