"""Builders for paging tests: a Payments schedule, a three-step policy, alerts at explicit instants.

Team A (Payments) counts time in America/New_York. The schedule's weekly layers hand
off Mondays 09:00 New York time from Monday 2027-01-04: in the first week bob is
primary and alice secondary.
"""

from __future__ import annotations

import datetime as dt

from oncall.models import Alert, EscalationPolicy, EscalationStep, Layer, Schedule, Service, StepTarget, Team, User
from tests.factories import AlertFactory, IntegrationFactory
from tests.oncall.schedule_fixtures import make_schedule

# Tuesday 2027-01-05 10:00 in New York: office hours, bob is primary, alice secondary.
T0 = dt.datetime(2027, 1, 5, 15, 0, tzinfo=dt.UTC)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def layers(schedule: Schedule) -> tuple[Layer, Layer]:
    primary, secondary = schedule.layers.order_by("position")
    return primary, secondary


def payments_schedule(team: Team, bob: User, alice: User) -> Schedule:
    return make_schedule(team, [bob, alice], slug="payments-oncall", tz=team.time_zone)


def add_step(policy: EscalationPolicy, *targets: tuple[str, object], wait: int = 5, **extra: object) -> EscalationStep:
    position = policy.steps.count() + 1
    step = EscalationStep.objects.create(policy=policy, position=position, wait_minutes=wait, **extra)
    for kind, value in targets:
        StepTarget.objects.create(
            step=step,
            kind=kind,
            layer=value if kind == "layer" else None,
            user=value if kind == "user" else None,
        )
    return step


def three_step_policy(team: Team, schedule: Schedule, *, repeats: int = 1) -> EscalationPolicy:
    """primary (wait 5) → secondary (wait 10) → managers (wait 5), repeated `repeats` more times."""
    primary, secondary = layers(schedule)
    policy = EscalationPolicy.objects.create(team=team, name="Payments standard", repeats=repeats)
    add_step(policy, ("layer", primary), wait=5)
    add_step(policy, ("layer", secondary), wait=10)
    add_step(policy, ("managers", None), wait=5)
    return policy


def make_alert(service: Service, *, at: dt.datetime = T0, severity: str = Alert.Severity.ERROR, **kw: object) -> Alert:
    integration = service.integrations.first() or IntegrationFactory(service=service, name="Alertmanager")
    return AlertFactory(integration=integration, first_seen_at=at, last_seen_at=at, severity=severity, **kw)
