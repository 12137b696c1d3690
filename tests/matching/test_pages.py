"""The /match page: the form, results with reasons (whole page or the HTMX partial), Refer."""

from __future__ import annotations

import re

from sqlalchemy import select

from careline.contacts.models import ContactReason, Outcome

HX = {"HX-Request": "true"}


def test_the_form_is_in_the_navigation_and_prefills_from_the_query(client, chicago) -> None:
    page = client.get("/match?need=knee+pain&zip=60614")
    assert page.status_code == 200
    assert 'href="/match"' in page.text and "Find a doctor" in page.text
    assert 'value="knee pain"' in page.text and 'value="60614"' in page.text
    assert 'name="csrf_token"' in page.text


def test_the_results_partial_lists_providers_with_their_reasons(client, chicago) -> None:
    response = client.post(
        "/match", data={"need": "knee pain after a fall", "zip": "60302", "work_zip": "60601"}, headers=HX
    )
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html  # the partial only
    assert "Olivia Ortiz, MD" in html and "0.0 mi from work" in html and "sees knee pain" in html
    assert html.index("Olivia Ortiz") < html.index("Oscar Olsen") < html.index("Sam Sato")
    assert "Refer" in html


def test_a_plain_post_renders_the_whole_page_and_errors_sit_by_their_field(client, chicago) -> None:
    whole = client.post("/match", data={"need": "knee pain", "zip": "60614"})
    assert whole.status_code == 200 and "<html" in whole.text and "Olivia Ortiz" in whole.text
    bad = client.post("/match", data={"need": "knee pain", "zip": "00000"})
    assert bad.status_code == 422 and 'id="err-zip"' in bad.text and "unknown ZIP code" in bad.text


def test_an_empty_result_offers_the_relaxations(client, chicago) -> None:
    html = client.post(
        "/match",
        data={"need": "dermatologist", "zip": "60601", "language": "es", "max_miles": "10"},
        headers=HX,
    ).text
    assert "No Spanish-speaking dermatology provider within 10 mi of home" in html
    assert "1 within 25 mi" in html and 'name="max_miles" value="25"' in html
    assert (
        "1 if Spanish is preferred, not required" in html and 'name="language_mode" value="preferred"' in html
    )


def test_refer_from_a_result_records_it_on_the_call(client, chicago, world, db) -> None:
    contact = client.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).json()
    page = client.get(f"/match?contact_id={contact['id']}")
    assert f'name="contact_id" value="{contact["id"]}"' in page.text
    results = client.post(
        "/match", data={"need": "knee pain", "zip": "60614", "contact_id": contact["id"]}, headers=HX
    ).text
    assert f'name="contact_id" value="{contact["id"]}"' in results
    done = client.post(
        "/match/refer",
        data={
            "provider_id": chicago.doc["olivia"],
            "location_id": chicago.loc["loop"],
            "contact_id": contact["id"],
        },
        headers=HX,
    )
    assert done.status_code == 200 and "referred" in done.text
    reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == contact["id"])).one()
    assert (
        reason.outcome == Outcome.REFERRAL_MADE
        and reason.outcome_detail["provider_id"] == chicago.doc["olivia"]
    )
    nothing = client.post("/match/refer", data={"provider_id": chicago.doc["olivia"]}, headers=HX)
    assert nothing.status_code == 422 and "say which contact or patient" in nothing.text


def test_a_practice_manager_may_not_match(app, world) -> None:
    from tests.factories import signed_in

    with signed_in(app, world.manager_a) as manager:
        assert manager.get("/match").status_code == 403
        assert "/match" not in manager.get("/").text


def test_book_opens_schedulings_form_on_the_next_opening(clock, client, chicago, calendars) -> None:
    html = client.post(
        "/match", data={"need": "knee pain after a fall", "zip": "60302", "work_zip": "60601"}, headers=HX
    ).text
    assert "Mon Dec 7, 1:00 PM" in html  # Dr. Olsen's next opening, on the location's clock
    link = (
        f"/scheduling/book-form?provider_id={chicago.doc['oscar']}&amp;location_id={chicago.loc['op']}"
        f"&amp;type_id={calendars['new']}&amp;start_at=2026-12-07T19%3A00%3A00%2B00%3A00"
    )
    assert link in html
    form = client.get(link.replace("&amp;", "&"))
    assert form.status_code == 200 and "Olsen" in form.text and "Oak Park Office" in form.text


def test_on_a_call_book_takes_the_opening_without_leaving_the_contact(
    clock, client, chicago, calendars, world, sessions, db
) -> None:
    from careline.audit.service import Actor
    from careline.db import transaction
    from careline.patients import service as patients
    from careline.scheduling.models import Appointment

    with transaction(sessions) as s:
        pid = patients.create_patient(
            s,
            tenant_id=world.tenant_a.id,
            actor=Actor("test"),
            first_name="Kay",
            last_name="Knee",
            dob="1970-01-01",
        ).id
    contact = client.post("/api/v1/contacts", json={"tenant_id": world.tenant_a.id}).json()["id"]
    client.post(f"/api/v1/contacts/{contact}/identify", json={"patient_id": pid})
    html = client.post(
        "/match",
        data={"need": "knee pain after a fall", "zip": "60302", "contact_id": contact, "patient_id": pid},
        headers=HX,
    ).text
    assert (
        f'hx-post="/console/contacts/{contact}/schedule/book"' in html and "/scheduling/book-form" not in html
    )
    fields = dict(
        re.findall(
            r'name="(provider_id|location_id|type_id|start_at)" value="([^"]+)"',
            html.split("book-match")[0].rsplit("<form", 1)[1],
        )
    )
    assert fields["provider_id"] == str(chicago.doc["oscar"])
    booked = client.post(f"/console/contacts/{contact}/schedule/book", data=fields, headers=HX)
    assert booked.status_code == 200 and "Booked:" in booked.text
    appt = db.scalars(select(Appointment).where(Appointment.contact_id == contact)).one()
    assert appt.patient_id == pid and appt.provider_id == chicago.doc["oscar"]
    reason = db.scalars(select(ContactReason).where(ContactReason.contact_id == contact)).one()
    assert reason.outcome == Outcome.APPOINTMENT_BOOKED
