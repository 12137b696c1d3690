"""Client administration: an admin adds a client and edits its details, published number, record-number
prefix and on-call clinician, from the pages or the API; bad input is refused and changes nothing."""

from __future__ import annotations

import pytest

from careline.db import transaction
from careline.errors import Conflict, ValidationFailed
from careline.patients import service as patients
from careline.tenants import service
from careline.tenants.models import Tenant
from tests.factories import CSRF, signed_in


def test_update_checks_every_field_and_keeps_the_rest(sessions, world, db) -> None:
    tid = world.tenant_a.id
    with transaction(sessions) as s:
        t = service.update_tenant(
            s,
            tid,
            phone="(312) 555-0100",
            mrn_prefix="ta",
            oncall_name="Dr. Ames",
            oncall_phone="312 555 0177",
        )
        assert t.phone == "+13125550100"
        assert t.settings["mrn_prefix"] == "TA" and t.settings["oncall"] == {
            "name": "Dr. Ames",
            "phone": "+13125550177",
        }
    bad = [
        ({"name": " "}, "name"),
        ({"kind": "spaceship"}, "kind"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"phone": "12"}, "phone"),
        ({"mrn_prefix": "A1"}, "mrn_prefix"),
        ({"oncall_name": "Dr. Solo", "oncall_phone": ""}, "oncall_phone"),
        ({"oncall_name": "", "oncall_phone": "3125550199"}, "oncall_name"),
    ]
    for change, field in bad:
        with pytest.raises(ValidationFailed) as caught, transaction(sessions) as s:
            service.update_tenant(s, tid, **change)
        assert caught.value.field == field, change
    with pytest.raises(Conflict), transaction(sessions) as s:
        service.update_tenant(s, world.tenant_b.id, phone="3125550100")  # tenant A publishes it
    db.expire_all()
    t = db.get(Tenant, tid)
    assert (
        t.phone == "+13125550100"
        and t.settings["oncall"]["name"] == "Dr. Ames"
        and t.name == "Tenant A Health"
    )
    with transaction(sessions) as s:  # clearing the on-call clinician and the prefix
        t = service.update_tenant(s, tid, oncall_name="", oncall_phone="", mrn_prefix="")
        assert "oncall" not in t.settings and "mrn_prefix" not in t.settings


def test_the_prefix_names_new_patients(sessions, world) -> None:
    from careline.audit.service import Actor

    with transaction(sessions) as s:
        service.update_tenant(s, world.tenant_b.id, mrn_prefix="QQ")
        p = patients.create_patient(
            s,
            tenant_id=world.tenant_b.id,
            actor=Actor("test"),
            first_name="Q",
            last_name="Q",
            dob="1990-01-01",
        )
        assert p.mrn.startswith("QQ-")


def test_an_admin_adds_and_edits_a_client_from_the_pages(app, world, db) -> None:
    with signed_in(app, world.admin) as client:
        page = client.get("/admin/clients")
        assert (
            page.status_code == 200
            and "Tenant A Health" in page.text
            and 'href="/admin/clients"' in page.text
        )
        bad = client.post(
            "/admin/clients",
            data={"csrf_token": CSRF, "slug": "Bad Slug", "name": "Lakeview Clinic", "phone": "3125550188"},
        )
        assert bad.status_code == 422 and 'value="Lakeview Clinic"' in bad.text and "slug" in bad.text
        made = client.post(
            "/admin/clients",
            data={
                "csrf_token": CSRF,
                "slug": "lakeview",
                "name": "Lakeview Clinic",
                "kind": "clinic",
                "timezone": "America/New_York",
                "phone": "(312) 555-0188",
            },
            follow_redirects=False,
        )
        assert made.status_code == 303
        edit = client.get(made.headers["location"])
        assert "Client added" in edit.text and 'value="(312) 555-0188"' in edit.text
        tid = int(made.headers["location"].split("/")[-1].split("?")[0])
        form = {
            "csrf_token": CSRF,
            "name": "Lakeview Clinic",
            "kind": "clinic",
            "timezone": "America/New_York",
            "phone": "(312) 555-0188",
            "active": "true",
            "mrn_prefix": "LV",
            "oncall_name": "Dr. Vega",
            "oncall_phone": "",
        }
        refused = client.post(f"/admin/clients/{tid}", data=form)
        assert refused.status_code == 422 and "name and phone together" in refused.text
        assert 'value="Dr. Vega"' in refused.text  # what was typed stays
        saved = client.post(f"/admin/clients/{tid}", data={**form, "oncall_phone": "773-555-0101"})
        assert saved.status_code == 200 and "Saved." in saved.text
        listed = client.get("/admin/clients").text
        assert "Dr. Vega · (773) 555-0101" in listed
        assert client.get("/admin/clients/999999").status_code == 404
    t = db.get(Tenant, tid)
    assert (t.kind, t.timezone, t.phone) == ("clinic", "America/New_York", "+13125550188")
    assert t.settings == {"mrn_prefix": "LV", "oncall": {"name": "Dr. Vega", "phone": "+17735550101"}}


def test_only_admins_manage_clients(app, world) -> None:
    for user in (world.supervisor_a, world.manager_a, world.agent_a):
        with signed_in(app, user) as client:
            assert client.get("/admin/clients").status_code == 403
            assert client.patch(f"/api/v1/tenants/{world.tenant_a.id}", json={"name": "X"}).status_code == 403
            assert "/admin/clients" not in client.get("/").text


def test_the_api_patches_a_client(app, world, db) -> None:
    with signed_in(app, world.admin) as client:
        done = client.patch(
            f"/api/v1/tenants/{world.tenant_a.id}",
            json={"oncall_name": "Dr. Api", "oncall_phone": "3125550123", "mrn_prefix": "ap"},
        )
        assert done.status_code == 200, done.text
        assert done.json()["oncall"] == {"name": "Dr. Api", "phone": "+13125550123"}
        assert done.json()["mrn_prefix"] == "AP"
        assert client.patch(f"/api/v1/tenants/{world.tenant_a.id}", json={"phone": "nope"}).status_code == 422
        assert client.patch(f"/api/v1/tenants/{world.tenant_a.id}", json={"colour": "red"}).status_code == 422
        assert client.patch("/api/v1/tenants/999999", json={"name": "X"}).status_code == 404
    assert db.get(Tenant, world.tenant_a.id).name == "Tenant A Health"
