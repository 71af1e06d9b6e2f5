"""The two sweepers that keep the status page honest: the golden rule and stale components."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from incidents import services as incidents
from incidents.models import TimelineEntry
from oncall.models import Notification
from statuspage import services, watch
from statuspage.models import Component, NoticeGuardFlag
from tests.factories import MembershipFactory, UserFactory
from tests.statuspage.conftest import T0

MISSING = "customer_notice_missing"
STALE = "component_stale"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def declare(team, by, *, severity: int = 1, comms_lead=None, title: str = "Card payments fail"):
    incident = incidents.incident_declare(team=team, title=title, severity=severity, by=by, now=T0)
    if comms_lead is not None:
        incidents.role_assign(incident=incident, role="comms_lead", user=comms_lead, by=by, now=at(1))
    return incident


@pytest.fixture
def sev1(team_a, alice, bob):
    """Alice declared it and commands it; bob is the comms lead."""
    return declare(team_a, alice, comms_lead=bob)


def told(event: str) -> list[str]:
    return sorted(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))


def reminders(incident) -> int:
    return incident.timeline.filter(kind=TimelineEntry.Kind.REMINDER).count()


def open_notice(page, by, *, statuses=None, incident=None, now=T0):
    return services.notice_create(
        page=page,
        title="Card payments failing",
        impact="major",
        status="investigating",
        body="We are looking into failed card payments.",
        statuses=statuses or {},
        incident=incident,
        by=by,
        now=now,
    )


# --- the golden rule: a SEV-1/2 gets a public notice in time ----------------------------------------


def test_no_notice_past_the_sev1_minutes_alerts_commander_and_comms_lead_once(sev1):
    assert watch.run_customer_notice_guard(now=at(11)) == 1
    assert told(MISSING) == ["alice", "bob"]
    alert = Notification.objects.filter(event=MISSING).first()
    assert alert.subject == f"{sev1.reference}: customers have not been told (SEV-1)"
    assert "declared 11 minutes ago" in alert.body and sev1.get_absolute_url() in alert.body
    flag = NoticeGuardFlag.objects.get()
    assert (flag.incident, flag.flagged_at) == (sev1, at(11))
    entry = sev1.timeline.get(kind=TimelineEntry.Kind.REMINDER)
    assert entry.text == "No public notice 11 minutes after declaration; commander and comms lead alerted."


def test_a_second_run_and_a_run_at_the_same_instant_add_nothing(sev1):
    watch.run_customer_notice_guard(now=at(11))
    assert watch.run_customer_notice_guard(now=at(11)) == 0
    assert watch.run_customer_notice_guard(now=at(45)) == 0
    assert told(MISSING) == ["alice", "bob"]
    assert NoticeGuardFlag.objects.count() == 1
    assert reminders(sev1) == 1


def test_nothing_before_the_policy_minutes(sev1):
    assert watch.run_customer_notice_guard(now=at(9.9)) == 0
    assert not Notification.objects.filter(event=MISSING).exists()
    assert not NoticeGuardFlag.objects.exists() and reminders(sev1) == 0
    assert watch.run_customer_notice_guard(now=at(10)) == 1  # due at exactly 10 minutes


def test_nothing_when_customers_were_told(sev1, page, bob):
    open_notice(page, bob, incident=sev1, now=at(5))
    assert watch.run_customer_notice_guard(now=at(11)) == 0
    assert not Notification.objects.filter(event=MISSING).exists()
    assert not NoticeGuardFlag.objects.exists() and reminders(sev1) == 0


def test_a_resolved_notice_still_counts_as_telling_customers(sev1, page, bob):
    notice = open_notice(page, bob, incident=sev1, now=at(3))
    services.notice_update(notice=notice, status="resolved", body="Fixed.", by=bob, now=at(6))
    assert watch.run_customer_notice_guard(now=at(11)) == 0


def test_nothing_for_a_sev3(team_a, alice, bob):
    incident = declare(team_a, alice, severity=3, comms_lead=bob)
    assert watch.run_customer_notice_guard(now=at(600)) == 0
    assert not Notification.objects.filter(event=MISSING).exists()
    assert not NoticeGuardFlag.objects.exists() and reminders(incident) == 0


def test_a_sev2_is_due_after_its_own_20_minutes(team_a, alice):
    declare(team_a, alice, severity=2)
    assert watch.run_customer_notice_guard(now=at(19)) == 0
    assert watch.run_customer_notice_guard(now=at(20)) == 1
    assert told(MISSING) == ["alice"]  # no comms lead: the commander alone


def test_nothing_for_a_resolved_incident(sev1, alice):
    incidents.incident_resolve(incident=sev1, by=alice, reason="Rolled back within minutes", now=at(5))
    assert watch.run_customer_notice_guard(now=at(11)) == 0
    assert not Notification.objects.filter(event=MISSING).exists()
    assert not NoticeGuardFlag.objects.exists() and reminders(sev1) == 0


def test_a_relieved_comms_lead_is_not_alerted(sev1, alice, team_a):
    carol = UserFactory(username="carol")
    MembershipFactory(user=carol, team=team_a)
    incidents.role_assign(incident=sev1, role="comms_lead", user=carol, by=alice, now=at(2))
    watch.run_customer_notice_guard(now=at(11))
    assert told(MISSING) == ["alice", "carol"]


@pytest.mark.postgres(reason="two sweepers at once")
@pytest.mark.django_db(transaction=True)
def test_two_guards_at_once_flag_once_and_alert_each_person_once(team_a, alice, bob):
    incident = declare(team_a, alice, comms_lead=bob)
    start = threading.Barrier(2)
    results: list[int] = []

    def guard() -> None:
        try:
            start.wait(timeout=10)
            results.append(watch.run_customer_notice_guard(now=at(11)))
        finally:
            connection.close()

    threads = [threading.Thread(target=guard) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert NoticeGuardFlag.objects.filter(incident=incident).count() == 1
    assert told(MISSING) == ["alice", "bob"]
    assert reminders(incident) == 1


# --- stale components: a status set by hand and left alone while a notice is open -----------------


@pytest.fixture
def outage(page, components, sev1, bob):
    """Bob, the comms lead, set checkout to a partial outage at minute 2 with the first notice."""
    return open_notice(page, bob, statuses={components["checkout"]: "partial_outage"}, incident=sev1, now=at(2))


def test_a_hand_set_component_untouched_past_the_page_minutes_is_flagged_once_to_the_comms_lead(outage, components):
    assert watch.run_stale_components(now=at(61)) == 0  # 59 minutes: not yet
    assert watch.run_stale_components(now=at(62)) == 1
    assert told(STALE) == ["bob"]  # the comms lead, not the commander
    alert = Notification.objects.get(event=STALE)
    assert alert.subject == "Acme: is “Checkout” still partial outage?"
    assert "shown partial outage for 60 minutes" in alert.body
    assert alert.payload == {"component": components["checkout"].public_id}
    assert watch.run_stale_components(now=at(63)) == 0
    assert watch.run_stale_components(now=at(500)) == 0
    assert told(STALE) == ["bob"]


def test_confirming_the_status_restarts_the_clock_and_a_later_spell_is_flagged_again(outage, components, alice):
    watch.run_stale_components(now=at(62))
    changed = services.component_set_status(
        component=components["checkout"], status="partial_outage", by=alice, now=at(70)
    )
    assert changed is False  # the same status again: a confirmation
    assert watch.run_stale_components(now=at(100)) == 0
    assert watch.run_stale_components(now=at(130)) == 1
    assert told(STALE) == ["bob", "bob"]
    assert watch.run_stale_components(now=at(140)) == 0


def test_the_page_setting_decides_how_long_is_too_long(outage, page):
    page.stale_component_minutes = 15
    page.save(update_fields=["stale_component_minutes"])
    assert watch.run_stale_components(now=at(16)) == 0
    assert watch.run_stale_components(now=at(17)) == 1


def test_without_a_comms_lead_the_commander_is_told(page, components, team_a, alice, bob):
    incident = declare(team_a, alice, title="Payouts late")
    open_notice(page, bob, statuses={components["payouts"]: "degraded_performance"}, incident=incident)
    assert watch.run_stale_components(now=at(61)) == 1
    assert told(STALE) == ["alice"]


def test_a_notice_without_an_incident_flags_its_author(page, components, alice):
    open_notice(page, alice, statuses={components["api"]: "major_outage"})
    assert watch.run_stale_components(now=at(61)) == 1
    assert told(STALE) == ["alice"]


def test_a_component_under_maintenance_by_the_job_is_never_flagged(page, components, alice):
    services.maintenance_schedule(
        page=page,
        title="Database upgrade",
        body="Payouts pause for a while.",
        scheduled_for=at(10),
        scheduled_until=at(600),
        components=[components["payouts"]],
        by=alice,
        now=T0,
    )
    assert services.run_maintenance_windows(now=at(10)) == 1
    payouts = Component.objects.get(pk=components["payouts"].pk)
    assert (payouts.status, payouts.status_source) == ("under_maintenance", "maintenance")
    assert watch.run_stale_components(now=at(300)) == 0
    assert watch.run_stale_components(now=at(599)) == 0
    assert not Notification.objects.filter(event=STALE).exists()
    payouts.refresh_from_db()
    assert payouts.stale_flagged_for is None


def test_a_component_set_by_hand_during_maintenance_is_flagged_to_the_maintenance_author(page, components, alice, bob):
    services.maintenance_schedule(
        page=page,
        title="Database upgrade",
        body="Payouts pause for a while.",
        scheduled_for=at(10),
        scheduled_until=at(600),
        components=[components["payouts"]],
        by=alice,
        now=T0,
    )
    services.run_maintenance_windows(now=at(10))
    services.component_set_status(component=components["payouts"], status="partial_outage", by=bob, now=at(20))
    flagged = watch.run_stale_components(now=at(81))
    # The maintenance counts as an open notice for flagging, so someone must be told: a spell
    # flagged with nobody to tell is spent, and later runs stay silent for good.
    assert (flagged, told(STALE)) == (1, ["alice"])


def test_no_open_notice_no_flag(page, components, bob):
    services.component_set_status(component=components["checkout"], status="partial_outage", by=bob, now=T0)
    assert watch.run_stale_components(now=at(300)) == 0
    assert not Notification.objects.filter(event=STALE).exists()


def test_a_resolved_notice_leaves_a_forgotten_component_alone(outage, bob):
    services.notice_update(notice=outage, status="resolved", body="Fixed.", by=bob, now=at(30))
    assert watch.run_stale_components(now=at(300)) == 0
    assert not Notification.objects.filter(event=STALE).exists()
