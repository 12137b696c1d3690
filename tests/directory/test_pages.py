"""The directory's pages: everyone with access searches and reads; admins add and edit in the browser,
and a bad field comes back marked (aria-invalid) with its message beside it."""

from __future__ import annotations

import re

from sqlalchemy import select

from careline.db import transaction
from careline.directory.models import Department, Location, LocationClosure, Provider
from tests.directory import factories as make
from tests.factories import CSRF


def _seed(sessions, world) -> dict[str, int]:
    with transaction(sessions) as db:
        loc = make.location(db, world.tenant_a.id, name="Lincoln Park Clinic", parking="Lot behind")
        plan = make.plan(db, world.tenant_a.id, name="Acme PPO")
        p = make.provider(
            db, world.tenant_a.id, first_name="Ana", last_name="Garcia", specialties=["208000000X"],
            languages=["en", "es"], location_ids=[loc.id],
            plans=[{"plan_id": plan.id, "accepting_new": True}],
        )  # fmt: skip
        make.provider(db, world.tenant_b.id, first_name="Zed", last_name="Other")
        dept = make.department(db, world.tenant_a.id, name="Patient Billing")
        res = make.resource(db, world.tenant_a.id, name="Food pantry line")
        return {
            "location": loc.id,
            "plan": plan.id,
            "provider": p.id,
            "department": dept.id,
            "resource": res.id,
        }


def test_an_agent_searches_and_reads_without_edit_forms(clock, client, sessions, world) -> None:
    ids = _seed(sessions, world)
    page = client.get("/directory", params={"language": "es"})
    assert page.status_code == 200
    assert "Garcia, Ana" in page.text and "Other" not in page.text
    assert "Add a provider" not in page.text
    fragment = client.get("/directory", params={"q": "zzz"}, headers={"HX-Request": "true"})
    assert "No provider matches" in fragment.text and "<html" not in fragment.text
    profile = client.get(f"/directory/providers/{ids['provider']}")
    assert (
        "pediatrics" in profile.text and "Spanish" in profile.text and "Lincoln Park Clinic" in profile.text
    )
    assert 'action="/directory/providers/' not in profile.text
    location = client.get(f"/directory/locations/{ids['location']}")
    assert "Lot behind" in location.text and "Open now until 5 PM" in location.text
    routing = client.get("/directory/routing")
    assert "Patient Billing" in routing.text and "Food pantry line" in routing.text
    assert client.get(f"/directory/departments/{ids['department']}").status_code == 200
    assert client.get("/directory/plans").status_code == 200
    assert client.get("/directory/import").status_code == 403
    lookup = client.get(
        "/directory/routing/lookup", params={"tenant_id": world.tenant_a.id, "need": "billing"}
    )
    assert "Patient Billing" in lookup.text
    assert 'href="/directory"' in client.get("/").text  # in the navigation bar


def test_another_tenants_pages_answer_404(client, sessions, world) -> None:
    with transaction(sessions) as db:
        other = make.provider(db, world.tenant_b.id).id
        loc = make.location(db, world.tenant_b.id).id
    assert client.get(f"/directory/providers/{other}").status_code == 404
    assert client.get(f"/directory/locations/{loc}").status_code == 404


def _form(**fields: object) -> dict[str, object]:
    return {"csrf_token": CSRF, **fields}


def test_admin_adds_a_provider_and_a_bad_npi_is_marked_on_its_field(admin, sessions, world, db) -> None:
    ids = _seed(sessions, world)
    fields = _form(
        tenant_id=world.tenant_a.id, npi="1234567890", first_name="Maya", last_name="Singh",
        credentials="MD", gender="female", primary_specialty="207V00000X", languages="en, Hindi",
        location_ids=[ids["location"]], plans=[ids["plan"]], accepting_new_patients="on", sees_adult="on",
        visit_reasons="prenatal care\npap smear",
    )  # fmt: skip
    bad = admin.post("/directory/providers", data=fields)
    assert bad.status_code == 422
    assert re.search(r'name="npi"[^>]*aria-invalid="true"', bad.text)
    assert 'id="err-npi"' in bad.text and "check digit" in bad.text
    assert 'value="Singh"' in bad.text  # what was typed is kept
    assert db.scalar(select(Provider).where(Provider.last_name == "Singh")) is None
    fields["npi"] = make.npi()
    created = admin.post("/directory/providers", data=fields, follow_redirects=False)
    assert created.status_code == 303
    page = admin.get(created.headers["location"])
    assert "Saved." in page.text and "OB/GYN" in page.text and "Hindi" in page.text


def test_admin_edits_and_deactivates_a_provider_in_the_browser(admin, sessions, world, db) -> None:
    ids = _seed(sessions, world)
    page = admin.get(f"/directory/providers/{ids['provider']}")
    assert f'action="/directory/providers/{ids["provider"]}"' in page.text
    fields = _form(
        npi=db.get(Provider, ids["provider"]).npi, first_name="Ana", last_name="Garcia-Lopez",
        primary_specialty="208000000X", languages="en, xx", gender="female",
    )  # fmt: skip
    bad = admin.post(f"/directory/providers/{ids['provider']}", data=fields)
    assert bad.status_code == 422 and re.search(r'name="languages"[^>]*aria-invalid="true"', bad.text)
    fields["languages"] = "en"
    assert (
        admin.post(f"/directory/providers/{ids['provider']}", data=fields).status_code == 200
    )  # after redirect
    db.expire_all()
    provider = db.get(Provider, ids["provider"])
    assert (provider.last_name, provider.active) == ("Garcia-Lopez", False)  # 'active' unticked


def test_admin_adds_and_edits_a_location_with_hours_and_closures(admin, sessions, world, db) -> None:
    bad = admin.post(
        "/directory/locations",
        data=_form(
            tenant_id=world.tenant_a.id, name="Evanston", address_line1="1000 Central St", zip="99999"
        ),
    )
    assert bad.status_code == 422 and re.search(r'name="zip"[^>]*aria-invalid="true"', bad.text)
    created = admin.post(
        "/directory/locations",
        data=_form(tenant_id=world.tenant_a.id, name="Evanston", address_line1="1000 Central St", zip="60201",
                   phone="847-555-0120", hours="Mon-Fri 08:00-17:00", directions="Metra to Central Street"),
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303
    loc_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    edit = _form(
        name="Evanston",
        address_line1="1000 Central St",
        zip="60201",
        phone="bad phone",
        hours="",
        active="on",
    )
    wrong = admin.post(f"/directory/locations/{loc_id}", data=edit)
    assert wrong.status_code == 422 and re.search(r'name="phone"[^>]*aria-invalid="true"', wrong.text)
    edit["phone"] = "(847) 555-0121"
    edit["hours"] = "Mon-Sat 09:00-12:00"
    admin.post(f"/directory/locations/{loc_id}", data=edit)
    closed = admin.post(
        f"/directory/locations/{loc_id}/closures", data=_form(date="2026-12-25", reason="Christmas")
    )
    assert closed.status_code == 200 and "Christmas" in closed.text
    db.expire_all()
    loc = db.get(Location, loc_id)
    assert (loc.phone, loc.hours["sat"]) == ("+18475550121", [["09:00", "12:00"]])
    closure = db.scalar(select(LocationClosure).where(LocationClosure.location_id == loc_id))
    admin.post(f"/directory/locations/{loc_id}/closures/{closure.id}/delete", data=_form())
    assert db.scalar(select(LocationClosure).where(LocationClosure.location_id == loc_id)) is None


def test_admin_adds_departments_resources_and_plans(admin, world, db) -> None:
    tid = world.tenant_a.id
    bad = admin.post(
        "/directory/departments", data=_form(tenant_id=tid, name="Records", kind="medical_records")
    )
    assert bad.status_code == 422 and re.search(r'name="phone"[^>]*aria-invalid="true"', bad.text)
    ok = admin.post(
        "/directory/departments",
        data=_form(
            tenant_id=tid, name="Records", kind="medical_records", phone="312-555-0107", intents=["records"]
        ),
    )
    assert ok.status_code == 200
    assert db.scalar(select(Department.intents).where(Department.name == "Records")) == ["records"]
    res = admin.post(
        "/directory/resources",
        data=_form(tenant_id=tid, name="Crisis line", kind="crisis", phone="988", keywords="suicide\ncrisis"),
    )
    assert res.status_code == 200 and "suicide, crisis" in res.text
    assert (
        admin.post("/directory/plans", data=_form(tenant_id=tid, name="Acme", plan_type="HMO")).status_code
        == 200
    )
    dup = admin.post("/directory/plans", data=_form(tenant_id=tid, name="Acme"))
    assert dup.status_code == 409 and "already has a plan" in dup.text


def test_the_import_page_shows_bad_rows_by_line(admin, world) -> None:
    text = "name,address_line1,zip\nGood,1 Main St,60614\nBad,2 Main St,00000\n"
    page = admin.post(
        "/directory/import/locations",
        data={"csrf_token": CSRF, "tenant_id": str(world.tenant_a.id)},
        files={"file": ("l.csv", text.encode(), "text/csv")},
    )
    assert page.status_code == 200
    assert "1 created" in page.text
    assert re.search(r"<td class=\"num\">3</td><td>zip</td>", page.text)


def test_every_list_and_form_page_renders(clock, admin, sessions, world) -> None:
    ids = _seed(sessions, world)
    listing = admin.get("/directory/locations", params={"q": "lincoln"})
    assert listing.status_code == 200
    assert "Lincoln Park Clinic" in listing.text and "Open now until 5 PM" in listing.text
    assert admin.get("/directory/locations", params={"inactive": "1", "page_no": "2"}).status_code == 200
    new_provider = admin.get("/directory/providers/new", params={"tenant_id": world.tenant_a.id})
    assert new_provider.status_code == 200 and "Acme PPO" in new_provider.text
    assert '<label for="f-npi">' in new_provider.text  # every input has its label
    assert admin.get("/directory/locations/new").status_code == 200
    assert "Export" in admin.get("/directory/import").text
    resource = admin.get(f"/directory/resources/{ids['resource']}")
    assert "Food pantry line" in resource.text and 'action="/directory/resources/' in resource.text
    routing = admin.get("/directory/routing", params={"tenant_id": world.tenant_a.id})
    assert "Add a department or service" in routing.text
    assert admin.get(f"/directory/departments/{ids['department']}").status_code == 200
