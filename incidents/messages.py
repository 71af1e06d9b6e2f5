"""The four internal messages, rendered from the incident's own fields as text ready to paste.

Templates live in templates/incidents/messages/; times are in the owning team's zone.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from incidents import rules
from incidents.models import Incident, IncidentUpdate, RoleAssignment, SeverityPolicy

ACTIONS = {
    Incident.Status.INVESTIGATING: "investigating",
    Incident.Status.IDENTIFIED: "cause identified, preparing the fix",
    Incident.Status.MITIGATING: "mitigating",
    Incident.Status.MONITORING: "fix applied, watching it hold",
}


def _roles(incident: Incident) -> dict[str, str]:
    current = RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True).select_related("user")
    return {a.role: str(a.user) for a in current if a.role != RoleAssignment.Role.PARTICIPANT}


def _context(incident: Incident) -> dict[str, object]:
    services = list(incident.services.all())
    return {
        "incident": incident,
        "services": ", ".join(s.name for s in services),
        "since": incident.impact_started_at or incident.detected_at,
        "zone": incident.team.time_zone,
        "channel": rules.channel_name(incident.number, services[0].slug if services else None),
        "url": settings.SITE_URL + incident.get_absolute_url(),
    }


def _render(name: str, incident: Incident, **extra: object) -> str:
    # Render in the team's zone: the reader pastes it where the team talks.
    with timezone.override(ZoneInfo(incident.team.time_zone)):
        return render_to_string(f"incidents/messages/{name}.txt", {**_context(incident), **extra}).strip()


def declared(incident: Incident) -> str:
    path = incident.get_mitigation_path_display() if incident.mitigation_path else ""
    action = path or ACTIONS.get(incident.status, incident.status)
    return _render("declared", incident, roles=_roles(incident), action=action)


def update(item: IncidentUpdate) -> str:
    return _render("update", item.incident, update=item)


def help_request(incident: Incident, *, need: str, why: str, owner: str) -> str:
    return _render("help", incident, need=need, why=why, owner=owner)


def resolved(incident: Incident, policy: SeverityPolicy) -> str:
    return _render("resolved", incident, postmortem_required=policy.postmortem_required)
