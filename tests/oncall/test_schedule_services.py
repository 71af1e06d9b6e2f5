import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.errors import ConflictError, DomainError
from oncall import schedule as rules
from oncall import selectors_schedules as sched
from oncall.models import CompTimePolicy, Layer, Notification, Override, Schedule, SwapRequest
from oncall.services import schedules as services
from tests.factories import MembershipFactory, UserFactory
from tests.oncall.schedule_fixtures import make_schedule, utc

NOW = utc(2027, 1, 12, 10, 0)  # Tuesday of the rotation's second week


@pytest.fixture
def carol(team_a):
    user = UserFactory(username="carol")
    MembershipFactory(user=user, team=team_a)
    return user


@pytest.fixture
def schedule(team_a, alice, bob, carol):
    return make_schedule(team_a, [alice, bob, carol])


@pytest.fixture
def primary(schedule):
    return schedule.layers.get(position=1)


def test_only_a_manager_creates_schedules(team_a, bob):
    with pytest.raises(DomainError, match="Only managers"):
        services.schedule_create(team=team_a, name="Nights", slug="nights", by=bob)
    assert not Schedule.objects.exists()


def test_schedule_takes_the_team_zone_by_default(team_a, alice):
    schedule = services.schedule_create(team=team_a, name="Nights", slug="nights", by=alice)
    assert schedule.time_zone == team_a.time_zone


def test_schedule_with_an_unknown_zone_is_refused(team_a, alice):
    with pytest.raises(DomainError, match="IANA"):
        services.schedule_create(team=team_a, name="Nights", slug="nights", time_zone="Mars/Base", by=alice)
    assert not Schedule.objects.exists()


def test_layer_refuses_participants_from_another_team(schedule, alice, charlie):
    with pytest.raises(DomainError, match="Not members"):
        services.layer_create(
            schedule=schedule,
            name="Tertiary",
            rotation_start_date=dt.date(2027, 1, 4),
            participants=[charlie],
            by=alice,
        )
    assert schedule.layers.count() == 2


def test_layer_refuses_a_zero_length_shift(schedule, alice, bob):
    with pytest.raises(DomainError):
        services.layer_create(
            schedule=schedule,
            name="T",
            rotation_start_date=dt.date(2027, 1, 4),
            shift_length=0,
            participants=[bob],
            by=alice,
        )
    assert schedule.layers.count() == 2


def test_layer_update_reorders_the_rotation(primary, alice, bob, carol):
    services.layer_update(layer=primary, by=alice, participants=[carol, bob])
    assert list(primary.participants.values_list("user__username", flat=True)) == ["carol", "bob"]


def test_member_covers_for_themselves(primary, bob):
    override = services.override_create(
        layer=primary, user=bob, start_at=utc(2027, 1, 13, 8), end_at=utc(2027, 1, 13, 12), by=bob, now=NOW
    )
    assert override.created_by == bob


def test_member_cannot_put_someone_else_on_call(primary, bob, carol):
    with pytest.raises(DomainError, match="Only managers"):
        services.override_create(
            layer=primary, user=carol, start_at=utc(2027, 1, 13, 8), end_at=utc(2027, 1, 13, 12), by=bob, now=NOW
        )
    assert not Override.objects.exists()


def test_manager_arranges_cover_for_anyone(primary, alice, carol):
    services.override_create(
        layer=primary, user=carol, start_at=utc(2027, 1, 13, 8), end_at=utc(2027, 1, 13, 12), by=alice, now=NOW
    )
    assert Override.objects.get().user == carol


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (utc(2027, 1, 13, 12), utc(2027, 1, 13, 8), "after the start"),
        (utc(2027, 1, 10, 8), utc(2027, 1, 11, 8), "already over"),
        (utc(2029, 1, 13, 8), utc(2029, 1, 14, 8), "400 days"),
    ],
)
def test_bad_override_intervals_are_refused(primary, bob, start, end, message):
    with pytest.raises(DomainError, match=message):
        services.override_create(layer=primary, user=bob, start_at=start, end_at=end, by=bob, now=NOW)
    assert not Override.objects.exists()


def test_outsider_cannot_be_put_on_call(primary, alice, charlie):
    with pytest.raises(DomainError, match="not a member"):
        services.override_create(
            layer=primary, user=charlie, start_at=utc(2027, 1, 13), end_at=utc(2027, 1, 14), by=alice, now=NOW
        )


def test_swap_request_tells_every_teammate(primary, bob, alice, carol):
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20, 9), end_at=utc(2027, 1, 21, 9), by=bob, now=NOW
    )
    told = set(Notification.objects.filter(event="swap_requested").values_list("recipient__username", flat=True))
    assert told == {"alice", "carol"}
    assert swap.status == SwapRequest.Status.OPEN


def test_taking_a_swap_makes_an_override_and_tells_the_requester(primary, bob, carol):
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20, 9), end_at=utc(2027, 1, 21, 9), by=bob, now=NOW
    )
    swap = services.swap_request_take(swap=swap, by=carol, now=NOW)
    assert swap.status == SwapRequest.Status.TAKEN
    assert (swap.override.user, swap.override.start_at, swap.override.end_at) == (carol, swap.start_at, swap.end_at)
    assert Notification.objects.filter(event="swap_taken", recipient=bob).count() == 1
    rule = sched.layer_rule(Layer.objects.prefetch_related("participants").get(pk=primary.pk))
    overrides = sched.override_rules([primary], utc(2027, 1, 20), utc(2027, 1, 22))
    assert rules.on_call_at(rule, overrides, utc(2027, 1, 20, 12)) == carol.pk


def test_a_swap_is_taken_once(primary, bob, carol, alice):
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20, 9), end_at=utc(2027, 1, 21, 9), by=bob, now=NOW
    )
    services.swap_request_take(swap=swap, by=carol, now=NOW)
    with pytest.raises(ConflictError, match="already taken"):
        services.swap_request_take(swap=swap, by=alice, now=NOW)
    assert Override.objects.count() == 1


def test_requester_cannot_take_their_own_swap(primary, bob):
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20, 9), end_at=utc(2027, 1, 21, 9), by=bob, now=NOW
    )
    with pytest.raises(DomainError, match="own request"):
        services.swap_request_take(swap=swap, by=bob, now=NOW)


def test_cancelled_swap_cannot_be_taken(primary, bob, carol):
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20, 9), end_at=utc(2027, 1, 21, 9), by=bob, now=NOW
    )
    services.swap_request_cancel(swap=swap, by=bob, now=NOW)
    with pytest.raises(ConflictError):
        services.swap_request_take(swap=swap, by=carol, now=NOW)
    assert not Override.objects.exists()


def test_member_cannot_ask_cover_for_someone_else(primary, bob, carol):
    with pytest.raises(DomainError, match="Only managers"):
        services.swap_request_create(
            layer=primary, requester=carol, start_at=utc(2027, 1, 20), end_at=utc(2027, 1, 21), by=bob, now=NOW
        )
    assert not SwapRequest.objects.exists()


def test_fairest_takers_are_those_with_the_least_recent_load(schedule, primary, alice, bob, carol):
    # Since 2027-01-04: alice held week 1, bob week 2; carol has not been on call on the primary.
    # On the secondary, bob held week 1 and carol week 2. Carol covered nothing at night.
    swap = services.swap_request_create(
        layer=primary, requester=alice, start_at=utc(2027, 1, 26, 9), end_at=utc(2027, 1, 27, 9), by=alice, now=NOW
    )
    later = utc(2027, 1, 18, 9)  # two full weeks done
    ranked = sched.swap_suggested_takers(swaps=[swap], now=later)[swap.pk]
    assert [u.username for u in ranked] == ["carol", "bob"]


def test_the_fairness_load_reads_nights_by_the_teams_comp_time_policy(schedule, team_a, alice, bob):
    later = utc(2027, 1, 18, 9)  # two full weeks done: alice held week 1 of the primary, bob week 2
    default = sched.team_load(team=team_a, now=later)
    CompTimePolicy.objects.create(team=team_a, count_weekends=False, night_start=dt.time(23), night_end=dt.time(6))
    nights_only = sched.team_load(team=team_a, now=later)

    assert nights_only[alice.pk][0] == default[alice.pk][0]  # the same time on call
    assert nights_only[alice.pk][1] < default[alice.pk][1]  # fewer hours count as after hours
    week = 7 * 24 * 3600
    # With weekends out and nights 23:00-06:00, a week on call holds seven 7-hour nights.
    assert nights_only[alice.pk][1] == pytest.approx(7 * 7 * 3600, abs=3600) and default[alice.pk][1] < week


def test_overrides_of_every_schedule_are_read_in_one_query(schedule, team_a, alice, bob, carol):
    for n in range(3):
        make_schedule(team_a, [alice, bob, carol], slug=f"more-{n}")

    with CaptureQueriesContext(connection) as queries:
        load = sched.team_load(team=team_a, now=utc(2027, 1, 18, 9))
        shifts = sched.user_shifts(user=bob, start=utc(2027, 1, 4), end=utc(2027, 1, 18))
        now = sched.on_call_now(schedules=Schedule.objects.filter(team=team_a), at=utc(2027, 1, 6, 12))

    override_reads = [q["sql"] for q in queries.captured_queries if 'FROM "oncall_override"' in q["sql"]]
    assert len(override_reads) == 3  # one per call, whatever the number of schedules
    assert load[bob.pk][0] > 0 and shifts and len(now) == 8  # four schedules of two layers


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_taking_the_same_swap_at_once_make_one_override(team_a):
    alice, bob, carol, dave = (UserFactory(username=n) for n in ("alice", "bob", "carol", "dave"))
    for user in (alice, bob, carol, dave):
        MembershipFactory(user=user, team=team_a, role="manager" if user is alice else "member")
    schedule = make_schedule(team_a, [alice, bob, carol])
    primary = schedule.layers.get(position=1)
    swap = services.swap_request_create(
        layer=primary, requester=bob, start_at=utc(2027, 1, 20, 9), end_at=utc(2027, 1, 21, 9), by=bob, now=NOW
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def take(user) -> None:
        try:
            barrier.wait()
            services.swap_request_take(swap=swap, by=user, now=NOW)
            outcomes.append("took")
        except ConflictError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(u,)) for u in (carol, dave)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "took"]
    assert Override.objects.count() == 1
