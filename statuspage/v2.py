"""The public JSON documents in the shape of Atlassian Statuspage's API v2.

Same paths, field names, enums and nesting, so widgets and monitors written for Statuspage
read Fireline unchanged. Times are ISO 8601 in the page's zone, with milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from config.hosts import status_url
from statuspage import rules
from statuspage.models import Component, Notice, NoticeUpdate
from statuspage.selectors import FEED_SIZE, PublicView

INCIDENT_LIMIT = FEED_SIZE


def _time(view: PublicView, value: dt.datetime | None) -> str | None:
    return value.astimezone(view.zone).isoformat(timespec="milliseconds") if value else None


def page(view: PublicView) -> dict[str, Any]:
    p = view.page
    updated = max([p.updated_at, *(c.updated_at for c in view.components), *(n.updated_at for n in view.notices)])
    return {
        "id": p.public_id,
        "name": p.name,
        "url": status_url("/", host=p.host).rstrip("/"),
        "time_zone": p.time_zone,
        "updated_at": _time(view, updated),
    }


def component(view: PublicView, c: Component) -> dict[str, Any]:
    group = next((g for g in view.groups if g.pk == c.group_id), None)
    return {
        "id": c.public_id,
        "name": c.name,
        "status": c.status,
        "created_at": _time(view, c.created_at),
        "updated_at": _time(view, c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": True,
        "start_date": c.created_at.astimezone(view.zone).date().isoformat(),
        "group_id": group.public_id if group else None,
        "page_id": view.page.public_id,
        "group": False,
        "only_show_if_degraded": c.only_show_if_degraded,
    }


def components(view: PublicView) -> list[dict[str, Any]]:
    """Groups appear as components with `group: true` and their members' ids, as in Statuspage."""
    docs = [component(view, c) for c in view.components]
    for g in view.groups:
        members = [c for c in view.components if c.group_id == g.pk]
        if not members:
            continue
        docs.append(
            {
                "id": g.public_id,
                "name": g.name,
                "status": max((c.status for c in members), key=rules.STATUS_RANK.__getitem__),
                "created_at": _time(view, g.created_at),
                "updated_at": _time(view, max([g.updated_at, *(c.updated_at for c in members)])),
                "position": g.position,
                "description": g.description or None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": view.page.public_id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [c.public_id for c in members],
            }
        )
    return sorted(docs, key=lambda d: (d["position"], d["name"]))


def update(view: PublicView, notice: Notice, u: NoticeUpdate) -> dict[str, Any]:
    return {
        "id": u.public_id,
        "status": u.status,
        "body": u.body,
        "incident_id": notice.public_id,
        "created_at": _time(view, u.created_at),
        "updated_at": _time(view, u.created_at),
        "display_at": _time(view, u.created_at),
        "affected_components": u.affected_components or None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident(view: PublicView, n: Notice) -> dict[str, Any]:
    doc = {
        "id": n.public_id,
        "name": n.title,
        "status": n.status,
        "created_at": _time(view, n.created_at),
        "updated_at": _time(view, n.updated_at),
        "monitoring_at": _time(view, n.monitoring_at),
        "resolved_at": _time(view, n.resolved_at),
        "impact": n.impact,
        "shortlink": status_url(f"/incidents/{n.public_id}", host=view.page.host),
        "started_at": _time(view, n.started_at),
        "page_id": view.page.public_id,
        "incident_updates": [update(view, n, u) for u in n.updates.all()],
        "components": [component(view, c) for c in _ordered(n.components.all())],
    }
    if n.kind == Notice.Kind.MAINTENANCE:
        doc["scheduled_for"] = _time(view, n.scheduled_for)
        doc["scheduled_until"] = _time(view, n.scheduled_until)
    return doc


def _ordered(found: Any) -> list[Component]:
    return sorted(found, key=lambda c: (c.position, c.name))


def status(view: PublicView) -> dict[str, str]:
    indicator, description = view.indicator
    return {"indicator": indicator, "description": description}


def documents(view: PublicView) -> dict[str, dict[str, Any]]:
    """Every v2 document by its path."""
    head = page(view)
    unresolved = [incident(view, n) for n in view.open_incidents]
    upcoming = [incident(view, n) for n in view.upcoming_maintenance]
    active = [incident(view, n) for n in view.active_maintenance]
    maintenances = [incident(view, n) for n in view.maintenances[:INCIDENT_LIMIT]]
    return {
        "/api/v2/summary.json": {
            "page": head,
            "components": components(view),
            "incidents": unresolved,
            "scheduled_maintenances": active + upcoming,
            "status": status(view),
        },
        "/api/v2/status.json": {"page": head, "status": status(view)},
        "/api/v2/components.json": {"page": head, "components": components(view)},
        "/api/v2/incidents.json": {
            "page": head,
            "incidents": [incident(view, n) for n in view.incidents[:INCIDENT_LIMIT]],
        },
        "/api/v2/incidents/unresolved.json": {"page": head, "incidents": unresolved},
        "/api/v2/scheduled-maintenances.json": {"page": head, "scheduled_maintenances": maintenances},
        "/api/v2/scheduled-maintenances/upcoming.json": {"page": head, "scheduled_maintenances": upcoming},
        "/api/v2/scheduled-maintenances/active.json": {"page": head, "scheduled_maintenances": active},
    }


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
