"""Reads of comp time: balances, grants, work logs and the manager's load report.

Who sees what: a person sees their own grants, work logs and balance in each of
their teams; a team's managers see everybody's in that team. Anything else answers
404, like every other read (oncall.selectors).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.http import Http404

from oncall import comptime as rules
from oncall import selectors_schedules as sched
from oncall.models import (
    ApiToken,
    CompTimeCover,
    CompTimeGrant,
    CompTimePolicy,
    CompTimeUse,
    Holiday,
    Membership,
    PageEvent,
    Team,
    User,
    WorkLog,
)
from oncall.schedule import local_to_utc
from oncall.selectors import manager_team_ids, team_ids_for_user

ZERO = Decimal("0.0")


# --- balances ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    granted: Decimal = ZERO
    taken: Decimal = ZERO

    @property
    def left(self) -> Decimal:
        return self.granted - self.taken


def comp_time_balances(*, team: Team, user_ids: Iterable[int] | None = None) -> dict[int, Balance]:
    """Approved hours, hours taken and what is left, per person, in two queries."""
    grants = CompTimeGrant.objects.filter(team=team, status=CompTimeGrant.Status.APPROVED)
    uses = CompTimeUse.objects.filter(team=team)
    if user_ids is not None:
        ids = list(user_ids)
        grants, uses = grants.filter(user_id__in=ids), uses.filter(user_id__in=ids)
    granted = dict(grants.values_list("user_id").annotate(total=Sum("hours")).order_by())
    taken = dict(uses.values_list("user_id").annotate(total=Sum("hours")).order_by())
    return {
        user_id: Balance(granted=granted.get(user_id) or ZERO, taken=taken.get(user_id) or ZERO)
        for user_id in granted.keys() | taken.keys()
    }


def comp_time_balance(*, team: Team, user: User) -> Balance:
    return comp_time_balances(team=team, user_ids=[user.pk]).get(user.pk, Balance())


# --- grants and work logs ----------------------------------------------------------------


def visible_rows(*, user: User, token: ApiToken | None = None) -> Q:
    """Own rows in the user's teams, and every row of the teams the user manages."""
    teams = team_ids_for_user(user=user, token=token)
    managed = manager_team_ids(user=user).filter(pk__in=teams)
    return Q(team__in=teams, user=user) | Q(team__in=managed)


def _covers() -> Prefetch:
    return Prefetch(
        "covers", queryset=CompTimeCover.objects.select_related("layer__schedule", "proposed_user", "override__user")
    )


def grant_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[CompTimeGrant]:
    return (
        CompTimeGrant.objects.filter(visible_rows(user=user, token=token))
        .select_related("user", "team", "decided_by")
        .prefetch_related(_covers())
        .order_by("-night_of", "user__username")
    )


def grant_get_for_user(*, user: User, pk: int, token: ApiToken | None = None) -> CompTimeGrant:
    grant = grant_list_for_user(user=user, token=token).filter(pk=pk).first()
    if grant is None:
        raise Http404("No such comp-time grant.")
    return grant


def team_grants(*, team: Team, user: User | None = None) -> QuerySet[CompTimeGrant]:
    """The team's grants, those waiting for a decision first; one person's when `user` is given."""
    grants = CompTimeGrant.objects.filter(team=team)
    if user is not None:
        grants = grants.filter(user=user)
    return (
        grants.select_related("user", "team", "decided_by")
        .prefetch_related(_covers())
        .order_by("-status", "-night_of", "user__username")
    )


def work_log_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[WorkLog]:
    return WorkLog.objects.filter(visible_rows(user=user, token=token)).select_related(
        "user", "team", "page", "created_by"
    )


def work_log_get_for_user(*, user: User, pk: int, token: ApiToken | None = None) -> WorkLog:
    log = work_log_list_for_user(user=user, token=token).filter(pk=pk).first()
    if log is None:
        raise Http404("No such work log.")
    return log


def use_list_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[CompTimeUse]:
    return (
        CompTimeUse.objects.filter(visible_rows(user=user, token=token))
        .select_related("user", "team", "created_by")
        .order_by("-taken_on", "-pk")
    )


def team_uses(*, team: Team, user: User | None = None) -> QuerySet[CompTimeUse]:
    uses = CompTimeUse.objects.filter(team=team)
    if user is not None:
        uses = uses.filter(user=user)
    return uses.select_related("user", "created_by").order_by("-taken_on", "-pk")


def team_holidays(*, team: Team) -> QuerySet[Holiday]:
    return team.holidays.order_by("date")


def policy_of(*, team: Team) -> CompTimePolicy:
    """The team's policy, or the defaults (unsaved) when nobody has written one yet."""
    return CompTimePolicy.of(team)


# --- the load report ---------------------------------------------------------------------


@dataclass
class LoadRow:
    """One person's month. Hours are real hours; comp hours as granted."""

    user: User
    month: dt.date
    shifts: int = 0
    on_call_seconds: float = 0.0
    pages: int = 0
    night_pages: int = 0
    after_hours_seconds: float = 0.0
    comp_granted: Decimal = ZERO
    comp_pending: Decimal = ZERO
    comp_taken: Decimal = ZERO

    @property
    def on_call_hours(self) -> float:
        return round(self.on_call_seconds / 3600, 1)

    @property
    def after_hours_hours(self) -> float:
        return round(self.after_hours_seconds / 3600, 1)


@dataclass(frozen=True)
class LoadReport:
    team: Team
    months: list[dt.date]
    people: list[User]
    rows: dict[tuple[int, dt.date], LoadRow]

    def row(self, user: User, month: dt.date) -> LoadRow:
        return self.rows[(user.pk, month)]

    def person_rows(self, user: User) -> list[LoadRow]:
        return [self.rows[(user.pk, m)] for m in self.months]

    def month_rows(self, month: dt.date) -> list[LoadRow]:
        return [self.rows[(p.pk, month)] for p in self.people]


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_span(month: dt.date, time_zone: str) -> rules.Span:
    """The month's first local midnight to the next month's, as UTC instants."""
    start = local_to_utc(dt.datetime.combine(month, dt.time(0)), time_zone)
    return rules.Span(start, local_to_utc(dt.datetime.combine(add_months(month, 1), dt.time(0)), time_zone))


def load_report(*, team: Team, last_month: dt.date, months: int, now: dt.datetime) -> LoadReport:
    """Each member's load per month, for `months` months up to `last_month`, in bounded queries.

    Shifts and hours on call come from the final schedule (rotation plus overrides) up to
    `now`; pages are distinct pages a person was notified of (their first notification
    decides the month and whether it came at night); after-hours hours are the merged
    work spans inside the policy's after-hours windows, as the grant job counts them.
    """
    month_list = [add_months(last_month.replace(day=1), -i) for i in reversed(range(months))]
    spans = {m: month_span(m, team.time_zone) for m in month_list}
    whole = rules.Span(spans[month_list[0]].start, spans[month_list[-1]].end)
    people = [m.user for m in Membership.objects.filter(team=team).select_related("user").order_by("user__username")]
    rows = {(p.pk, m): LoadRow(user=p, month=m) for p in people for m in month_list}
    rule = policy_of(team=team).team_night_rule()
    _add_shifts(rows, team, spans, rules.Span(whole.start, min(whole.end, now)))
    _add_pages(rows, team, spans, whole, rule)
    _add_work(rows, team, spans, whole, rule)
    _add_comp(rows, team, month_list)
    return LoadReport(team=team, months=month_list, people=people, rows=rows)


def _month_of(spans: dict[dt.date, rules.Span], instant: dt.datetime) -> dt.date | None:
    return next((m for m, span in spans.items() if span.start <= instant < span.end), None)


def _add_shifts(
    rows: dict[tuple[int, dt.date], LoadRow], team: Team, spans: dict[dt.date, rules.Span], until: rules.Span
) -> None:
    if until.end <= until.start:
        return
    for schedule in sched.team_schedules(team=team):
        for item in sched.schedule_final_shifts(schedule=schedule, start=until.start, end=until.end):
            for shift in item.shifts:
                for month, span in spans.items():
                    row = rows.get((shift.user_id, month))
                    overlap = (min(shift.end, span.end) - max(shift.start, span.start)).total_seconds()
                    if row is not None and overlap > 0:
                        row.shifts += 1
                        row.on_call_seconds += overlap


def _add_pages(
    rows: dict[tuple[int, dt.date], LoadRow],
    team: Team,
    spans: dict[dt.date, rules.Span],
    whole: rules.Span,
    rule: rules.NightRule,
) -> None:
    # Strict nights for "night pages": a Saturday-noon page is after hours but not a night.
    nights_only = dataclasses.replace(rule, count_weekends=False, count_holidays=False)
    first: dict[tuple[int, int], dt.datetime] = {}
    events = PageEvent.objects.filter(
        page__team=team, kind=PageEvent.Kind.NOTIFIED, user__isnull=False, at__gte=whole.start, at__lt=whole.end
    ).values_list("user_id", "page_id", "at")
    for user_id, page_id, at in events:
        key = (user_id, page_id)
        first[key] = min(at, first.get(key, at))
    for (user_id, _page_id), at in first.items():
        row = rows.get((user_id, _month_of(spans, at)))
        if row is not None:
            row.pages += 1
            row.night_pages += rules.is_after_hours(nights_only, at)


def _add_work(
    rows: dict[tuple[int, dt.date], LoadRow],
    team: Team,
    spans: dict[dt.date, rules.Span],
    whole: rules.Span,
    rule: rules.NightRule,
) -> None:
    worked: dict[int, list[rules.Span]] = defaultdict(list)
    logs = WorkLog.objects.filter(team=team, end_at__gt=whole.start, start_at__lt=whole.end)
    for user_id, start_at, end_at in logs.values_list("user_id", "start_at", "end_at"):
        worked[user_id].append(rules.Span(start_at, end_at))
    for user_id, user_spans in worked.items():
        for month, span in spans.items():
            row = rows.get((user_id, month))
            if row is not None:
                row.after_hours_seconds += rules.after_hours_seconds(rule, user_spans, span.start, span.end)


def _add_comp(rows: dict[tuple[int, dt.date], LoadRow], team: Team, months: list[dt.date]) -> None:
    first, after = months[0], add_months(months[-1], 1)
    grants = CompTimeGrant.objects.filter(team=team, night_of__gte=first, night_of__lt=after).exclude(
        status=CompTimeGrant.Status.DECLINED
    )
    for user_id, night, status, hours in grants.values_list("user_id", "night_of", "status", "hours"):
        row = rows.get((user_id, night.replace(day=1)))
        if row is None:
            continue
        if status == CompTimeGrant.Status.APPROVED:
            row.comp_granted += hours
        else:
            row.comp_pending += hours
    uses = CompTimeUse.objects.filter(team=team, taken_on__gte=first, taken_on__lt=after)
    for user_id, taken_on, hours in uses.values_list("user_id", "taken_on", "hours"):
        row = rows.get((user_id, taken_on.replace(day=1)))
        if row is not None:
            row.comp_taken += hours
