"""The deadline sweepers claim rows by `next_check_at`: every due row gets its turn, however many wait.

Found by bench/enforcement.py: with more due rows than a batch, the sweepers took the same
first batch by due date on every run, because rows already escalated stay open, and the
rows behind them were never reminded, marked overdue or escalated.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from incidents import services as incidents
from oncall.models import Notification
from postmortems import services
from postmortems.models import ActionItem, Postmortem

NOW = dt.datetime(2027, 1, 15, 22, 0, tzinfo=dt.UTC)  # Friday 17:00 in New York, team A's zone
NEW_YORK = ZoneInfo("America/New_York")


def resolved_incident(team, by, hours_ago: float):
    at = NOW - dt.timedelta(hours=hours_ago)
    incident = incidents.incident_declare(team=team, title="Payments API failing", severity=1, by=by, now=at)
    incidents.incident_resolve(incident=incident, by=by, reason="Rolled back", now=at + dt.timedelta(minutes=30))
    return incident


@pytest.fixture
def postmortem(team_a, alice):
    return services.postmortem_create(incident=resolved_incident(team_a, alice, 2), now=NOW)


def items_told(event: str) -> set[int]:
    return {n.payload["action_item"] for n in Notification.objects.filter(event=event)}


def test_more_overdue_items_than_a_batch_all_get_their_turn(monkeypatch, postmortem, alice, bob):
    monkeypatch.setattr(services, "BATCH", 3)
    items = [
        services.action_item_create(
            postmortem=postmortem, by=alice, title=f"Alert on pool use {n}", owner=bob, due_date=dt.date(2027, 1, n)
        )
        for n in range(1, 8)
    ]
    for _ in range(3):
        services.run_action_item_deadlines(now=NOW)
    assert items_told("action_item_overdue") == {item.pk for item in items}
    assert ActionItem.objects.filter(overdue_since__isnull=True).count() == 0


def test_more_overdue_postmortems_than_a_batch_all_get_their_turn(monkeypatch, team_a, alice):
    monkeypatch.setattr(services, "BATCH", 2)
    postmortems = [
        services.postmortem_create(incident=resolved_incident(team_a, alice, 200 + n), now=NOW - dt.timedelta(days=9))
        for n in range(5)
    ]
    for _ in range(3):
        services.run_postmortem_deadlines(now=NOW)
    told = {n.payload["postmortem"] for n in Notification.objects.filter(event="postmortem_overdue")}
    assert told == {p.pk for p in postmortems}


def test_an_item_is_looked_at_again_on_the_day_of_its_next_step_and_never_after_escalation(postmortem, alice, bob):
    item = services.action_item_create(
        postmortem=postmortem, by=alice, title="Add canary on DB limits", owner=bob, due_date=dt.date(2027, 1, 18)
    )
    services.run_action_item_deadlines(now=NOW)  # Friday the 15th: three days before, the reminder
    item.refresh_from_db()
    assert item.next_check_at == dt.datetime(2027, 1, 18, tzinfo=NEW_YORK)
    assert services.run_action_item_deadlines(now=NOW + dt.timedelta(days=1)) == 0
    late = dt.datetime(2027, 1, 21, 9, tzinfo=NEW_YORK)  # three days overdue: escalated
    services.run_action_item_deadlines(now=late)
    item.refresh_from_db()
    assert item.next_check_at is None
    assert {n.dedup_key.split(":")[3] for n in Notification.objects.filter(payload__action_item=item.pk)} == {
        "soon",
        "overdue",
        "escalated",
    }


def test_a_new_due_date_arms_the_item_again(postmortem, alice, bob):
    item = services.action_item_create(
        postmortem=postmortem, by=alice, title="Add canary on DB limits", owner=bob, due_date=dt.date(2027, 1, 2)
    )
    services.run_action_item_deadlines(now=NOW)
    item.refresh_from_db()
    assert item.next_check_at is None
    services.action_item_update(item=item, by=alice, due_date=dt.date(2027, 1, 18))
    services.run_action_item_deadlines(now=NOW)
    assert Notification.objects.filter(payload__action_item=item.pk, dedup_key__contains=":20270118:soon:").exists()


def test_a_published_postmortem_leaves_the_sweep_and_a_draft_is_checked_at_its_steps(postmortem):
    services.run_postmortem_deadlines(now=NOW)
    postmortem.refresh_from_db()
    # Due 48 hours after resolution; the reminder is 24 hours before that.
    assert postmortem.next_check_at == postmortem.due_at - dt.timedelta(hours=24)
    Postmortem.objects.filter(pk=postmortem.pk).update(status="published")
    assert services.run_postmortem_deadlines(now=postmortem.due_at + dt.timedelta(days=3)) == 0


def _overdue_and_escalated(postmortem, alice, bob):
    item = services.action_item_create(
        postmortem=postmortem, by=alice, title="Alert on pool use", owner=bob, due_date=dt.date(2027, 1, 2)
    )
    for days in (0, 10, 20):
        services.run_action_item_deadlines(now=NOW + dt.timedelta(days=days))
    item.refresh_from_db()
    assert item.next_check_at is None  # nothing left to do for bob's item
    return item


def _told(event: str, user) -> bool:
    return Notification.objects.filter(event=event, recipient=user).exists()


def test_a_new_owner_of_an_overdue_item_is_told_by_the_next_sweep(postmortem, team_a, alice, bob):
    from tests.factories import MembershipFactory, UserFactory

    carol = UserFactory(username="carol")
    MembershipFactory(user=carol, team=team_a)
    item = _overdue_and_escalated(postmortem, alice, bob)
    services.action_items_reassign(items=[item], owner=carol, by=alice)
    services.run_action_item_deadlines(now=NOW + dt.timedelta(days=21))
    assert _told("action_item_overdue", carol)


def test_a_new_owner_set_on_the_item_is_told_too(postmortem, team_a, alice, bob):
    from tests.factories import MembershipFactory, UserFactory

    carol = UserFactory(username="carol")
    MembershipFactory(user=carol, team=team_a)
    item = _overdue_and_escalated(postmortem, alice, bob)
    services.action_item_update(item=item, by=alice, owner=carol)
    services.run_action_item_deadlines(now=NOW + dt.timedelta(days=21))
    assert _told("action_item_overdue", carol)
