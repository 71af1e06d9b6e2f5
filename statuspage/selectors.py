"""Reads of the status page: what customers see (for publishing) and what the portal lists."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404

from incidents.selectors import incident_list_visible
from oncall.models import ApiToken, User
from oncall.selectors import team_ids_for_user
from statuspage import rules
from statuspage.models import (
    Component,
    ComponentGroup,
    ComponentStatusInterval,
    Notice,
    NoticeUpdate,
    StatusPage,
)

UPTIME_DAYS = 90
RECENT_DAYS = 7
FEED_SIZE = 50
Status = Notice.Status


def pages_for_user(*, user: User, token: ApiToken | None = None) -> QuerySet[StatusPage]:
    """Pages one of the user's teams publishes on (only the token's team for a team token)."""
    teams = team_ids_for_user(user=user, token=token)
    return StatusPage.objects.filter(
        pk__in=StatusPage.teams.through.objects.filter(team__in=teams).values("statuspage")
    )


def page_get_for_user(*, user: User, public_id: str) -> StatusPage:
    page = pages_for_user(user=user).filter(public_id=public_id).first()
    if page is None:
        raise Http404("No such status page.")
    return page


def with_incident_visibility(
    notices: QuerySet[Notice], *, user: User, token: ApiToken | None = None
) -> QuerySet[Notice]:
    """Marks each notice `incident_visible`: whether the reader may see the incident behind it.

    A page shared by several teams shows every notice to all its publishers, but which incident
    a notice stems from (a restricted one, perhaps) is only for that incident's readers.
    """
    visible = incident_list_visible(user=user, token=token).filter(pk=OuterRef("incident_id"))
    return notices.annotate(incident_visible=Exists(visible))


def notice_get_for_user(*, user: User, public_id: str) -> Notice:
    found = Notice.objects.filter(public_id=public_id, page__in=pages_for_user(user=user))
    notice = with_incident_visibility(found, user=user).select_related("page", "incident").first()
    if notice is None:
        raise Http404("No such notice.")
    return notice


def notices_with_updates() -> QuerySet[Notice]:
    updates = NoticeUpdate.objects.select_related("created_by").order_by("-created_at", "-pk")
    return Notice.objects.select_related("incident").prefetch_related(
        Prefetch("updates", queryset=updates), "components"
    )


@dataclass
class Bar:
    day: rules.Day
    notices: list[Notice]


@dataclass
class ComponentRow:
    component: Component
    bars: list[Bar]
    uptime: float | None


@dataclass
class GroupRow:
    group: ComponentGroup | None
    rows: list[ComponentRow]

    @property
    def status(self) -> str:
        return max((r.component.status for r in self.rows), key=rules.STATUS_RANK.__getitem__)


@dataclass
class PublicView:
    """Everything the public documents of one page are rendered from, read in a few queries."""

    page: StatusPage
    now: dt.datetime
    zone: ZoneInfo
    components: list[Component]
    groups: list[ComponentGroup]
    notices: list[Notice]
    uptime: dict[int, list[rules.Day]] = field(default_factory=dict)

    @property
    def open_incidents(self) -> list[Notice]:
        return [n for n in self.notices if n.kind == Notice.Kind.INCIDENT and n.status in rules.INCIDENT_OPEN]

    @property
    def active_maintenance(self) -> list[Notice]:
        return [n for n in self.notices if n.status in rules.MAINTENANCE_ACTIVE]

    @property
    def upcoming_maintenance(self) -> list[Notice]:
        upcoming = [n for n in self.notices if n.status == Status.SCHEDULED]
        return sorted(upcoming, key=lambda n: n.scheduled_for or n.started_at)

    @property
    def incidents(self) -> list[Notice]:
        return [n for n in self.notices if n.kind == Notice.Kind.INCIDENT]

    @property
    def maintenances(self) -> list[Notice]:
        return [n for n in self.notices if n.kind == Notice.Kind.MAINTENANCE]

    @property
    def indicator(self) -> tuple[str, str]:
        return rules.page_indicator((c.status for c in self.components), (n.impact for n in self.open_incidents))

    def group_rows(self) -> list[GroupRow]:
        by_group: dict[int | None, list[ComponentRow]] = defaultdict(list)
        for c in self.components:
            if c.only_show_if_degraded and c.status == rules.OPERATIONAL:
                continue
            days = self.uptime.get(c.pk, [])
            bars = [Bar(d, self._notices_touching(c, d.day)) for d in days]
            by_group[c.group_id].append(ComponentRow(c, bars, rules.uptime_share(days)))
        # Components outside any group come first, then each group in its position.
        ordered = [GroupRow(None, by_group[None])] if by_group.get(None) else []
        return ordered + [GroupRow(g, by_group[g.pk]) for g in self.groups if by_group.get(g.pk)]

    def notices_by_day(self, days: int) -> list[tuple[dt.date, list[Notice]]]:
        today = self.now.astimezone(self.zone).date()
        found: dict[dt.date, list[Notice]] = defaultdict(list)
        for n in self.notices:
            if n.status == Status.SCHEDULED:
                continue
            found[n.started_at.astimezone(self.zone).date()].append(n)
        return [(today - dt.timedelta(days=i), found.get(today - dt.timedelta(days=i), [])) for i in range(days)]

    def months(self) -> list[tuple[str, list[Notice]]]:
        """("2026-11", notices started that month) for every month with notices, newest first."""
        found: dict[str, list[Notice]] = defaultdict(list)
        for n in self.notices:
            if n.status != Status.SCHEDULED:
                found[n.started_at.astimezone(self.zone).strftime("%Y-%m")].append(n)
        current = self.now.astimezone(self.zone).strftime("%Y-%m")
        found.setdefault(current, [])
        return sorted(found.items(), reverse=True)

    def _notices_touching(self, component: Component, day: dt.date) -> list[Notice]:
        return self._incidents_by_component_day.get((component.pk, day), [])

    @cached_property
    def _incidents_by_component_day(self) -> dict[tuple[int, dt.date], list[Notice]]:
        """Incidents by (component, local day) they were open on, within the uptime bars' days.

        One pass over the notices: asking each of 90 days of each component about every
        notice grew with the whole history, which a page keeps for years.
        """
        today = self.now.astimezone(self.zone).date()
        first_day = today - dt.timedelta(days=UPTIME_DAYS - 1)
        found: dict[tuple[int, dt.date], list[Notice]] = defaultdict(list)
        for n in self.notices:
            if n.kind != Notice.Kind.INCIDENT:
                continue
            # Open on a day when it started before the day's end and ended at or after its start.
            start = max(n.started_at.astimezone(self.zone).date(), first_day)
            end = min((n.resolved_at or self.now).astimezone(self.zone).date(), today)
            days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
            for component in n.components.all():
                for day in days:
                    found[(component.pk, day)].append(n)
        return found


def public_view(*, page: StatusPage, now: dt.datetime) -> PublicView:
    zone = ZoneInfo(page.time_zone)
    components = list(Component.objects.filter(page=page).order_by("position", "name"))
    groups = list(ComponentGroup.objects.filter(page=page).order_by("position", "name"))
    notices = list(notices_with_updates().filter(page=page).order_by("-started_at", "-pk"))
    view = PublicView(page=page, now=now, zone=zone, components=components, groups=groups, notices=notices)
    view.uptime = _uptime(components, zone=zone, now=now)
    return view


def _uptime(components: list[Component], *, zone: ZoneInfo, now: dt.datetime) -> dict[int, list[rules.Day]]:
    today = now.astimezone(zone).date()
    since, _ = rules.day_bounds(today - dt.timedelta(days=UPTIME_DAYS - 1), zone)
    intervals: dict[int, list[rules.Interval]] = defaultdict(list)
    rows = ComponentStatusInterval.objects.filter(component__in=components).exclude(ended_at__lt=since)
    for row in rows.only("component_id", "status", "started_at", "ended_at"):
        intervals[row.component_id].append(rules.Interval(row.status, row.started_at, row.ended_at))
    return {
        c.pk: rules.uptime_days(intervals[c.pk], last_day=today, days=UPTIME_DAYS, zone=zone, now=now)
        for c in components
    }
