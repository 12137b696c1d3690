"""Patient pages: the lookup form and its HTMX partial, registration with errors and duplicates, view/edit."""

from __future__ import annotations

from careline.patients.models import Patient
from tests.factories import CSRF
from tests.patients.helpers import audit, register

HX = {"HX-Request": "true"}


def _form(world, **overrides) -> dict:
    form = {
        "csrf_token": CSRF,
        "tenant_id": str(world.tenant_a.id),
        "first_name": "Ana",
        "last_name": "Kowalski",
        "dob": "5/17/1980",
        "sex": "female",
        "preferred_language": "pl",
        "zip": "60614",
        "phone_0": "(312) 555-0150",
        "phone_kind_0": "mobile",
        "phone_primary": "0",
        "consent_sms": "on",
        "referral_source": "friend_family",
        "referral_note": "neighbour recommended Dr. Kim",
    }
    form.update(overrides)
    return form


def test_the_lookup_page_has_the_form(client) -> None:
    page = client.get("/patients")
    assert page.status_code == 200
    assert 'hx-post="/patients/lookup"' in page.text and 'id="lookup-results"' in page.text
    assert 'href="/patients"' in page.text  # the nav entry


def test_the_lookup_partial_lists_ranked_candidates_with_reasons(client, world, sessions) -> None:
    pid = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04")
    response = client.post("/patients/lookup", data={"name": "Jon Smyth", "dob": "3/4/1961"}, headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text  # a fragment HTMX swaps into the lookup form or the caller panel
    assert f'href="/patients/{pid}"' in response.text
    assert "Smith, John" in response.text and "nickname Jon=John" in response.text
    by_phone = client.post("/patients/lookup", data={"phone": "312.555.0142"}, headers=HX)
    assert f'href="/patients/{pid}"' in by_phone.text and "(312) 555-0142" in by_phone.text


def test_lookup_errors_and_no_match_show_in_the_partial(client) -> None:
    bad = client.post("/patients/lookup", data={"phone": "555-0142"}, headers=HX)
    assert bad.status_code == 200 and "include the area code" in bad.text
    none = client.post("/patients/lookup", data={"name": "Nobody Here", "dob": "1/1/1950"}, headers=HX)
    assert "No registered patient matches" in none.text and 'href="/patients/new"' in none.text


def test_without_javascript_the_lookup_returns_the_whole_page(client, world, sessions) -> None:
    register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04")
    page = client.post("/patients/lookup", data={"csrf_token": CSRF, "phone": "+1 312 555 0142"})
    assert page.status_code == 200 and "<html" in page.text and "Smith, John" in page.text


def test_registration_creates_and_redirects_to_the_record(client, world, db) -> None:
    response = client.post("/patients/new", data=_form(world), follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    patient = db.query(Patient).one()
    assert response.headers["location"] == f"/patients/{patient.id}?created=1"
    assert (patient.first_name, patient.city, patient.consent_sms, patient.consent_voice) == (
        "Ana",
        "Chicago",
        True,
        False,
    )
    page = client.get(response.headers["location"])
    assert "Registered Ana Kowalski as TA-000001" in page.text
    assert "neighbour recommended Dr. Kim" in page.text


def test_registration_errors_come_back_beside_the_field_with_the_values_kept(client, world, db) -> None:
    response = client.post("/patients/new", data=_form(world, zip="00000"))
    assert response.status_code == 422
    assert "unknown ZIP code" in response.text
    assert 'name="zip" inputmode="numeric" maxlength="10" value="00000" aria-invalid="true"' in response.text
    assert 'value="Kowalski"' in response.text
    bad_phone = client.post("/patients/new", data=_form(world, phone_1="555-0142"))
    assert bad_phone.status_code == 422
    assert 'name="phone_1"' in bad_phone.text and 'value="555-0142" aria-invalid="true"' in bad_phone.text
    assert db.query(Patient).count() == 0


def test_a_possible_duplicate_shows_the_candidates_and_a_register_anyway_button(
    client, world, sessions, db
) -> None:
    existing = register(sessions, world.tenant_a.id, "Anna", "Kowalski", "1980-05-17", phones=[])
    response = client.post("/patients/new", data=_form(world))
    assert response.status_code == 409
    assert "may already be registered" in response.text
    assert f'href="/patients/{existing}"' in response.text
    assert 'name="confirm_new" value="1"' in response.text
    assert [r.detail["kind"] for r in audit(db, "patient.search")] == ["duplicate_check"]
    again = client.post("/patients/new", data=_form(world, confirm_new="1"), follow_redirects=False)
    assert again.status_code == 303
    db.rollback()
    assert db.query(Patient).count() == 2


def test_the_record_page_is_audited_and_edits_save(client, world, sessions, db, directory) -> None:
    pid = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04", zip="60614")
    page = client.get(f"/patients/{pid}")
    assert page.status_code == 200
    assert "Smith, John" in page.text and "(312) 555-0142" in page.text and "Kim, Grace" in page.text
    assert [r.object_id for r in audit(db, "patient.read")] == [str(pid)]
    form = _form(
        world,
        first_name="John",
        last_name="Smith",
        dob="3/4/1961",
        sex="male",
        preferred_language="en",
        phone_0="312-555-0142",
        phone_1="773-555-0160",
        phone_kind_1="home",
        pcp_provider_id=str(directory.provider_a),
        insurance_plan_id=str(directory.plan_a),
        member_id="BCB123456789",
        active="on",
        active_present="1",
    )
    saved = client.post(f"/patients/{pid}", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]
    db.rollback()
    patient = db.get(Patient, pid)
    assert (patient.pcp_provider_id, patient.insurance_plan_id, patient.member_id) == (
        directory.provider_a,
        directory.plan_a,
        "BCB123456789",
    )
    shown = client.get(saved.headers["location"])
    assert "Saved." in shown.text and "Grace Kim" in shown.text and "Blue Cross PPO" in shown.text


def test_an_edit_with_errors_keeps_the_record_unchanged(client, world, sessions, db) -> None:
    pid = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04")
    form = _form(world, first_name="Jack", last_name="Smith", dob="3/4/2099", active_present="1", active="on")
    response = client.post(f"/patients/{pid}", data=form)
    assert response.status_code == 422 and "in the future" in response.text
    db.rollback()
    assert db.get(Patient, pid).first_name == "John"


def test_practice_managers_get_no_patient_pages(app, world, sessions) -> None:
    from tests.factories import signed_in

    pid = register(sessions, world.tenant_a.id)
    with signed_in(app, world.manager_a) as manager:
        assert manager.get("/patients").status_code == 403
        assert manager.get(f"/patients/{pid}").status_code == 403
        assert (
            manager.post("/patients/lookup", data={"csrf_token": CSRF, "phone": "312-555-0142"}).status_code
            == 403
        )
        assert 'href="/patients"' not in manager.get("/").text


def test_unticking_active_deactivates(client, world, sessions, db) -> None:
    pid = register(sessions, world.tenant_a.id, "John", "Smith", "1961-03-04")
    form = _form(world, first_name="John", last_name="Smith", dob="3/4/1961", active_present="1")
    assert client.post(f"/patients/{pid}", data=form, follow_redirects=False).status_code == 303
    db.rollback()
    assert db.get(Patient, pid).active is False
