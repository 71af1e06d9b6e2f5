"""Pages: open, escalate with explicit instants, acknowledge, resolve, audit."""

from __future__ import annotations

import datetime as dt

import pytest

from config.errors import ConflictError, DomainError
from oncall.models import Alert, EscalationStep, Notification, Page, PageEvent, StepTarget, WorkLog
from oncall.models.notifications import Event
from oncall.services import paging
from oncall.services.escalation_policies import escalation_policy_default
from tests.factories import UserFactory
from tests.oncall.paging_fixtures import T0, layers, make_alert, minutes, payments_schedule, three_step_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(team_a, alice, bob):
    return payments_schedule(team_a, bob, alice)


@pytest.fixture
def policy(team_a, schedule, service_a):
    policy = three_step_policy(team_a, schedule, repeats=1)
    service_a.escalation_policy = policy
    service_a.save()
    return policy


def paged(page: Page) -> list[tuple[str, int, int]]:
    """(username, round, step) of every PAGE notification of the page, in order."""
    rows = Notification.objects.filter(event=Event.PAGE, dedup_key__startswith=f"page:{page.pk}:r").order_by("pk")
    result = []
    for row in rows:
        round_, step = row.dedup_key.split(":")[2:4]  # page:<pk>:r<round>:s<step>:u<user>…
        result.append((row.recipient.username, int(round_[1:]), int(step[1:])))
    return result


def kinds(page: Page) -> list[str]:
    return list(page.events.order_by("at", "pk").values_list("kind", flat=True))


def test_opening_a_page_freezes_the_policy_and_pages_the_primary_at_once(policy, service_a, bob):
    alert = make_alert(service_a)

    page = paging.page_open(alert=alert, now=T0)

    assert page.status == Page.Status.TRIGGERED
    assert page.policy_snapshot["name"] == "Payments standard"
    assert page.policy_snapshot["time_zone"] == "America/New_York"
    assert [s["wait_minutes"] for s in page.policy_snapshot["steps"]] == [5, 10, 5]
    assert page.policy_snapshot["steps"][0]["targets"][0]["label"] == "On call: Payments on-call > Primary"
    assert paged(page) == [("bob", 0, 0)]
    assert kinds(page) == ["triggered", "notified"]
    event = page.events.get(kind=PageEvent.Kind.NOTIFIED)
    assert (event.user, event.channel, event.notification.recipient) == (bob, "email", bob)
    assert page.next_step_at == T0 + minutes(5)
    assert (page.step_index, page.round_index) == (1, 0)


def test_opening_twice_for_one_alert_returns_the_same_page(policy, service_a):
    alert = make_alert(service_a)
    first = paging.page_open(alert=alert, now=T0)
    assert paging.page_open(alert=alert, now=T0 + minutes(1)) == first
    assert Page.objects.count() == 1 and len(paged(first)) == 1


def test_escalation_runs_each_step_on_time_then_repeats_then_stops(policy, service_a, alice):
    page = paging.page_open(alert=make_alert(service_a), now=T0)

    assert paging.run_escalations(now=T0 + minutes(4)) == 0
    assert paging.run_escalations(now=T0 + minutes(5)) == 1  # secondary
    assert paging.run_escalations(now=T0 + minutes(14)) == 0
    assert paging.run_escalations(now=T0 + minutes(15)) == 1  # managers
    assert paging.run_escalations(now=T0 + minutes(20)) == 1  # round 2: primary again
    assert paging.run_escalations(now=T0 + minutes(25)) == 1
    assert paging.run_escalations(now=T0 + minutes(35)) == 1
    assert paging.run_escalations(now=T0 + minutes(40)) == 1  # exhausted
    assert paging.run_escalations(now=T0 + minutes(90)) == 0

    page.refresh_from_db()
    assert paged(page) == [
        ("bob", 0, 0), ("alice", 0, 1), ("alice", 0, 2),
        ("bob", 1, 0), ("alice", 1, 1), ("alice", 1, 2),
    ]  # fmt: skip
    assert page.next_step_at is None and page.status == Page.Status.TRIGGERED
    assert kinds(page).count(PageEvent.Kind.REPEATED) == 1
    assert kinds(page)[-1] == PageEvent.Kind.EXHAUSTED
    told = Notification.objects.filter(dedup_key__startswith=f"page:{page.pk}:exhausted:")
    assert [n.recipient for n in told] == [alice]


def test_a_late_sweeper_gives_the_next_person_their_full_wait(policy, service_a):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    paging.run_escalations(now=T0 + minutes(8))
    page.refresh_from_db()
    assert page.next_step_at == T0 + minutes(18)


def test_running_the_sweeper_twice_at_the_same_instant_notifies_once(policy, service_a):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    assert paging.run_escalations(now=T0 + minutes(5)) == 1
    assert paging.run_escalations(now=T0 + minutes(5)) == 0
    assert paged(page) == [("bob", 0, 0), ("alice", 0, 1)]
    assert kinds(page).count(PageEvent.Kind.NOTIFIED) == 2


def test_the_sweeper_works_in_bounded_batches(policy, service_a):
    for i in range(3):
        paging.page_open(alert=make_alert(service_a, dedup_key=f"k{i}"), now=T0 + dt.timedelta(seconds=i))
    assert paging.run_escalations(now=T0 + minutes(6), batch=2) == 2
    assert paging.run_escalations(now=T0 + minutes(6), batch=2) == 1


def test_acknowledging_stops_escalation_and_tells_those_already_paged(policy, service_a, alice, bob):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    paging.run_escalations(now=T0 + minutes(5))  # alice paged too

    page = paging.page_acknowledge(page=page, by=bob, now=T0 + minutes(6))

    assert (page.status, page.acknowledged_by, page.next_step_at) == (Page.Status.ACKNOWLEDGED, bob, None)
    assert paging.run_escalations(now=T0 + minutes(60)) == 0
    assert len(paged(page)) == 2
    told = Notification.objects.filter(event=Event.PAGE_ACKNOWLEDGED)
    assert [n.recipient for n in told] == [alice]
    assert "bob is on it" in told[0].subject.lower() or "Bob is on it" in told[0].subject


def test_a_second_acknowledgement_records_nothing(policy, service_a, alice, bob):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    paging.page_acknowledge(page=page, by=bob, now=T0 + minutes(1))

    again = paging.page_acknowledge(page=page, by=bob, now=T0 + minutes(2))
    assert again.acknowledged_at == T0 + minutes(1)
    with pytest.raises(ConflictError, match="already acknowledged"):
        paging.page_acknowledge(page=page, by=alice, now=T0 + minutes(3))
    assert kinds(page).count(PageEvent.Kind.ACKNOWLEDGED) == 1


def test_an_outsider_cannot_act_on_a_page(policy, service_a, charlie):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    with pytest.raises(DomainError, match="Only members of Payments"):
        paging.page_acknowledge(page=page, by=charlie, now=T0)
    with pytest.raises(DomainError):
        paging.page_resolve(page=page, by=charlie, now=T0)
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED
    assert kinds(page) == ["triggered", "notified"]


def test_editing_the_policy_mid_page_changes_nothing_under_way(policy, schedule, service_a, alice, bob):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    # Remove the secondary step, make waits long, stop repeating, point step 1 elsewhere.
    policy.steps.filter(position=2).delete()
    EscalationStep.objects.filter(policy=policy).update(wait_minutes=60)
    policy.repeats = 0
    policy.save()
    StepTarget.objects.filter(step__policy=policy).update(kind="managers", layer=None)

    for m in (5, 15, 20, 25, 35, 40):
        paging.run_escalations(now=T0 + minutes(m))

    assert [(user, step) for user, _round, step in paged(page)] == [
        ("bob", 0), ("alice", 1), ("alice", 2), ("bob", 0), ("alice", 1), ("alice", 2),
    ]  # fmt: skip


def test_a_step_outside_its_window_is_skipped_in_the_team_zone(policy, team_a, service_a, schedule):
    # Step 2 (secondary) only at night in New York; 10:05 local is not night.
    EscalationStep.objects.filter(policy=policy, position=2).update(
        window_start=dt.time(22, 0), window_end=dt.time(7, 0)
    )
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    paging.run_escalations(now=T0 + minutes(5))
    assert [step for _u, _r, step in paged(page)] == [0, 2]
    skipped = page.events.filter(kind=PageEvent.Kind.ESCALATED).last()
    assert "step 2 skipped (outside 22:00-07:00 America/New_York)" in skipped.message


def test_a_night_step_applies_at_three_in_the_morning_local(policy, service_a):
    EscalationStep.objects.filter(policy=policy, position=2).update(
        window_start=dt.time(22, 0), window_end=dt.time(7, 0)
    )
    night = dt.datetime(2027, 1, 6, 8, 0, tzinfo=dt.UTC)  # 03:00 in New York
    page = paging.page_open(alert=make_alert(service_a, at=night), now=night)
    paging.run_escalations(now=night + minutes(5))
    assert [step for _u, _r, step in paged(page)] == [0, 1]


def test_a_weekday_step_is_read_in_the_team_zone(policy, service_a):
    # 2027-01-06 02:00 UTC is Wednesday in UTC but still Tuesday 21:00 in New York.
    EscalationStep.objects.filter(policy=policy, position=1).update(weekdays=[1])  # Tuesday
    instant = dt.datetime(2027, 1, 6, 2, 0, tzinfo=dt.UTC)
    page = paging.page_open(alert=make_alert(service_a, at=instant), now=instant)
    assert [step for _u, _r, step in paged(page)] == [0]


def test_critical_only_steps_page_only_for_critical_alerts(policy, service_a):
    EscalationStep.objects.filter(policy=policy, position=1).update(only_critical=True)
    error_page = paging.page_open(alert=make_alert(service_a, dedup_key="e"), now=T0)
    critical_page = paging.page_open(alert=make_alert(service_a, dedup_key="c", severity="critical"), now=T0)
    assert [step for _u, _r, step in paged(error_page)] == [1]
    assert [step for _u, _r, step in paged(critical_page)] == [0]


def test_a_step_that_reaches_nobody_says_so(team_a, service_a, alice, schedule):
    primary, _ = layers(schedule)
    primary.participants.all().delete()
    policy = three_step_policy(team_a, schedule)
    service_a.escalation_policy = policy
    service_a.save()
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    nobody = page.events.get(kind=PageEvent.Kind.NOBODY)
    assert "reached nobody" in nobody.message
    assert page.next_step_at == T0 + minutes(5)


def test_without_any_policy_the_team_managers_are_paged_and_it_is_logged(service_a, alice, bob):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    assert page.policy_snapshot["source"] == "managers_fallback"
    assert paged(page) == [("alice", 0, 0)]
    assert "No escalation policy" in page.events.get(kind=PageEvent.Kind.TRIGGERED).message


def test_a_service_without_a_policy_uses_the_team_default(team_a, schedule, service_a, alice, bob):
    escalation_policy_default(team=team_a, executives=[])
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    assert page.policy_snapshot["source"] == "team_default"
    assert paged(page) == [("bob", 0, 0)]


def test_resolving_an_acknowledged_page_records_the_responders_work(policy, service_a, bob):
    alert = make_alert(service_a)
    page = paging.page_open(alert=alert, now=T0)
    paging.page_acknowledge(page=page, by=bob, now=T0 + minutes(5))

    page = paging.page_resolve(page=page, by=bob, now=T0 + minutes(80))

    alert.refresh_from_db()
    assert (page.status, page.resolved_by, alert.status) == (Page.Status.RESOLVED, bob, Alert.Status.RESOLVED)
    log = WorkLog.objects.get()
    assert (log.user, log.source, log.page, log.reference) == (bob, "page", page, f"page:{page.pk}")
    assert (log.start_at, log.end_at) == (T0 + minutes(5), T0 + minutes(80))
    with pytest.raises(ConflictError, match="already resolved"):
        paging.page_resolve(page=page, by=bob, now=T0 + minutes(81))
    assert WorkLog.objects.count() == 1


def test_resolving_an_unacknowledged_page_records_no_work(policy, service_a, bob):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    paging.page_resolve(page=page, by=bob, now=T0 + minutes(3))
    assert not WorkLog.objects.exists()
    assert paging.run_escalations(now=T0 + minutes(60)) == 0


def test_the_tool_resolving_the_alert_resolves_the_page_once(policy, service_a, bob):
    alert = make_alert(service_a)
    page = paging.page_open(alert=alert, now=T0)
    paging.page_acknowledge(page=page, by=bob, now=T0 + minutes(2))

    paging.page_resolve_from_alert(alert=alert, now=T0 + minutes(30))
    paging.page_resolve_from_alert(alert=alert, now=T0 + minutes(31))

    page.refresh_from_db()
    assert (page.status, page.resolved_at, page.resolved_by) == (Page.Status.RESOLVED, T0 + minutes(30), None)
    assert kinds(page).count(PageEvent.Kind.RESOLVED) == 1
    assert WorkLog.objects.get().end_at == T0 + minutes(30)


def test_a_repeated_alert_is_logged_at_most_once_a_minute_and_pages_nobody(policy, service_a):
    alert = make_alert(service_a)
    page = paging.page_open(alert=alert, now=T0)
    for seconds in (10, 20, 50, 70):
        paging.page_alert_repeated(alert=alert, now=T0 + dt.timedelta(seconds=seconds))
    assert kinds(page).count(PageEvent.Kind.ALERT_REPEATED) == 2
    assert len(paged(page)) == 1


def test_escalate_now_runs_the_next_step_at_once(policy, service_a, bob):
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    page = paging.page_escalate_now(page=page, by=bob, now=T0 + minutes(1))
    assert paged(page) == [("bob", 0, 0), ("alice", 0, 1)]
    assert page.next_step_at == T0 + minutes(11)
    event = page.events.filter(kind=PageEvent.Kind.ESCALATED).get()
    assert event.user == bob and "Escalated by" in event.message
    paging.page_acknowledge(page=page, by=bob, now=T0 + minutes(2))
    with pytest.raises(ConflictError, match="nothing to escalate"):
        paging.page_escalate_now(page=page, by=bob, now=T0 + minutes(3))


def test_the_auditor_flags_a_stalled_page_and_tells_administrators_once(policy, service_a):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    page = paging.page_open(alert=make_alert(service_a), now=T0)

    assert paging.run_escalation_audit(now=T0 + minutes(6)) == 0  # within the grace period
    assert paging.run_escalation_audit(now=T0 + minutes(8)) == 1
    assert paging.run_escalation_audit(now=T0 + minutes(9)) == 0

    page.refresh_from_db()
    assert page.stalled_at == T0 + minutes(8)
    assert kinds(page).count(PageEvent.Kind.STALLED) == 1
    told = Notification.objects.filter(event=Event.PAGE_STALLED)
    assert [n.recipient for n in told] == [admin]

    # The sweeper catches up: the flag clears; a later stall is flagged again but told once.
    paging.run_escalations(now=T0 + minutes(10))
    page.refresh_from_db()
    assert page.stalled_at is None
    assert paging.run_escalation_audit(now=T0 + minutes(30)) == 1
    assert Notification.objects.filter(event=Event.PAGE_STALLED).count() == 1


def test_the_page_says_what_broke_where_to_look_and_how_to_acknowledge(policy, service_a):
    service_a.runbook_logs = 'Loki: {app="payments"} |= "error"'
    service_a.save()
    alert = make_alert(
        service_a, details="p99 > 2s on /checkout", links=[{"href": "https://grafana/x", "text": "Panel"}]
    )
    page = paging.page_open(alert=alert, now=T0)

    body = Notification.objects.get(event=Event.PAGE).body
    assert "Checkout error rate above 5%" in body and "p99 > 2s on /checkout" in body
    assert "Panel: https://grafana/x" in body
    assert "https://grafana.example.com/d/api" in body and 'Loki: {app="payments"}' in body
    assert "Not in the runbook yet: Dependencies to check" in body
    assert "/page-links/" in body and f"/pages/{page.pk}/" in body
    assert "5 minutes" in body


def _paged_minutes(page: Page) -> list[tuple[int, str]]:
    """(minutes after opening, username) of every PAGE notification."""
    rows = Notification.objects.filter(event=Event.PAGE, dedup_key__startswith=f"page:{page.pk}:r").order_by("pk")
    return [(int((r.created_at - page.created_at).total_seconds() // 60), r.recipient.username) for r in rows]


def _sweep(until: int) -> None:
    for minute in range(until + 1):
        paging.run_escalations(now=T0 + minutes(minute))


def test_the_default_policy_follows_the_seeds_for_a_critical_page(team_a, schedule, service_a, alice, bob):
    lead = UserFactory(username="pat", is_staff=True)
    ceo = UserFactory(username="erin", is_staff=True)
    policy = escalation_policy_default(team=team_a, platform_lead=lead, executives=[ceo])
    assert escalation_policy_default(team=team_a) == policy  # idempotent
    page = paging.page_open(alert=make_alert(service_a, severity="critical"), now=T0)
    _sweep(30)
    # primary, secondary, team lead, management at 15, platform lead at 20, executives at 30
    assert _paged_minutes(page) == [(0, "bob"), (5, "alice"), (10, "alice"), (15, "alice"), (20, "pat"), (30, "erin")]


def test_the_default_policy_pages_the_platform_lead_at_15_for_other_pages(team_a, schedule, service_a):
    lead = UserFactory(username="pat", is_staff=True)
    escalation_policy_default(team=team_a, platform_lead=lead, executives=[])
    page = paging.page_open(alert=make_alert(service_a), now=T0)
    _sweep(25)
    assert _paged_minutes(page) == [(0, "bob"), (5, "alice"), (10, "alice"), (15, "pat"), (25, "bob")]


def test_the_default_policy_takes_staff_users_as_executives(team_a, schedule):
    UserFactory(username="exec", is_staff=True)
    policy = escalation_policy_default(team=team_a)
    last = policy.steps.order_by("position").last()
    assert last.only_critical and [t.user.username for t in last.targets.all()] == ["exec"]
