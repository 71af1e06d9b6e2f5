import datetime as dt

import pytest

from oncall.models import Notification, Override
from oncall.reminders import reminder_instants
from oncall.services.reminders import run_shift_reminders
from tests.factories import MembershipFactory, UserFactory
from tests.oncall.schedule_fixtures import make_schedule, utc


def test_day_before_and_at_handoff():
    instants = reminder_instants(utc(2027, 1, 11, 8, 0), "Europe/Berlin")  # Monday 09:00 local
    assert instants == {"day_before": utc(2027, 1, 10, 8, 0), "start": utc(2027, 1, 11, 8, 0)}


def test_an_early_shift_also_gets_an_evening_reminder_at_18_local():
    instants = reminder_instants(utc(2027, 1, 11, 5, 0), "Europe/Berlin")  # Monday 06:00 local
    assert instants["evening_before"] == utc(2027, 1, 10, 17, 0)  # Sunday 18:00 local


def test_evening_reminder_is_local_across_a_dst_change():
    # Sunday 2027-03-28 is the spring-forward day in Berlin: 18:00 that evening is already CEST.
    instants = reminder_instants(dt.datetime(2027, 3, 29, 5, 0, tzinfo=dt.UTC), "Europe/Berlin")
    assert instants["evening_before"] == utc(2027, 3, 28, 16, 0)


def test_naive_shift_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        reminder_instants(dt.datetime(2027, 1, 11, 8), "Europe/Berlin")


@pytest.fixture
def schedule(team_a, alice, bob):
    carol = UserFactory(username="carol")
    MembershipFactory(user=carol, team=team_a)
    return make_schedule(team_a, [alice, bob, carol])


def test_the_incoming_person_is_reminded_the_day_before_once(schedule, bob):
    # bob takes the primary at Monday 2027-01-11 09:00 Berlin = 08:00 UTC.
    run_shift_reminders(now=utc(2027, 1, 10, 8, 2))
    run_shift_reminders(now=utc(2027, 1, 10, 8, 7))
    rows = Notification.objects.filter(recipient=bob, event="shift_reminder")
    assert rows.count() == 1
    assert "Tomorrow you are on call" in rows.get().subject


def test_the_incoming_person_is_told_at_handoff(schedule, bob):
    run_shift_reminders(now=utc(2027, 1, 11, 8, 1))
    assert Notification.objects.filter(recipient=bob, event="shift_start").count() == 1


def test_a_reminder_long_overdue_is_dropped(schedule, bob):
    run_shift_reminders(now=utc(2027, 1, 11, 12, 0))  # four hours after the handoff
    assert not Notification.objects.filter(recipient=bob).exists()


def test_the_reminder_names_the_real_end_of_the_shift(schedule, bob):
    run_shift_reminders(now=utc(2027, 1, 10, 8, 2))
    # The week runs to Monday 2027-01-18 09:00 Berlin, far past the sweep's one-day window.
    assert "until Mon 18 Jan 09:00 Europe/Berlin" in Notification.objects.get(recipient=bob).body


def test_an_override_running_into_the_persons_own_shift_is_not_a_second_handoff(schedule, bob, alice):
    primary = schedule.layers.get(position=1)
    # bob covers alice's last evening, then his own week starts: one "on call now", at 17:00 UTC.
    Override.objects.create(layer=primary, user=bob, start_at=utc(2027, 1, 10, 17), end_at=utc(2027, 1, 11, 8))
    run_shift_reminders(now=utc(2027, 1, 10, 17, 1))
    run_shift_reminders(now=utc(2027, 1, 11, 8, 1))
    starts = Notification.objects.filter(recipient=bob, event="shift_start")
    assert list(starts.values_list("payload__start", flat=True)) == ["2027-01-10T17:00:00+00:00"]
