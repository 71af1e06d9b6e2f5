"""Reads of integrations and alerts, scoped to the user's teams, and the alert-quality figures.

Alert quality makes the playbooks' rule visible: every alert should make somebody act.
- acknowledged: the alert's page was acknowledged by a person;
- acted on: acknowledged, and then resolved by a person rather than by the tool.
  An alert that the tool resolves on its own, whoever looked at it, needed nobody.
The noisiest sources group alerts by title (Alertmanager's summary or alert name);
a source that fires often and nobody acts on is a candidate for deletion.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404

from oncall.models import Alert, ApiToken, Integration, Service, Team, User
from oncall.selectors import team_ids_for_user

QUALITY_WEEKS = 8
NOISIEST_SHOWN = 5
# A source this noisy that nobody acted on gets the "delete or fix it" hint.
NOISY_UNACTED_MIN = 3


def integration_for_intake(*, public_id: UUID | str) -> Integration | None:
    """The integration a tool posts to, whatever its state; the caller checks key and state."""
    try:
        public_id = UUID(str(public_id))
    except ValueError:
        return None
    # Only the integration's own row: most posts repeat an open alert and never touch the
    # service or team, whose wide rows would double the cost of this read.
    try:
        return Integration.objects.get(public_id=public_id)
    except Integration.DoesNotExist:
        return None


def integration_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[Integration]:
    teams = team_ids_for_user(user=user, token=token)
    return (
        Integration.objects.filter(service__team__in=teams)
        .select_related("service__team")
        .order_by("service__name", "name")
    )


def integration_list_for_service(*, service: Service) -> QuerySet[Integration]:
    return Integration.objects.filter(service=service).order_by("name")


def integration_get_for_user(*, user: User, public_id: UUID | str, token: ApiToken | None = None) -> Integration:
    try:
        public_id = UUID(str(public_id))
    except ValueError as exc:
        raise Http404("No such integration.") from exc
    integration = integration_list_for_user(user=user, token=token).filter(public_id=public_id).first()
    if integration is None:
        raise Http404("No such integration.")
    return integration


def alert_list_for_user(
    *, user: User, token: ApiToken | None = None, service: str | None = None, status: str | None = None
) -> QuerySet[Alert]:
    """Alerts of the user's teams, open first, then newest; filtered by service slug and status."""
    alerts = Alert.objects.filter(service__team__in=team_ids_for_user(user=user, token=token))
    return _filtered(alerts, service=service, status=status)


def alert_list_for_team(*, team: Team, service: str | None = None, status: str | None = None) -> QuerySet[Alert]:
    return _filtered(Alert.objects.filter(service__team=team), service=service, status=status)


def _filtered(alerts: QuerySet[Alert], *, service: str | None, status: str | None) -> QuerySet[Alert]:
    if service:
        alerts = alerts.filter(service__slug=service)
    if status in Alert.Status.values:
        alerts = alerts.filter(status=status)
    # "open" sorts before "resolved", so open alerts come first.
    return alerts.select_related("service__team", "integration", "page").order_by("status", "-last_seen_at", "-pk")


def alert_get_for_user(*, user: User, pk: int, token: ApiToken | None = None) -> Alert:
    alert = alert_list_for_user(user=user, token=token).filter(pk=pk).first()
    if alert is None:
        raise Http404("No such alert.")
    return alert


# --- alert quality -----------------------------------------------------------------------


@dataclass(frozen=True)
class WeekFigures:
    start: dt.datetime
    alerts: int
    acknowledged: int
    acted_on: int

    @property
    def not_acted_on(self) -> int:
        return self.alerts - self.acted_on


@dataclass(frozen=True)
class NoisySource:
    title: str
    alerts: int
    repeats: int
    acted_on: int

    @property
    def nobody_acts(self) -> bool:
        return self.acted_on == 0 and self.alerts >= NOISY_UNACTED_MIN


@dataclass(frozen=True)
class AlertQuality:
    since: dt.datetime
    alerts: int
    acknowledged: int
    acted_on: int
    weeks: list[WeekFigures]
    noisiest: list[NoisySource]

    @property
    def acknowledged_share(self) -> float | None:
        return round(self.acknowledged / self.alerts, 3) if self.alerts else None

    @property
    def acted_on_share(self) -> float | None:
        return round(self.acted_on / self.alerts, 3) if self.alerts else None

    @property
    def per_week(self) -> float:
        return round(self.alerts / len(self.weeks), 1) if self.weeks else 0.0

    @property
    def has_unacted_noise(self) -> bool:
        return any(source.nobody_acts for source in self.noisiest)


def alert_quality(*, service: Service, now: dt.datetime, weeks: int = QUALITY_WEEKS) -> AlertQuality:
    """Alerts per week over the last `weeks` rolling weeks ending at `now`, the shares
    acknowledged and acted on, and the noisiest titles. One query."""
    since = now - dt.timedelta(weeks=weeks)
    rows = Alert.objects.filter(service=service, first_seen_at__gte=since, first_seen_at__lt=now).values_list(
        "first_seen_at", "title", "count", "page__acknowledged_at", "page__resolved_by"
    )
    buckets = [[0, 0, 0] for _ in range(weeks)]
    sources: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for seen_at, title, count, acknowledged_at, resolved_by in rows:
        acknowledged = acknowledged_at is not None
        acted_on = acknowledged and resolved_by is not None
        bucket = buckets[min(weeks - 1, int((seen_at - since) / dt.timedelta(weeks=1)))]
        bucket[0], bucket[1], bucket[2] = bucket[0] + 1, bucket[1] + acknowledged, bucket[2] + acted_on
        source = sources[title]
        source[0], source[1], source[2] = source[0] + 1, source[1] + count, source[2] + acted_on
    noisiest = sorted(sources.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:NOISIEST_SHOWN]
    return AlertQuality(
        since=since,
        alerts=sum(b[0] for b in buckets),
        acknowledged=sum(b[1] for b in buckets),
        acted_on=sum(b[2] for b in buckets),
        weeks=[
            WeekFigures(start=since + dt.timedelta(weeks=n), alerts=b[0], acknowledged=b[1], acted_on=b[2])
            for n, b in enumerate(buckets)
        ],
        noisiest=[NoisySource(title=t, alerts=s[0], repeats=s[1], acted_on=s[2]) for t, s in noisiest],
    )
