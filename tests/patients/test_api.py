"""The patient API: search and lookup, registration with duplicates, read, patch, errors, roles, audit."""

from __future__ import annotations

import pytest

from tests.factories import signed_in
from tests.patients.helpers import audit, register

BASE = "/api/v1/patients"


def _body(world, **overrides) -> dict:
    body = {
        "tenant_id": world.tenant_a.id,
        "first_name": "John",
        "last_name": "Smith",
        "dob": "1961-03-04",
        "zip": "60614",
        "phones": [{"number": "(312) 555-0142", "kind": "mobile"}],
        "referral_source": "friend_family",
        "referral_note": "neighbour recommended Dr. Kim",
    }
    body.update(overrides)
    return body


def test_register_then_read_and_patch(client, world, db) -> None:
    created = client.post(BASE, json=_body(world))
    assert created.status_code == 201, created.text
    patient = created.json()
    assert patient["mrn"] == "TA-000001"
    assert patient["phones"] == [
        {"e164": "+13125550142", "display": "(312) 555-0142", "kind": "mobile", "is_primary": True}
    ]
    assert (patient["city"], patient["state"], patient["referral_source"]) == (
        "Chicago",
        "IL",
        "friend_family",
    )
    pid = patient["id"]

    read = client.get(f"{BASE}/{pid}")
    assert read.status_code == 200 and read.json()["dob"] == "1961-03-04"

    patched = client.patch(
        f"{BASE}/{pid}", json={"preferred_name": "Jack", "phones": [{"number": "773.555.0160"}]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["preferred_name"] == "Jack"
    assert [p["e164"] for p in patched.json()["phones"]] == ["+17735550160"]

    actor = world.agent_a.email
    assert [(r.actor, r.object_id) for r in audit(db, "patient.create")] == [(actor, str(pid))]
    assert [(r.actor, r.object_id) for r in audit(db, "patient.read")] == [(actor, str(pid))]
    [update] = audit(db, "patient.update")
    assert update.detail == {"fields": ["phones", "preferred_name"]}


def test_search_by_any_phone_format_and_by_fuzzy_name(client, world, sessions, db) -> None:
    pid = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=["(312) 555-0142"])
    for typed in ("(312) 555-0142", "312.555.0142", "+1 312 555 0142"):
        found = client.get(BASE, params={"phone": typed})
        assert found.status_code == 200
        assert [c["patient"]["id"] for c in found.json()] == [pid]
    found = client.post(f"{BASE}/lookup", json={"name": "Jon Smyth", "dob": "3/4/1961"})
    assert found.status_code == 200
    [best] = found.json()
    assert best["patient"]["id"] == pid and best["score"] > 90
    assert "nickname Jon=John" in best["reasons"]
    assert "email" not in best["patient"]  # a candidate list shows a summary, not the chart
    kinds = [r.detail["kind"] for r in audit(db, "patient.search")]
    assert kinds == ["phone", "phone", "phone", "name_dob"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"zip": "00000"}, "zip"),
        ({"phones": [{"number": "555-0142"}]}, "phones[0]"),
        ({"phones": [{"number": "312-555-0150"}, {"number": "not a phone"}]}, "phones[1]"),
        ({"dob": "2099-01-01"}, "dob"),
        ({"dob": "1850-01-01"}, "dob"),
        ({"insurance_plan_id": 424242}, "insurance_plan_id"),
        ({"pcp_provider_id": 424242}, "pcp_provider_id"),
    ],
)
def test_registration_errors_are_422_naming_the_field(client, world, overrides, field) -> None:
    response = client.post(BASE, json=_body(world, **overrides))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_lookup_errors_are_422_naming_the_field(client) -> None:
    assert client.get(BASE, params={"phone": "555-0142"}).json()["field"] == "phone"
    response = client.post(f"{BASE}/lookup", json={"name": "John Smith", "dob": "45/45/1961"})
    assert (response.status_code, response.json()["field"]) == (422, "dob")
    assert client.post(f"{BASE}/lookup", json={}).status_code == 422


def test_a_possible_duplicate_is_409_with_candidates_until_confirmed(client, world, sessions, db) -> None:
    existing = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", phones=["312-555-0142"])
    response = client.post(BASE, json=_body(world, first_name="Jon", last_name="Smyth", dob="3/4/1961"))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "conflict"
    [candidate] = body["candidates"]
    assert candidate["patient"]["id"] == existing
    assert "same phone (312) 555-0142" in candidate["reasons"]
    # The candidates were shown, so the check is in the audit log even though nothing was created.
    [check] = audit(db, "patient.search")
    assert check.detail == {"kind": "duplicate_check", "count": 1, "patient_ids": [existing]}
    assert [r.actor for r in audit(db, "patient.create")] == ["test"]  # only the arranged patient

    confirmed = client.post(BASE, json=_body(world, first_name="Jon", last_name="Smyth", confirm_new=True))
    assert confirmed.status_code == 201
    assert audit(db, "patient.create")[-1].detail["registered_despite"] == [existing]


def test_another_tenants_ids_are_not_found(client, world, sessions) -> None:
    theirs = register(sessions, world.tenant_b.id)
    assert client.get(f"{BASE}/{theirs}").status_code == 404
    assert client.patch(f"{BASE}/{theirs}", json={"first_name": "X"}).status_code == 404
    created = client.post(BASE, json=_body(world, tenant_id=world.tenant_b.id))
    assert (created.status_code, created.json()["field"]) == (404, "tenant_id")
    assert client.get(BASE, params={"phone": "312-555-0142"}).json() == []


def test_practice_managers_have_no_patient_access(app, world, sessions) -> None:
    pid = register(sessions, world.tenant_a.id)
    with signed_in(app, world.manager_a) as manager:
        assert manager.get(BASE, params={"phone": "312-555-0142"}).status_code == 403
        assert manager.get(f"{BASE}/{pid}").status_code == 403
        assert manager.post(f"{BASE}/lookup", json={"phone": "312-555-0142"}).status_code == 403
        assert manager.post(BASE, json=_body(world)).status_code == 403


@pytest.mark.parametrize("role", ["agent", "nurse", "supervisor", "admin"])
def test_front_line_roles_and_admins_may_look_up(app, world, sessions, role) -> None:
    pid = register(sessions, world.tenant_a.id)
    with signed_in(app, world.by_role(role)) as c:
        found = c.post(f"{BASE}/lookup", json={"phone": "312-555-0142"})
        assert [x["patient"]["id"] for x in found.json()] == [pid]
