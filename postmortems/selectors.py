"""Reads of postmortems, scoped like their incidents: restricted ones only for the team and role holders."""

from __future__ import annotations

import datetime as dt

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
