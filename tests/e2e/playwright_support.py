"""Playwright driving Debian's chromium (never a browser downloaded by `playwright install`).

Fixtures (imported by tests/e2e/conftest.py):
- `chromium`: a headless Chromium for one test, skipped where /usr/bin/chromium is
  missing and failed in CI;
- `screenshot_on_failure`: `with screenshot_on_failure("03-declare", tab): ...` saves
  var/e2e-screenshots/<test>/03-declare.png when the block raises, prints the path and
  re-raises.

Playwright's sync API keeps an asyncio loop running on the test's thread while it is
started, and Django refuses ORM calls from a thread with a running loop. The fixture
allows them (DJANGO_ALLOW_ASYNC_UNSAFE) for the test only, and stops Playwright at its
end, so the tests after it see no loop. The ORM runs on this thread either way, never
concurrently with the loop.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "e2e-screenshots"
# Auto-waiting limit for actions and `expect`: generous for a loaded CI machine, and
# only ever reached when something is wrong.
TIMEOUT_MS = 10_000


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        message = f"needs {CHROMIUM} (apt install chromium)"
        if IN_CI:
            pytest.fail(f"{message}, and CI must run every test")
        pytest.skip(message)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_tab(browser: Browser, base_url: str) -> Page:
    """A fresh context (its own cookies: one person) and its page; closed with the browser."""
    context: BrowserContext = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 1600})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def screenshot_on_failure(request: pytest.FixtureRequest) -> Callable[[str, Page], AbstractContextManager[None]]:
    test_dir = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)

    @contextmanager
    def step(name: str, tab: Page) -> Iterator[None]:
        try:
            yield
        except BaseException:
            path = test_dir / f"{name}.png"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=str(path), full_page=True)
            except (PlaywrightError, OSError) as exc:  # the browser itself may be what broke
                print(f"\nstep {name!r} failed; no screenshot ({exc})")
            else:
                print(f"\nstep {name!r} failed; screenshot: {path}")
            raise

    return step


def sign_in(tab: Page, user, password: str) -> None:
    tab.goto("/accounts/login/")
    tab.get_by_label("Username").fill(user.username)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab).not_to_have_url(re.compile(r"/accounts/login/"))
