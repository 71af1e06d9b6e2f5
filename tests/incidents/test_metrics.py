"""Metrics equal hand-computed values on a fixed set of incidents across severities and teams."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from incidents import metrics, selectors, services
from incidents.models import Incident


def t(day: int, hour: int, minute: int = 0, month: int = 1) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, tzinfo=dt.UTC)


def minutes(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


@pytest.fixture
def dataset(team_a, team_b, alice, charlie):
    first = services.incident_declare(
        team=team_a, title="Checkout down", severity=1, by=alice,
        impact_started_at=t(4, 9, 50), detected_at=t(4, 9, 55), now=t(4, 10),
    )  # fmt: skip
    services.incident_transition(incident=first, status="monitoring", by=alice, now=t(4, 10, 20))
    services.incident_resolve(incident=first, by=alice, reason="Verified", now=t(4, 11, 20))
    second = services.incident_declare(
        team=team_a, title="Payments API 5xx", severity=1, by=alice,
        impact_started_at=t(5, 8), detected_at=t(5, 8, 30), now=t(5, 8, 40),
    )  # fmt: skip
    services.incident_transition(incident=second, status="monitoring", by=alice, now=t(5, 9))
    services.incident_resolve(incident=second, by=alice, reason="Verified", now=t(5, 10))
    services.incident_declare(
        team=team_a, title="Slow search", severity=2, by=alice, detection_source="customer", now=t(6, 12)
    )
    third = services.incident_declare(
        team=team_b, title="Reports late", severity=3, by=charlie, detection_source="support",
        detected_at=t(3, 12, month=2), now=t(3, 12, 30, month=2),
    )  # fmt: skip
    services.incident_resolve(incident=third, by=charlie, reason="Backfilled", now=t(3, 13, month=2))


def test_mean_times_per_severity(dataset, bob):
    rows = {row.key: row for row in metrics.mean_times_by_severity(selectors.incident_list_visible(user=bob))}
    assert (rows[1].count, minutes(rows[1].mttd), minutes(rows[1].mtta), minutes(rows[1].mttr)) == (2, 17.5, 7.5, 87.5)
    assert (rows[2].count, rows[2].mttd, minutes(rows[2].mtta), rows[2].mttr) == (1, None, 0.0, None)
    assert (minutes(rows[3].mtta), minutes(rows[3].mttr)) == (30.0, 60.0)


def test_counts_by_month_and_detection(dataset, bob):
    visible = selectors.incident_list_visible(user=bob)
    assert metrics.counts_by_month_and_severity(visible) == {
        dt.date(2027, 1, 1): {1: 2, 2: 1, 3: 0, 4: 0},
        dt.date(2027, 2, 1): {1: 0, 2: 0, 3: 1, 4: 0},
    }
    sources = metrics.detection_sources(visible)
    assert (sources["monitoring"], sources["customer"], sources["support"]) == (2, 1, 1)
    assert metrics.monitor_share(sources) == 0.5


def test_mean_times_per_month_and_team_filter(dataset, bob):
    months = {row.key.date(): row for row in metrics.mean_times_by_month(selectors.incident_list_visible(user=bob))}
    assert months[dt.date(2027, 1, 1)].count == 3 and minutes(months[dt.date(2027, 2, 1)].mttr) == 60.0
    only_b = selectors.incident_list_visible(user=bob, filters=selectors.IncidentFilters(team="web"))
    assert [row.key for row in metrics.mean_times_by_severity(only_b)] == [3]


def test_person_hours_by_role(dataset, bob):
    first = Incident.objects.get(title="Checkout down")
    hours = metrics.person_hours_by_role(selectors.incident_list_visible(user=bob), now=t(9, 0))
    assert hours[first.number] == {"commander": round(80 / 60, 2)}


def test_person_hours_totals_per_role_over_all_incidents(dataset, bob):
    totals = metrics.person_hours_totals(selectors.incident_list_visible(user=bob), now=t(9, 0))
    # Two resolved SEV-1s of 80 minutes, the open SEV-2 since the 6th at noon, team B's 30 minutes.
    assert totals == {"commander": round((80 + 80 + 60 * 60 + 30) / 60, 1)}


def test_the_metrics_page_shows_person_hours_summed_per_role(client, dataset, bob, time_machine):
    time_machine.move_to(t(9, 0))
    client.force_login(bob)
    response = client.get(reverse("incidents:metrics"), {"months": 3})
    assert response.context["hours"] == [("Incident commander", round((80 + 80 + 60 * 60 + 30) / 60, 1))]
    assert "Incident commander: 63.2 h" in response.content.decode()
