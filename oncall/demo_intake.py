"""Demo intake data for one team: integrations for its first service, and eight weeks of alert history.

- "Alertmanager prod" and "Grafana" integrations (random keys, thrown away: rotate one
  in the portal to get a key and post a test alert);
- a noisy disk alert twice a week that the tool resolves and nobody acts on, and a
  weekly checkout alert a person acknowledges and resolves, so the service page's
  alert-quality panel has something to say.

Idempotent: integrations are found by name and each past alert by its fixed dedup key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db.models import Max

from oncall.models import Alert, Integration, Membership, Page, Service, Team, User

WEEKS = 8
INTEGRATIONS = (("Alertmanager prod", Integration.Kind.ALERTMANAGER), ("Grafana", Integration.Kind.GRAFANA))


def seed(*, team: Team, now: dt.datetime) -> None:
    service = team.services.order_by("tier", "name").first()
    if service is None:
        return
    integrations = [_integration(service, name, kind) for name, kind in INTEGRATIONS]
    responder = _manager(team)
    for week in range(WEEKS):
        start = now - dt.timedelta(weeks=WEEKS - week)
        for n, offset in enumerate((dt.timedelta(days=1, hours=3), dt.timedelta(days=4, hours=22))):
            _past(integrations[0], key=f"demo-disk-{week}-{n}", title="Disk 80% full on db-1", at=start + offset)
        _past(
            integrations[1],
            key=f"demo-checkout-{week}",
            title="Checkout error rate above 5%",
            at=start + dt.timedelta(days=2, hours=14),
            responder=responder,
        )
    for integration in integrations:
        latest = integration.alerts.aggregate(latest=Max("last_seen_at"))["latest"]
        Integration.objects.filter(pk=integration.pk).update(last_alert_at=latest)


def _integration(service: Service, name: str, kind: str) -> Integration:
    key = "fli_" + secrets.token_urlsafe(30)
    integration, _ = Integration.objects.get_or_create(
        service=service,
        name=name,
        defaults={"kind": kind, "key_prefix": key[:10], "key_digest": hashlib.sha256(key.encode()).hexdigest()},
    )
    return integration


def _manager(team: Team) -> User | None:
    membership = team.memberships.filter(role=Membership.Role.MANAGER).select_related("user").first()
    return membership.user if membership else None


def _past(integration: Integration, *, key: str, title: str, at: dt.datetime, responder: User | None = None) -> None:
    """A resolved alert and its page: by a person when there is a responder, else by the tool."""
    if Alert.objects.filter(integration=integration, dedup_key=key).exists():
        return
    by_person = responder is not None
    resolved_at = at + (dt.timedelta(minutes=40) if by_person else dt.timedelta(minutes=12))
    alert = Alert.objects.create(
        integration=integration,
        service=integration.service,
        dedup_key=key,
        title=title,
        severity=Alert.Severity.CRITICAL if by_person else Alert.Severity.WARNING,
        status=Alert.Status.RESOLVED,
        count=1 if by_person else 6,
        first_seen_at=at,
        last_seen_at=resolved_at,
        resolved_at=resolved_at,
        resolved_by_tool=not by_person,
    )
    Page.objects.create(
        alert=alert,
        service=integration.service,
        team=integration.service.team,
        status=Page.Status.RESOLVED,
        created_at=at,
        acknowledged_at=at + dt.timedelta(minutes=4) if by_person else None,
        acknowledged_by=responder,
        resolved_at=resolved_at,
        resolved_by=responder,
    )
