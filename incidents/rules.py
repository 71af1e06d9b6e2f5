"""The incident process as pure rules of plain values: transitions, roles, cadence, watch period.

Services call these under row locks and turn a refusal into a DomainError; nothing
here touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

INVESTIGATING, IDENTIFIED, MITIGATING, MONITORING, RESOLVED, CLOSED = (
    "investigating",
    "identified",
    "mitigating",
    "monitoring",
    "resolved",
    "closed",
)
OPEN_STATUSES = (INVESTIGATING, IDENTIFIED, MITIGATING, MONITORING)

# Work may go back (a fix did not hold: monitoring → mitigating), a resolved incident may
# be reopened, and a closed one is history.
TRANSITIONS: dict[str, frozenset[str]] = {
    INVESTIGATING: frozenset({IDENTIFIED, MITIGATING, MONITORING, RESOLVED}),
    IDENTIFIED: frozenset({INVESTIGATING, MITIGATING, MONITORING, RESOLVED}),
    MITIGATING: frozenset({INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED}),
    MONITORING: frozenset({INVESTIGATING, IDENTIFIED, MITIGATING, RESOLVED}),
    RESOLVED: frozenset({INVESTIGATING, CLOSED}),
    CLOSED: frozenset(),
}

COMMANDER, TECH_LEAD, COMMS_LEAD = "commander", "tech_lead", "comms_lead"
LEAD_ROLES = (COMMANDER, TECH_LEAD, COMMS_LEAD)


def transition_error(current: str, target: str) -> str | None:
    """Why `current` → `target` is not allowed, or None when it is."""
    if current == target:
        return f"The incident is already {target}."
    if target not in TRANSITIONS.get(current, frozenset()):
        if current == CLOSED:
            return "A closed incident cannot change; open a new one."
        return f"An incident cannot go from {current} to {target}."
    return None


@dataclass(frozen=True)
class RolePolicy:
    commander_required: bool
    commander_recommended: bool
    severity: int


def role_problems(policy: RolePolicy, holders: Mapping[str, int | None]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for the current holders of the three lead roles.

    An error blocks the change that would create it; a warning is shown and allowed.
    """
    errors: list[str] = []
    warnings: list[str] = []
    commander = holders.get(COMMANDER)
    if commander is None and policy.commander_required:
        errors.append(f"SEV-{policy.severity} needs an incident commander.")
    elif commander is None and policy.commander_recommended:
        warnings.append(f"SEV-{policy.severity} should have an incident commander.")
    people = [holders.get(role) for role in LEAD_ROLES]
    if policy.severity == 1 and people[0] is not None and len(set(people)) == 1:
        errors.append("In a SEV-1 nobody holds all three roles: commander, tech lead and comms lead.")
    return errors, warnings


def next_update_due(after: dt.datetime, every_minutes: int | None, status: str) -> dt.datetime | None:
    """When the next internal update is due: none once resolved, or for a severity without cadence."""
    if every_minutes is None or status not in OPEN_STATUSES:
        return None
    return after + dt.timedelta(minutes=every_minutes)


def watch_remaining(monitoring_since: dt.datetime | None, watch_minutes: int, now: dt.datetime) -> dt.timedelta:
    """How much of the watch period is left before resolving needs no reason (zero when done)."""
    if monitoring_since is None:
        return dt.timedelta(minutes=watch_minutes)
    left = monitoring_since + dt.timedelta(minutes=watch_minutes) - now
    return max(left, dt.timedelta(0))


def resolve_error(
    *, status: str, monitoring_since: dt.datetime | None, watch_minutes: int, now: dt.datetime, reason: str
) -> str | None:
    """Resolving before a full watch period in monitoring needs a stated reason."""
    if reason.strip():
        return None
    left = watch_remaining(monitoring_since if status == MONITORING else None, watch_minutes, now)
    if left > dt.timedelta(0):
        minutes = int(left.total_seconds() // 60) + (1 if left.total_seconds() % 60 else 0)
        return (
            f"Watch the fix for {watch_minutes} minutes in monitoring before resolving "
            f"({minutes} min left), or say why it is safe to resolve now."
        )
    return None


def channel_name(number: int, service_slug: str | None) -> str:
    """The suggested chat channel, e.g. #inc-123-payments-api."""
    suffix = f"-{service_slug}" if service_slug else ""
    return f"#inc-{number}{suffix}"[:80]
