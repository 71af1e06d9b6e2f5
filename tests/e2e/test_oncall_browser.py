"""A person asks for cover, a teammate takes it, and every page shows the same schedule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from oncall.models import Override, SwapRequest
from tests.e2e.conftest import click, sign_in, wait_for_text
from tests.factories import MembershipFactory, UserFactory
from tests.oncall.schedule_fixtures import make_schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TZ = "Europe/Berlin"


@pytest.fixture
def schedule(team_a, alice, bob):
    carol = UserFactory(username="carol", first_name="Carol", last_name="Chen")
    MembershipFactory(user=carol, team=team_a)
    schedule = make_schedule(team_a, [alice, bob, carol], tz=TZ)
    # Weekly rotation from last Monday, so somebody is on call today.
    today = timezone.localdate(timezone=ZoneInfo(TZ))
    schedule.layers.update(rotation_start_date=today - dt.timedelta(days=today.weekday() + 7))
    return schedule


def _set_local(browser, name: str, value: dt.datetime) -> None:
    field = browser.find_element(By.CSS_SELECTOR, f"#swaps [name={name}]")
    browser.execute_script("arguments[0].value = arguments[1]", field, value.strftime("%Y-%m-%dT%H:%M"))


def test_cover_is_asked_for_taken_and_shown_on_the_calendar(browser, schedule, bob):
    sign_in(browser, bob)
    browser.get(f"{browser.base_url}/schedules/{schedule.slug}/")
    start = dt.datetime.combine(timezone.localdate(timezone=ZoneInfo(TZ)) + dt.timedelta(days=2), dt.time(18))
    Select(browser.find_element(By.CSS_SELECTOR, "#swaps [name=layer]")).select_by_visible_text("Primary")
    _set_local(browser, "start", start)
    _set_local(browser, "end", start + dt.timedelta(hours=4))
    browser.find_element(By.CSS_SELECTOR, "#swaps [name=note]").send_keys("Concert")
    click(browser, browser.find_element(By.CSS_SELECTOR, "#swaps [name=swap]"))
    wait_for_text(browser, By.ID, "swaps", "“Concert”")

    browser.delete_all_cookies()
    carol = schedule.team.memberships.get(user__username="carol").user
    sign_in(browser, carol)
    browser.get(f"{browser.base_url}/schedules/{schedule.slug}/")
    click(browser, browser.find_element(By.XPATH, '//button[normalize-space()="I\'ll cover it"]'))
    calendar = wait_for_text(browser, By.CSS_SELECTOR, "table.calendar", "Carol Chen override")
    assert "18:00" in calendar and "22:00" in calendar
    override = Override.objects.get()
    assert (override.user, SwapRequest.objects.get().status) == (carol, "taken")
