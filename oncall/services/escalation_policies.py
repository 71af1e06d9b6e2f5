"""Writes of escalation policies: create, replace the steps, delete, choose a service's policy.

Team managers shape their team's policies. A step names at least one target: the
on-call person of one of the team's schedule layers, a person, or the team's
managers. A person target is a member of the team or a staff user: staff users
stand for the people above the teams (platform leads, executives), who are not
members of every team they back up.

Editing a policy never touches pages already under way: each page froze its copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from config.errors import DomainError
from oncall.models import EscalationPolicy, EscalationStep, Layer, Membership, Service, StepTarget, Team, User
from oncall.selectors import is_manager
from oncall.services.paging import DEFAULT_POLICY_NAME

MAX_STEPS = 20
MAX_TARGETS = 10
MAX_REPEATS = 9
MAX_WAIT_MINUTES = 24 * 60


@dataclass(frozen=True)
class TargetInput:
    kind: str
    layer: Layer | None = None
    user: User | None = None


@dataclass(frozen=True)
class StepInput:
    wait_minutes: int
    targets: Sequence[TargetInput]
    only_critical: bool = False
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    weekdays: Sequence[int] = field(default=())


def _require_manager(*, team: Team, by: User) -> None:
    if not is_manager(user=by, team=team):
        raise DomainError(f"Only managers of {team.name} can change its escalation policies.")


def _validate_policy_fields(*, team: Team, name: str, repeats: int, exclude_pk: int | None) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("Give the policy a name of at most 100 characters.", field="name")
    if not 0 <= repeats <= MAX_REPEATS:
        raise DomainError(f"Repeat the steps between 0 and {MAX_REPEATS} times.", field="repeats")
    taken = EscalationPolicy.objects.filter(team=team, name=name).exclude(pk=exclude_pk)
    if taken.exists():
        raise DomainError(f"{team.name} already has a policy named “{name}”.", field="name")
    return name


def _validate_target(*, team: Team, target: TargetInput, number: int) -> None:
    where = f"Step {number}"
    if target.kind == StepTarget.Kind.LAYER:
        if target.layer is None or target.user is not None:
            raise DomainError(f"{where}: choose which layer's on-call person to page.", field="steps")
        if target.layer.schedule.team_id != team.pk:
            raise DomainError(f"{where}: the layer must belong to one of {team.name}'s schedules.", field="steps")
    elif target.kind == StepTarget.Kind.USER:
        if target.user is None or target.layer is not None:
            raise DomainError(f"{where}: choose the person to page.", field="steps")
        is_member = Membership.objects.filter(team=team, user=target.user).exists()
        if not target.user.is_active or not (is_member or target.user.is_staff):
            raise DomainError(
                f"{where}: {target.user} is not an active member of {team.name} or a staff user.", field="steps"
            )
    elif target.kind == StepTarget.Kind.MANAGERS:
        if target.layer is not None or target.user is not None:
            raise DomainError(f"{where}: “team managers” takes no layer or person.", field="steps")
    else:
        raise DomainError(f"{where}: unknown target “{target.kind}”; use layer, user or managers.", field="steps")


def _validate_step(*, team: Team, step: StepInput, number: int) -> None:
    where = f"Step {number}"
    if not 1 <= step.wait_minutes <= MAX_WAIT_MINUTES:
        raise DomainError(f"{where}: wait between 1 and {MAX_WAIT_MINUTES} minutes.", field="steps")
    if (step.window_start is None) != (step.window_end is None):
        raise DomainError(f"{where}: give both the start and the end of the time window, or neither.", field="steps")
    weekdays = list(step.weekdays)
    if any(not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays) or len(set(weekdays)) != len(weekdays):
        raise DomainError(f"{where}: weekdays are distinct numbers from 0 (Monday) to 6 (Sunday).", field="steps")
    if not step.targets:
        raise DomainError(f"{where}: name at least one target to page.", field="steps")
    if len(step.targets) > MAX_TARGETS:
        raise DomainError(f"{where}: at most {MAX_TARGETS} targets.", field="steps")
    for target in step.targets:
        _validate_target(team=team, target=target, number=number)


def _validate_steps(*, team: Team, steps: Sequence[StepInput]) -> None:
    if not steps:
        raise DomainError("A policy needs at least one step.", field="steps")
    if len(steps) > MAX_STEPS:
        raise DomainError(f"A policy has at most {MAX_STEPS} steps.", field="steps")
    for number, step in enumerate(steps, start=1):
        _validate_step(team=team, step=step, number=number)


def _write_steps(policy: EscalationPolicy, steps: Sequence[StepInput]) -> None:
    policy.steps.all().delete()
    for position, step in enumerate(steps, start=1):
        row = EscalationStep.objects.create(
            policy=policy,
            position=position,
            wait_minutes=step.wait_minutes,
            only_critical=step.only_critical,
            window_start=step.window_start,
            window_end=step.window_end,
            weekdays=sorted(step.weekdays),
        )
        StepTarget.objects.bulk_create(
            [StepTarget(step=row, kind=t.kind, layer=t.layer, user=t.user) for t in _unique(step.targets)]
        )


def _unique(targets: Iterable[TargetInput]) -> list[TargetInput]:
    seen: list[TargetInput] = []
    for target in targets:
        if target not in seen:
            seen.append(target)
    return seen


@transaction.atomic
def escalation_policy_create(
    *,
    team: Team,
    by: User | None,
    name: str,
    steps: Sequence[StepInput],
    description: str = "",
    repeats: int = 1,
) -> EscalationPolicy:
    """Creates a policy with its steps. `by` None is the system (the default policy, demo data)."""
    if by is not None:
        _require_manager(team=team, by=by)
    name = _validate_policy_fields(team=team, name=name, repeats=repeats, exclude_pk=None)
    _validate_steps(team=team, steps=steps)
    try:
        with transaction.atomic():
            policy = EscalationPolicy.objects.create(
                team=team, name=name, description=description.strip(), repeats=repeats
            )
    except IntegrityError as exc:
        raise DomainError(f"{team.name} already has a policy named “{name}”.", field="name") from exc
    _write_steps(policy, steps)
    return policy


@transaction.atomic
def escalation_policy_update(
    *,
    policy: EscalationPolicy,
    by: User,
    name: str | None = None,
    description: str | None = None,
    repeats: int | None = None,
    steps: Sequence[StepInput] | None = None,
) -> EscalationPolicy:
    """Changes the policy; `steps`, when given, replace all steps. Pages under way keep their copy."""
    team = policy.team
    _require_manager(team=team, by=by)
    new_name = _validate_policy_fields(
        team=team,
        name=policy.name if name is None else name,
        repeats=policy.repeats if repeats is None else repeats,
        exclude_pk=policy.pk,
    )
    if steps is not None:
        _validate_steps(team=team, steps=steps)
    policy.name = new_name
    policy.repeats = policy.repeats if repeats is None else repeats
    policy.description = policy.description if description is None else description.strip()
    policy.save(update_fields=["name", "repeats", "description", "updated_at"])
    if steps is not None:
        _write_steps(policy, steps)
    return policy


@transaction.atomic
def escalation_policy_delete(*, policy: EscalationPolicy, by: User) -> None:
    """Deletes the policy; its services fall back to the team's Default policy (or the managers)."""
    _require_manager(team=policy.team, by=by)
    policy.delete()


@transaction.atomic
def service_escalation_policy_set(*, service: Service, policy: EscalationPolicy | None, by: User) -> Service:
    """Chooses the policy that pages for `service`; None means the team's Default policy."""
    _require_manager(team=service.team, by=by)
    if policy is not None and policy.team_id != service.team_id:
        raise DomainError("Choose one of the team's own escalation policies.", field="escalation_policy")
    service.escalation_policy = policy
    service.save(update_fields=["escalation_policy"])
    return service


# --- the seeds' default ----------------------------------------------------------------


def _primary_and_secondary(team: Team) -> tuple[Layer | None, Layer | None]:
    """Layers 1 and 2 of the team's first schedule (by name) that has layers."""
    layers = list(
        Layer.objects.filter(schedule__team=team)
        .select_related("schedule")
        .order_by("schedule__name", "schedule_id", "position", "pk")
    )
    if not layers:
        return None, None
    first = [layer for layer in layers if layer.schedule_id == layers[0].schedule_id]
    return first[0], (first[1] if len(first) > 1 else None)


def _default_steps(
    *, primary: Layer | None, secondary: Layer | None, platform_lead: User | None, executives: Sequence[User]
) -> list[StepInput]:
    """primary → secondary → team lead → platform lead, with critical-only management at 15 and executives at 30.

    The critical-only steps sit where they fall due: a critical page reaches management
    15 minutes in and executives 30 minutes in; for other pages they are skipped, so
    the platform lead is paged at 15 minutes.
    """
    managers = TargetInput(kind=StepTarget.Kind.MANAGERS)
    steps: list[StepInput] = []
    for layer in (primary, secondary):
        if layer is not None:
            steps.append(StepInput(wait_minutes=5, targets=[TargetInput(kind=StepTarget.Kind.LAYER, layer=layer)]))
    # The team lead's wait fills up to the 15-minute mark whatever layers exist.
    steps.append(StepInput(wait_minutes=15 - 5 * len(steps), targets=[managers]))
    management_wait = 5 if platform_lead is not None else 15
    steps.append(StepInput(wait_minutes=management_wait, targets=[managers], only_critical=True))
    if platform_lead is not None:
        steps.append(StepInput(wait_minutes=10, targets=[TargetInput(kind=StepTarget.Kind.USER, user=platform_lead)]))
    if executives:
        targets = [TargetInput(kind=StepTarget.Kind.USER, user=u) for u in executives[:MAX_TARGETS]]
        steps.append(StepInput(wait_minutes=15, targets=targets, only_critical=True))
    return steps


@transaction.atomic
def escalation_policy_default(
    *,
    team: Team,
    by: User | None = None,
    platform_lead: User | None = None,
    executives: Sequence[User] | None = None,
) -> EscalationPolicy:
    """The team's "Default" policy from the seeds, created if missing (idempotent).

    Executives default to the installation's active staff users (see the module
    docstring); pass an empty list to leave that step out. The platform lead is a
    person, left out when not given. Services without a policy page through this one.
    """
    existing = EscalationPolicy.objects.filter(team=team, name=DEFAULT_POLICY_NAME).first()
    if existing is not None:
        return existing
    if executives is None:
        executives = list(User.objects.filter(is_staff=True, is_active=True).order_by("pk"))
    primary, secondary = _primary_and_secondary(team)
    return escalation_policy_create(
        team=team,
        by=by,
        name=DEFAULT_POLICY_NAME,
        description="The seeds' tiers: primary, secondary, team lead, platform lead; "
        "for unacknowledged critical alerts management at 15 minutes and executives at 30.",
        repeats=1,
        steps=_default_steps(
            primary=primary, secondary=secondary, platform_lead=platform_lead, executives=list(executives)
        ),
    )
