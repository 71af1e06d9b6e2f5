"""Incident metrics as SQL aggregates over the visible incidents.

MTTD = detected minus impact started, MTTA = acknowledged minus detected, MTTR = resolved minus detected,
averaged per severity and per month (UTC months); counts by severity over time; how incidents
were detected; person-hours per incident by role. Each function is one or two queries,
whatever the number of incidents. The page's tables come from `summary`: one scan grouped by
month, severity and detection source, rolled up here, since a scan per table cost most of the
page at 100,000 incidents (bench/metrics_page.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, DurationField, Expression, ExpressionWrapper, F, QuerySet, Sum
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
# The one scan of the incidents groups by these; every table rolls its groups up in Python.
GROUPS = ("month", "severity", "detection_source")


@dataclass(frozen=True)
class MeanTimes:
    key: object  # a severity level or a month
    count: int
    mttd: dt.timedelta | None
    mtta: dt.timedelta | None
    mttr: dt.timedelta | None


@dataclass(frozen=True)
class SpanSum:
    """One span summed over the incidents that have it (NULL spans left out, as AVG leaves them).

    Sums and counts add up across groups where means do not.
    """

    total: dt.timedelta = dt.timedelta(0)
    n: int = 0

    def __add__(self, other: SpanSum) -> SpanSum:
        return SpanSum(self.total + other.total, self.n + other.n)

    def mean(self) -> dt.timedelta | None:
        # Rounded to the microsecond; AVG on PostgreSQL may differ by one, which nobody reads.
        return None if self.n == 0 else self.total / self.n


@dataclass(frozen=True)
class Tally:
    """The visible incidents of one group: how many, and each span's sum."""

    key: dict[str, Any]  # group name (some of GROUPS) → value; months are UTC, as TruncMonth gives them
    count: int
    spans: dict[str, SpanSum]


def tallies(incidents: QuerySet[Incident], *, by: tuple[str, ...] = GROUPS) -> list[Tally]:
    """One aggregate query over the incidents, a row per group of `by` (some of GROUPS)."""
    sums: dict[str, Expression] = {}
    for name, (end, start) in MEANS.items():
        sums[f"{name}_total"] = Sum(_span(end, start))
        sums[f"{name}_n"] = Count(_span(end, start))
    found = incidents.order_by()
    if "month" in by:
        found = found.annotate(month=TruncMonth("declared_at", tzinfo=dt.UTC))
    rows = found.values(*by).annotate(n=Count("pk"), **sums)
    return [_tally(row, by) for row in rows]


def _tally(row: dict[str, Any], by: tuple[str, ...]) -> Tally:
    spans = {name: SpanSum(row[f"{name}_total"] or dt.timedelta(0), row[f"{name}_n"]) for name in MEANS}
    return Tally({group: row[group] for group in by}, row["n"], spans)


def _means(groups: list[Tally], by: str) -> list[MeanTimes]:
    counts: dict[Any, int] = defaultdict(int)
    spans: dict[Any, dict[str, SpanSum]] = defaultdict(lambda: dict.fromkeys(MEANS, SpanSum()))
    for group in groups:
        key = group.key[by]
        counts[key] += group.count
        for name, span in group.spans.items():
            spans[key][name] += span
    return [
        MeanTimes(key, counts[key], **{name: span.mean() for name, span in spans[key].items()})
        for key in sorted(counts)
    ]


def _counts_by_month_and_severity(groups: list[Tally]) -> dict[dt.date, dict[int, int]]:
    table: dict[dt.date, dict[int, int]] = defaultdict(lambda: dict.fromkeys(range(1, 5), 0))
    for group in groups:
        levels = table[group.key["month"].date()]
        levels[group.key["severity"]] = levels.get(group.key["severity"], 0) + group.count
    return dict(sorted(table.items()))


def _detection_sources(groups: list[Tally]) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for group in groups:
        found[group.key["detection_source"]] += group.count
    return {source: found[source] for source in Incident.Source.values}


@dataclass(frozen=True)
class Summary:
    """Every table of the metrics page, from one scan of the incidents."""

    by_severity: list[MeanTimes]
    by_month: list[MeanTimes]
    counts: dict[dt.date, dict[int, int]]
    sources: dict[str, int]


def summary(incidents: QuerySet[Incident]) -> Summary:
    groups = tallies(incidents)
    return Summary(
        by_severity=_means(groups, "severity"),
        by_month=_means(groups, "month"),
        counts=_counts_by_month_and_severity(groups),
        sources=_detection_sources(groups),
    )


def mean_times_by_severity(incidents: QuerySet[Incident]) -> list[MeanTimes]:
    return _means(tallies(incidents, by=("severity",)), "severity")


def mean_times_by_month(incidents: QuerySet[Incident]) -> list[MeanTimes]:
    return _means(tallies(incidents, by=("month",)), "month")


def counts_by_month_and_severity(incidents: QuerySet[Incident]) -> dict[dt.date, dict[int, int]]:
    """Month → severity → number of incidents declared."""
    return _counts_by_month_and_severity(tallies(incidents, by=("month", "severity")))


def detection_sources(incidents: QuerySet[Incident]) -> dict[str, int]:
    """How incidents were first noticed; monitoring versus customers is the ratio that matters."""
    return _detection_sources(tallies(incidents, by=("detection_source",)))


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
