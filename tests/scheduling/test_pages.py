"""The scheduling pages and the partials the console embeds."""

from __future__ import annotations

import re

from careline.db import transaction
from careline.directory.models import Location
from careline.scheduling import pages
from careline.scheduling.models import Appointment, AppointmentStatus, AvailabilityTemplate, CalendarException
from tests.factories import signed_in
from tests.scheduling import helpers as h

HX = {"HX-Request": "true"}


def test_the_search_page_and_the_next_available_partial(client, cal) -> None:
    page = client.get("/scheduling")
    assert page.status_code == 200 and "Find a time" in page.text and "Office visit (20 min)" in page.text
    r = client.get(
        "/scheduling/availability",
        params={"type_id": cal.office, "provider_ids": [cal.kim], "date_from": "2026-12-08", "limit": 3},
        headers=HX,
    )
    assert r.status_code == 200
    assert "<html" not in r.text  # a fragment
    assert "Tue Dec 8</strong> 8:00 AM" in r.text and "Dr. Kim" in r.text and "CST" in r.text
    assert "/scheduling/book-form?provider_id=" in r.text
    empty = client.get(
        "/scheduling/availability",
        params={"type_id": cal.new, "provider_ids": [cal.lee], "patient_id": cal.bob},
        headers=HX,
    )
    assert (
        "No open time matches" in empty.text
        and "Dr. Lee: Dr. Lee is not accepting new patients" in empty.text
    )
    full = client.get("/scheduling/availability", params={"type_id": cal.office, "provider_ids": [cal.kim]})
    assert "<html" in full.text and "Find a time" in full.text


def test_book_from_the_form_then_the_card_and_a_conflict(client, cal, db) -> None:
    slot = {
        "provider_id": cal.kim,
        "location_id": cal.oak,
        "type_id": cal.office,
        "start_at": "2026-12-08T14:00:00+00:00",
    }
    form = client.get("/scheduling/book-form", params=slot, headers=HX)
    assert form.status_code == 200 and "Office visit with Dr. Kim" in form.text
    assert "Tuesday, December 8 at 8:00 AM CST" in form.text
    found = client.post(
        "/scheduling/patient-lookup", data={"name": "Ann Archer", "dob": "1980-05-01"}, headers=HX
    )
    assert f'value="{cal.ann}"' in found.text
    booked = client.post(
        "/scheduling/book", data={**slot, "patient_id": cal.ann, "action": "book"}, headers=HX
    )
    assert booked.status_code == 200 and "Appointment booked." in booked.text
    assert "Enter on Oak St, 2nd floor." in booked.text
    clash = client.post(
        "/scheduling/book", data={**slot, "patient_id": cal.bob, "action": "book"}, headers=HX
    )
    assert (
        clash.status_code == 200
        and "already booked at that time" in clash.text
        and "Take this time" in clash.text
    )
    (appt,) = h.rows(db, Appointment, status=AppointmentStatus.BOOKED)
    page = client.get(f"/scheduling/appointments/{appt.id}")
    assert page.status_code == 200 and "Cancel appointment" in page.text and "Reschedule" in page.text
    cancelled = client.post(
        f"/scheduling/appointments/{appt.id}/cancel", data={"reason": "weather"}, headers=HX
    )
    assert "Appointment cancelled." in cancelled.text and "weather" in cancelled.text


def test_hold_then_confirm_from_the_card(client, cal) -> None:
    slot = {
        "provider_id": cal.kim,
        "location_id": cal.oak,
        "type_id": cal.office,
        "start_at": "2026-12-08T14:00:00Z",
    }
    held = client.post("/scheduling/book", data={**slot, "patient_id": cal.ann, "action": "hold"}, headers=HX)
    assert "Appointment held." in held.text and "Confirm booking" in held.text
    appt_id = re.search(r'href="/scheduling/appointments/(\d+)"', held.text).group(1)  # type: ignore[union-attr]
    confirmed = client.post(f"/scheduling/appointments/{appt_id}/confirm", headers=HX)
    assert "Appointment booked." in confirmed.text


def test_reschedule_from_the_page(client, cal) -> None:
    slot = {
        "provider_id": cal.kim,
        "location_id": cal.oak,
        "type_id": cal.office,
        "start_at": "2026-12-08T14:00:00Z",
    }
    booked = client.post(
        "/scheduling/book", data={**slot, "patient_id": cal.ann, "action": "book"}, headers=HX
    )
    appt_id = re.search(r'href="/scheduling/appointments/(\d+)"', booked.text).group(1)  # type: ignore[union-attr]
    picker = client.get("/scheduling", params={"reschedule_id": appt_id, "type_id": cal.office})
    assert f"Reschedule appointment {appt_id}" in picker.text
    moved = client.post(
        f"/scheduling/appointments/{appt_id}/reschedule",
        data={**slot, "start_at": "2026-12-08T14:30:00Z"},
        headers=HX,
    )
    assert "Appointment rescheduled." in moved.text and "8:30 AM" in moved.text


def test_admins_configure_types_and_calendars(app, world, cal, clock, db) -> None:
    with signed_in(app, world.admin) as admin:
        admin.follow_redirects = False
        assert 'href="/scheduling/config"' in admin.get("/scheduling").text
        page = admin.get("/scheduling/config")
        assert page.status_code == 200 and "New patient visit" in page.text
        r = admin.post(
            "/scheduling/config/types",
            data={
                "tenant_id": cal.tenant_id,
                "name": "Annual physical",
                "duration_minutes": "30",
                "min_age": "18",
            },
        )
        assert r.status_code == 303
        calendar = admin.get("/scheduling/config/calendar", params={"provider_id": cal.kim})
        assert calendar.status_code == 200 and "08:00–12:00" in calendar.text
        added = admin.post(
            "/scheduling/config/templates",
            data={
                "provider_id": cal.kim,
                "location_id": cal.main,
                "weekday": ["5"],
                "start_local": "09:00",
                "end_local": "12:00",
                "slot_minutes": "20",
            },
        )
        assert added.status_code == 303
        off = admin.post(
            "/scheduling/config/exceptions",
            data={
                "provider_id": cal.kim,
                "first_day": "2026-12-24",
                "last_day": "2026-12-25",
                "kind": "vacation",
                "reason": "Holidays",
            },
        )
        assert off.status_code == 303
    saturday = [t for t in h.rows(db, AvailabilityTemplate, provider_id=cal.kim) if t.weekday == 5]
    assert saturday and saturday[0].slot_minutes == 20
    (vacation,) = h.rows(db, CalendarException, provider_id=cal.kim)
    assert vacation.starts_at == h.utc(2026, 12, 24, 6) and vacation.ends_at == h.utc(2026, 12, 26, 6)


def test_agents_cannot_configure(client, cal) -> None:
    assert client.get("/scheduling/config").status_code == 403
    assert 'href="/scheduling/config"' not in client.get("/scheduling").text


def _options(html: str, select_id: str) -> str:
    return html.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]


def test_the_pickers_tell_providers_and_clients_apart(app, world, cal, sessions) -> None:
    with transaction(sessions) as db:  # a second Dr. Kim, in the other client
        b_clinic = db.get(Location, cal.b_location)
        other = h.provider(
            db, world.tenant_b.id, "Kim", first="Daniel", codes=("207RC0000X",), locations=[b_clinic]
        )
        h.weekly(db, other.id, cal.b_location, "0", "08:00", "12:00")
    with signed_in(app, world.agent_a) as one:  # serves tenant A only: no groups
        providers = _options(one.get("/scheduling").text, "s-prov")
        assert "<optgroup" not in providers and "Grace Kim, MD · family medicine" in providers
        assert "Daniel Kim" not in providers
    with signed_in(app, world.admin) as both:
        page = both.get("/scheduling").text
        providers = _options(page, "s-prov")
        a, b = world.tenant_a.name, world.tenant_b.name
        assert f'<optgroup label="{a}">' in providers and f'<optgroup label="{b}">' in providers
        assert re.search(rf'label="{b}">.*Daniel Kim, MD · cardiology', providers, re.S)
        types = _options(page, "s-type")
        assert f'<optgroup label="{a}">' in types and "Office visit (20 min)" in types


def test_a_cut_provider_list_says_so_and_the_config_page_finds_by_name(app, world, cal, monkeypatch) -> None:
    monkeypatch.setattr(pages, "MAX_PICK", 2)
    with signed_in(app, world.agent_a) as agent:
        page = agent.get("/scheduling").text
        assert _options(page, "s-prov").count("<option") == 2
        assert f"{world.tenant_a.name}: the first 2 of 3 providers by name are listed" in page
    with signed_in(app, world.admin) as admin:
        found = admin.get("/scheduling/config", params={"name": "oma"})  # Omar Lee
        assert found.status_code == 200
        assert _options(found.text, "c-prov").count("<option") == 1 and "Omar Lee, MD" in found.text
        none = admin.get("/scheduling/config", params={"name": "zzz"})
        assert 'No provider\'s name or NPI starts with "zzz".' in none.text.replace("&#34;", '"')
