"""Reads of incidents with their visibility rule, written once.

Every signed-in person sees incidents that are not restricted; a restricted (security)
incident is seen only by members of its owning team and by the people who held a role
in it. Anything else answers 404. A team-scoped API token sees only its team's incidents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from incidents.models import Incident, RoleAssignment, TimelineEntry
from oncall.models import ApiToken, Membership, User


def _visible(user: User, token: ApiToken | None) -> Q:
    # Uncorrelated IN subqueries, which PostgreSQL hashes once per query. Correlated EXISTS
    # made it cost a subplan per row (millions at 100,000 incidents), which switched on JIT
    # compilation: most of a second per list request (bench/api_incidents.py).
    teams = Membership.objects.filter(user=user).values("team_id")
    held = RoleAssignment.objects.filter(user=user).values("incident_id")
    visible = Q(is_restricted=False) | Q(team_id__in=teams) | Q(pk__in=held)
    if token is not None and token.team_id is not None:
        visible &= Q(team_id=token.team_id)
    return visible


@dataclass(frozen=True)
class IncidentFilters:
    team: str = ""
    severity: int | None = None
    status: str = ""
    service: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    text: str = ""
    open_only: bool = False


def _current_roles() -> Prefetch:
    return Prefetch(
        "roles",
        queryset=RoleAssignment.objects.filter(ended_at__isnull=True).select_related("user"),
        to_attr="current_roles",
    )


def incident_list_visible(
    *, user: User, token: ApiToken | None = None, filters: IncidentFilters | None = None
) -> QuerySet[Incident]:
    """Visible incidents, newest first, with what list pages show (a constant number of queries)."""
    found = Incident.objects.filter(_visible(user, token))
    found = _filtered(found, filters or IncidentFilters())
    # Services into a plain list: the manager form clones a queryset per incident (4 ms a page).
    services = Prefetch("services", to_attr="service_list")
    return found.select_related("team").prefetch_related(services, _current_roles()).order_by("-declared_at")


def _filtered(found: QuerySet[Incident], f: IncidentFilters) -> QuerySet[Incident]:
    if f.team:
        found = found.filter(team__slug=f.team)
    if f.severity:
        found = found.filter(severity=f.severity)
    if f.status:
        found = found.filter(status=f.status)
    if f.open_only:
        found = found.exclude(status__in=[Incident.Status.RESOLVED, Incident.Status.CLOSED])
    if f.service:
        found = found.filter(services__slug=f.service)
    if f.since:
        found = found.filter(declared_at__gte=f.since)
    if f.until:
        found = found.filter(declared_at__lt=f.until)
    if f.text:
        found = found.filter(Q(title__icontains=f.text) | Q(summary__icontains=f.text))
    return found.distinct() if f.service else found


def incident_get_for_user(*, user: User, number: int, token: ApiToken | None = None) -> Incident:
    incident = (
        Incident.objects.filter(_visible(user, token), number=number)
        .select_related("team", "page", "declared_by")
        .prefetch_related("services", _current_roles())
        .first()
    )
    if incident is None:
        raise Http404("No such incident.")
    return incident


def can_act(*, user: User, incident: Incident) -> bool:
    """Members of the owning team run the incident, and so does anyone holding a role in it."""
    return (
        Membership.objects.filter(team=incident.team_id, user=user).exists()
        or RoleAssignment.objects.filter(incident=incident, user=user, ended_at__isnull=True).exists()
    )


def timeline(*, incident: Incident) -> QuerySet[TimelineEntry]:
    return incident.timeline.select_related("author", "corrects").order_by("happened_at", "pk")


def my_open_roles(*, user: User) -> QuerySet[RoleAssignment]:
    return (
        RoleAssignment.objects.filter(user=user, ended_at__isnull=True, incident__status__in=OPEN)
        .select_related("incident__team")
        .order_by("incident__severity", "incident__declared_at")
    )


OPEN = ["investigating", "identified", "mitigating", "monitoring"]
