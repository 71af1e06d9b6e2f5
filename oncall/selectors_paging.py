"""Reads of pages and escalation policies, scoped to the user's teams (404 outside them)."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When
from django.http import Http404

from oncall.models import ApiToken, EscalationPolicy, EscalationStep, Page, PageEvent, Service, StepTarget, Team, User
from oncall.selectors import team_ids_for_user

PAGE_STATUS_FILTERS = ("open", "triggered", "acknowledged", "resolved", "stalled", "all")


def _open_first() -> Case:
    return Case(
        When(status=Page.Status.TRIGGERED, then=Value(0)),
        When(status=Page.Status.ACKNOWLEDGED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def _filter_status(pages: QuerySet[Page], status: str | None) -> QuerySet[Page]:
    if status in (None, "", "all"):
        return pages
    if status == "open":
        return pages.exclude(status=Page.Status.RESOLVED)
    if status == "stalled":
        return pages.filter(status=Page.Status.TRIGGERED, stalled_at__isnull=False)
    if status in Page.Status.values:
        return pages.filter(status=status)
    return pages.none()


def page_list_for_user(
    *,
    user: User,
    token: ApiToken | None = None,
    team: Team | None = None,
    status: str | None = None,
    service: Service | None = None,
) -> QuerySet[Page]:
    """Pages of the user's teams, open ones first (triggered, then acknowledged), newest first."""
    pages = Page.objects.filter(team__in=team_ids_for_user(user=user, token=token))
    if team is not None:
        pages = pages.filter(team=team)
    if service is not None:
        pages = pages.filter(service=service)
    pages = _filter_status(pages, status)
    return pages.select_related("alert", "service", "team", "acknowledged_by", "resolved_by").order_by(
        _open_first(), "-created_at", "-pk"
    )


def page_get_for_user(*, user: User, pk: int, token: ApiToken | None = None) -> Page:
    page = page_list_for_user(user=user, token=token).filter(pk=pk).first()
    if page is None:
        raise Http404("No such page.")
    return page


def page_events(*, page: Page) -> QuerySet[PageEvent]:
    """The page's log, oldest first, with each notification's delivery status at hand."""
    return page.events.select_related("user", "notification").order_by("at", "pk")


def stalled_pages() -> QuerySet[Page]:
    """Every page the auditor flagged and the sweeper has not run since (administrators' view)."""
    return (
        Page.objects.filter(status=Page.Status.TRIGGERED, stalled_at__isnull=False)
        .select_related("alert", "team", "service")
        .order_by("next_step_at")
    )


def _steps_prefetch() -> Prefetch:
    targets = StepTarget.objects.select_related("layer__schedule", "user").order_by("pk")
    return Prefetch(
        "steps",
        queryset=EscalationStep.objects.order_by("position").prefetch_related(Prefetch("targets", queryset=targets)),
    )


def escalation_policy_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[EscalationPolicy]:
    return (
        EscalationPolicy.objects.filter(team__in=team_ids_for_user(user=user, token=token))
        .select_related("team")
        .prefetch_related(_steps_prefetch(), Prefetch("services", queryset=Service.objects.order_by("name")))
        .order_by("team__name", "name")
    )


def escalation_policy_get_for_user(*, user: User, pk: int, token: ApiToken | None = None) -> EscalationPolicy:
    policy = escalation_policy_list_for_user(user=user, token=token).filter(pk=pk).first()
    if policy is None:
        raise Http404("No such escalation policy.")
    return policy


def team_escalation_policies(*, team: Team) -> QuerySet[EscalationPolicy]:
    return (
        team.escalation_policies.select_related("team")
        .prefetch_related(_steps_prefetch(), Prefetch("services", queryset=Service.objects.order_by("name")))
        .order_by("name")
    )
