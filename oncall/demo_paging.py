"""Demo paging data for one team: its Default policy, and past pages worth looking at.

- the team's "Default" escalation policy, used by every service without its own;
- a night page two nights ago, paged 01:30 local, acknowledged 01:35, resolved 02:50
  (its work span is the kind of night that earns comp time);
- yesterday afternoon's page, resolved by the monitoring tool;
- a page opened two minutes ago and still unacknowledged, to try the buttons on.

Idempotent: each alert has a fixed dedup key and is created only when missing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from oncall.models import Alert, Integration, Membership, Page, PageEvent, Service, Team, User
from oncall.schedule import local_to_utc
from oncall.services import paging
from oncall.services.escalation_policies import escalation_policy_default
from oncall.services.intake import integration_create

INTEGRATION_NAME = "Demo monitoring"


def seed(*, team: Team, now: dt.datetime) -> None:
    service = team.services.order_by("tier", "name").first()
    if service is None:
        return
    escalation_policy_default(team=team, executives=[])
    integration = _integration(service)
    zone = ZoneInfo(team.time_zone)
    today = now.astimezone(zone).date()
    night = local_to_utc(dt.datetime.combine(today - dt.timedelta(days=2), dt.time(1, 30)), team.time_zone)
    _night_page(integration, at=night)
    afternoon = local_to_utc(dt.datetime.combine(today - dt.timedelta(days=1), dt.time(15, 10)), team.time_zone)
    _tool_resolved_page(integration, at=afternoon)
    _open_page(integration, at=now - dt.timedelta(minutes=2))


def _integration(service: Service) -> Integration:
    existing = Integration.objects.filter(service=service, name=INTEGRATION_NAME).first()
    if existing:
        return existing
    manager = User.objects.filter(memberships__team=service.team, memberships__role=Membership.Role.MANAGER).first()
    # The key is thrown away: the demo writes its alerts directly, posting nothing.
    integration, _key = integration_create(service=service, name=INTEGRATION_NAME, kind="generic", by=manager)
    return integration


def _alert(integration: Integration, *, key: str, title: str, at: dt.datetime, **fields: object) -> Alert | None:
    if Alert.objects.filter(integration=integration, dedup_key=key).exists():
        return None
    return Alert.objects.create(
        integration=integration,
        service=integration.service,
        dedup_key=key,
        title=title,
        first_seen_at=at,
        last_seen_at=at,
        **fields,
    )


def _first_paged(page: Page) -> User | None:
    event = page.events.filter(kind=PageEvent.Kind.NOTIFIED).select_related("user").first()
    return event.user if event else None


def _responder(page: Page) -> User | None:
    return _first_paged(page) or User.objects.filter(memberships__team=page.team).order_by("pk").first()


def _night_page(integration: Integration, *, at: dt.datetime) -> None:
    alert = _alert(
        integration,
        key="demo-night-latency",
        title="Checkout p99 latency above 2 s",
        at=at,
        severity=Alert.Severity.CRITICAL,
        details="p99 of POST /checkout has been above 2 s for 10 minutes.",
    )
    if alert is None:
        return
    page = paging.page_open(alert=alert, now=at)
    responder = _responder(page)
    if responder is None:
        return
    paging.page_acknowledge(page=page, by=responder, now=at + dt.timedelta(minutes=5))
    paging.page_resolve(page=page, by=responder, now=at + dt.timedelta(minutes=80))


def _tool_resolved_page(integration: Integration, *, at: dt.datetime) -> None:
    alert = _alert(integration, key="demo-disk", title="Disk 85% full on the primary volume", at=at,
                   severity=Alert.Severity.WARNING)  # fmt: skip
    if alert is None:
        return
    page = paging.page_open(alert=alert, now=at)
    responder = _responder(page)
    if responder is not None:
        paging.page_acknowledge(page=page, by=responder, now=at + dt.timedelta(minutes=3))
    end = at + dt.timedelta(minutes=25)
    Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.RESOLVED, resolved_at=end, resolved_by_tool=True)
    paging.page_resolve_from_alert(alert=alert, now=end)


def _open_page(integration: Integration, *, at: dt.datetime) -> None:
    alert = _alert(integration, key="demo-errors", title="5xx rate above 2% on the public API", at=at,
                   links=[{"href": "https://grafana.example.com/d/api", "text": "API overview"}])  # fmt: skip
    if alert is not None:
        paging.page_open(alert=alert, now=at)
