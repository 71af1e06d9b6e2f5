"""A real browser: Debian's chromium driven by its chromedriver (both from apt), or by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import IN_CI
from tests.e2e.playwright_support import chromium, screenshot_on_failure  # noqa: F401  (Playwright fixtures)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def _driver() -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"needs {CHROMIUM} and {CHROMEDRIVER} (apt install chromium chromium-driver)"
        if IN_CI:
            pytest.fail(f"{message}, and CI must run every test")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def browser(_driver: webdriver.Chrome, live_server) -> Iterator[webdriver.Chrome]:
    _driver.delete_all_cookies()
    _driver.base_url = live_server.url
    yield _driver
    _driver.delete_all_cookies()


def sign_in(browser: webdriver.Chrome, user) -> None:
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    browser.get(f"{browser.base_url}/accounts/login/")
    browser.find_element(By.NAME, "username").send_keys(user.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main form [type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "/accounts/login/" not in d.current_url)


def click(browser: webdriver.Chrome, element, *, navigates: bool = True) -> None:
    """Clicks like a person: after scrolling the element to the middle of the screen.

    Instantly: Bootstrap sets smooth scrolling, and a click during the animation misses.
    When the click loads a page, waits until the old page is gone, so nothing reads it.
    """
    page = browser.find_element(By.TAG_NAME, "html")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()
    if navigates:
        WebDriverWait(browser, 10).until(lambda _driver: _is_gone(page))


def _is_gone(element) -> bool:
    """Stale, or (while the next page loads) a node Chromium says is in no document any more."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


def wait_for_text(browser: webdriver.Chrome, by: str, selector: str, text: str) -> str:
    """The element's text, spaces normalised, once it contains `text`; re-found while the next page loads."""
    found = ""

    def has_text(driver: webdriver.Chrome) -> bool:
        nonlocal found
        found = " ".join(driver.find_element(by, selector).text.split())
        return text in found

    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(has_text)
    return found
