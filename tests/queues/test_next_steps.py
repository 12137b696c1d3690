"""Next steps: every intent leads somewhere, red flags escalate first, out-of-scope callers get the right
outside resource, and the answer is never empty."""

from __future__ import annotations

import pytest

from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import ContactStatus
from careline.db import transaction
from careline.directory import service as directory
from careline.queues.routing import next_steps
from tests.directory import factories as dirf
from tests.queues import helpers as h

# The clock fixture stands at Monday 2026-12-07 15:00 UTC: 9 AM in Chicago.


@pytest.fixture
def routed(sessions, world, clock):
    """Tenant A with a small routing directory, the standard outside resources and the nurse queue."""
    tid = world.tenant_a.id
    with transaction(sessions) as db:
        out = {
            "scheduling": dirf.department(
                db,
                tid,
                name="Central Scheduling",
                kind="scheduling",
                queue="scheduling",
                intents=["schedule", "reschedule", "cancel", "find_doctor"],
                hours="Mon-Fri 07:00-19:00",
            ).id,
            "billing": dirf.department(
                db,
                tid,
                name="Patient Billing",
                kind="billing",
                transfer_number="3125550106",
                intents=["billing"],
                hours="Mon-Fri 08:00-17:00",
            ).id,
            "records": dirf.department(
                db,
                tid,
                name="Medical Records",
                kind="medical_records",
                intents=["records"],
                hours="Sat 09:00-12:00",
            ).id,
            "nurse": dirf.department(
                db,
                tid,
                name="Nurse Advice Line",
                kind="nurse_line",
                queue="nurse_triage",
                intents=["clinical", "test_results"],
                hours="Mon-Sun 00:00-24:00",
            ).id,
            "refill": dirf.department(
                db,
                tid,
                name="Prescription Refill Line",
                kind="pharmacy",
                intents=["refill"],
                hours="Mon-Fri 08:00-17:00",
            ).id,
        }
        dirf.location(db, tid, name="Lakeshore Lincoln Park", city="Chicago")
        dirf.location(db, tid, name="Lakeshore Evanston", zip="60201", hours="Sat 09:00-12:00")
        directory.seed_default_resources(db, tid)
        out["nurse_queue"] = h.queue(db, tid, "nurse_triage", name="Nurse line").id
    return out


def _contact(sessions, world, *intents: Intent, text: str = "", red_flag_text: str = ""):
    with transaction(sessions) as db:
        contact = contacts.start_contact(
            db, h.SYSTEM, tenant_id=world.tenant_a.id, caller_number="3125550142"
        )
        for intent in intents:
            contacts.add_reason(db, contact, h.SYSTEM, intent=intent, text=text)
        if red_flag_text:
            contacts.screen_text(db, contact, h.SYSTEM, red_flag_text)
        return contact.id


def _steps(sessions, contact_id):
    with transaction(sessions) as db:
        return [s.to_dict() for s in next_steps(db, contact=contacts.get_contact(db, contact_id))]


def _kinds(steps):
    return [s["kind"] for s in steps]


@pytest.mark.parametrize(
    ("intent", "action"),
    [(Intent.SCHEDULE, "book"), (Intent.RESCHEDULE, "reschedule"), (Intent.CANCEL, "cancel")],
)
def test_scheduling_intents_lead_to_the_scheduling_search(sessions, world, routed, intent, action) -> None:
    steps = _steps(sessions, _contact(sessions, world, intent))
    assert _kinds(steps) == ["scheduling", "message"]
    assert steps[0]["action"] == action and steps[0]["link"] == "/scheduling"
    assert steps[0]["department"]["name"] == "Central Scheduling"


def test_find_a_doctor_leads_to_the_provider_search(sessions, world, routed) -> None:
    steps = _steps(sessions, _contact(sessions, world, Intent.FIND_DOCTOR))
    assert _kinds(steps) == ["find_doctor", "message"]
    assert steps[0]["api"] == "/api/v1/match"


def test_location_questions_get_the_named_location_with_hours_and_open_now(sessions, world, routed) -> None:
    steps = _steps(
        sessions, _contact(sessions, world, Intent.LOCATION_INFO, text="where do I park in evanston")
    )
    assert _kinds(steps) == ["location_info", "message"]
    [evanston] = steps[0]["locations"]
    assert evanston["name"] == "Lakeshore Evanston"
    assert evanston["open_now"] is False and "Sat" in evanston["hours"] and evanston["address"]


def test_location_questions_without_a_name_list_the_locations(sessions, world, routed) -> None:
    steps = _steps(sessions, _contact(sessions, world, Intent.LOCATION_INFO, text="what are your hours"))
    names = {loc["name"] for loc in steps[0]["locations"]}
    assert names == {"Lakeshore Lincoln Park", "Lakeshore Evanston"}
    assert [loc["open_now"] for loc in steps[0]["locations"] if loc["name"].endswith("Park")] == [True]


@pytest.mark.parametrize(
    ("intent", "department", "open_now"),
    [
        (Intent.BILLING, "Patient Billing", True),
        (Intent.RECORDS, "Medical Records", False),
        (Intent.TEST_RESULTS, "Nurse Advice Line", True),
        (Intent.REFILL, "Prescription Refill Line", True),
    ],
)
def test_department_intents_get_the_department_with_transfer_number_hours_and_open_now(
    sessions, world, routed, intent, department, open_now
) -> None:
    steps = _steps(sessions, _contact(sessions, world, intent))
    assert _kinds(steps) == ["department", "message"]
    found = steps[0]["department"]
    assert found["name"] == department and found["open_now"] is open_now
    assert found["transfer_number"] and found["status"]
    if not open_now:
        assert "closed" in steps[0]["label"]


def test_the_department_step_names_its_queue(sessions, world, routed) -> None:
    steps = _steps(sessions, _contact(sessions, world, Intent.TEST_RESULTS))
    assert steps[0]["department"]["queue"] == "nurse_triage"
    assert steps[0]["department"]["queue_id"] == routed["nurse_queue"]


def test_clinical_goes_to_the_nurse(sessions, world, routed) -> None:
    steps = _steps(sessions, _contact(sessions, world, Intent.CLINICAL))
    assert _kinds(steps) == ["nurse", "message"]
    assert steps[0]["urgent"] is False
    assert steps[0]["department"]["name"] == "Nurse Advice Line"
    assert steps[0]["queue"]["id"] == routed["nurse_queue"]


def test_a_red_flag_escalates_first_and_urgently(sessions, world, routed) -> None:
    contact_id = _contact(
        sessions, world, Intent.SCHEDULE, red_flag_text="I have crushing chest pain and I'm sweating"
    )
    steps = _steps(sessions, contact_id)
    assert _kinds(steps)[0] == "escalate" and steps[0]["urgent"] is True
    assert steps[0]["detail"]["red_flag_kinds"] == ["cardiac"]
    assert steps[0]["resources"][0]["phone"] == "911"
    assert _kinds(steps) == ["escalate", "nurse", "scheduling", "message"]
    assert steps[1]["urgent"] is True


def test_a_suicidal_caller_gets_988_with_the_escalation(sessions, world, routed) -> None:
    steps = _steps(sessions, _contact(sessions, world, red_flag_text="I want to kill myself tonight"))
    assert steps[0]["kind"] == "escalate"
    assert "988" in [r["phone"] for r in steps[0]["resources"]]


def test_speak_to_staff_lists_the_departments(sessions, world, routed) -> None:
    steps = _steps(sessions, _contact(sessions, world, Intent.SPEAK_TO_STAFF))
    assert _kinds(steps) == ["departments", "message"]
    assert {d["name"] for d in steps[0]["departments"]} >= {"Patient Billing", "Nurse Advice Line"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my toddler swallowed some bleach", "Poison Control (America's Poison Centers)"),
        ("I need help paying rent and getting food", "Illinois 211"),
        ("how do I replace my medicare card", "Medicare (1-800-MEDICARE)"),
        ("is my prescription ready at walgreens", "Your pharmacy"),
    ],
)
def test_out_of_scope_callers_get_the_matching_outside_resource(
    sessions, world, routed, text, expected
) -> None:
    steps = _steps(sessions, _contact(sessions, world, Intent.OUT_OF_SCOPE, text=text))
    assert _kinds(steps) == ["outside_resources", "message"]
    assert expected in [r["name"] for r in steps[0]["resources"]]


def test_out_of_scope_without_a_match_falls_back_to_the_general_resources(sessions, world, routed) -> None:
    steps = _steps(sessions, _contact(sessions, world, Intent.OUT_OF_SCOPE, text="zzz qqq"))
    assert steps[0]["resources"] and steps[0]["detail"]["matched_words"] is False


def test_never_empty_even_for_a_client_with_no_directory(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        for intent in Intent:
            steps = next_steps(db, tenant_id=world.tenant_b.id, intents=[intent])
            assert steps and steps[-1].kind == "message", intent
        assert [s.kind for s in next_steps(db, tenant_id=world.tenant_b.id, intents=[])] == ["message"]


def test_a_department_intent_without_a_department_uses_outside_resources(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        directory.seed_default_resources(db, world.tenant_b.id)
        steps = next_steps(db, tenant_id=world.tenant_b.id, intents=[Intent.BILLING])
    assert [s.kind for s in steps] == ["outside_resources", "message"]
    assert any("Medicaid" in r["name"] for r in steps[0].resources)


def test_several_reasons_give_one_step_each_in_order(sessions, world, routed) -> None:
    steps = _steps(
        sessions, _contact(sessions, world, Intent.RESCHEDULE, Intent.BILLING, Intent.LOCATION_INFO)
    )
    assert _kinds(steps) == ["scheduling", "department", "location_info", "message"]
    assert all(s["reason_id"] for s in steps[:3])


def test_text_alone_is_analysed(sessions, world, routed) -> None:
    with transaction(sessions) as db:
        steps = next_steps(db, tenant_id=world.tenant_a.id, text="I need to pay my bill")
    assert [s.kind for s in steps] == ["department", "message"]


def test_the_api_answers_for_a_contact_and_for_words(app, world, routed, client, sessions) -> None:
    contact_id = _contact(sessions, world, Intent.BILLING)
    response = client.get(f"/api/v1/contacts/{contact_id}/next-steps")
    assert response.status_code == 200
    assert [s["kind"] for s in response.json()] == ["department", "message"]
    response = client.get(
        f"/api/v1/next-steps?tenant_id={world.tenant_a.id}&intents=out_of_scope&text=bleach"
    )
    assert response.json()[0]["resources"][0]["name"].startswith("Poison Control")
    assert client.get(f"/api/v1/next-steps?tenant_id={world.tenant_b.id}&intents=billing").status_code == 404
    assert client.get(f"/api/v1/next-steps?tenant_id={world.tenant_a.id}").status_code == 422


def test_a_queued_contact_has_next_steps_too(sessions, world, routed) -> None:
    with transaction(sessions) as db:
        contact = contacts.start_contact(
            db, h.SYSTEM, tenant_id=world.tenant_a.id, status=ContactStatus.QUEUED
        )
        contacts.add_reason(db, contact, h.SYSTEM, intent=Intent.CLINICAL)
        assert [s.kind for s in next_steps(db, contact=contact)] == ["nurse", "message"]
