"""Under the Content-Security-Policy, a real browser blocks nothing a page needs.

Every `securitypolicyviolation` event is recorded from before each page's first script
(a DevTools init script, which the policy does not govern). Pages must report none,
except Redoc, whose bundle tries to load its logo from cdn.redoc.ly: blocking another
host is the policy working, so only those are tolerated there. Each page also does what
its scripts are for: Swagger UI lists operations, Redoc its menu, the admin's beat form
translates a crontab, Fireline's own script asks before a key is rotated.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django_celery_beat.models import CrontabSchedule
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from incidents import services as incidents
from oncall.services.intake import integration_create
from tests.e2e.conftest import click, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"} in ${e.sourceFile}:${e.lineNumber}`);
  window.__cspBlocked = (window.__cspBlocked || []).concat([e.blockedURI]);
});
"""


@pytest.fixture
def recording(browser):
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    yield browser
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def violations(browser) -> tuple[list[str], list[str]]:
    return browser.execute_script("return [window.__csp || [], window.__cspBlocked || []]")


def visit(browser, path: str, ready: str) -> list[str]:
    """Opens a page, waits until `ready` (a CSS selector) shows, and returns the violations."""
    browser.get(f"{browser.base_url}{path}")
    WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ready))
    return violations(browser)


def test_portal_pages_and_api_docs_work_with_nothing_of_their_own_blocked(
    recording, settings, team_a, alice, service_a
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # PBKDF2 takes ~1 s here
    browser = recording
    alice.is_staff = alice.is_superuser = True
    alice.save(update_fields=["is_staff", "is_superuser"])
    incident = incidents.incident_declare(team=team_a, title="Checkout errors", severity=2, by=alice)
    integration_create(service=service_a, name="Alertmanager", kind="alertmanager", by=alice)
    CrontabSchedule.objects.create(minute="0", hour="9")
    sign_in(browser, alice)

    for path, ready in (
        ("/", "main"),
        (f"/incidents/{incident.number}/", "main"),
        ("/admin/", "#content"),
        ("/api/docs/", ".opblock"),
    ):
        assert visit(browser, path, ready)[0] == [], path

    redoc, blocked = visit(browser, "/api/redoc/", "li[data-item-id]")
    own = urlsplit(browser.base_url).netloc
    assert all(urlsplit(uri).scheme == "https" and urlsplit(uri).netloc != own for uri in blocked), redoc

    assert visit(browser, "/admin/django_celery_beat/periodictask/add/", "#id_crontab")[0] == []
    Select(browser.find_element(By.ID, "id_crontab")).select_by_index(1)
    assert "Translation: At 09:00" in browser.find_element(By.CSS_SELECTOR, ".field-crontab .help").text

    assert visit(browser, f"/services/{service_a.slug}/", "main")[0] == []
    click(browser, browser.find_element(By.XPATH, '//button[normalize-space()="Rotate key"]'), navigates=False)
    dialog = WebDriverWait(browser, 5).until(expected_conditions.alert_is_present())
    assert dialog.text == "The current key stops working at once. Rotate?"
    dialog.dismiss()
    assert browser.current_url.endswith(f"/services/{service_a.slug}/")
    assert violations(browser)[0] == []
