"""The contact lifecycle over the API: start, identify, screen, reasons and outcomes, wrap-up."""

from __future__ import annotations

from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.contacts.models import Contact, ContactStatus
from careline.db import transaction
from careline.patients import service as patients
from tests.factories import signed_in


def _start(client, tenant_id: int, **extra) -> dict:
    response = client.post("/api/v1/contacts", json={"tenant_id": tenant_id, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_agent_opens_a_contact_and_screening_adds_every_reason(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        contact = _start(client, world.tenant_a.id, caller_number="(312) 555-0142")
        assert contact["status"] == "active" and contact["caller_number"] == "+13125550142"
        text = "I need to move my thursday visit and also where do I park at the oak street office"
        result = client.post(f"/api/v1/contacts/{contact['id']}/screen", json={"text": text}).json()
    assert set(result["intents"]) == {"reschedule", "location_info"}
    assert {r["intent"] for r in result["contact"]["reasons"]} == {"reschedule", "location_info"}
    assert result["contact"]["red_flag"] is False


def test_a_buried_red_flag_marks_the_contact_and_adds_clinical(app, world, db) -> None:
    with signed_in(app, world.agent_a) as client:
        contact = _start(client, world.tenant_a.id)
        text = "can you move my thursday visit, my chest has felt crushed since 6 am"
        result = client.post(f"/api/v1/contacts/{contact['id']}/screen", json={"text": text}).json()
    assert result["disposition"] == "emergency"
    assert result["red_flags"][0]["kind"] == "cardiac"
    assert "clinical" in result["intents"] and "reschedule" in result["intents"]
    row = db.get(Contact, contact["id"])
    assert row.red_flag is True and row.red_flag_kinds == ["cardiac"] and row.disposition == "emergency"


def test_screening_never_lowers_a_disposition_a_person_set(app, world, db) -> None:
    with signed_in(app, world.nurse_a) as client:
        contact = _start(client, world.tenant_a.id)
        cid = contact["id"]
        assert (
            client.post(f"/api/v1/contacts/{cid}/disposition", json={"disposition": "urgent"}).status_code
            == 200
        )
        client.post(f"/api/v1/contacts/{cid}/screen", json={"text": "just a mild cold and a runny nose"})
        assert db.get(Contact, cid).disposition == "urgent"
        lower = client.post(f"/api/v1/contacts/{cid}/disposition", json={"disposition": "routine"})
        assert lower.status_code == 422 and lower.json()["field"] == "reason"
        ok = client.post(
            f"/api/v1/contacts/{cid}/disposition",
            json={"disposition": "routine", "reason": "symptoms resolved, spoke with patient"},
        )
        assert ok.status_code == 200


def test_outcomes_are_recorded_and_wrap_up_marks_the_rest_unresolved(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _start(client, world.tenant_a.id)["id"]
        book = client.post(
            f"/api/v1/contacts/{cid}/reasons", json={"intent": "schedule", "text": "physical"}
        ).json()
        bill = client.post(f"/api/v1/contacts/{cid}/reasons", json={"intent": "billing"}).json()
        done = client.post(
            f"/api/v1/contacts/{cid}/reasons/{book['id']}/outcome",
            json={"outcome": "appointment_booked", "detail": {"appointment_id": 7}},
        )
        assert done.status_code == 200 and done.json()["outcome"] == "appointment_booked"
        ended = client.post(
            f"/api/v1/contacts/{cid}/wrap-up", json={"notes": "all set", "survey_consent": True}
        )
        assert ended.status_code == 200
        body = ended.json()
        assert body["status"] == "ended" and body["survey_consent"] is True and body["handle_seconds"] >= 0
        outcomes = {r["id"]: r["outcome"] for r in body["reasons"]}
        assert outcomes == {book["id"]: "appointment_booked", bill["id"]: "unresolved"}
        late = client.post(f"/api/v1/contacts/{cid}/notes", json={"note": "too late"})
        assert late.status_code == 409


def test_the_dialed_number_chooses_the_client(app, world, sessions) -> None:
    with transaction(sessions) as s:
        from careline.tenants.models import Tenant

        s.get(Tenant, world.tenant_a.id).phone = "+13125550100"
    with signed_in(app, world.agent_a) as client:
        contact = client.post("/api/v1/contacts", json={"dialed_number": "312-555-0100"}).json()
        assert contact["tenant_id"] == world.tenant_a.id
        unknown = client.post("/api/v1/contacts", json={"dialed_number": "312-555-0199"})
        assert unknown.status_code == 422 and unknown.json()["field"] == "tenant_id"
        bad = client.post(
            "/api/v1/contacts", json={"tenant_id": world.tenant_a.id, "caller_number": "555-12"}
        )
        assert bad.status_code == 422 and bad.json()["field"] == "caller_number"


def test_another_tenants_client_cannot_be_chosen(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        assert client.post("/api/v1/contacts", json={"tenant_id": world.tenant_b.id}).status_code == 404


def test_identifying_the_caller_is_audited_and_finds_returning_callers(app, world, sessions, db) -> None:
    from careline.audit.service import Actor

    with transaction(sessions) as s:
        patient = patients.create_patient(
            s,
            tenant_id=world.tenant_a.id,
            actor=Actor("test"),
            first_name="John",
            last_name="Smith",
            dob="1961-03-04",
            phones=["312-555-0142"],
        )
    with signed_in(app, world.agent_a) as client:
        cid = _start(client, world.tenant_a.id, caller_number="+1 312 555 0142")["id"]
        response = client.post(f"/api/v1/contacts/{cid}/identify", json={"patient_id": patient.id})
        assert response.status_code == 200 and response.json()["patient_id"] == patient.id
    audited = db.scalars(select(AuditEvent).where(AuditEvent.action == "patient.identify")).one()
    assert audited.object_id == str(patient.id) and audited.detail == {"contact_id": cid}
    from careline.contacts import service as contacts

    with transaction(sessions) as s:
        assert [p.id for p in contacts.caller_matches(s, s.get(Contact, cid))] == [patient.id]


def test_an_agent_cannot_see_another_tenants_contact(app, world, sessions) -> None:
    with signed_in(app, world.agent_b) as other:
        cid = _start(other, world.tenant_b.id)["id"]
    with signed_in(app, world.agent_a) as client:
        assert client.get(f"/api/v1/contacts/{cid}").status_code == 404


def test_analyze_returns_red_flags_and_intents_without_storing(app, world, db) -> None:
    with signed_in(app, world.agent_a) as client:
        response = client.post(
            "/api/v1/analyze", json={"text": "my dad's face is drooping and he is talking funny"}
        )
    body = response.json()
    assert body["disposition"] == "emergency" and body["red_flags"][0]["kind"] == "stroke"
    assert body["intents"][0] == "clinical"
    assert db.scalars(select(Contact)).all() == []


def test_a_practice_manager_cannot_handle_contacts(app, world) -> None:
    with signed_in(app, world.manager_a) as client:
        assert client.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).status_code == 403
    assert ContactStatus.ENDED.value == "ended"
