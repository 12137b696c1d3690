"""The consoles in a real browser: a whole contact from queue to wrap-up, and a red-flag call that a nurse
in a second browser receives live, accepts and resolves while the agent and the wallboard watch."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from careline.db import transaction
from careline.queues import service as queues
from tests.e2e.conftest import shot, sign_in
from tests.factories import PASSWORD
from tests.scheduling.conftest import build_cal


@pytest.fixture
def floor(world, sessions):
    """A calendar world in tenant A with its queues, and staff with the skills to take the calls."""
    cal = build_cal(world, sessions)
    with transaction(sessions) as s:
        queues.ensure_default_queues(s, world.tenant_a.id)
        queues.set_skills(s, world.agent_a.id, ["general", "scheduling"])
        queues.set_skills(s, world.supervisor_a.id, ["general"])
    return cal


def _set_available(page) -> None:
    page.locator("#queue-strip #presence-state").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/queues/presence")):
        page.locator("#queue-strip #presence-state").select_option("available")


def _available_and_take_the_call(page, server) -> None:
    page.goto(server.url + "/console")
    _set_available(page)
    page.get_by_label("Client", exact=True).first.select_option(label="Tenant A Health")
    page.get_by_role("button", name="Simulate inbound call").click()
    page.wait_for_url("**/console?waiting=*")
    offer = page.locator("#accept-offer")
    try:  # the strip shows the offer by itself (live); "Next caller" asks at once
        offer.wait_for(timeout=6000)
    except PlaywrightTimeout:
        page.get_by_role("button", name="Next caller").click()
        offer.wait_for()
    offer.click()
    page.wait_for_url("**/console/contacts/*")


def test_an_agent_takes_a_call_books_answers_directions_and_wraps_up(page, server, floor) -> None:
    sign_in(page, server, "agent.a@test.example", PASSWORD)
    page.wait_for_url(server.url + "/")
    _available_and_take_the_call(page, server)
    assert page.get_by_text("Caller:").is_visible()
    # Identify the caller by name and date of birth.
    lookup = page.locator("form.lookup")
    lookup.get_by_label("Name").fill("Bob Baker")
    lookup.get_by_label("Date of birth").fill("2/2/1975")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("button", name="This is the caller").first.click()
    page.wait_for_selector("text=Full record")
    # A request with two reasons.
    notes = page.get_by_label("What the caller says")
    notes.fill("I need to book an office visit, and where do I park at the Oak Street office?")
    page.get_by_role("button", name="Save note and add reasons").click()
    page.wait_for_selector("#reasons >> text=location info")
    # Book the next open time from the scheduling panel.
    page.locator("#s-type").select_option(label="Office visit (20 min)")
    page.locator("#s-loc").select_option(label="Oak Street")
    page.get_by_role("button", name="Next available").click()
    page.locator("button.book-slot").first.click()
    page.wait_for_selector("text=Booked:")
    shot(page, "agent-console")
    # Answer the directions question from the next-steps panel.
    page.locator("#steps details.location-info").first.get_by_role("button", name="Information given").click()
    page.wait_for_selector("#steps >> text=Recorded: information given")
    page.wait_for_selector("#reasons >> text=appointment booked")
    page.get_by_role("button", name="Wrap up contact").click()
    page.wait_for_url("**/console?done=*")
    assert page.get_by_text("wrapped up").is_visible()


def test_a_red_flag_reaches_the_nurse_live_and_the_outcome_comes_back(browser, server, floor) -> None:
    agent = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    nurse = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    boss = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    for p in (agent, nurse, boss):
        p.set_default_timeout(15_000)
    sign_in(nurse, server, "nurse.a@test.example", PASSWORD)
    nurse.goto(server.url + "/nurse")
    assert nurse.locator("#no-escalations").is_visible()
    sign_in(boss, server, "supervisor.a@test.example", PASSWORD)
    boss.goto(server.url + "/wallboard")
    sign_in(agent, server, "agent.a@test.example", PASSWORD)
    agent.wait_for_url(server.url + "/")
    _available_and_take_the_call(agent, server)
    agent.get_by_label("What the caller says").fill(
        "move my thursday visit, I can't catch my breath and my left arm hurts"
    )
    banner = agent.locator("#screening #red-flag-banner")
    # The simulated caller may already have said something alarming; wait for these words to be screened.
    banner.locator("mark", has_text="catch my breath").first.wait_for()
    shot(agent, "red-flag-banner")
    banner.get_by_role("button", name="Escalate now").click()
    agent.wait_for_selector("#escalation-status >> text=Nurse being alerted")
    # The nurse's console receives it live (no reload), with the clock running.
    nurse.locator("button.accept-escalation").wait_for()
    # Announced once for screen readers (the list itself redraws too often to be a live region).
    assert "emergency escalation, Tenant A Health" in nurse.locator("#nurse-announce").text_content()
    assert nurse.title().startswith("(1) ")
    boss.locator("#wallboard-escalations").wait_for()
    assert "emergency" in boss.locator("#wallboard-escalations").inner_text()
    shot(boss, "wallboard")
    shot(nurse, "nurse-console")
    nurse.locator("button.accept-escalation").click()
    nurse.wait_for_url("**/nurse/escalations/*")
    agent.wait_for_selector("#escalation-status >> text=Nurse on the line")
    if nurse.get_by_role("button", name="No").count():
        nurse.get_by_role("button", name="No").click()
    nurse.get_by_label("Advice given").fill("Call 911 now; stay on the line with the dispatcher.")
    nurse.get_by_role("button", name="Record outcome").click()
    nurse.wait_for_selector("#escalation-outcome")
    agent.wait_for_selector("#escalation-status >> text=Nurse outcome: emergency")
