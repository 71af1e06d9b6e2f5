"""Metrics equal hand-computed values on a fixed set of incidents across severities and teams."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

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


def d(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, tzinfo=dt.UTC)


# (declared, severity, source, impact started, detected, acknowledged, resolved). Whole-minute
# spans and at most six incidents per group, so every mean is exact to the microsecond; some
# spans run over days, and each span is missing (NULL) somewhere.
SPANS = [
    (d(1, 10), 1, "monitoring", d(1, 9, 40), d(1, 9, 50), d(1, 9, 52), d(3, 15, 7)),
    (d(2, 4), 1, "monitoring", None, d(2, 3, 59), d(2, 4, 1), d(2, 9)),
    (d(9, 23), 1, "customer", d(9, 20), d(9, 22, 30), None, None),
    (d(15, 12), 2, "monitoring", d(13, 8), d(15, 11), d(15, 11, 45), d(19, 2, 11)),
    (d(31, 23, 30), 2, "support", None, d(31, 23), d(31, 23, 3), d(1, 1, month=4)),
    (d(1, 2, month=4), 2, "support", d(1, 1, month=4), d(1, 1, 50, month=4), d(1, 2, 2, month=4), None),
    (d(3, 8, month=4), 3, "monitoring", d(3, 7, month=4), d(3, 7, 1, month=4), None, d(6, 7, 1, month=4)),
    (d(20, 6, month=4), 1, "internal", None, d(20, 5, 55, month=4), None, None),
]


@pytest.fixture
def spans(team_a, alice):
    for n, (declared, severity, source, impact, detected, acknowledged, resolved) in enumerate(SPANS):
        incident = services.incident_declare(
            team=team_a, title=f"Incident {n}", severity=severity, by=alice, now=declared
        )
        Incident.objects.filter(pk=incident.pk).update(
            detection_source=source,
            impact_started_at=impact,
            detected_at=detected,
            declared_at=declared,
            acknowledged_at=acknowledged,
            resolved_at=resolved,
        )
    return list(Incident.objects.all())


def _mean(incidents: list[Incident], end: str, start: str) -> dt.timedelta | None:
    spans = [
        getattr(i, end) - getattr(i, start)
        for i in incidents
        if getattr(i, end) is not None and getattr(i, start) is not None
    ]
    return sum(spans, dt.timedelta()) / len(spans) if spans else None


def _by_hand(incidents: list[Incident], key) -> list[tuple]:
    groups: dict = {}
    for incident in incidents:
        groups.setdefault(key(incident), []).append(incident)
    return [
        (k, len(g), *(_mean(g, end, start) for end, start in metrics.MEANS.values())) for k, g in sorted(groups.items())
    ]


def _utc_month(incident: Incident) -> dt.datetime:
    return dt.datetime(incident.declared_at.year, incident.declared_at.month, 1, tzinfo=dt.UTC)


def _rows(table: list[metrics.MeanTimes]) -> list[tuple]:
    return [(row.key, row.count, row.mttd, row.mtta, row.mttr) for row in table]


def test_rolled_up_figures_equal_a_computation_by_hand(spans, bob, settings):
    # Months are UTC months whatever the site's time zone: the 1 April 02:00 UTC incident is
    # still 31 March in New York, and counts in April.
    settings.TIME_ZONE = "America/New_York"
    visible = selectors.incident_list_visible(user=bob)
    tables = metrics.summary(visible)

    assert _rows(tables.by_severity) == _by_hand(spans, lambda i: i.severity)
    assert _rows(tables.by_month) == _by_hand(spans, _utc_month)
    assert [row.key.tzinfo for row in tables.by_month] == [dt.UTC, dt.UTC]
    assert tables.counts == {
        dt.date(2027, 3, 1): {1: 3, 2: 2, 3: 0, 4: 0},
        dt.date(2027, 4, 1): {1: 1, 2: 1, 3: 1, 4: 0},
    }
    assert tables.sources == {"monitoring": 4, "customer": 1, "support": 2, "internal": 1, "social": 0}
    # The one-table functions (the API's) roll up the same way from their own grouping.
    assert _rows(metrics.mean_times_by_severity(visible)) == _rows(tables.by_severity)
    assert _rows(metrics.mean_times_by_month(visible)) == _rows(tables.by_month)
    assert metrics.counts_by_month_and_severity(visible) == tables.counts
    assert metrics.detection_sources(visible) == tables.sources


def test_nothing_visible_gives_empty_tables(bob):
    tables = metrics.summary(selectors.incident_list_visible(user=bob))
    assert (tables.by_severity, tables.by_month, tables.counts) == ([], [], {})
    assert set(tables.sources.values()) == {0}


def test_the_metrics_page_and_api_cost_the_same_queries_for_more_incidents(
    client, spans, bob, team_a, alice, django_assert_num_queries
):
    client.force_login(bob)
    api = APIClient()
    api.force_authenticate(bob)
    for _round in range(2):
        # Session, user, the one scan of the incidents, person-hours, and the repeat rate's factors
        # (none here, so nothing more; nine before the tables were rolled up from one scan).
        with django_assert_num_queries(5):
            assert client.get(reverse("incidents:metrics"), {"months": 36}).status_code == 200
        with django_assert_num_queries(1):
            assert api.get("/api/v1/incidents/metrics/").status_code == 200
        for n in range(3):
            services.incident_declare(team=team_a, title=f"More {n}", severity=4, by=alice, detection_source="social")
