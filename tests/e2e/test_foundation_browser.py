"""A person at the browser: sign in, see their clients, an admin disables a user who is then signed out."""

from __future__ import annotations

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD


def test_an_agent_signs_in_and_sees_only_their_clients(page, server) -> None:
    sign_in(page, server, "agent.a@test.example", PASSWORD)
    page.wait_for_url(server.url + "/")
    assert page.get_by_role("heading", name="Hello, Agent").is_visible()
    assert page.get_by_text("Tenant A Health").is_visible()
    assert page.get_by_text("Tenant B Clinic").count() == 0
    assert page.get_by_role("link", name="Users").count() == 0  # not an admin's menu


def test_a_wrong_password_shows_a_message_on_the_form(page, server) -> None:
    sign_in(page, server, "agent.a@test.example", "not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("That email and password do not match")
    assert page.get_by_label("Email").input_value() == "agent.a@test.example"


def test_an_admin_disables_an_agent_who_is_signed_out_at_once(browser, server) -> None:
    agent = browser.new_context().new_page()
    sign_in(agent, server, "agent.a@test.example", PASSWORD)
    agent.wait_for_url(server.url + "/")
    admin = browser.new_context().new_page()
    sign_in(admin, server, "admin@test.example", PASSWORD)
    admin.goto(server.url + "/admin/users")
    row = admin.get_by_role("row").filter(has_text="agent.a@test.example")
    row.get_by_role("button", name="Disable").click()
    admin.wait_for_url(server.url + "/admin/users")
    assert "disabled" in admin.get_by_role("row").filter(has_text="agent.a@test.example").inner_text()
    agent.goto(server.url + "/account")
    assert agent.url.startswith(server.url + "/login")
