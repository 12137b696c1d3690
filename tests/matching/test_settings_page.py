"""/match/settings: agents read a client's ranking weights and vocabulary; admins change them on the
page, and a bad value comes back with the message and what was typed, saving nothing."""

from __future__ import annotations

from careline.tenants.models import Tenant
from tests.factories import CSRF, signed_in


def test_agents_read_the_settings_and_cannot_save(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        page = client.get("/match/settings")
        assert page.status_code == 200
        assert (
            "Ranking weights" in page.text
            and "knee pain" in page.text
            and "Only admins change these" in page.text
        )
        assert (
            client.post("/match/settings", data={"csrf_token": CSRF, "tenant": world.tenant_a.id}).status_code
            == 403
        )
        assert (
            client.get(f"/match/settings?tenant={world.tenant_b.id}").status_code == 404
        )  # not one of theirs
        assert client.get("/match/settings?tenant=abc").status_code == 422


def test_an_admin_changes_weights_and_adds_a_need(app, world, db) -> None:
    a = world.tenant_a.id
    needs = "- key: bunions\n  label: bunion trouble\n  patterns: [bunion*]\n  specialties: [213E00000X]\n"
    with signed_in(app, world.admin) as client:
        bad = client.post(
            "/match/settings",
            data={"csrf_token": CSRF, "tenant": a, "w_distance": "lots", "needs": needs},
        )
        assert bad.status_code == 422 and "distance must be a number" in bad.text
        assert 'value="lots"' in bad.text and "bunion*" in bad.text
        broken = client.post(
            "/match/settings", data={"csrf_token": CSRF, "tenant": a, "needs": "- key: x\n  patterns: ["}
        )
        assert broken.status_code == 422 and "not valid YAML" in broken.text
        assert db.get(Tenant, a).settings.get("matching") is None  # nothing saved
        saved = client.post(
            "/match/settings",
            data={
                "csrf_token": CSRF,
                "tenant": a,
                "w_distance": "55",
                "w_candidate_cap": "500",
                "needs": needs,
            },
        )
        assert saved.status_code == 200 and "Saved." in saved.text
        assert "bunion trouble" in saved.text and "this client" in saved.text
        api = client.get(f"/api/v1/match/settings/{a}").json()
        assert api["weights"]["distance"] == 55 and api["weights"]["candidate_cap"] == 500
        assert api["weights"]["language"] == 15  # blank keeps the default
    db.expire_all()
    stored = db.get(Tenant, a).settings["matching"]
    assert stored["weights"] == {"distance": 55.0, "candidate_cap": 500}
    assert stored["needs"][0]["key"] == "bunions"
