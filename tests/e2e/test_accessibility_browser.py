"""Accessibility: axe-core (bundled with axe-playwright-python, nothing downloaded) checks the screens
each role works in for WCAG 2 A/AA problems a screen-reader or keyboard user would hit."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from careline.db import transaction
from careline.queues import service as queues
from tests.e2e.conftest import sign_in
from tests.factories import CSRF, PASSWORD, signed_in
from tests.scheduling.conftest import build_cal

AXE = Axe()
OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _problems(page) -> list[str]:
    results = AXE.run(page, options=OPTIONS)
    found = []
    for v in results.response["violations"]:
        if v["impact"] in ("serious", "critical"):
            where = "; ".join(n["target"][0] for n in v["nodes"][:3])
            found.append(f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at {where}")
    return found


@pytest.mark.parametrize(
    ("email", "paths"),
    [
        (
            "agent.a@test.example",
            [
                "/",
                "/console",
                "/console/contacts/{contact}",
                "/patients",
                "/patients/new",
                "/directory",
                "/directory/routing",
                "/match",
                "/scheduling",
            ],
        ),
        ("nurse.a@test.example", ["/nurse"]),
        (
            "admin@test.example",
            [
                "/account",
                "/admin/users",
                "/admin/audit",
                "/directory/providers/new",
                "/directory/import",
                "/scheduling/config",
                "/admin/clients",
                "/match/settings",
            ],
        ),
        (
            "supervisor.a@test.example",
            ["/wallboard", "/queues", "/reports", "/reports/monthly", "/staffing"],
        ),
        ("manager.a@test.example", ["/reports"]),
    ],
)
def test_the_screens_have_no_serious_accessibility_problems(page, server, world, sessions, app, email, paths):
    cal = build_cal(world, sessions)
    with transaction(sessions) as s:
        queues.ensure_default_queues(s, cal.tenant_id)
    with signed_in(app, world.agent_a) as client:
        made = client.post(
            "/console/contacts", data={"tenant_id": cal.tenant_id, "csrf_token": CSRF}, follow_redirects=False
        )
        contact = made.headers["location"].rsplit("/", 1)[1]
    page.goto(server.url + "/login")
    problems = _problems(page)
    sign_in(page, server, email, PASSWORD)
    page.wait_for_url(server.url + "/")
    for path in paths:
        response = page.goto(server.url + path.format(contact=contact))
        assert response is not None and response.status == 200, f"{email} {path}"
        page.wait_for_load_state("networkidle")
        if "/console/contacts/" in path:  # the parts that open on demand too
            page.get_by_text("New patient: register them here").click()
            page.locator("#find-times").click()
            page.locator("#schedule-results").locator("table, .alert").first.wait_for()
        problems += _problems(page)
    assert problems == [], "\n".join(problems)
