"""Customer-facing text: the three drafts a comms lead starts from, and subscriber mail.

Drafts are filled from the incident's customer-visible facts (components, times) and never
from its internal notes. Times are in the status page's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone

from config.hosts import status_url
from incidents.models import Incident
from statuspage.models import Component, ComponentStatus, Notice, NoticeUpdate, StatusPage

DRAFT_STATUSES = ("investigating", "identified", "resolved")
IMPACT_PHRASES = {
    ComponentStatus.DEGRADED: "slow responses",
    ComponentStatus.PARTIAL: "errors on some requests",
    ComponentStatus.MAJOR: "errors and failed requests",
}
DEFAULT_IMPACT = "errors or slow responses"


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
