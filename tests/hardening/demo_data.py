"""Demo-like data for the hardening tests of the API and its inputs, made through the services:
what a team has after a few weeks of use."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.utils import timezone

from incidents import services as incident_services
from oncall import intake_formats
from oncall.models import Service, Team, User
from oncall.models.notifications import Event
from oncall.services import comptime as comptime_services
from oncall.services import escalation_policies, notifications
from oncall.services import intake as intake_services
from oncall.services import schedules as schedule_services
from oncall.services import teams as team_services
from postmortems import services as postmortem_services
from statuspage import services as status_services
from statuspage.models import StatusPage
from tests.factories import CompTimeGrantFactory

STATUS_HOST = "status.localhost"


def demo_data(*, alice: User, bob: User, team: Team, service: Service) -> dict[str, Any]:
    """alice manages `team`, bob is a member. Returns alice's API token, the integration's key,
    the objects by name, and for each kind of API path a real identifier."""
    now = timezone.now()
    _, token = team_services.token_create(user=alice, name="hardening")
    integration, key = intake_services.integration_create(
        service=service, name="Alertmanager prod", kind="generic", by=alice
    )
    body = json.dumps({"title": "Checkout error rate above 5%", "dedup_key": "checkout", "severity": "critical"})
    ingested = intake_services.alert_ingest(
        integration=integration, items=intake_formats.parse("generic", body.encode()), now=now
    )
    alert = integration.alerts.get(pk=ingested.alert_ids[0])
    schedule = schedule_services.schedule_create(team=team, name="Payments primary", slug="payments-primary", by=alice)
    layer = schedule_services.layer_create(
        schedule=schedule, name="Primary", rotation_start_date=now.date(), participants=[alice, bob], by=alice
    )
    override = schedule_services.override_create(
        layer=layer, user=bob, start_at=now + dt.timedelta(days=2), end_at=now + dt.timedelta(days=3), by=alice
    )
    swap = schedule_services.swap_request_create(
        layer=layer, requester=alice, start_at=now + dt.timedelta(days=4), end_at=now + dt.timedelta(days=5), by=alice
    )
    policy = escalation_policies.escalation_policy_default(team=team, by=alice)
    incident = incident_services.incident_declare(
        team=team, title="Checkout failing", severity=2, by=alice, services=[service], now=now
    )
    postmortem = postmortem_services.postmortem_create(incident=incident, by=alice, now=now)
    item = postmortem_services.action_item_create(
        postmortem=postmortem, by=alice, title="Alert on checkout latency", owner=bob, now=now
    )
    page = StatusPage.objects.create(name="Acme", host=STATUS_HOST, time_zone="Europe/London")
    page.teams.set([team])
    component = status_services.component_create(page=page, name="Checkout", now=now)
    notice = status_services.notice_create(
        page=page, title="Checkout errors", impact="minor", status="investigating", body="We are looking.", by=alice
    )
    method = notifications.contact_method_create(user=alice, kind="email", address="alice.pager@example.com")
    webhook = notifications.team_webhook_create(team=team, by=alice, name="Chat", url="https://hooks.example.com/a")
    holiday = comptime_services.holiday_add(team=team, date=dt.date(2030, 12, 25), name="Christmas", by=alice)
    log = comptime_services.work_log_create(
        user=bob,
        team=team,
        start_at=now - dt.timedelta(hours=5),
        end_at=now - dt.timedelta(hours=3),
        note="Restarted the payouts worker",
        by=bob,
    )
    grant = CompTimeGrantFactory(user=bob, team=team, night_of=now.date() - dt.timedelta(days=1))
    notification = alice.notifications.first()
    return {
        "token": token,
        "integration_key": key,
        "objects": {
            "integration": integration,
            "alert": alert,
            "schedule": schedule,
            "layer": layer,
            "incident": incident,
            "postmortem": postmortem,
            "status_page": page,
            "component": component,
            "notice": notice,
        },
        # The first path segment after /api/v1/ names the kind; these are real ones of each.
        "paths": {
            "action-items": item.pk,
            "alerts": alert.pk,
            "comp-time-grants": grant.pk,
            "comp-time-policies": team.slug,
            "contact-methods": method.pk,
            "escalation-policies": policy.pk,
            "holidays": holiday.pk,
            "incidents": incident.number,
            "integrations": str(integration.public_id),
            "layers": layer.pk,
            "notification-rules": Event.PAGE.value,
            "notifications": notification.pk if notification else 1,
            "overrides": override.pk,
            "pages": alert.page.pk,
            "postmortems": incident.number,
            "schedules": schedule.slug,
            "services": service.slug,
            "status-components": component.public_id,
            "status-notices": notice.public_id,
            "status-pages": page.public_id,
            "swap-requests": swap.pk,
            "team-webhooks": webhook.pk,
            "teams": team.slug,
            "work-logs": log.pk,
        },
    }
