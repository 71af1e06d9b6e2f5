"""The comp-time demo seed: a night waiting for approval, an approved one with time taken, twice is once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from oncall.demo_comptime import seed
from oncall.models import CompTimeGrant, CompTimePolicy, CompTimeUse, Holiday, Notification, WorkLog
from oncall.selectors_comptime import comp_time_balance
from tests.oncall.comptime_fixtures import MORNING_AFTER

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    models = (CompTimePolicy, Holiday, WorkLog, CompTimeGrant, CompTimeUse, Notification)
    return tuple(model.objects.count() for model in models)


def test_the_seed_shows_a_night_that_earned_comp_time_and_runs_twice_as_once(team_a, alice, bob):
    seed(team=team_a, now=MORNING_AFTER)
    first = counts()
    seed(team=team_a, now=MORNING_AFTER)
    assert counts() == first
    recent, older = CompTimeGrant.objects.order_by("-night_of")
    assert (recent.user, recent.night_of, recent.status, recent.worked_minutes) == (
        bob,
        dt.date(2027, 1, 4),
        "proposed",
        80,
    )
    assert (older.status, older.decided_by) == ("approved", alice)
    balance = comp_time_balance(team=team_a, user=bob)
    assert (balance.granted, balance.taken) == (Decimal("4.0"), Decimal("2.0"))
    assert Holiday.objects.get().date == dt.date(2028, 1, 1)


def test_a_team_without_a_manager_gets_nothing(team_b, charlie):
    seed(team=team_b, now=MORNING_AFTER)
    assert counts() == (0, 0, 0, 0, 0, 0)
