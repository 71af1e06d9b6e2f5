"""Pure escalation rules: which step applies at an instant, and how the cursor moves."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncall import escalation as rules
from oncall.escalation import PolicySpec, StepSpec, TargetSpec

NY = "America/New_York"
MANAGERS = (TargetSpec(kind="managers", label="Team managers"),)


def ny(*args: int) -> dt.datetime:
    """A New York wall-clock time as an aware instant."""
    return dt.datetime(*args, tzinfo=ZoneInfo(NY))


def step(**kw: object) -> StepSpec:
    return StepSpec(**{"position": 1, "wait_minutes": 5, "targets": MANAGERS, **kw})


def policy(*steps: StepSpec, repeats: int = 0) -> PolicySpec:
    return PolicySpec(name="P", time_zone=NY, steps=steps, repeats=repeats)


NIGHT = {"window_start": dt.time(22, 0), "window_end": dt.time(7, 0)}


@pytest.mark.parametrize(
    ("local", "applies"),
    [
        (ny(2027, 1, 5, 21, 59), False),
        (ny(2027, 1, 5, 22, 0), True),
        (ny(2027, 1, 6, 3, 0), True),
        (ny(2027, 1, 6, 6, 59), True),
        (ny(2027, 1, 6, 7, 0), False),
        (ny(2027, 1, 6, 12, 0), False),
    ],
)
def test_a_window_wraps_past_midnight(local, applies):
    assert rules.step_applies(step(**NIGHT), local, NY, is_critical=False) is applies


def test_a_window_is_read_in_the_teams_zone_not_utc():
    # 21:30 UTC is 16:30 in New York (day) and 22:30 in Berlin (night).
    instant = dt.datetime(2027, 1, 5, 21, 30, tzinfo=dt.UTC)
    assert not rules.step_applies(step(**NIGHT), instant, NY, is_critical=False)
    assert rules.step_applies(step(**NIGHT), instant, "Europe/Berlin", is_critical=False)


def test_a_window_follows_the_wall_clock_through_a_dst_change():
    # New York springs forward on 2027-03-14; 22:30 local is 02:30 UTC after, 03:30 UTC before.
    before = dt.datetime(2027, 3, 13, 3, 30, tzinfo=dt.UTC)  # 22:30 EST on the 12th
    after = dt.datetime(2027, 3, 15, 2, 30, tzinfo=dt.UTC)  # 22:30 EDT on the 14th
    office = step(window_start=dt.time(9, 0), window_end=dt.time(17, 0))
    for instant in (before, after):
        assert rules.step_applies(step(**NIGHT), instant, NY, is_critical=False)
        assert not rules.step_applies(office, instant, NY, is_critical=False)


def test_the_after_midnight_part_of_a_night_belongs_to_the_day_it_began():
    friday_night = step(weekdays=(4,), **NIGHT)
    assert rules.step_applies(friday_night, ny(2027, 1, 8, 23, 0), NY, is_critical=False)  # Friday 23:00
    assert rules.step_applies(friday_night, ny(2027, 1, 9, 2, 0), NY, is_critical=False)  # Saturday 02:00
    assert not rules.step_applies(friday_night, ny(2027, 1, 9, 23, 0), NY, is_critical=False)
    reason = rules.skip_reason(friday_night, ny(2027, 1, 10, 2, 0), NY, is_critical=False)
    assert reason == "not on Saturday"


def test_weekdays_without_a_window_use_the_local_date():
    weekend = step(weekdays=(5, 6))
    assert rules.step_applies(weekend, ny(2027, 1, 9, 12, 0), NY, is_critical=False)
    # Saturday 01:00 UTC is still Friday evening in New York.
    assert not rules.step_applies(weekend, dt.datetime(2027, 1, 9, 1, 0, tzinfo=dt.UTC), NY, is_critical=False)


def test_critical_only_steps_need_a_critical_alert():
    critical = step(only_critical=True)
    assert rules.skip_reason(critical, ny(2027, 1, 5, 10, 0), NY, is_critical=False) == "only for critical alerts"
    assert rules.step_applies(critical, ny(2027, 1, 5, 10, 0), NY, is_critical=True)


def test_equal_window_ends_mean_all_day():
    assert rules.step_applies(step(window_start=dt.time(9), window_end=dt.time(9)), ny(2027, 1, 5, 3), NY,
                              is_critical=False)  # fmt: skip


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        rules.skip_reason(step(), dt.datetime(2027, 1, 5, 10), NY, is_critical=False)


def test_next_step_skips_what_does_not_apply_and_wraps_into_the_next_round():
    p = policy(step(position=1), step(position=2, only_critical=True), step(position=3), repeats=1)
    at = ny(2027, 1, 5, 10)
    assert rules.next_step(p, step_index=1, round_index=0, instant=at, is_critical=False).step_index == 2
    plan = rules.next_step(p, step_index=1, round_index=0, instant=at, is_critical=False)
    assert [s.step_index for s in plan.skipped] == [1]
    assert rules.cursor_after(p, step_index=2, round_index=0) == (0, 1)
    assert rules.next_step(p, step_index=0, round_index=1, instant=at, is_critical=False).step_index == 0
    assert rules.next_step(p, step_index=0, round_index=2, instant=at, is_critical=False).exhausted


def test_a_policy_where_nothing_applies_is_exhausted_at_once():
    p = policy(step(only_critical=True), repeats=3)
    plan = rules.next_step(p, step_index=0, round_index=0, instant=ny(2027, 1, 5, 10), is_critical=False)
    assert plan.exhausted and len(plan.skipped) == 4


def test_an_empty_policy_is_exhausted():
    assert rules.next_step(policy(), step_index=0, round_index=0, instant=ny(2027, 1, 5), is_critical=True).exhausted


def test_the_snapshot_round_trips_through_json():
    original = PolicySpec(
        name="Nights",
        time_zone=NY,
        repeats=2,
        policy_id=7,
        source=rules.SOURCE_TEAM_DEFAULT,
        steps=(
            StepSpec(position=1, wait_minutes=5, targets=(TargetSpec("layer", layer_id=3, label="Primary"),)),
            StepSpec(position=2, wait_minutes=15, targets=(TargetSpec("user", user_id=9, label="Pat"),),
                     only_critical=True, weekdays=(5, 6), **NIGHT),
        ),
    )  # fmt: skip
    data = json.loads(json.dumps(original.to_dict()))
    assert data["steps"][1]["window_start"] == "22:00"
    assert PolicySpec.from_dict(data) == original


def test_describe_step_reads_like_a_sentence():
    text = rules.describe_step(step(only_critical=True, weekdays=(0, 4), **NIGHT))
    assert text == "Team managers · then wait 5 min · critical alerts only · 22:00-07:00 · Mon, Fri"


times = st.times().map(lambda t: t.replace(microsecond=0))
instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC))


@given(start=times, end=times, instant=instants)
def test_a_window_and_its_complement_cover_every_instant_once(start, end, instant):
    """For start != end, every instant is inside [start, end) or inside [end, start), never both."""
    if start == end:
        return
    inside = rules.step_applies(step(window_start=start, window_end=end), instant, NY, is_critical=False)
    outside = rules.step_applies(step(window_start=end, window_end=start), instant, NY, is_critical=False)
    assert inside != outside


@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=6),
    repeats=st.integers(0, 3),
    start=st.integers(0, 5),
    critical=st.booleans(),
)
def test_next_step_never_moves_backwards_and_always_lands_on_an_applicable_step(flags, repeats, start, critical):
    p = policy(*(step(position=i + 1, only_critical=f) for i, f in enumerate(flags)), repeats=repeats)
    first = min(start, len(flags) - 1)
    cursor = (first, 0)
    seen = 0
    while True:
        plan = rules.next_step(p, step_index=cursor[0], round_index=cursor[1], instant=ny(2027, 1, 5, 10),
                               is_critical=critical)  # fmt: skip
        if plan.exhausted:
            break
        assert plan.step_index is not None
        assert (plan.round_index, plan.step_index) >= (cursor[1], cursor[0])
        assert critical or not flags[plan.step_index]
        cursor = rules.cursor_after(p, step_index=plan.step_index, round_index=plan.round_index)
        seen += 1
    applicable = sum(1 for f in flags if critical or not f)
    # Every applicable step runs once per round, minus those before the starting step in round 0.
    skipped_at_start = sum(1 for f in flags[:first] if critical or not f)
    assert seen == applicable * (repeats + 1) - skipped_at_start
