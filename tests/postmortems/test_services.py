"""Postmortems and action items through the services, and the deadline sweepers."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection

from config.celery import app as celery_app
from config.errors import ConflictError, DomainError
from incidents import services as incidents
from incidents.metrics import extra_figures
from incidents.selectors import incident_list_visible
from oncall.models import Notification
from postmortems import services
from postmortems.models import ActionItem, Postmortem
from postmortems.tasks import enforce_postmortem_deadlines

NOW = dt.datetime(2027, 1, 15, 22, 0, tzinfo=dt.UTC)  # Friday 17:00 in New York


def at(hours: float) -> dt.datetime:
    return NOW + dt.timedelta(hours=hours)


@pytest.fixture
def resolved(team_a, alice):
    incident = incidents.incident_declare(team=team_a, title="Payments API failing", severity=1, by=alice, now=at(-2))
    incidents.incident_resolve(incident=incident, by=alice, reason="Rolled back", now=NOW)
    return incident


def test_resolving_a_sev1_opens_its_postmortem_owned_by_the_commander(
    django_capture_on_commit_callbacks, team_a, alice
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = incidents.incident_declare(team=team_a, title="Down", severity=1, by=alice, now=at(-2))
        incidents.incident_resolve(incident=incident, by=alice, reason="Fixed", now=NOW)
    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.owner == alice and postmortem.due_at == NOW + dt.timedelta(hours=48)
    assert any("Declared as SEV-1" in fact["text"] for fact in postmortem.timeline)
    assert Notification.objects.filter(event="postmortem_assigned", recipient=alice).count() == 1


def test_the_postmortem_goes_to_the_last_commander_after_a_handover(
    django_capture_on_commit_callbacks, team_a, alice, bob
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = incidents.incident_declare(team=team_a, title="Down", severity=1, by=bob, now=at(-2))
        incidents.role_assign(incident=incident, role="commander", user=alice, by=bob, now=at(-1))
        incidents.incident_resolve(incident=incident, by=alice, reason="Fixed", now=NOW)
    assert Postmortem.objects.get(incident=incident).owner == alice


def test_a_sev3_gets_no_postmortem_unless_asked(django_capture_on_commit_callbacks, team_a, alice):
    with django_capture_on_commit_callbacks(execute=True):
        incident = incidents.incident_declare(team=team_a, title="Slow", severity=3, by=alice, now=at(-2))
        incidents.incident_resolve(incident=incident, by=alice, reason="Fine", now=NOW)
    assert not Postmortem.objects.exists()
    services.postmortem_create(incident=incident, by=alice, now=NOW)
    services.postmortem_create(incident=incident, by=alice, now=NOW)
    assert Postmortem.objects.count() == 1


def test_the_sweeper_creates_missing_postmortems(resolved):
    assert Postmortem.objects.count() == 0  # the signal's receiver never ran in this test
    assert services.run_missing_postmortems(now=at(1)) == 1
    assert services.run_missing_postmortems(now=at(2)) == 0


def test_business_days_policy_uses_the_team_zone(resolved, team_a):
    policy = services.policy_for(team_a)
    policy.due_kind, policy.due_business_days = "business_days", 3
    policy.save()
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    assert postmortem.due_at == dt.datetime(2027, 1, 20, 22, 0, tzinfo=dt.UTC)  # Wednesday 17:00 New York


def test_deadline_reminders_overdue_and_escalation_each_once(resolved, alice):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    for hours in (10, 30, 31, 50, 51, 73, 74):
        services.run_postmortem_deadlines(now=at(hours))
        services.run_postmortem_deadlines(now=at(hours))
    events = list(Notification.objects.filter(payload__postmortem=postmortem.pk).values_list("event", "dedup_key"))
    kinds = sorted(key.split(":")[2] for _event, key in events)
    assert kinds == ["assigned", "escalated", "overdue", "reminder"]
    postmortem.refresh_from_db()
    assert postmortem.overdue_since == postmortem.due_at


def test_a_postmortem_first_swept_after_its_due_time_is_not_called_due_soon(resolved, alice):
    # The beat was down through the reminder window: the owner hears it is overdue, not "due soon".
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    services.run_postmortem_deadlines(now=postmortem.due_at + dt.timedelta(hours=1))
    keys = Notification.objects.filter(payload__postmortem=postmortem.pk).values_list("dedup_key", flat=True)
    assert sorted(key.split(":")[2] for key in keys) == ["assigned", "overdue"]


def test_publishing_needs_reviewers_and_a_root_cause_and_then_freezes(resolved, alice, bob):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    with pytest.raises(DomainError, match="reviewer"):
        services.postmortem_transition(postmortem=postmortem, status="in_review", by=alice)
    services.postmortem_transition(postmortem=postmortem, status="in_review", by=alice, reviewers=[bob])
    with pytest.raises(DomainError, match="root cause"):
        services.postmortem_transition(postmortem=postmortem, status="published", by=alice)
    services.postmortem_update(postmortem=postmortem, by=alice, root_cause="A config change lowered the pool size.")
    services.postmortem_transition(postmortem=postmortem, status="published", by=alice, now=at(5))
    with pytest.raises(ConflictError, match="read-only"):
        services.postmortem_update(postmortem=postmortem, by=alice, summary="changed")


def test_blameless_warnings_come_back_from_an_edit(resolved, alice):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    findings = services.postmortem_update(postmortem=postmortem, by=alice, root_cause="Human error by Alice.")
    assert {f.text for f in findings} == {"human error", "Alice"}
    postmortem.refresh_from_db()
    assert postmortem.root_cause == "Human error by Alice."  # a warning, never a block


def test_outsider_cannot_edit(resolved, charlie):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    with pytest.raises(DomainError):
        services.postmortem_update(postmortem=postmortem, by=charlie, summary="x")


def test_action_item_lifecycle_needs_evidence_or_a_reason(resolved, alice, bob):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    item = services.action_item_create(postmortem=postmortem, by=alice, title="Alert on DB pool above 80%", owner=bob)
    assert item.missing == ["due date", "how we verify"]
    with pytest.raises(DomainError, match="verified"):
        services.action_item_set_status(item=item, status="done", by=bob)
    with pytest.raises(DomainError, match="why"):
        services.action_item_set_status(item=item, status="wont_do", by=bob)
    done = services.action_item_set_status(item=item, status="done", by=bob, evidence="Alert fired in a drill", now=NOW)
    assert done.done_at == NOW and not done.is_open


def test_bad_action_items_write_nothing(resolved, alice, charlie):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    with pytest.raises(DomainError):
        services.action_item_create(postmortem=postmortem, by=alice, title=" ")
    with pytest.raises(DomainError, match="not a member"):
        services.action_item_create(postmortem=postmortem, by=alice, title="Add canary", owner=charlie)
    assert not ActionItem.objects.exists()


def test_vague_titles_get_a_hint():
    assert services.vague_hint("Improve monitoring")
    assert services.vague_hint("Alert when the DB pool is above 80% for 5 minutes") == ""


def test_action_item_reminders_overdue_and_escalation_keep_going_after_closing(resolved, alice, bob):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    item = services.action_item_create(
        postmortem=postmortem, by=alice, title="Add canary on DB limits", owner=bob, due_date=dt.date(2027, 2, 1)
    )
    incidents.incident_transition(incident=resolved, status="closed", by=alice, now=at(1))
    for day in (29, 30, 31, 32, 35, 36):  # Jan 29 (3 days before) … Feb 5
        now = (
            dt.datetime(2027, 1, day, 15, tzinfo=dt.UTC)
            if day <= 31
            else dt.datetime(2027, 2, day - 31, 15, tzinfo=dt.UTC)
        )
        services.run_action_item_deadlines(now=now)
        services.run_action_item_deadlines(now=now)
    keys = sorted(
        k.split(":")[3]
        for k in Notification.objects.filter(payload__action_item=item.pk).values_list("dedup_key", flat=True)
    )
    assert keys == ["escalated", "overdue", "soon", "today"]
    item.refresh_from_db()
    assert item.overdue_since is not None


def test_weekly_digest_once_per_manager_and_week(resolved, alice, bob):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    services.run_postmortem_deadlines(now=at(60))
    assert services.run_manager_digest(now=at(60)) == 1
    assert services.run_manager_digest(now=at(61)) == 0
    assert Notification.objects.filter(event="manager_digest", recipient=alice).count() == 1
    assert postmortem.incident.reference in Notification.objects.get(event="manager_digest").body


def test_bulk_reassignment_only_for_managed_teams(resolved, alice, bob):
    postmortem = services.postmortem_create(incident=resolved, now=NOW)
    items = [
        services.action_item_create(postmortem=postmortem, by=alice, title=f"Fix {n} things", owner=alice)
        for n in range(3)
    ]
    with pytest.raises(DomainError, match="do not manage"):
        services.action_items_reassign(items=items, owner=bob, by=bob)
    assert services.action_items_reassign(items=items, owner=bob, by=alice) == 3


@pytest.mark.postgres(reason="two sweepers at once")
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_notify_once(team_a, alice):
    incident = incidents.incident_declare(team=team_a, title="Down", severity=1, by=alice, now=at(-2))
    incidents.incident_resolve(incident=incident, by=alice, reason="Fixed", now=NOW)
    services.postmortem_create(incident=incident, now=NOW)

    def sweep() -> None:
        try:
            services.run_postmortem_deadlines(now=at(80))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Notification.objects.filter(event="postmortem_overdue", recipient=alice).count() == 2  # owner + manager


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_creates_the_missing_postmortem_and_mails_its_owner(team_a, alice):
    resolved_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    incident = incidents.incident_declare(
        team=team_a, title="Down", severity=2, by=alice, now=resolved_at - dt.timedelta(hours=1)
    )
    incidents.incident_resolve(incident=incident, by=alice, reason="Fixed", now=resolved_at)
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        enforce_postmortem_deadlines.delay()
        deadline = time.monotonic() + 20
        while not [m for m in mail.outbox if incident.reference in m.subject] and time.monotonic() < deadline:
            time.sleep(0.1)
    assert Postmortem.objects.filter(incident=incident, owner=alice).exists()
    assert [m.to for m in mail.outbox if incident.reference in m.subject] == [[alice.email]]


def test_repeat_rate_counts_incidents_sharing_a_factor_on_the_same_service(team_a, alice, service_a):
    def reviewed(title: str, hours: int, kind: str, services_=(service_a,)):
        incident = incidents.incident_declare(
            team=team_a, title=title, severity=2, by=alice, services=list(services_), now=at(hours)
        )
        incidents.incident_resolve(incident=incident, by=alice, reason="Fixed", now=at(hours + 1))
        postmortem = services.postmortem_create(incident=incident, now=at(hours + 1))
        services.factor_add(postmortem=postmortem, kind=kind, description="", by=alice)
        return incident

    reviewed("Pool exhausted", 1, "missing_alert")
    reviewed("Pool exhausted again", 10, "missing_alert")
    reviewed("Bad deploy", 20, "risky_deploy")
    reviewed("Elsewhere", 30, "missing_alert", services_=())
    figures = extra_figures(incident_list_visible(user=alice))
    assert (figures["repeats"], figures["reviewed"]) == (1, 4)
    assert figures["repeat_rate"] == 0.25


@pytest.mark.postgres(reason="two sweepers at once")
@pytest.mark.django_db(transaction=True)
def test_two_action_item_sweeps_and_digests_at_once_notify_once(team_a, alice, bob):
    incident = incidents.incident_declare(team=team_a, title="Down", severity=1, by=alice, now=at(-2))
    incidents.incident_resolve(incident=incident, by=alice, reason="Fixed", now=NOW)
    postmortem = services.postmortem_create(incident=incident, now=NOW)
    services.action_item_create(
        postmortem=postmortem, by=alice, title="Add the pool alert", owner=bob, due_date=dt.date(2027, 1, 10)
    )
    later = dt.datetime(2027, 1, 20, 15, tzinfo=dt.UTC)

    def sweep() -> None:
        try:
            services.run_action_item_deadlines(now=later)
            services.run_manager_digest(now=later)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = sorted(
        Notification.objects.filter(event__in=["action_item_overdue", "manager_digest"]).values_list(
            "dedup_key", flat=True
        )
    )
    assert len(keys) == len(set(keys)) == 3  # bob overdue, alice escalation, alice's digest
