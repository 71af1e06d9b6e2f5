"""Beat sweepers that keep the status page honest.

- The golden rule: an open incident whose severity requires a public notice, still without
  one after its policy's minutes, alerts its commander and comms lead once.
- Stale components: a status set by hand and left untouched while a notice is open is
  flagged to the people who can fix it, once per spell.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, RoleAssignment, SeverityPolicy, TimelineEntry
from incidents.services import timeline_record
from oncall.models import User
from oncall.models.notifications import Event
from oncall.services.notifications import notify_user
from statuspage import rules
from statuspage.models import Component, ComponentStatus, Notice, NoticeGuardFlag, StatusPage

Role = RoleAssignment.Role


def _responsible(incident: Incident) -> set[User]:
    holders = RoleAssignment.objects.filter(
        incident=incident, ended_at__isnull=True, role__in=[Role.COMMANDER, Role.COMMS_LEAD]
    ).select_related("user")
    return {a.user for a in holders}


def incidents_missing_notice(*, now: dt.datetime) -> list[Incident]:
    """Open incidents past their policy's notice delay with no public notice and no flag yet."""
    policy = SeverityPolicy.objects.filter(
        team=OuterRef("team"),
        level=OuterRef("severity"),
        customer_notice_required=True,
        customer_notice_within_minutes__isnull=False,
    )
    found = (
        Incident.objects.filter(status__in=[s for s in Incident.Status.values if s not in ("resolved", "closed")])
        .annotate(minutes=policy.values("customer_notice_within_minutes")[:1])
        .filter(minutes__isnull=False, notice_guard_flag__isnull=True, public_notices__isnull=True)
        .select_related("team")
        .order_by("declared_at")
    )
    return [i for i in found[:500] if i.declared_at + dt.timedelta(minutes=i.minutes) <= now]


def run_customer_notice_guard(*, now: dt.datetime | None = None) -> int:
    """Flags each late incident once (a unique flag row), tells its IC and comms lead, notes it."""
    now = now or timezone.now()
    flagged = 0
    for incident in incidents_missing_notice(now=now):
        try:
            with transaction.atomic():
                NoticeGuardFlag.objects.create(incident=incident, flagged_at=now)
                _alert_missing_notice(incident, now=now)
        except IntegrityError:
            continue  # Another beat flagged it first.
        flagged += 1
    return flagged


def _alert_missing_notice(incident: Incident, *, now: dt.datetime) -> None:
    late = int((now - incident.declared_at).total_seconds() // 60)
    url = f"{settings.SITE_URL}{incident.get_absolute_url()}"
    for person in _responsible(incident):
        notify_user(
            user=person,
            event=Event.CUSTOMER_NOTICE_MISSING,
            dedup_key=f"incident:{incident.number}:no-notice:u{person.pk}",
            subject=f"{incident.reference}: customers have not been told (SEV-{incident.severity})",
            body=(
                f"{incident.reference} {incident.title} was declared {late} minutes ago and the status page "
                f"still says nothing. Post a customer update: {url}"
            ),
            payload={"incident": incident.number},
            now=now,
        )
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.REMINDER,
        text=f"No public notice {late} minutes after declaration; commander and comms lead alerted.",
        by=None,
        now=now,
    )


def stale_components(*, page: StatusPage, now: dt.datetime) -> list[Component]:
    """Components of `page` set by hand to a non-operational status, untouched too long, while a notice is open."""
    open_notice = Notice.objects.filter(
        components=OuterRef("pk"), status__in=rules.INCIDENT_OPEN | rules.MAINTENANCE_ACTIVE
    )
    cutoff = now - dt.timedelta(minutes=page.stale_component_minutes)
    return list(
        Component.objects.filter(page=page, status_source=Component.Source.HAND, status_changed_at__lte=cutoff)
        .exclude(status=ComponentStatus.OPERATIONAL)
        .exclude(stale_flagged_for=F("status_changed_at"))
        .filter(Exists(open_notice))
        .order_by("position")
    )


def _stale_recipients(component: Component) -> set[User]:
    notices = Notice.objects.filter(
        components=component, status__in=rules.INCIDENT_OPEN | rules.MAINTENANCE_ACTIVE
    ).select_related("incident", "created_by")
    people: set[User] = set()
    for notice in notices:
        if notice.incident is not None:
            comms = RoleAssignment.objects.filter(
                incident=notice.incident, ended_at__isnull=True, role=Role.COMMS_LEAD
            ).select_related("user")
            people |= {a.user for a in comms} or _responsible(notice.incident)
        elif notice.created_by is not None:
            people.add(notice.created_by)
    return people


def run_stale_components(*, now: dt.datetime | None = None) -> int:
    """Flags each stale spell once (stale_flagged_for remembers which status change it was)."""
    now = now or timezone.now()
    flagged = 0
    for page in StatusPage.objects.all():
        for component in stale_components(page=page, now=now):
            with transaction.atomic():
                claimed = Component.objects.filter(pk=component.pk, status_changed_at=component.status_changed_at)
                if not claimed.exclude(stale_flagged_for=F("status_changed_at")).update(
                    stale_flagged_for=F("status_changed_at")
                ):
                    continue
                _alert_stale(component, page=page, now=now)
                flagged += 1
    return flagged


def _alert_stale(component: Component, *, page: StatusPage, now: dt.datetime) -> None:
    minutes = int((now - component.status_changed_at).total_seconds() // 60)
    for person in _stale_recipients(component):
        notify_user(
            user=person,
            event=Event.COMPONENT_STALE,
            dedup_key=f"component:{component.pk}:stale:{int(component.status_changed_at.timestamp())}:u{person.pk}",
            subject=f"{page.name}: is “{component.name}” still {component.get_status_display().lower()}?",
            body=(
                f"“{component.name}” on {page.name} has shown {component.get_status_display().lower()} for "
                f"{minutes} minutes without anyone confirming it. "
                f"Change it, or choose the same status again to confirm it: "
                f"{settings.SITE_URL}{reverse('statuspage:page', args=[page.public_id])}"
            ),
            payload={"component": component.public_id},
            now=now,
        )
