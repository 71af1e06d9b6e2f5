"""Reads of postmortems, scoped like their incidents: restricted ones only for the team and role holders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db.models import Q, QuerySet
from django.http import Http404

from incidents.selectors import incident_list_visible
from oncall.models import Membership, Team, User
from postmortems.models import ActionItem, Postmortem


def postmortem_list_visible(*, user: User) -> QuerySet[Postmortem]:
    return (
        Postmortem.objects.filter(incident__in=incident_list_visible(user=user).order_by().values("pk"))
        .select_related("incident", "team", "owner")
        .order_by("-created_at")
    )


def postmortem_get_for_user(*, user: User, number: int) -> Postmortem:
    postmortem = postmortem_list_visible(user=user).filter(incident__number=number).first()
    if postmortem is None:
        raise Http404("No such postmortem.")
    return postmortem


def action_items_for_user(*, user: User) -> QuerySet[ActionItem]:
    """Items of the user's teams, and any item they own."""
    teams = Membership.objects.filter(user=user).values("team")
    return (
        ActionItem.objects.filter(Q(team__in=teams) | Q(owner=user))
        .select_related("team", "owner", "postmortem__incident")
        .order_by("due_date", "priority", "pk")
    )


def action_items_filtered(*, user: User, params: Mapping[str, str], today: dt.date) -> QuerySet[ActionItem]:
    """The action item list's filters, shared by the page and the API: owner (`me` or a username),
    overdue, team, status, priority."""
    found = action_items_for_user(user=user)
    owner = params.get("owner")
    if owner:
        found = found.filter(owner=user) if owner == "me" else found.filter(owner__username=owner)
    if params.get("overdue") in ("1", "true", "on"):
        found = found.filter(status__in=["open", "in_progress"], due_date__lt=today)
    if team := params.get("team"):
        found = found.filter(team__slug=team)
    if state := params.get("status"):
        found = found.filter(status=state)
    if (priority := params.get("priority") or "").isdigit():
        found = found.filter(priority=int(priority))
    return found


def overdue_for_manager(*, user: User, today: dt.date) -> tuple[QuerySet[Postmortem], QuerySet[ActionItem]]:
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
        ActionItem.objects.filter(team__in=teams, status__in=["open", "in_progress"], due_date__lt=today)
        .select_related("team", "owner", "postmortem__incident")
        .order_by("due_date", "priority")
    )
    return postmortems, items
