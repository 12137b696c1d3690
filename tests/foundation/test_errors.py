"""Bad input gets a 4xx naming the field; nothing ever shows a stack trace."""

from __future__ import annotations

from fastapi.testclient import TestClient

from careline.web.context import public
from tests.factories import anonymous, signed_in


def test_a_missing_field_gets_422_naming_it(app, world) -> None:
    with signed_in(app, world.admin) as client:
        response = client.post("/api/v1/users", json={"email": "x@test.example", "role": "agent"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert {f["field"] for f in body["fields"]} == {"name", "password"}
    assert "name" in body["message"]


def test_a_wrong_type_gets_422_not_500(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        response = client.get("/api/v1/tenants/not-a-number")
    assert response.status_code == 422 and response.json()["fields"][0]["field"] == "tenant_id"


def test_malformed_json_gets_a_4xx(app, world) -> None:
    with signed_in(app, world.admin) as client:
        response = client.post(
            "/api/v1/tenants", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 422


def test_a_service_rule_violation_names_the_field(app, world) -> None:
    with signed_in(app, world.admin) as client:
        response = client.post("/api/v1/tenants", json={"slug": "Bad Slug!", "name": "X"})
        assert response.status_code == 422 and response.json()["field"] == "slug"
        dup = client.post("/api/v1/tenants", json={"slug": "tenant-a", "name": "Again"})
        assert dup.status_code == 409 and dup.json()["field"] == "slug"
        tz = client.post(
            "/api/v1/tenants", json={"slug": "tenant-z", "name": "Z", "timezone": "Mars/Olympus"}
        )
        assert tz.status_code == 422 and "Mars/Olympus" in tz.json()["message"]


def test_an_unknown_page_gets_an_html_404_and_an_unknown_api_path_json(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        page = client.get("/no-such-page", headers={"accept": "text/html"})
        api = client.get("/api/v1/no-such-thing")
    assert page.status_code == 404 and "<html" in page.text and "Not found" in page.text
    assert api.status_code == 404 and api.json()["error"] == "http_error"


def test_an_unexpected_error_shows_no_stack_trace(app) -> None:
    from careline.web.routing import router

    boom = router()

    @boom.get("/boom-for-test")
    def _boom(ctx=public()) -> None:
        raise RuntimeError("secret internals")

    app.include_router(boom)
    try:
        response = TestClient(app, raise_server_exceptions=False).get("/boom-for-test")
    finally:
        app.router.routes.pop()
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_html_form_errors_render_a_page_with_the_message(app, world) -> None:
    with signed_in(app, world.admin) as client:
        response = client.post(
            "/admin/users",
            data={
                "email": "not-an-email",
                "name": "X",
                "role": "agent",
                "password": "long-enough-1",
                "csrf_token": "test-csrf-token",
            },
        )
    assert response.status_code == 422
    assert "is not an email address" in response.text and 'aria-invalid="true"' in response.text


def test_health_reports_the_database(app) -> None:
    response = anonymous(app).get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}
