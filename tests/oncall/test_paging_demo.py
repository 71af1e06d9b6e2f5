"""Demo paging data: a policy, past pages, a night of work; running it twice adds nothing."""

from __future__ import annotations

import pytest

from oncall import demo_paging
from oncall.models import Alert, EscalationPolicy, Notification, Page, PageEvent, WorkLog
from tests.oncall.paging_fixtures import T0, payments_schedule

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (EscalationPolicy, Alert, Page, PageEvent, Notification, WorkLog))


def test_seed_is_idempotent_and_leaves_a_night_of_work(team_a, alice, bob, service_a):
    payments_schedule(team_a, bob, alice)

    demo_paging.seed(team=team_a, now=T0)
    first = counts()
    demo_paging.seed(team=team_a, now=T0)

    assert counts() == first
    assert EscalationPolicy.objects.get().name == "Default"
    statuses = sorted(Page.objects.values_list("status", flat=True))
    assert statuses == ["resolved", "resolved", "triggered"]
    night = WorkLog.objects.get(reference__startswith="page:", page__alert__dedup_key="demo-night-latency")
    assert (night.end_at - night.start_at).total_seconds() == 75 * 60


def test_seed_skips_a_team_without_services(team_b):
    demo_paging.seed(team=team_b, now=T0)
    assert counts() == (0, 0, 0, 0, 0, 0)
