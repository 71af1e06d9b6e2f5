"""Reads of postmortems, scoped like their incidents: restricted ones only for the team and role holders."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from django.db.models import Q, QuerySet
from django.http import Http404

from config.inputs import small_int
from incidents.selectors import incident_list_visible
from oncall.models import ApiToken, Membership, Team, User
from oncall.selectors import is_member, team_ids_for_user
from postmortems import deadlines
from postmortems.models import ActionItem, Postmortem


def postmortem_list_visible(*, user: User, token: ApiToken | None = None) -> QuerySet[Postmortem]:
    """Postmortems of the incidents the user (or the team-scoped token) may see."""
    visible = incident_list_visible(user=user, token=token).order_by().values("pk")
    return (
        Postmortem.objects.filter(incident__in=visible)
        .select_related("incident", "team", "owner")
        .order_by("-created_at")
    )


def postmortem_get_for_user(*, user: User, number: int, token: ApiToken | None = None) -> Postmortem:
    postmortem = postmortem_list_visible(user=user, token=token).filter(incident__number=number).first()
    if postmortem is None:
        raise Http404("No such postmortem.")
    return postmortem


def postmortem_get_for_member(*, user: User, number: int, token: ApiToken | None = None) -> Postmortem:
    """The postmortem to write to: its team's members only. Others get the same 404 as for
    a postmortem they may not read, although a not-restricted one is readable to them."""
    postmortem = postmortem_get_for_user(user=user, number=number, token=token)
    if not is_member(user=user, team=postmortem.team_id):
        raise Http404("No such postmortem.")
    return postmortem


def action_items_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[ActionItem]:
    """Items of the user's teams, and any item they own; only the token's team for a team-scoped token."""
    scope = Q(team__in=team_ids_for_user(user=user)) | Q(owner=user)
    if token is not None and token.team_id is not None:
        scope = Q(team_id=token.team_id)
    return (
        ActionItem.objects.filter(scope)
        .select_related("team", "owner", "postmortem__incident")
        .order_by("due_date", "priority", "pk")
    )


def overdue_items(items: QuerySet[ActionItem], *, now: dt.datetime) -> QuerySet[ActionItem]:
    """The items that are overdue at `now` (postmortems.deadlines.item_is_overdue) as one query.

    Teams in different zones may be on different dates; at any instant there are at most two or
    three, so the teams are grouped by their date and each group compared with its own.
    """
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for team_id, time_zone in Team.objects.values_list("pk", "time_zone"):
        by_day[deadlines.team_today(time_zone, now)].append(team_id)
    late = Q(pk__in=[])
    for day, team_ids in by_day.items():
        late |= Q(team_id__in=team_ids, due_date__lt=day)
    return items.filter(late, status__in=[ActionItem.Status.OPEN, ActionItem.Status.IN_PROGRESS])


def action_items_filtered(
    *, user: User, params: Mapping[str, str], now: dt.datetime, token: ApiToken | None = None
) -> QuerySet[ActionItem]:
    """The action item list's filters, shared by the page and the API: owner (`me` or a username),
    overdue, team, status, priority."""
    found = action_items_for_user(user=user, token=token)
    owner = params.get("owner")
    if owner:
        found = found.filter(owner=user) if owner == "me" else found.filter(owner__username=owner)
    if params.get("overdue") in ("1", "true", "on"):
        found = overdue_items(found, now=now)
    if team := params.get("team"):
        found = found.filter(team__slug=team)
    if state := params.get("status"):
        found = found.filter(status=state)
    if (priority := small_int(params.get("priority"))) is not None:
        found = found.filter(priority=priority)
    return found


def overdue_for_manager(*, user: User, now: dt.datetime) -> tuple[QuerySet[Postmortem], QuerySet[ActionItem]]:
    """Overdue postmortems and action items of the teams the user manages (all teams for admins)."""
    teams = (
        Team.objects.all()
        if user.is_superuser
        else Team.objects.filter(memberships__user=user, memberships__role=Membership.Role.MANAGER)
    )
    postmortems = (
        Postmortem.objects.filter(team__in=teams, overdue_since__isnull=False)
        .exclude(status=Postmortem.Status.PUBLISHED)
        .select_related("incident", "team", "owner")
        .order_by("due_at")
    )
    items = (
        overdue_items(ActionItem.objects.filter(team__in=teams), now=now)
        .select_related("team", "owner", "postmortem__incident")
        .order_by("due_date", "priority")
    )
    return postmortems, items
