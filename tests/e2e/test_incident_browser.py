"""A responder declares an incident in a real browser, moves it along and resolves it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from incidents.models import Incident
from tests.e2e.conftest import click, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_declare_update_and_resolve_with_a_reason(browser, bob, team_a, service_a):
    sign_in(browser, bob)
    browser.get(f"{browser.base_url}/incidents/declare/")
    Select(browser.find_element(By.NAME, "team")).select_by_visible_text("Payments")
    browser.find_element(By.NAME, "title").send_keys("Checkout returns 500s")
    click(browser, browser.find_element(By.NAME, "customers_blocked"), navigates=False)
    click(browser, browser.find_element(By.CSS_SELECTOR, "input[name=severity][value='1']"), navigates=False)
    click(browser, browser.find_element(By.NAME, "declare"))
    heading = wait_for_text(browser, By.TAG_NAME, "h1", "Checkout returns 500s")
    incident = Incident.objects.get()
    assert heading.startswith(incident.reference)

    browser.find_element(By.NAME, "known").send_keys("Pool exhausted after a config deploy")
    browser.find_element(By.NAME, "doing").send_keys("Rolling the config back")
    click(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/updates/'] [type=submit]"))
    wait_for_text(browser, By.ID, "msg-update", "Known: Pool exhausted after a config deploy")

    browser.find_element(By.CSS_SELECTOR, "form[action$='/resolve/'] [name=reason]").send_keys(
        "Rolled back; errors at zero"
    )
    click(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/resolve/'] [type=submit]"))
    wait_for_text(browser, By.TAG_NAME, "main", "Resolved")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_early_reason == "Rolled back; errors at zero"
