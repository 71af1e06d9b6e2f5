"""Reads with a permission scope. The team boundary is written here, once.

Anything out of the user's reach raises Http404, so a stranger cannot tell
"exists but not yours" from "does not exist".
"""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from oncall.models import ApiToken, Membership, Service, Team, User


def team_ids_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[Team]:
    teams = Team.objects.filter(memberships__user=user)
    if token is not None and token.team_id is not None:
        teams = teams.filter(pk=token.team_id)
    return teams.values("pk")


def team_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[Team]:
    return (
        Team.objects.filter(pk__in=team_ids_for_user(user=user, token=token))
        .annotate(service_count=Count("services", distinct=True), member_count=Count("memberships", distinct=True))
        .order_by("name")
    )


def team_get_for_user(*, user: User, slug: str, token: ApiToken | None = None) -> Team:
    team = Team.objects.filter(slug=slug, pk__in=team_ids_for_user(user=user, token=token)).first()
    if team is None:
        raise Http404("No such team.")
    return team


def team_members(*, team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("role", "user__username")


def manager_team_ids(*, user: User) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user, memberships__role=Membership.Role.MANAGER).values("pk")


def service_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[Service]:
    return Service.objects.filter(team__in=team_ids_for_user(user=user, token=token)).select_related("team")


def service_get_for_user(*, user: User, slug: str, token: ApiToken | None = None) -> Service:
    service = service_list_for_user(user=user, token=token).filter(slug=slug).first()
    if service is None:
        raise Http404("No such service.")
    return service


def user_teams_with_services(*, user: User) -> QuerySet[Team]:
    """The home dashboard's data: the user's teams with their services, in two queries."""
    return (
        Team.objects.filter(pk__in=team_ids_for_user(user=user))
        .prefetch_related(Prefetch("services", queryset=Service.objects.order_by("name")))
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by("name")
    )


def is_manager(*, user: User, team: Team | int) -> bool:
    return Membership.objects.filter(team=team, user=user, role=Membership.Role.MANAGER).exists()


def is_member(*, user: User, team: Team | int) -> bool:
    return Membership.objects.filter(team=team, user=user).exists()
