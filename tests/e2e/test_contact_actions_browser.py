"""The contact screen's other actions in a real browser: a new caller registered in place, a visit moved
and cancelled, a refusal shown (not silently dropped), a transfer, and wrap-up with an outcome per reason."""

from __future__ import annotations

from careline.db import transaction
from careline.directory import service as directory
from tests.directory import factories as dirf
from tests.e2e.conftest import shot, sign_in
from tests.factories import PASSWORD
from tests.scheduling.conftest import build_cal


def _new_contact(page, server) -> None:
    page.goto(server.url + "/console")
    page.locator("#new-tenant").select_option(label="Tenant A Health")
    page.locator("#new-number").fill("(312) 555-0188")
    page.get_by_role("button", name="Start contact").click()
    page.wait_for_url("**/console/contacts/*")


def test_register_book_move_cancel_transfer_and_wrap_up_without_leaving_the_contact(
    page, server, world, sessions
) -> None:
    cal = build_cal(world, sessions)
    with transaction(sessions) as s:
        dirf.department(s, cal.tenant_id, name="Billing office", transfer_number="3125550160")
        directory.seed_default_resources(s, cal.tenant_id)
    page.set_default_timeout(15_000)
    sign_in(page, server, "agent.a@test.example", PASSWORD)
    page.wait_for_url(server.url + "/")
    _new_contact(page, server)

    # A new caller: the form is right there, with the number they called from.
    page.get_by_text("New patient: register them here").click()
    assert page.locator("#rg-phone").input_value() == "(312) 555-0188"
    page.locator("#rg-first").fill("Nora")
    page.locator("#rg-last").fill("Newman")
    page.locator("#rg-dob").fill("2/30/1990")
    page.locator("#register-patient").click()
    page.locator("#register .alert.error").wait_for()  # the bad date comes back in the form
    assert page.locator("#rg-last").input_value() == "Newman"
    page.locator("#rg-dob").fill("4/5/1990")
    page.locator("#register-patient").click()
    page.locator("#caller-panel >> text=Full record").wait_for()
    assert "Nora" in page.locator("#caller-panel").inner_text()

    # Book, then move the visit to another time, then cancel it.
    page.locator("#s-type").select_option(label="Office visit (20 min)")
    page.locator("#s-loc").select_option(label="Oak Street")
    page.get_by_role("button", name="Next available").click()
    page.locator("button.book-slot").first.click()
    page.wait_for_selector("#schedule-results >> text=Booked:")
    page.locator("#appointments li.appointment").first.wait_for()
    page.locator("button.move-appointment").first.click()
    page.locator("button.move-here").nth(1).click()
    page.wait_for_selector("#appointments >> text=Moved to")
    assert page.locator("#appointments li.appointment").count() == 1
    page.on("dialog", lambda dialog: dialog.accept())  # "Cancel this visit?"
    page.locator("#appointments select[name=reason]").first.select_option("patient_ill")
    page.locator("button.cancel-appointment").first.click()
    page.wait_for_selector("#appointments >> text=Cancelled:")
    page.wait_for_selector("#reasons >> text=appointment cancelled")

    # A refusal is shown where the agent looks, not dropped.
    page.locator("#transfer-now").click()
    page.wait_for_selector("#flash >> text=who or where")
    page.locator("#t-dept").select_option(label="Billing office · (312) 555-0160")
    page.locator("#transfer-now").click()
    page.wait_for_selector("#transfer-result >> text=Warm transfer to Billing office")
    assert page.locator("#flash").inner_text() == ""  # the earlier refusal went with the next action
    page.wait_for_selector("#reasons >> text=transferred")
    # The directory search: an outside resource for what the practice does not do.
    page.locator("#dir-q").fill("swallowed bleach")
    page.locator("#directory-hits >> text=Poison Control").wait_for()
    page.locator("#directory-hits li", has_text="Poison Control").get_by_role(
        "button", name="Caller routed here"
    ).click()
    page.wait_for_selector("#transfer-result >> text=Caller routed to Poison Control")
    page.wait_for_selector("#reasons >> text=routed outside")
    shot(page, "contact-actions")

    # Wrap up: a reason added late gets its outcome in the wrap-up form; then a break.
    page.locator("#add-intent").select_option("records")
    page.locator("#reasons").get_by_role("button", name="Add").click()
    page.wait_for_selector("#wrap-reasons select[name=reason_outcome]")
    page.locator("#wrap-reasons select[name=reason_outcome]").select_option("message_taken")
    page.locator("#wrap-next").select_option("break")
    page.get_by_role("button", name="Wrap up contact").click()
    page.wait_for_url("**/console?done=*")
    assert page.locator("#queue-strip #presence-state").input_value() == "break"
