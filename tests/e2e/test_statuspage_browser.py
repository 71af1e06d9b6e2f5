"""The comms lead tells customers about a SEV-1 in a real browser, and customers see it on the status host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from incidents import services as incidents
from statuspage import services, snapshots
from statuspage.models import Notice, StatusPage
from tests.e2e.conftest import click, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Chromium resolves every *.localhost name to the loopback address by itself, and
# ALLOWED_HOSTS has ".localhost", so the live server answers for the status host too.
HOST = "status.localhost"


def click_and_load(browser, element) -> None:
    """`click`, then wait for the next page. While Chromium tears the old page down, asking
    about its element can fail with "Node with given id does not belong to the document"
    instead of a stale reference; that means "not gone yet", so ask again.
    """
    old = browser.find_element(By.TAG_NAME, "html")
    click(browser, element, navigates=False)

    def gone(_driver) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        return False

    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(gone)


@pytest.fixture
def status_page(team_a, service_a):
    snapshots.forget(HOST)  # nothing published by an earlier run may be served
    page = StatusPage.objects.create(name="Acme", host=HOST, time_zone="Europe/London")
    page.teams.set([team_a])
    checkout = services.component_create(page=page, name="Checkout", position=1)
    checkout.services.set([service_a])
    services.component_create(page=page, name="Public API", position=0)
    yield page
    snapshots.forget(HOST)


def test_comms_lead_previews_and_publishes_the_first_customer_update(
    browser, alice, bob, team_a, service_a, status_page
):
    incident = incidents.incident_declare(
        team=team_a, title="Card payments fail", severity=1, by=alice, services=[service_a]
    )
    incidents.role_assign(incident=incident, role="comms_lead", user=bob, by=alice)
    sign_in(browser, bob)
    browser.get(f"{browser.base_url}{incident.get_absolute_url()}")
    click_and_load(browser, browser.find_element(By.LINK_TEXT, "Post customer update"))
    wait_for_text(browser, By.TAG_NAME, "h1", f"Customer update for {incident.reference}")
    assert browser.find_element(By.NAME, "title").get_attribute("value") == "Problems with Checkout"
    assert "We are looking into a problem with Checkout." in browser.find_element(By.NAME, "body").get_attribute(
        "value"
    )

    title = browser.find_element(By.NAME, "title")
    title.clear()
    title.send_keys("Card payments failing")
    click_and_load(browser, browser.find_element(By.NAME, "preview"))
    preview = wait_for_text(browser, By.CSS_SELECTOR, "section[aria-labelledby=preview-title]", "Card payments failing")
    assert "Checkout → major outage" in preview
    assert not Notice.objects.exists()

    click_and_load(browser, browser.find_element(By.NAME, "publish"))
    wait_for_text(browser, By.TAG_NAME, "h1", "Card payments failing")
    notice = Notice.objects.get()
    assert (notice.incident_id, notice.status, notice.impact) == (incident.pk, "investigating", "critical")

    port = urlsplit(browser.base_url).port
    browser.get(f"http://{HOST}:{port}/")
    banner = wait_for_text(browser, By.CSS_SELECTOR, "p.banner", "Major Service Outage")
    assert banner == "Major Service Outage"
    wait_for_text(browser, By.ID, "active-title", "Active incidents")
    active = browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=active-title]").text
    assert "Card payments failing" in active and "Investigating" in active
