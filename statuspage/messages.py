"""Customer-facing text: the three drafts a comms lead starts from, and subscriber mail.

Drafts are filled from the incident's customer-visible facts (components, times) and never
from its internal notes. Times are in the status page's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone

from config.hosts import status_url
from incidents.models import Incident
from incidents.services import severity_policies_for
from statuspage.models import Component, ComponentStatus, Impact, Notice, NoticeUpdate, StatusPage

DRAFT_STATUSES = ("investigating", "identified", "resolved")
IMPACT_PHRASES = {
    ComponentStatus.DEGRADED: "slow responses",
    ComponentStatus.PARTIAL: "errors on some requests",
    ComponentStatus.MAJOR: "errors and failed requests",
}
DEFAULT_IMPACT = "errors or slow responses"
# What a customer notice starts from, by the incident's severity.
SEVERITY_IMPACT = {1: Impact.CRITICAL, 2: Impact.MAJOR, 3: Impact.MINOR, 4: Impact.NONE}
SEVERITY_COMPONENT_STATUS = {
    1: ComponentStatus.MAJOR,
    2: ComponentStatus.PARTIAL,
    3: ComponentStatus.DEGRADED,
    4: ComponentStatus.DEGRADED,
}


def _render(name: str, zone: str, context: dict[str, object]) -> str:
    with timezone.override(ZoneInfo(zone)):
        return render_to_string(f"statuspage/messages/{name}.txt", {"zone": zone, **context}).strip()


def impact_phrase(statuses: Sequence[str]) -> str:
    worst = [s for s in (ComponentStatus.MAJOR, ComponentStatus.PARTIAL, ComponentStatus.DEGRADED) if s in statuses]
    return IMPACT_PHRASES[worst[0]] if worst else DEFAULT_IMPACT


def drafts(
    *,
    page: StatusPage,
    incident: Incident,
    components: Sequence[Component],
    statuses: Sequence[str],
    next_at: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, str]:
    """The investigating, identified and resolved texts, ready to edit."""
    context = {
        "area": ", ".join(c.name for c in components) or page.name,
        "impact": impact_phrase(statuses),
        "next_at": next_at,
        "start": incident.impact_started_at or incident.detected_at,
        "end": incident.resolved_at or now,
    }
    return {status: _render(f"customer_{status}", page.time_zone, context) for status in DRAFT_STATUSES}


def notice_url(notice: Notice) -> str:
    return status_url(f"/incidents/{notice.public_id}", host=notice.page.host)


def confirmation(*, page: StatusPage, token: str, components: Sequence[Component]) -> str:
    context = {
        "page": page,
        "components": ", ".join(c.name for c in components),
        "confirm_url": status_url(f"/subscribe/confirm/{token}", host=page.host),
    }
    return _render("confirm", page.time_zone, context)


def subscriber_subject(*, notice: Notice, update: NoticeUpdate) -> str:
    return f"[{notice.page.name}] {notice.title}: {update.get_status_display()}"


def subscriber_update(*, notice: Notice, update: NoticeUpdate, token: str) -> tuple[str, dict[str, str]]:
    """The mail body and its payload (which carries the one-click unsubscribe address)."""
    unsubscribe_url = status_url(f"/unsubscribe/{token}", host=notice.page.host)
    context = {
        "page": notice.page,
        "notice": notice,
        "update": update,
        "status": update.get_status_display(),
        "notice_url": notice_url(notice),
        "unsubscribe_url": unsubscribe_url,
    }
    return _render("subscriber_update", notice.page.time_zone, context), {"unsubscribe_url": unsubscribe_url}


def incident_prefill(page: StatusPage, incident: Incident, draft: str, now: dt.datetime) -> dict[str, Any]:
    """Initial values from the incident: its components, severity and cadence, never its notes."""
    components = list(Component.objects.filter(page=page, services__incidents=incident).distinct())
    status = SEVERITY_COMPONENT_STATUS[incident.severity]
    cadence = severity_policies_for(incident.team)[incident.severity].update_every_minutes
    next_at = now + dt.timedelta(minutes=cadence) if cadence else None
    texts = drafts(page=page, incident=incident, components=components, statuses=[status], next_at=next_at, now=now)
    area = ", ".join(c.name for c in components) or page.name
    return {
        "initial": {
            "title": f"Problems with {area}",
            "impact": SEVERITY_IMPACT[incident.severity],
            "status": draft if draft in ("investigating", "identified") else "investigating",
            "body": texts.get(draft, texts["investigating"]),
        },
        "statuses": {c.pk: status for c in components},
        "drafts": texts,
        "next_at": next_at,
    }
