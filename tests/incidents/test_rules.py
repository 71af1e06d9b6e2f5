"""The incident process rules, as plain values."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents import rules
from incidents.rules import CLOSED, INVESTIGATING, MITIGATING, MONITORING, RESOLVED, RolePolicy

STATUSES = [INVESTIGATING, rules.IDENTIFIED, MITIGATING, MONITORING, RESOLVED, CLOSED]
NOW = dt.datetime(2027, 1, 12, 10, 0, tzinfo=dt.UTC)
SEV1 = RolePolicy(commander_required=True, commander_recommended=False, severity=1)
SEV2 = RolePolicy(commander_required=False, commander_recommended=True, severity=2)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (INVESTIGATING, MITIGATING),
        (MONITORING, MITIGATING),
        (MONITORING, RESOLVED),
        (RESOLVED, INVESTIGATING),
        (RESOLVED, CLOSED),
    ],
)
def test_legal_transitions(current, target):
    assert rules.transition_error(current, target) is None


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (RESOLVED, RESOLVED, "already resolved"),
        (INVESTIGATING, CLOSED, "cannot go from investigating to closed"),
        (CLOSED, INVESTIGATING, "closed incident cannot change"),
        (RESOLVED, MONITORING, "cannot go from resolved to monitoring"),
    ],
)
def test_illegal_transitions_say_why(current, target, message):
    assert message in rules.transition_error(current, target)


@given(st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_only_resolved_incidents_close_and_nothing_leaves_closed(current, target):
    allowed = rules.transition_error(current, target) is None
    if target == CLOSED:
        assert allowed == (current == RESOLVED)
    if current == CLOSED:
        assert not allowed


def test_sev1_without_commander_is_an_error_and_sev2_a_warning():
    assert rules.role_problems(SEV1, {})[0] == ["SEV-1 needs an incident commander."]
    errors, warnings = rules.role_problems(SEV2, {})
    assert errors == [] and warnings == ["SEV-2 should have an incident commander."]


def test_nobody_holds_all_three_roles_in_a_sev1():
    holders = {"commander": 7, "tech_lead": 7, "comms_lead": 7}
    assert "nobody holds all three roles" in rules.role_problems(SEV1, holders)[0][0]
    assert rules.role_problems(SEV2, holders) == ([], [])
    assert rules.role_problems(SEV1, {"commander": 7, "tech_lead": 7, "comms_lead": 8}) == ([], [])


def test_next_update_follows_the_cadence_until_resolved():
    assert rules.next_update_due(NOW, 20, INVESTIGATING) == NOW + dt.timedelta(minutes=20)
    assert rules.next_update_due(NOW, None, INVESTIGATING) is None
    assert rules.next_update_due(NOW, 20, RESOLVED) is None


def test_resolving_inside_the_watch_period_needs_a_reason():
    since = NOW - dt.timedelta(minutes=20)
    error = rules.resolve_error(status=MONITORING, monitoring_since=since, watch_minutes=30, now=NOW, reason="")
    assert "10 min left" in error
    assert (
        rules.resolve_error(status=MONITORING, monitoring_since=since, watch_minutes=30, now=NOW, reason="Rolled back")
        is None
    )
    later = NOW + dt.timedelta(minutes=10)
    assert (
        rules.resolve_error(status=MONITORING, monitoring_since=since, watch_minutes=30, now=later, reason="") is None
    )


def test_resolving_straight_from_mitigating_needs_a_reason():
    error = rules.resolve_error(status=MITIGATING, monitoring_since=None, watch_minutes=30, now=NOW, reason=" ")
    assert "30 min left" in error


def test_channel_name():
    assert rules.channel_name(123, "payments-api") == "#inc-123-payments-api"
    assert rules.channel_name(7, None) == "#inc-7"
