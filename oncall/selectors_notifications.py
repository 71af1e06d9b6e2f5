"""Reads for contact methods, rules, notifications and team webhooks, scoped to a user.

A person only ever reads their own methods, rules and notifications; team webhooks
are read through the teams the user (or their token) reaches, so a stranger gets 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from oncall import selectors
from oncall.channels import contact_method_secret
from oncall.models import ApiToken, ContactMethod, Notification, NotificationRule, Team, TeamWebhook, User
from oncall.models.notifications import Event

RECENT_NOTIFICATIONS = 50


def contact_methods_for_user(*, user: User) -> QuerySet[ContactMethod]:
    return ContactMethod.objects.filter(user=user).order_by("kind", "address")


def contact_method_get_for_user(*, user: User, pk: int) -> ContactMethod:
    method = contact_methods_for_user(user=user).filter(pk=pk).first()
    if method is None:
        raise Http404("No such contact method.")
    return method


def signing_secret(method: ContactMethod) -> str:
    """What a person's own webhook receiver verifies against; email has none."""
    return "" if method.kind == ContactMethod.Kind.EMAIL else contact_method_secret(method)


def rules_by_event(*, user: User) -> dict[str, set[int]]:
    """For each event, the ids of the methods it is routed to (absent: the account email)."""
    routes: dict[str, set[int]] = {}
    for event, method_id in NotificationRule.objects.filter(user=user).values_list("event", "contact_method_id"):
        routes.setdefault(event, set()).add(method_id)
    return routes


@dataclass(frozen=True)
class RuleRow:
    event: str
    label: str
    cells: list[tuple[ContactMethod, bool]]

    @property
    def uses_account_email(self) -> bool:
        return not any(checked for _method, checked in self.cells)


def rule_grid(*, user: User, methods: list[ContactMethod]) -> list[RuleRow]:
    """One row per event, one cell per active method: the page's "what reaches me where" grid."""
    routes = rules_by_event(user=user)
    active = [m for m in methods if m.is_active]
    return [
        RuleRow(event=value, label=label, cells=[(m, m.pk in routes.get(value, set())) for m in active])
        for value, label in Event.choices
    ]


def notifications_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[Notification]:
    if token is not None and token.team_id is not None:
        # A person's inbox spans all their teams (pages, incidents, postmortems), and its rows
        # name no team to filter on: a token scoped to one team reads none of it.
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).select_related("contact_method").order_by("-created_at", "-pk")


def team_webhooks_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[TeamWebhook]:
    teams = selectors.team_ids_for_user(user=user, token=token)
    return TeamWebhook.objects.filter(team__in=teams).select_related("team")


def team_webhook_get(*, team: Team, pk: int) -> TeamWebhook:
    webhook = TeamWebhook.objects.filter(team=team, pk=pk).select_related("team").first()
    if webhook is None:
        raise Http404("No such webhook.")
    return webhook


def managed_teams(*, user: User) -> QuerySet[Team]:
    return Team.objects.filter(pk__in=selectors.manager_team_ids(user=user)).order_by("name")
