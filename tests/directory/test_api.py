"""The directory API: create, read, edit, deactivate, search; who may do what; whose data shows."""

from __future__ import annotations

from careline.db import transaction
from tests.directory import factories as make
from tests.factories import signed_in


def _world_a(sessions, world):
    """Two locations, two plans and three providers in tenant A; one provider in tenant B."""
    with transaction(sessions) as db:
        north = make.location(db, world.tenant_a.id, name="North", zip="60626")
        south = make.location(db, world.tenant_a.id, name="South", zip="60637")
        ppo = make.plan(db, world.tenant_a.id, name="Acme PPO")
        medicaid = make.plan(db, world.tenant_a.id, name="State Medicaid", plan_type="Medicaid")
        kim = make.provider(
            db, world.tenant_a.id, first_name="Jin", last_name="Kim", specialties=["207RC0000X"],
            languages=["en", "ko"], location_ids=[north.id],
            plans=[{"plan_id": ppo.id, "accepting_new": True},
                   {"plan_id": medicaid.id, "accepting_new": False}],
        )  # fmt: skip
        garcia = make.provider(
            db, world.tenant_a.id, first_name="Ana", last_name="Garcia", specialties=["208000000X"],
            languages=["en", "es"], location_ids=[south.id],
            plans=[{"plan_id": medicaid.id, "accepting_new": True}],
        )  # fmt: skip
        closed = make.provider(
            db, world.tenant_a.id, first_name="Bo", last_name="Novak", specialties=["207Q00000X"],
            languages=["pl"], location_ids=[north.id, south.id], accepting_new_patients=False,
        )  # fmt: skip
        other = make.provider(db, world.tenant_b.id, first_name="Zed", last_name="Kimball")
        return {
            "north": north.id, "south": south.id, "ppo": ppo.id, "medicaid": medicaid.id,
            "kim": kim.id, "garcia": garcia.id, "novak": closed.id, "other": other.id,
        }  # fmt: skip


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["last_name"] for p in response.json()["items"]]


def test_search_filters_each_narrow_the_list(client, sessions, world) -> None:
    ids = _world_a(sessions, world)
    assert _names(client.get("/api/v1/providers")) == [
        "Garcia",
        "Kim",
        "Novak",
    ]  # tenant B's Kimball is not seen
    assert _names(client.get("/api/v1/providers", params={"q": "kim"})) == ["Kim"]
    assert _names(client.get("/api/v1/providers", params={"q": "ana gar"})) == ["Garcia"]
    assert _names(client.get("/api/v1/providers", params={"specialty": "cardiology"})) == ["Kim"]
    assert _names(client.get("/api/v1/providers", params={"specialty": "kids doctor"})) == ["Garcia"]
    assert _names(client.get("/api/v1/providers", params={"specialty": "207Q00000X"})) == ["Novak"]
    assert _names(client.get("/api/v1/providers", params={"language": "es"})) == ["Garcia"]
    assert _names(client.get("/api/v1/providers", params={"language": "Polish"})) == ["Novak"]
    assert _names(client.get("/api/v1/providers", params={"location_id": ids["north"]})) == ["Kim", "Novak"]
    assert _names(client.get("/api/v1/providers", params={"accepting": True})) == ["Garcia", "Kim"]
    assert _names(client.get("/api/v1/providers", params={"plan_id": ids["medicaid"]})) == ["Garcia", "Kim"]
    both = {"plan_id": ids["medicaid"], "accepting": True}
    assert _names(client.get("/api/v1/providers", params=both)) == ["Garcia"]  # Kim is closed on Medicaid
    assert _names(client.get("/api/v1/providers", params={"age": 8})) == ["Garcia", "Novak"]
    assert client.get("/api/v1/providers", params={"language": "xx"}).json()["field"] == "languages"


def test_search_pages_with_limit_and_offset(client, sessions, world) -> None:
    _world_a(sessions, world)
    first = client.get("/api/v1/providers", params={"limit": 2}).json()
    second = client.get("/api/v1/providers", params={"limit": 2, "offset": 2}).json()
    assert (first["total"], second["total"]) == (3, 3)
    assert [p["last_name"] for p in first["items"] + second["items"]] == ["Garcia", "Kim", "Novak"]


def test_a_provider_reads_with_names_for_codes_and_a_summary(client, sessions, world) -> None:
    ids = _world_a(sessions, world)
    body = client.get(f"/api/v1/providers/{ids['kim']}").json()
    assert body["specialties"] == [{"code": "207RC0000X", "name": "cardiology", "is_primary": True}]
    assert [x["name"] for x in body["languages"]] == ["English", "Korean"]
    assert [p["accepting_new"] for p in body["plans"]] == [True, False]
    assert (
        "cardiology" in body["summary"]
        and "Korean" in body["summary"]
        and "State Medicaid" in body["summary"]
    )
    assert client.get(f"/api/v1/providers/{ids['other']}").status_code == 404


def test_admin_creates_edits_and_deactivates_a_provider(admin, sessions, world) -> None:
    ids = _world_a(sessions, world)
    body = {
        "tenant_id": world.tenant_a.id,
        "npi": make.npi(),
        "first_name": "Maya",
        "last_name": "Singh",
        "credentials": "MD",
        "gender": "female",
        "specialties": ["207V00000X", "207VM0101X"],
        "languages": ["en", "hi", "Gujarati"],
        "location_ids": [ids["south"]],
        "plans": [{"plan_id": ids["ppo"]}],
        "visit_reasons": ["Prenatal care", "prenatal care", "Pap smear"],
    }
    created = admin.post("/api/v1/providers", json=body)
    assert created.status_code == 201, created.text
    p = created.json()
    assert [s["code"] for s in p["specialties"]] == ["207V00000X", "207VM0101X"]
    assert [x["code"] for x in p["languages"]] == ["en", "hi", "gu"]
    assert p["visit_reasons"] == ["prenatal care", "pap smear"]
    assert (p["sees_pediatric"], p["sees_adult"]) == (False, True)  # OB/GYN: adult by default
    patched = admin.patch(
        f"/api/v1/providers/{p['id']}",
        json={
            "specialties": ["207VM0101X", "207V00000X"],
            "languages": ["en"],
            "accepting_new_patients": False,
        },
    ).json()
    assert patched["specialties"][0] == {
        "code": "207VM0101X",
        "name": "maternal-fetal medicine",
        "is_primary": True,
    }
    assert [x["code"] for x in patched["languages"]] == ["en"]
    assert admin.patch(f"/api/v1/providers/{p['id']}", json={"active": False}).json()["active"] is False
    listed = admin.get("/api/v1/providers", params={"tenant_id": world.tenant_a.id}).json()["items"]
    assert p["id"] not in [x["id"] for x in listed]
    everyone = admin.get(
        "/api/v1/providers", params={"tenant_id": world.tenant_a.id, "include_inactive": True}
    )
    assert p["id"] in [x["id"] for x in everyone.json()["items"]]


def test_admin_maintains_locations_plans_departments_and_resources(admin, world) -> None:
    tid = world.tenant_a.id
    loc = admin.post(
        "/api/v1/locations",
        json={"tenant_id": tid, "name": "Evanston", "address_line1": "1000 Central St", "zip": "60201",
              "hours": "Mon-Fri 08:00-17:00", "closures": [{"date": "2026-12-25", "reason": "Christmas"}],
              "parking": "Garage on the left"},
    )  # fmt: skip
    assert loc.status_code == 201, loc.text
    lid = loc.json()["id"]
    assert loc.json()["hours_text"] == "Mon-Fri 08:00-17:00"
    moved = admin.patch(f"/api/v1/locations/{lid}", json={"zip": "60540", "city": None}).json()
    assert (moved["city"], moved["zip"]) == ("Naperville", "60540")
    assert moved["closures"][0]["reason"] == "Christmas"
    assert admin.patch(f"/api/v1/locations/{lid}", json={"active": False}).json()["active"] is False
    assert admin.get("/api/v1/locations", params={"tenant_id": tid}).json()["total"] == 0

    plan = admin.post("/api/v1/plans", json={"tenant_id": tid, "name": "Acme HMO", "plan_type": "HMO"})
    assert plan.status_code == 201
    assert admin.post("/api/v1/plans", json={"tenant_id": tid, "name": "Acme HMO"}).status_code == 409
    assert admin.patch(f"/api/v1/plans/{plan.json()['id']}", json={"payer": "Acme"}).json()["payer"] == "Acme"

    dept = admin.post(
        "/api/v1/departments",
        json={"tenant_id": tid, "name": "Records", "kind": "medical_records", "phone": "(312) 555-0107",
              "intents": ["records"], "hours": "Mon-Fri 09:00-16:00"},
    )  # fmt: skip
    assert dept.status_code == 201, dept.text
    assert dept.json()["phone"] == "+13125550107"
    did = dept.json()["id"]
    assert (
        admin.patch(f"/api/v1/departments/{did}", json={"queue": "records_team"}).json()["queue"]
        == "records_team"
    )
    res = admin.post(
        "/api/v1/resources",
        json={
            "tenant_id": tid,
            "name": "Food pantry",
            "kind": "community",
            "phone": "211",
            "keywords": ["Food"],
        },
    )
    assert res.status_code == 201 and res.json()["keywords"] == ["food"]
    assert (
        admin.patch(f"/api/v1/resources/{res.json()['id']}", json={"active": False}).json()["active"] is False
    )


def test_readers_may_read_but_not_write(app, client, world, sessions) -> None:
    ids = _world_a(sessions, world)
    assert client.get(f"/api/v1/locations/{ids['north']}").status_code == 200
    assert client.patch(f"/api/v1/locations/{ids['north']}", json={"name": "X"}).status_code == 403
    assert client.post("/api/v1/plans", json={"tenant_id": world.tenant_a.id, "name": "X"}).status_code == 403
    with signed_in(app, world.manager_a) as manager:
        assert manager.get("/api/v1/providers").json()["total"] == 3
        assert manager.patch(f"/api/v1/providers/{ids['kim']}", json={"active": False}).status_code == 403


def test_each_tenant_sees_only_its_own_directory(app, sessions, world) -> None:
    ids = _world_a(sessions, world)
    with transaction(sessions) as db:
        b_loc = make.location(db, world.tenant_b.id, name="B Clinic").id
        b_dept = make.department(db, world.tenant_b.id).id
        b_res = make.resource(db, world.tenant_b.id).id
        b_plan = make.plan(db, world.tenant_b.id).id
    with signed_in(app, world.agent_b) as b:
        assert [p["last_name"] for p in b.get("/api/v1/providers").json()["items"]] == ["Kimball"]
        assert [x["name"] for x in b.get("/api/v1/locations").json()["items"]] == ["B Clinic"]
        assert b.get(f"/api/v1/providers/{ids['kim']}").status_code == 404
        assert b.get(f"/api/v1/locations/{ids['north']}").status_code == 404
        assert b.get("/api/v1/providers", params={"tenant_id": world.tenant_a.id}).json()["total"] == 0
        assert (
            b.get("/api/v1/providers/export.csv", params={"tenant_id": world.tenant_a.id}).status_code == 404
        )
    with signed_in(app, world.agent_a) as a:
        assert [d["id"] for d in a.get("/api/v1/departments").json()] == []
        assert b_res not in [r["id"] for r in a.get("/api/v1/resources").json()]
        assert b_plan not in [p["id"] for p in a.get("/api/v1/plans").json()]
        for path in (
            f"/api/v1/locations/{b_loc}",
            f"/api/v1/departments/{b_dept}",
            f"/api/v1/resources/{b_res}",
        ):
            assert a.get(path).status_code == 404
