"""Demo status page: grouped components, 120 days of history, past notices, upcoming maintenance.

Called by `manage.py demo` after the incidents demo. Idempotent: nothing once a page exists.
Everything goes through the services with past instants, so the history is what real use
would have left behind.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F

from incidents.models import Incident
from oncall.models import Service, Team, User
from statuspage import services
from statuspage.models import Component, ComponentGroup, ComponentStatus, Impact, NoticeUpdate, StatusPage, Subscriber

S = ComponentStatus
COMPONENTS = [
    # (group, name, services, description)
    ("Website and apps", "Website", ["web-app"], "Our web site and dashboard."),
    ("Website and apps", "Sign-in", ["web-app"], "Signing in, including single sign-on."),
    ("Payments", "Card payments", ["payments-api"], "Paying by card at checkout."),
    ("Payments", "Payouts", ["payouts-worker"], "Money sent to your bank account."),
    (None, "Public API", ["edge-proxy", "primary-database"], "The REST API and webhooks."),
]


def seed(*, teams: dict[str, Team], now: dt.datetime) -> None:
    if StatusPage.objects.exists():
        return
    with transaction.atomic():
        page = StatusPage.objects.create(
            name="Fireline Demo Co", host=settings.STATUS_HOST, time_zone="Europe/London", support_url=""
        )
        page.teams.set(teams.values())
        components = _components(page, now - dt.timedelta(days=120))
        carol = User.objects.get(username="carol")
        _past_outages(page, components, carol, now)
        _maintenance(page, components, carol, now)
        _subscribers(page, components, now)
        # The history came before its readers subscribed: nobody is owed mail about it.
        NoticeUpdate.objects.filter(notice__page=page).update(subscribers_notified_at=F("created_at"))


def _components(page: StatusPage, since: dt.datetime) -> dict[str, Component]:
    groups: dict[str, ComponentGroup] = {}
    made = {}
    for position, (group_name, name, slugs, description) in enumerate(COMPONENTS):
        group = None
        if group_name:
            group = groups.get(group_name) or ComponentGroup.objects.create(
                page=page, name=group_name, position=len(groups)
            )
            groups[group_name] = group
        component = services.component_create(
            page=page, name=name, group=group, position=position, description=description, now=since
        )
        component.services.set(Service.objects.filter(slug__in=slugs))
        made[name] = component
    return made


def _incident(title: str) -> Incident | None:
    return Incident.objects.filter(title=title).first()


def _story(page, components, by, *, start, title, impact, incident, steps):  # type: ignore[no-untyped-def]
    """steps: (minutes after start, status, text, {component name: status})."""
    minutes, status, text, statuses = steps[0]
    notice = services.notice_create(
        page=page,
        title=title,
        impact=impact,
        status=status,
        body=text,
        by=by,
        statuses={components[n]: s for n, s in statuses.items()},
        incident=incident,
        now=start + dt.timedelta(minutes=minutes),
    )
    for minutes, status, text, statuses in steps[1:]:
        services.notice_update(
            notice=notice,
            status=status,
            body=text,
            by=by,
            statuses={components[n]: s for n, s in statuses.items()},
            now=start + dt.timedelta(minutes=minutes),
        )


def _past_outages(page: StatusPage, components: dict[str, Component], by: User, now: dt.datetime) -> None:
    sev1 = _incident("Payments API failing card payments")
    start = (sev1.declared_at if sev1 else now - dt.timedelta(days=12, hours=2)) + dt.timedelta(minutes=4)
    _story(
        page,
        components,
        by,
        start=start,
        title="Card payments failing for some customers",
        impact=Impact.MAJOR,
        incident=sev1 if sev1 and sev1.team in page.teams.all() else None,
        steps=[
            (
                0,
                "investigating",
                "We are looking into failed card payments at checkout. Some customers may see an "
                "error when paying. We will post the next update within 20 minutes.",
                {"Card payments": S.PARTIAL},
            ),
            (
                6,
                "identified",
                "We have found the cause and are rolling out a fix. Until it is complete, some "
                "payments may still fail. Next update within 20 minutes.",
                {},
            ),
            (
                18,
                "monitoring",
                "The fix is in place and payments are succeeding again. We are watching closely.",
                {"Card payments": S.DEGRADED},
            ),
            (
                78,
                "resolved",
                "Card payments are back to normal. For about twenty minutes, one in five card "
                "payments failed. We are reviewing what happened and will put safeguards in place.",
                {"Card payments": S.OPERATIONAL},
            ),
        ],
    )
    start = now - dt.timedelta(days=30, hours=2)
    _story(
        page,
        components,
        by,
        start=start,
        title="Reports and search showing old data",
        impact=Impact.MINOR,
        incident=_incident("Primary database replica lag over 5 minutes"),
        steps=[
            (
                5,
                "investigating",
                "Reports and search results may be several minutes out of date. Nothing is lost; we are working on it.",
                {"Public API": S.DEGRADED},
            ),
            (40, "monitoring", "Data is catching up. We are watching until it is current.", {}),
            (75, "resolved", "Reports and search are current again.", {"Public API": S.OPERATIONAL}),
        ],
    )
    start = now - dt.timedelta(days=45, hours=3)
    _story(
        page,
        components,
        by,
        start=start,
        title="Slow sign-in in Europe",
        impact=Impact.MINOR,
        incident=_incident("Sign-in page slow for some users"),
        steps=[
            (
                30,
                "identified",
                "Sign-in is slow for some customers in Europe. We know why and are fixing it.",
                {"Sign-in": S.DEGRADED},
            ),
            (100, "resolved", "Sign-in is fast again everywhere.", {"Sign-in": S.OPERATIONAL}),
        ],
    )
    start = now - dt.timedelta(days=63, hours=5)
    _story(
        page,
        components,
        by,
        start=start,
        title="Website unavailable",
        impact=Impact.CRITICAL,
        incident=None,
        steps=[
            (0, "investigating", "The website is not loading. We are investigating.", {"Website": S.MAJOR}),
            (25, "monitoring", "The website is loading again; we are watching it.", {"Website": S.OPERATIONAL}),
            (55, "resolved", "The website has been working normally for half an hour. Sorry for the disruption.", {}),
        ],
    )


def _maintenance(page: StatusPage, components: dict[str, Component], by: User, now: dt.datetime) -> None:
    past = now - dt.timedelta(days=20, hours=1)
    services.maintenance_schedule(
        page=page,
        title="Payment network certificate rotation",
        body="We will rotate the certificates we use to talk to card networks. Payments keep working.",
        scheduled_for=past,
        scheduled_until=past + dt.timedelta(minutes=30),
        components=[components["Card payments"]],
        by=by,
        now=past - dt.timedelta(days=3),
    )
    services.run_maintenance_windows(now=past)
    services.run_maintenance_windows(now=past + dt.timedelta(minutes=30))
    soon = (now + dt.timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    services.maintenance_schedule(
        page=page,
        title="Database upgrade",
        body="We are upgrading our main database. The API may answer slowly for up to 10 minutes in this window; "
        "nothing needs to be done on your side.",
        scheduled_for=soon,
        scheduled_until=soon + dt.timedelta(hours=1),
        components=[components["Public API"]],
        by=by,
        now=now,
    )


def _subscribers(page: StatusPage, components: dict[str, Component], now: dt.datetime) -> None:
    """Two confirmed readers, one of them for card payments only (demo addresses, never delivered)."""
    for email, chosen in [("ops@customer.example", []), ("finance@customer.example", ["Card payments"])]:
        subscriber = Subscriber.objects.create(page=page, email=email, created_at=now, confirmed_at=now)
        subscriber.components.set([components[name] for name in chosen])
