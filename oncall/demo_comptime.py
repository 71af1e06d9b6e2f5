"""Demo comp time for one team: its policy, a holiday, a rough night two days ago that earned
comp time (waiting for the manager), and an older approved night with time taken, so the
balance and the load report have something to show. Safe to run any number of times.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from oncall.models import CompTimeGrant, Holiday, Membership, Team, User, WorkLog
from oncall.schedule import local_to_utc
from oncall.services import comptime as services


def _people(team: Team) -> tuple[User, User] | None:
    memberships = list(team.memberships.select_related("user").order_by("user__username"))
    managers = [m.user for m in memberships if m.role == Membership.Role.MANAGER]
    members = [m.user for m in memberships if m.role != Membership.Role.MANAGER]
    if not managers:
        return None
    return managers[0], (members or managers)[0]


def _night_of_work(team: Team, person: User, night: dt.date, start: dt.time, end: dt.time, note: str) -> WorkLog:
    """A span in the small hours after `night`, keyed by a reference so a second run finds it."""
    morning = night + dt.timedelta(days=1)
    log, _created = WorkLog.objects.get_or_create(
        user=person,
        reference=f"demo:{team.slug}:{night:%Y-%m-%d}",
        defaults={
            "team": team,
            "start_at": local_to_utc(dt.datetime.combine(morning, start), team.time_zone),
            "end_at": local_to_utc(dt.datetime.combine(morning, end), team.time_zone),
            "source": WorkLog.Source.MANUAL,
            "note": note,
        },
    )
    return log


def _grant(team: Team, person: User, night: dt.date, minutes: int, now: dt.datetime) -> CompTimeGrant:
    found = CompTimeGrant.objects.filter(user=person, team=team, night_of=night).first()
    if found is not None:
        return found
    earned = services.Earned(user_id=person.pk, team_id=team.pk, night_of=night, worked_minutes=minutes)
    return services.comp_time_grant_create(earned=earned, now=now) or CompTimeGrant.objects.get(
        user=person, team=team, night_of=night
    )


def seed(*, team: Team, now: dt.datetime) -> None:
    people = _people(team)
    if people is None:
        return
    manager, person = people
    services.comp_time_policy_for(team)
    today = now.astimezone(ZoneInfo(team.time_zone)).date()
    new_year = dt.date(today.year + 1, 1, 1)
    if not Holiday.objects.filter(team=team, date=new_year).exists():
        services.holiday_add(team=team, date=new_year, name="New Year's Day", by=manager)

    # Two nights ago: paged at 01:30, worked until 02:50. The job grants it; the manager decides.
    recent = today - dt.timedelta(days=2)
    _night_of_work(team, person, recent, dt.time(1, 30), dt.time(2, 50), "Payouts backlog: drained the queue by hand")
    _grant(team, person, recent, 80, now)

    # Five weeks ago: a longer night, approved, and two hours of it already taken.
    older = today - dt.timedelta(days=35)
    _night_of_work(team, person, older, dt.time(0, 40), dt.time(3, 10), "Database failover rehearsal went live")
    grant = _grant(team, person, older, 150, now)
    if grant.status == CompTimeGrant.Status.PROPOSED:
        services.comp_time_grant_decide(
            grant=grant, by=manager, status=CompTimeGrant.Status.APPROVED, note="Thanks for the long night.", now=now
        )
    if not person.comp_time_uses.filter(team=team).exists():
        services.comp_time_use_create(
            team=team,
            user=person,
            taken_on=older + dt.timedelta(days=1),
            hours=Decimal("2"),
            by=manager,
            note="Slept in after the failover",
        )
