"""Comp time end to end in services: work spans, the grant job, proposals, decisions, balances."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from config.errors import ConflictError, DomainError
from oncall import schedule as schedule_rules
from oncall import selectors_schedules as sched
from oncall.models import (
    CompTimeCover,
    CompTimeGrant,
    CompTimePolicy,
    CompTimeUse,
    Holiday,
    Membership,
    Notification,
    WorkLog,
)
from oncall.models.notifications import Event
from oncall.selectors_comptime import comp_time_balance
from oncall.services import comptime as services
from oncall.services import paging
from oncall.tasks import grant_comp_time
from tests.factories import CompTimeGrantFactory, MembershipFactory, TeamFactory, UserFactory
from tests.oncall.comptime_fixtures import MORNING_AFTER, TUESDAY, after, local, span
from tests.oncall.paging_fixtures import layers, make_alert, payments_schedule, three_step_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(team_a, alice, bob):
    return payments_schedule(team_a, bob, alice)


@pytest.fixture
def dave(team_a):
    user = UserFactory(username="dave")
    MembershipFactory(user=user, team=team_a)
    return user


def set_policy(team, **changes):
    policy = services.comp_time_policy_for(team)
    CompTimePolicy.objects.filter(pk=policy.pk).update(**changes)


def grants():
    return list(CompTimeGrant.objects.order_by("user__username", "night_of"))


def run_at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """work(i) in `count` threads released together, each on its own connection."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()  # each thread's own connection, or teardown cannot drop the database

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- the cases ---------------------------------------------------------------------


def test_paged_0130_acknowledged_0135_resolved_0250_earns_a_grant(team_a, schedule, service_a, bob):
    service_a.escalation_policy = three_step_policy(team_a, schedule)
    service_a.save()
    paged = after(TUESDAY, 1, 30)
    page = paging.page_open(alert=make_alert(service_a, at=paged), now=paged)
    paging.page_acknowledge(page=page, by=bob, now=after(TUESDAY, 1, 35))
    paging.page_resolve(page=page, by=bob, now=after(TUESDAY, 2, 50))

    assert services.run_comp_time(now=MORNING_AFTER) == 1

    [grant] = grants()
    assert (grant.user, grant.team, grant.night_of) == (bob, team_a, TUESDAY)
    assert grant.worked_minutes == 75
    assert (grant.hours, grant.kind, grant.status) == (Decimal("4.0"), "morning_off", "proposed")


def test_a_45_minute_night_earns_nothing(team_a, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 15))
    assert services.run_comp_time(now=MORNING_AFTER) == 0
    assert grants() == []


def test_exactly_the_threshold_earns_nothing_one_minute_more_does(team_a, alice, bob):
    span(bob, team_a, after(TUESDAY, 1, 0), after(TUESDAY, 2, 0))
    span(alice, team_a, after(TUESDAY, 1, 0), after(TUESDAY, 2, 1))
    assert services.run_comp_time(now=MORNING_AFTER) == 1
    assert [g.user for g in grants()] == [alice]


def test_the_job_run_twice_grants_once(team_a, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    assert services.run_comp_time(now=MORNING_AFTER) == 1
    assert services.run_comp_time(now=MORNING_AFTER + dt.timedelta(minutes=15)) == 0
    assert len(grants()) == 1
    assert Notification.objects.filter(event=Event.COMP_TIME, recipient=bob).count() == 1


def test_the_task_run_twice_grants_once(team_a, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    with time_machine.travel(MORNING_AFTER, tick=False):
        assert grant_comp_time() == "granted 1"
        assert grant_comp_time() == "granted 0"
    assert len(grants()) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_jobs_at_once_grant_once(team_a, alice, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    results = run_at_once(4, lambda i: services.run_comp_time(now=MORNING_AFTER))
    assert sorted(results) == [0, 0, 0, 1], results
    assert len(grants()) == 1
    assert Notification.objects.filter(event=Event.COMP_TIME).count() == 2  # bob and alice, once each


def test_the_job_waits_until_the_night_and_its_grace_are_over(team_a, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    assert services.run_comp_time(now=after(TUESDAY, 7, 10)) == 0
    assert services.run_comp_time(now=after(TUESDAY, 7, 30)) == 1


def test_nights_past_the_look_back_are_left_alone(team_a, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    assert services.run_comp_time(now=MORNING_AFTER + services.LOOKBACK) == 0


def test_a_span_recorded_late_still_earns_within_the_look_back(team_a, bob):
    assert services.run_comp_time(now=MORNING_AFTER) == 0
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    assert services.run_comp_time(now=MORNING_AFTER + dt.timedelta(days=3)) == 1


def test_a_night_across_fall_back_in_new_york_counts_real_minutes(team_a, bob):
    # Saturday 2027-11-06 23:30 EDT to Sunday 01:20 EST: 1 h 50 on the wall clock, 2 h 50 real.
    set_policy(team_a, threshold_minutes=120, count_weekends=False)
    span(bob, team_a, dt.datetime(2027, 11, 7, 3, 30, tzinfo=dt.UTC), dt.datetime(2027, 11, 7, 6, 20, tzinfo=dt.UTC))
    assert services.run_comp_time(now=dt.datetime(2027, 11, 7, 13, 0, tzinfo=dt.UTC)) == 1
    [grant] = grants()
    assert (grant.night_of, grant.worked_minutes) == (dt.date(2027, 11, 6), 170)


def test_a_night_across_spring_forward_in_berlin_counts_real_minutes():
    # Saturday 2027-03-27 23:30 CET to Sunday 03:30 CEST: 4 hours on the wall clock, 3 real.
    team = TeamFactory(slug="platform", time_zone="Europe/Berlin")
    erin = UserFactory(username="erin")
    MembershipFactory(user=erin, team=team)
    set_policy(team, threshold_minutes=200, count_weekends=False)
    span(erin, team, dt.datetime(2027, 3, 27, 22, 30, tzinfo=dt.UTC), dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC))
    assert services.run_comp_time(now=dt.datetime(2027, 3, 28, 6, 0, tzinfo=dt.UTC)) == 0
    set_policy(team, threshold_minutes=179)
    assert services.run_comp_time(now=dt.datetime(2027, 3, 28, 6, 0, tzinfo=dt.UTC)) == 1
    assert grants()[0].worked_minutes == 180


def test_overlapping_page_and_work_log_spans_count_once(team_a, bob):
    # Page 01:35-02:20 (45 min) and a log 02:00-02:30 (30 min): 55 minutes, not 75.
    span(bob, team_a, after(TUESDAY, 1, 35), after(TUESDAY, 2, 20), source="page", reference="page:1")
    span(bob, team_a, after(TUESDAY, 2, 0), after(TUESDAY, 2, 30))
    assert services.run_comp_time(now=MORNING_AFTER) == 0
    span(bob, team_a, after(TUESDAY, 2, 25), after(TUESDAY, 2, 45))
    assert services.run_comp_time(now=MORNING_AFTER) == 1
    assert grants()[0].worked_minutes == 70


def test_only_the_team_of_the_work_counts(team_a, team_b, bob):
    MembershipFactory(user=bob, team=team_b)
    span(bob, team_a, after(TUESDAY, 1, 0), after(TUESDAY, 1, 40))
    span(bob, team_b, after(TUESDAY, 1, 40), after(TUESDAY, 2, 20))
    assert services.run_comp_time(now=MORNING_AFTER) == 0


def test_saturday_daytime_counts_when_the_policy_counts_weekends(team_a, bob):
    saturday = dt.date(2027, 1, 9)
    span(bob, team_a, local(saturday, 13), local(saturday, 15))
    monday_morning = local(dt.date(2027, 1, 11), 8)
    set_policy(team_a, count_weekends=False)
    assert services.run_comp_time(now=monday_morning) == 0
    set_policy(team_a, count_weekends=True)
    assert services.run_comp_time(now=monday_morning) == 1
    assert (grants()[0].night_of, grants()[0].worked_minutes) == (saturday, 120)


def test_holiday_daytime_counts_when_the_policy_counts_holidays(team_a, alice, bob):
    thursday = dt.date(2027, 1, 7)
    services.holiday_add(team=team_a, date=thursday, name="Founders' Day", by=alice)
    span(bob, team_a, local(thursday, 10), local(thursday, 12))
    friday_morning = local(dt.date(2027, 1, 8), 8)
    set_policy(team_a, count_holidays=False)
    assert services.run_comp_time(now=friday_morning) == 0
    set_policy(team_a, count_holidays=True)
    assert services.run_comp_time(now=friday_morning) == 1


# --- notifications and the proposed cover --------------------------------------------------


def test_a_grant_notifies_the_person_and_the_managers_once(team_a, alice, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    rows = Notification.objects.filter(event=Event.COMP_TIME).order_by("recipient__username")
    assert [r.recipient for r in rows] == [alice, bob]
    assert "80 minutes" in rows[1].body and "/my/comp-time/" in rows[1].body
    assert "/teams/payments/comp-time/" in rows[0].body


def test_a_morning_off_proposes_the_fairest_teammate_for_the_persons_next_morning_shift(
    team_a, schedule, alice, bob, dave
):
    # alice was secondary all week (after-hours load); dave had none: dave is fairer.
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    primary, _secondary = layers(schedule)
    [cover] = CompTimeCover.objects.all()
    assert (cover.layer, cover.proposed_user) == (primary, dave)
    # From the night's end (07:00) until noon, New York time.
    assert (cover.start_at, cover.end_at) == (after(TUESDAY, 7), after(TUESDAY, 12))
    assert "Proposed cover on" in Notification.objects.filter(recipient=alice).get().body


def test_a_secondary_shift_is_covered_too(team_a, schedule, alice, bob):
    span(alice, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    [cover] = grants()[0].covers.all()
    assert (cover.layer, cover.proposed_user) == (layers(schedule)[1], bob)


def test_no_cover_is_proposed_when_the_person_holds_no_shift_that_morning(team_a, schedule, dave):
    span(dave, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    [grant] = grants()
    assert (grant.user, grant.covers.count()) == (dave, 0)


def test_banked_hours_propose_no_cover(team_a, schedule, bob):
    set_policy(team_a, grant_kind=CompTimePolicy.Grant.HOURS, grant_hours=Decimal("2.0"))
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    [grant] = grants()
    assert (grant.kind, grant.hours, grant.covers.count()) == ("hours", Decimal("2.0"), 0)


def approve(grant, by, **kw):
    return services.comp_time_grant_decide(grant=grant, by=by, status="approved", now=MORNING_AFTER, **kw)


def test_approval_creates_the_override_and_on_call_at_shows_the_cover(team_a, schedule, alice, bob, dave):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    [grant] = grants()
    primary, _ = layers(schedule)
    nine = after(TUESDAY, 9)
    rule = sched.layer_rule(primary)
    assert schedule_rules.on_call_at(rule, sched.override_rules([primary], nine, nine), nine) == bob.pk

    grant = approve(grant, alice, note="Sleep well")

    assert (grant.status, grant.decided_by, grant.decided_at) == ("approved", alice, MORNING_AFTER)
    cover = grant.covers.get()
    assert (cover.override.user, cover.override.start_at, cover.override.end_at) == (
        dave,
        MORNING_AFTER,
        after(TUESDAY, 12),
    )
    overrides = sched.override_rules([primary], nine, nine + dt.timedelta(hours=4))
    assert schedule_rules.on_call_at(rule, overrides, nine) == dave.pk
    assert schedule_rules.on_call_at(rule, overrides, after(TUESDAY, 12)) == bob.pk
    told = Notification.objects.filter(event=Event.COMP_TIME, dedup_key__startswith=f"comptime:{grant.pk}:")
    assert {n.recipient.username for n in told} == {"alice", "bob", "dave"}
    assert "Dave covers you" in told.get(dedup_key__contains="decided").body


def test_the_manager_may_choose_another_cover_and_adjust_hours(team_a, schedule, alice, bob, dave):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    grant = approve(grants()[0], alice, hours="6", cover_user=alice)
    assert grant.hours == Decimal("6.0")
    assert grant.covers.get().override.user == alice
    assert comp_time_balance(team=team_a, user=bob).granted == Decimal("6.0")


def test_approval_after_the_morning_creates_no_override(team_a, schedule, alice, bob, dave):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    grant = services.comp_time_grant_decide(grant=grants()[0], by=alice, status="approved", now=after(TUESDAY, 13))
    assert grant.status == "approved"
    assert grant.covers.get().override is None


def test_decline_creates_nothing_and_tells_the_person(team_a, schedule, alice, bob):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    grant = services.comp_time_grant_decide(
        grant=grants()[0], by=alice, status="declined", note="Was a drill", now=MORNING_AFTER
    )
    assert grant.status == "declined" and grant.covers.get().override is None
    assert comp_time_balance(team=team_a, user=bob).granted == 0
    assert "Was a drill" in Notification.objects.get(dedup_key=f"comptime:{grant.pk}:decided:email").body


@pytest.mark.parametrize(
    ("who", "status", "extra", "message"),
    [
        ("bob", "approved", {}, "Only managers of Payments"),
        ("alice", "maybe", {}, "approved or declined"),
        ("alice", "approved", {"hours": "0"}, "between 0.5 and 24"),
        ("alice", "approved", {"hours": "2.3"}, "half-hour steps"),
        ("alice", "approved", {"hours": "lots"}, "as a number"),
    ],
)
def test_bad_decisions_are_refused_and_change_nothing(team_a, alice, bob, who, status, extra, message):
    grant = CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY)
    people = {"alice": alice, "bob": bob}
    with pytest.raises(DomainError, match=message):
        services.comp_time_grant_decide(grant=grant, by=people[who], status=status, now=MORNING_AFTER, **extra)
    grant.refresh_from_db()
    assert (grant.status, grant.decided_by, grant.hours) == ("proposed", None, Decimal("4.0"))
    assert not Notification.objects.exists()


def test_the_person_cannot_be_their_own_cover(team_a, alice, bob):
    grant = CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY)
    with pytest.raises(DomainError, match="taking the morning off"):
        approve(grant, alice, cover_user=bob)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_managers_deciding_one_grant_at_once_decide_it_once(team_a, schedule, alice, bob, dave):
    span(bob, team_a, after(TUESDAY, 1, 30), after(TUESDAY, 2, 50))
    services.run_comp_time(now=MORNING_AFTER)
    grant = grants()[0]
    Membership.objects.update_or_create(user=dave, team=team_a, defaults={"role": "manager"})
    deciders = [(alice, "approved"), (dave, "declined")]

    results = run_at_once(2, lambda i: services.comp_time_grant_decide(
        grant=grant, by=deciders[i][0], status=deciders[i][1], now=MORNING_AFTER
    ))  # fmt: skip

    decided = [r for r in results if isinstance(r, CompTimeGrant)]
    refused = [r for r in results if isinstance(r, ConflictError)]
    assert len(decided) == 1 and len(refused) == 1, results
    grant.refresh_from_db()
    assert grant.status == decided[0].status and grant.decided_by == decided[0].decided_by
    overrides = CompTimeCover.objects.filter(grant=grant, override__isnull=False).count()
    assert overrides == (1 if grant.status == "approved" else 0)
    assert Notification.objects.filter(dedup_key__startswith=f"comptime:{grant.pk}:decided:").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_uses_at_once_never_spend_more_than_is_left(team_a, alice, bob, dave):
    approve(CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY), alice)  # 4 h
    Membership.objects.update_or_create(user=dave, team=team_a, defaults={"role": "manager"})
    managers = [alice, dave]

    results = run_at_once(2, lambda i: services.comp_time_use_create(
        team=team_a, user=bob, taken_on=dt.date(2027, 1, 6), hours="3", by=managers[i]
    ))  # fmt: skip

    assert sum(isinstance(r, CompTimeUse) for r in results) == 1, results
    assert sum(isinstance(r, DomainError) and "1.0 h left" in r.message for r in results) == 1, results
    balance = comp_time_balance(team=team_a, user=bob)
    assert (balance.taken, balance.left) == (Decimal("3.0"), Decimal("1.0"))


def test_deciding_twice_is_a_conflict(team_a, alice, bob):
    grant = approve(CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY), alice)
    with pytest.raises(ConflictError, match="already approved"):
        services.comp_time_grant_decide(grant=grant, by=alice, status="declined", now=MORNING_AFTER)


# --- work logs -----------------------------------------------------------------------------

NOW = dt.datetime(2027, 1, 8, 15, 0, tzinfo=dt.UTC)


def log(user, by, team, start=None, end=None, note="Restarted the payouts worker"):
    return services.work_log_create(
        user=user,
        team=team,
        start_at=start or after(TUESDAY, 1, 30),
        end_at=end or after(TUESDAY, 2, 50),
        note=note,
        by=by,
        now=NOW,
    )


def test_a_person_logs_their_own_work_and_a_manager_logs_for_a_member(team_a, alice, bob):
    mine = log(bob, bob, team_a)
    for_bob = log(bob, alice, team_a, start=after(TUESDAY, 3), end=after(TUESDAY, 4))
    assert (mine.source, mine.created_by, for_bob.created_by) == ("manual", bob, alice)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": after(TUESDAY, 3), "end": after(TUESDAY, 2)}, "end must be after the start"),
        ({"start": NOW - dt.timedelta(hours=1), "end": NOW + dt.timedelta(minutes=1)}, "has not ended yet"),
        ({"start": after(TUESDAY, 1) - dt.timedelta(hours=24)}, "at most 24 hours"),
        ({"start": NOW - dt.timedelta(days=9), "end": NOW - dt.timedelta(days=8)}, "more than 7 days ago"),
        ({"note": "  "}, "Say briefly"),
        ({"start": dt.datetime(2027, 1, 6, 1, 30)}, "with a time zone"),
    ],
)
def test_bad_work_logs_are_refused_and_nothing_is_written(team_a, bob, kwargs, message):
    with pytest.raises(DomainError, match=message):
        log(bob, bob, team_a, **kwargs)
    assert not WorkLog.objects.exists()


def test_only_managers_log_work_for_someone_else(team_a, alice, bob):
    with pytest.raises(DomainError, match="Only managers of Payments can log work for someone else"):
        log(alice, bob, team_a)
    assert not WorkLog.objects.exists()


def test_work_is_logged_only_for_members(team_a, alice, charlie):
    with pytest.raises(DomainError, match="Charlie is not a member of Payments"):
        log(charlie, alice, team_a)
    with pytest.raises(DomainError, match="Charlie is not a member of Payments"):
        log(charlie, charlie, team_a)
    assert not WorkLog.objects.exists()


def test_recorded_spans_are_idempotent_on_their_reference(team_a, bob):
    first = services.work_log_record(
        user=bob,
        team=team_a,
        start_at=after(TUESDAY, 1),
        end_at=after(TUESDAY, 2),
        source="incident",
        reference="incident:7:commander:3",
    )
    again = services.work_log_record(
        user=bob,
        team=team_a,
        start_at=after(TUESDAY, 1),
        end_at=after(TUESDAY, 3),
        source="incident",
        reference="incident:7:commander:3",
    )
    assert again == first and WorkLog.objects.count() == 1


@pytest.mark.parametrize(
    ("source", "reference", "message"),
    [("manual", "x:1", "people log manual work"), ("incident", "", "needs its reference")],
)
def test_recording_refuses_manual_spans_and_missing_references(team_a, bob, source, reference, message):
    with pytest.raises(DomainError, match=message):
        services.work_log_record(
            user=bob,
            team=team_a,
            start_at=after(TUESDAY, 1),
            end_at=after(TUESDAY, 2),
            source=source,
            reference=reference,
        )
    assert not WorkLog.objects.exists()


def test_recorded_spans_cannot_be_edited_or_removed(team_a, alice, bob):
    page_span = span(bob, team_a, after(TUESDAY, 1), after(TUESDAY, 2), source="page", reference="page:9")
    with pytest.raises(DomainError, match="recorded from page"):
        services.work_log_update(log=page_span, by=alice, note="changed", now=NOW)
    with pytest.raises(DomainError, match="recorded from page"):
        services.work_log_delete(log=page_span, by=bob)
    page_span.refresh_from_db()
    assert page_span.note == "Worked after hours"


def test_manual_logs_are_changed_and_removed_by_their_person_or_a_manager(team_a, alice, bob, dave):
    entry = log(bob, bob, team_a)
    services.work_log_update(log=entry, by=alice, end_at=after(TUESDAY, 3), now=NOW)
    entry.refresh_from_db()
    assert entry.end_at == after(TUESDAY, 3)
    with pytest.raises(DomainError, match="Only managers"):
        services.work_log_delete(log=entry, by=dave)
    services.work_log_delete(log=entry, by=bob)
    assert not WorkLog.objects.exists()


# --- policy, holidays, time taken ----------------------------------------------------------


def test_the_policy_is_written_with_the_playbook_defaults_once(team_a):
    first = services.comp_time_policy_for(team_a)
    assert services.comp_time_policy_for(team_a) == first
    assert (first.night_start, first.night_end, first.threshold_minutes) == (dt.time(22), dt.time(7), 60)
    assert (first.count_weekends, first.count_holidays, first.grant_kind) == (True, True, "morning_off")


def test_managers_change_the_policy(team_a, alice):
    policy = services.comp_time_policy_update(team=team_a, by=alice, threshold_minutes=90, night_start=dt.time(23))
    policy.refresh_from_db()
    assert (policy.threshold_minutes, policy.night_start) == (90, dt.time(23))


@pytest.mark.parametrize(
    ("who", "changes", "message"),
    [
        ("bob", {"threshold_minutes": 10}, "Only managers of Payments"),
        ("alice", {"night_start": dt.time(7)}, "end at another time"),
        ("alice", {"threshold_minutes": 5000}, "less than or equal to 1440"),
        ("alice", {"grant_hours": Decimal("30")}, "between 0.5 and 24"),
        ("alice", {"grant_kind": "beer"}, "not a valid choice"),
        ("alice", {"updated_at": None}, "cannot be changed here"),
    ],
)
def test_bad_policy_changes_are_refused(team_a, alice, bob, who, changes, message):
    services.comp_time_policy_for(team_a)
    people = {"alice": alice, "bob": bob}
    with pytest.raises(DomainError, match=message):
        services.comp_time_policy_update(team=team_a, by=people[who], **changes)
    policy = CompTimePolicy.objects.get(team=team_a)
    assert (policy.night_start, policy.threshold_minutes, policy.grant_kind) == (dt.time(22), 60, "morning_off")


def test_holidays_are_added_once_and_removed_by_managers(team_a, alice, bob):
    holiday = services.holiday_add(team=team_a, date=dt.date(2027, 11, 25), name="Thanksgiving", by=alice)
    with pytest.raises(DomainError, match="already a holiday"):
        services.holiday_add(team=team_a, date=dt.date(2027, 11, 25), name="Again", by=alice)
    with pytest.raises(DomainError, match="Name the holiday"):
        services.holiday_add(team=team_a, date=dt.date(2027, 12, 25), name=" ", by=alice)
    with pytest.raises(DomainError, match="Only managers"):
        services.holiday_add(team=team_a, date=dt.date(2027, 12, 25), name="Christmas", by=bob)
    with pytest.raises(DomainError, match="Only managers"):
        services.holiday_remove(holiday=holiday, by=bob)
    assert Holiday.objects.count() == 1
    services.holiday_remove(holiday=holiday, by=alice)
    assert not Holiday.objects.exists()


def test_the_balance_is_granted_minus_taken(team_a, alice, bob):
    approve(CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY), alice)
    approve(CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY + dt.timedelta(days=1), hours=2), alice)
    CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY + dt.timedelta(days=2))  # still proposed
    services.comp_time_use_create(team=team_a, user=bob, taken_on=dt.date(2027, 1, 6), hours="4", by=alice)
    balance = comp_time_balance(team=team_a, user=bob)
    assert (balance.granted, balance.taken, balance.left) == (Decimal("6.0"), Decimal("4.0"), Decimal("2.0"))


@pytest.mark.parametrize(
    ("who", "user", "hours", "message"),
    [
        ("alice", "bob", "5", "Bob has 4.0 h left"),
        ("bob", "bob", "1", "Only managers of Payments"),
        ("alice", "charlie", "1", "Charlie is not a member"),
        ("alice", "bob", "0", "between 0.5 and 24"),
    ],
)
def test_bad_time_taken_is_refused(team_a, alice, bob, charlie, who, user, hours, message):
    approve(CompTimeGrantFactory(user=bob, team=team_a, night_of=TUESDAY), alice)
    people = {"alice": alice, "bob": bob, "charlie": charlie}
    with pytest.raises(DomainError, match=message):
        services.comp_time_use_create(
            team=team_a, user=people[user], taken_on=dt.date(2027, 1, 6), hours=hours, by=people[who]
        )
    assert not CompTimeUse.objects.exists()
