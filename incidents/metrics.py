"""Incident metrics as SQL aggregates over the visible incidents.

MTTD = detected minus impact started, MTTA = acknowledged minus detected, MTTR = resolved minus detected,
averaged per severity and per month (UTC months); counts by severity over time; how incidents
were detected; person-hours per incident by role. Each function is one or two queries,
whatever the number of incidents.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from incidents.models import Incident, RoleAssignment

# Figures that later apps compute over the same incidents (the postmortems app adds the repeat
# rate); each provider takes the incidents, and the history they may be compared with, and
# returns named values. Filled in apps.ready().
EXTRA_PROVIDERS: list[Callable[..., dict[str, object]]] = []


def extra_figures(incidents: QuerySet[Incident], *, history: QuerySet[Incident] | None = None) -> dict[str, object]:
    """`history`: the incidents the reader may see (default: all), so no figure rests on one they may not."""
    figures: dict[str, object] = {}
    for provider in EXTRA_PROVIDERS:
        figures.update(provider(incidents, history=history))
    return figures


def _span(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


MEANS = {
    "mttd": ("detected_at", "impact_started_at"),
    "mtta": ("acknowledged_at", "detected_at"),
    "mttr": ("resolved_at", "detected_at"),
}


@dataclass(frozen=True)
class MeanTimes:
    key: object  # a severity level or a month
    count: int
    mttd: dt.timedelta | None
    mtta: dt.timedelta | None
    mttr: dt.timedelta | None


def _means(incidents: QuerySet[Incident], group: str) -> list[MeanTimes]:
    rows = (
        incidents.order_by()
        .values(group)
        .annotate(
            n=Count("pk"),
            **{name: Avg(_span(end, start)) for name, (end, start) in MEANS.items()},
        )
        .order_by(group)
    )
    return [MeanTimes(row[group], row["n"], row["mttd"], row["mtta"], row["mttr"]) for row in rows]


def mean_times_by_severity(incidents: QuerySet[Incident]) -> list[MeanTimes]:
    return _means(incidents, "severity")


def mean_times_by_month(incidents: QuerySet[Incident]) -> list[MeanTimes]:
    return _means(incidents.annotate(month=TruncMonth("declared_at", tzinfo=dt.UTC)), "month")


def counts_by_month_and_severity(incidents: QuerySet[Incident]) -> dict[dt.date, dict[int, int]]:
    """Month → severity → number of incidents declared."""
    rows = (
        incidents.order_by()
        .annotate(month=TruncMonth("declared_at", tzinfo=dt.UTC))
        .values("month", "severity")
        .annotate(n=Count("pk"))
    )
    table: dict[dt.date, dict[int, int]] = defaultdict(lambda: dict.fromkeys(range(1, 5), 0))
    for row in rows:
        table[row["month"].date()][row["severity"]] = row["n"]
    return dict(sorted(table.items()))


def detection_sources(incidents: QuerySet[Incident]) -> dict[str, int]:
    """How incidents were first noticed; monitoring versus customers is the ratio that matters."""
    rows = incidents.order_by().values("detection_source").annotate(n=Count("pk"))
    found = {row["detection_source"]: row["n"] for row in rows}
    return {source: found.get(source, 0) for source in Incident.Source.values}


def monitor_share(sources: dict[str, int]) -> float | None:
    """Share of incidents our monitoring caught, among those caught by monitoring or customers."""
    caught = sources.get("monitoring", 0)
    told = sources.get("customer", 0) + sources.get("support", 0) + sources.get("social", 0)
    return caught / (caught + told) if caught + told else None


def person_hours_by_role(
    incidents: QuerySet[Incident], *, now: dt.datetime | None = None
) -> dict[int, dict[str, float]]:
    """Incident number → role → person-hours spent in it (open spans count up to now)."""
    now = now or timezone.now()
    held = ExpressionWrapper(Coalesce(F("ended_at"), now) - F("started_at"), output_field=DurationField())
    rows = (
        RoleAssignment.objects.filter(incident__in=incidents.order_by().values("pk"))
        .values("incident__number", "role")
        .annotate(total=Sum(held))
    )
    table: dict[int, dict[str, float]] = defaultdict(dict)
    for row in rows:
        table[row["incident__number"]][row["role"]] = round(row["total"].total_seconds() / 3600, 2)
    return dict(table)


def person_hours_totals(incidents: QuerySet[Incident], *, now: dt.datetime | None = None) -> dict[str, float]:
    """Role → person-hours spent in it over all these incidents (open spans count up to now).

    Summed in SQL, one row per role: the metrics page covers months of incidents, and fetching
    a row per incident and role cost most of a second at 100,000 incidents (bench/metrics_page.py).
    """
    now = now or timezone.now()
    held = ExpressionWrapper(Coalesce(F("ended_at"), now) - F("started_at"), output_field=DurationField())
    rows = (
        RoleAssignment.objects.filter(incident__in=incidents.order_by().values("pk"))
        .values("role")
        .annotate(total=Sum(held))
        .order_by("role")
    )
    return {row["role"]: round(row["total"].total_seconds() / 3600, 1) for row in rows}
