"""POST /api/v1/match, referrals and the client's matching settings over HTTP."""

from __future__ import annotations

from sqlalchemy import select

from careline.contacts.models import ContactReason, Outcome
from tests.factories import signed_in


def test_match_returns_the_ranked_list_with_reasons_as_json(client, chicago) -> None:
    response = client.post(
        "/api/v1/match",
        json={
            "need": "knee pain after a fall",
            "zip": "60302",
            "work_zip": "60601",
            "language": "es",
            "language_required": False,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["need"]["matched_phrase"] == "knee pain" and body["need"]["from"] == "words"
    assert next(s["code"] for s in body["need"]["specialties"]) == "207X00000X"
    top = body["results"][0]
    assert top["provider_id"] == chicago.doc["olivia"]
    assert top["name"] == top["first_name"] + " Ortiz, MD" and top["credentials"] == "MD"
    assert top["specialty"] == "orthopedics" and top["from"] == "work" and top["distance_mi"] == 0.0
    assert top["location"]["name"] == "Loop Medical Pavilion" and top["location"]["zip"] == "60601"
    assert top["languages"] == ["en", "es"] and top["accepting_new"] is True and top["next_available"] is None
    assert top["reasons"][:2] == ["speaks Spanish", "0.0 mi from work"]
    assert body["empty_because"] is None and body["relaxations"] == []
    assert [p["name"] for p in body["places"]] == ["home", "work"]


def test_an_empty_match_explains_itself(client, chicago) -> None:
    body = client.post(
        "/api/v1/match", json={"specialty": "dermatology", "zip": "60601", "language": "es", "max_miles": 10}
    ).json()
    assert body["results"] == [] and body["emptied_by"] == "language"
    assert body["empty_because"] == "no Spanish-speaking dermatology provider within 10 mi of home"
    assert {
        "relax": "distance",
        "description": "1 within 25 mi",
        "count": 1,
        "capped": False,
        "apply": {"max_miles": 25.0},
    } in body["relaxations"]


def test_bad_input_is_a_422_naming_the_field(client, chicago) -> None:
    for body, field in [
        ({"need": "knee pain", "zip": "00000"}, "zip"),
        ({"need": "knee pain", "zip": "60614", "work_zip": "nope"}, "work_zip"),
        ({"need": "knee pain"}, "zip"),
        ({"need": "knee pain", "zip": "60614", "plan_id": 424242}, "plan_id"),
    ]:
        response = client.post("/api/v1/match", json=body)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert client.post("/api/v1/match", json={"zip": "60614", "limit": 500}).status_code == 422


def test_another_tenant_is_not_found(client, chicago, world) -> None:
    response = client.post(
        "/api/v1/match", json={"need": "knee pain", "zip": "60614", "tenant_id": world.tenant_b.id}
    )
    assert response.status_code == 404


def _contact(client, tenant_id: int) -> dict:
    response = client.post("/api/v1/contacts", json={"tenant_id": tenant_id, "caller_number": "312-555-0188"})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_referral_is_recorded_on_the_contacts_find_a_doctor_reason(client, chicago, world, db) -> None:
    contact = _contact(client, world.tenant_a.id)
    screened = client.post(
        f"/api/v1/contacts/{contact['id']}/screen",
        json={"text": "I need a new doctor for my knee, are you taking new patients?"},
    )
    assert screened.status_code == 200, screened.text
    response = client.post(
        "/api/v1/match/referrals",
        json={
            "contact_id": contact["id"],
            "provider_id": chicago.doc["olivia"],
            "location_id": chicago.loc["loop"],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "referral_made" and body["provider"] == "Olivia Ortiz, MD"
    assert body["booking"]["book"] == "/api/v1/scheduling/appointments"
    reason = db.get(ContactReason, body["reason_id"])
    assert reason.intent == "find_doctor" and reason.outcome == Outcome.REFERRAL_MADE
    assert reason.outcome_detail["provider_id"] == chicago.doc["olivia"]
    assert reason.outcome_detail["location_id"] == chicago.loc["loop"]
    # A second referral on the same call adds a new find-a-doctor reason rather than overwrite.
    again = client.post(
        "/api/v1/match/referrals", json={"contact_id": contact["id"], "provider_id": chicago.doc["oscar"]}
    )
    assert again.status_code == 201 and again.json()["reason_id"] != body["reason_id"]
    reasons = db.scalars(select(ContactReason).where(ContactReason.contact_id == contact["id"])).all()
    assert sum(1 for r in reasons if r.outcome == Outcome.REFERRAL_MADE) == 2


def test_a_referral_needs_a_contact_or_patient_of_the_same_client(client, chicago, world, app) -> None:
    assert (
        client.post("/api/v1/match/referrals", json={"provider_id": chicago.doc["olivia"]}).status_code == 422
    )
    other = client.post(
        "/api/v1/match/referrals", json={"provider_id": chicago.other_tenant_doc, "patient_id": 1}
    )
    assert other.status_code == 404
    with signed_in(app, world.agent_b) as b:
        b_contact = _contact(b, world.tenant_b.id)
    crossed = client.post(
        "/api/v1/match/referrals", json={"contact_id": b_contact["id"], "provider_id": chicago.doc["olivia"]}
    )
    assert crossed.status_code == 404
    wrong_place = client.post(
        "/api/v1/match/referrals",
        json={
            "contact_id": _contact(client, world.tenant_a.id)["id"],
            "provider_id": chicago.doc["olivia"],
            "location_id": chicago.loc["ev"],
        },
    )
    assert wrong_place.status_code == 422 and wrong_place.json()["field"] == "location_id"


def test_a_referral_for_a_patient_without_a_call_is_audited(client, chicago, world, db) -> None:
    from careline.audit.models import AuditEvent

    patient = client.post(
        "/api/v1/patients",
        json={
            "tenant_id": world.tenant_a.id,
            "first_name": "Ray",
            "last_name": "Ruiz",
            "dob": "1990-01-02",
            "confirm_new": True,
        },
    )
    assert patient.status_code == 201, patient.text
    pid = patient.json()["id"]
    body = client.post(
        "/api/v1/match/referrals", json={"patient_id": pid, "provider_id": chicago.doc["frank"]}
    ).json()
    assert body["patient_id"] == pid and body["reason_id"] is None and body["outcome"] is None
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "match.referral")).all()
    assert len(rows) == 1 and rows[0].object_id == str(chicago.doc["frank"])


def test_settings_are_read_by_agents_and_changed_by_admins(client, app, world, chicago) -> None:
    a = world.tenant_a.id
    view = client.get(f"/api/v1/match/settings/{a}").json()
    assert view["weights"]["distance"] == 40.0 and any(n["key"] == "knee_pain" for n in view["needs"])
    assert client.patch(f"/api/v1/match/settings/{a}", json={"weights": {"distance": 10}}).status_code == 403
    with signed_in(app, world.admin) as admin:
        changed = admin.patch(
            f"/api/v1/match/settings/{a}",
            json={
                "weights": {"distance": 10},
                "needs": [{"key": "sore_knee", "patterns": ["sore knee"], "specialties": ["207QS0010X"]}],
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["overrides"]["weights"] == {"distance": 10}
        bad = admin.patch(f"/api/v1/match/settings/{a}", json={"needs": [{"key": "x", "patterns": ["x"]}]})
        assert bad.status_code == 422 and bad.json()["field"] == "needs"
    found = client.post("/api/v1/match", json={"need": "my sore knee", "zip": "60614"}).json()
    assert [r["provider_id"] for r in found["results"]] == [chicago.doc["sam"]]
