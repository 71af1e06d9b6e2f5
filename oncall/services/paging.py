"""Pages: open one for a new alert, escalate it until someone answers, acknowledge, resolve, audit.

Every change goes through a function here, under a row lock on the page, and writes
its PageEvent (the page's own log) and its outbox notifications in the same
transaction. Escalation is a sweeper (`run_escalations`) over the indexed
`next_step_at` instant, not a chain of delayed tasks: a lost task cannot lose a page,
and the auditor (`run_escalation_audit`) notices when the sweeper itself stops.

Decisions worth knowing:
- The policy is frozen into `Page.policy_snapshot` when the page opens (oncall.escalation
  says what the snapshot holds). Who a target means (the layer's on-call, the team's
  managers) is looked up when the step runs, because that is who is on call then.
- A service without a policy uses its team's policy named "Default"; a team without one
  pages its managers every 5 minutes, twice, and the log says so.
- A step's wait counts from when it actually ran, so a late sweeper never shortens the
  time a person has to answer.
- A second acknowledgement by the same person changes nothing and is no error; by
  someone else it is a ConflictError naming who acknowledged first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from config.errors import ConflictError, DomainError
from oncall import escalation as rules
from oncall import links
from oncall.models import Alert, EscalationPolicy, Layer, Membership, Notification, Page, PageEvent, User, WorkLog
from oncall.models.notifications import Event
from oncall.models.paging import StepTarget
from oncall.schedule import on_call_at
from oncall.selectors_schedules import layer_rule, override_rules_for_layer_ids
from oncall.services.notifications import notify_user

logger = logging.getLogger(__name__)

DEFAULT_POLICY_NAME = "Default"
FALLBACK_WAIT_MINUTES = 5
FALLBACK_REPEATS = 1
# A due step not run this long after its instant means the sweeper (beat every 30 s) stalled.
AUDIT_GRACE = timedelta(minutes=2)
# Repeats of a flapping alert are logged at most this often, so the log stays readable.
REPEAT_LOG_INTERVAL = timedelta(minutes=1)
SWEEP_BATCH = 100
MESSAGE_MAX = 300


# --- the frozen policy -----------------------------------------------------------------


def target_label(target: StepTarget) -> str:
    if target.kind == StepTarget.Kind.LAYER and target.layer is not None:
        return f"On call: {target.layer.schedule.name} > {target.layer.name}"
    if target.kind == StepTarget.Kind.USER and target.user is not None:
        return str(target.user)
    return "Team managers"


def policy_spec(*, policy: EscalationPolicy, source: str = rules.SOURCE_SERVICE) -> rules.PolicySpec:
    """The policy as plain values, ready to freeze into a page."""
    if "steps" in getattr(policy, "_prefetched_objects_cache", {}):
        # Lists prefetch steps and targets for all policies at once; reuse them.
        steps = sorted(policy.steps.all(), key=lambda step: step.position)
    else:
        steps = list(policy.steps.order_by("position").prefetch_related("targets__layer__schedule", "targets__user"))
    return rules.PolicySpec(
        policy_id=policy.pk,
        name=policy.name,
        source=source,
        time_zone=policy.team.time_zone,
        repeats=policy.repeats,
        steps=tuple(
            rules.StepSpec(
                position=step.position,
                wait_minutes=step.wait_minutes,
                only_critical=step.only_critical,
                window_start=step.window_start,
                window_end=step.window_end,
                weekdays=tuple(step.weekdays or ()),
                targets=tuple(
                    rules.TargetSpec(kind=t.kind, layer_id=t.layer_id, user_id=t.user_id, label=target_label(t))
                    for t in sorted(step.targets.all(), key=lambda t: t.pk)
                ),
            )
            for step in steps
        ),
    )


def _fallback_spec(*, time_zone: str) -> rules.PolicySpec:
    managers = rules.TargetSpec(kind=StepTarget.Kind.MANAGERS, label="Team managers")
    step = rules.StepSpec(position=1, wait_minutes=FALLBACK_WAIT_MINUTES, targets=(managers,))
    return rules.PolicySpec(
        name="No policy: team managers",
        source=rules.SOURCE_FALLBACK,
        time_zone=time_zone,
        repeats=FALLBACK_REPEATS,
        steps=(step,),
    )


def page_policy_for(*, alert: Alert) -> rules.PolicySpec:
    """The service's policy, else the team's "Default" policy, else the managers fallback."""
    service = alert.service
    if service.escalation_policy_id is not None:
        return policy_spec(policy=service.escalation_policy, source=rules.SOURCE_SERVICE)
    default = EscalationPolicy.objects.filter(team_id=service.team_id, name=DEFAULT_POLICY_NAME).first()
    if default is not None:
        return policy_spec(policy=default, source=rules.SOURCE_TEAM_DEFAULT)
    return _fallback_spec(time_zone=service.team.time_zone)


# --- who a step reaches ----------------------------------------------------------------


def _layer_on_call(layer_id: int, now: datetime) -> int | None:
    layer = Layer.objects.select_related("schedule").prefetch_related("participants").filter(pk=layer_id).first()
    if layer is None:
        return None
    overrides = override_rules_for_layer_ids([layer.pk], now, now + timedelta(seconds=1))
    return on_call_at(layer_rule(layer), overrides, now)


def _team_manager_ids(team_id: int) -> list[int]:
    rows = Membership.objects.filter(team_id=team_id, role=Membership.Role.MANAGER).order_by("user_id")
    return list(rows.values_list("user_id", flat=True))


def step_people(*, step: rules.StepSpec, team_id: int, now: datetime) -> list[User]:
    """The active people a step reaches at `now`, each once, in the order of its targets."""
    ids: list[int] = []
    for target in step.targets:
        if target.kind == StepTarget.Kind.LAYER and target.layer_id is not None:
            found = [_layer_on_call(target.layer_id, now)]
        elif target.kind == StepTarget.Kind.USER:
            found = [target.user_id]
        else:
            found = list(_team_manager_ids(team_id))
        ids.extend(i for i in found if i is not None and i not in ids)
    people = {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True)}
    return [people[i] for i in ids if i in people]


# --- what a page says ------------------------------------------------------------------


def page_url(page: Page) -> str:
    return settings.SITE_URL + reverse("oncall:page-detail", kwargs={"pk": page.pk})


def _subject(page: Page) -> str:
    alert = page.alert
    return f"[{alert.get_severity_display()}] {page.service.name}: {alert.title}"[:200]


def _page_message(page: Page, *, user: User, policy: rules.PolicySpec, step_index: int, now: datetime) -> str:
    """What broke, where to look, how to acknowledge, with this person's own signed links."""
    zone = ZoneInfo(page.team.time_zone)
    return render_to_string(
        "oncall/paging/page_notification.txt",
        {
            "page": page,
            "alert": page.alert,
            "service": page.service,
            "runbook": [(label, text) for label, text in page.service.runbook_sections if text.strip()],
            "runbook_missing": page.service.runbook_missing,
            "opened_local": page.created_at.astimezone(zone),
            "time_zone": page.team.time_zone,
            "wait_minutes": policy.steps[step_index].wait_minutes,
            "acknowledge_url": links.page_link_url(page_id=page.pk, user_id=user.pk, action="acknowledge", now=now),
            "resolve_url": links.page_link_url(page_id=page.pk, user_id=user.pk, action="resolve", now=now),
            "page_url": page_url(page),
        },
    ).strip()


def _channel(notification: Notification) -> str:
    return notification.contact_method.kind if notification.contact_method else "email"


def _log(page: Page, kind: str, now: datetime, message: str = "", **fields: object) -> PageEvent:
    return PageEvent.objects.create(page=page, kind=kind, at=now, message=message[:MESSAGE_MAX], **fields)


# --- running steps ---------------------------------------------------------------------


def _notify_step(page: Page, policy: rules.PolicySpec, step_index: int, round_index: int, now: datetime) -> int:
    """Pages everybody the step reaches; one NOTIFIED event per row written. Returns the rows."""
    step = policy.steps[step_index]
    people = step_people(step=step, team_id=page.team_id, now=now)
    if not people:
        who = ", ".join(t.label for t in step.targets) or "no targets"
        _log(page, PageEvent.Kind.NOBODY, now, f"Step {step_index + 1} reached nobody ({who}).", step=step_index)
        return 0
    written = 0
    for user in people:
        rows = notify_user(
            user=user,
            event=Event.PAGE,
            dedup_key=f"page:{page.pk}:r{round_index}:s{step_index}:u{user.pk}",
            subject=_subject(page),
            body=_page_message(page, user=user, policy=policy, step_index=step_index, now=now),
            payload={"page": page.pk, "alert": page.alert_id, "service": page.service.slug, "step": step_index},
            now=now,
        )
        for row in rows:
            channel = _channel(row)
            fields = {"user": user, "notification": row, "step": step_index, "channel": channel}
            _log(page, PageEvent.Kind.NOTIFIED, now, f"{user} by {channel}", **fields)
        if not rows:
            _log(page, PageEvent.Kind.NOBODY, now, f"{user} has no way to be reached.", user=user, step=step_index)
        written += len(rows)
    return written


def _tell_managers_nobody_answered(page: Page, now: datetime) -> None:
    managers = User.objects.filter(pk__in=_team_manager_ids(page.team_id), is_active=True)
    for manager in managers:
        notify_user(
            user=manager,
            event=Event.PAGE,
            dedup_key=f"page:{page.pk}:exhausted:u{manager.pk}",
            subject=f"Nobody acknowledged: {_subject(page)}"[:200],
            body=f"The escalation policy of {page.service.name} ran out and nobody acknowledged the page.\n"
            f"Find someone to take it: {page_url(page)}",
            payload={"page": page.pk, "exhausted": True},
            now=now,
        )


def _advance(page: Page, now: datetime, *, by: User | None = None, opening: bool = False) -> None:
    """Runs the step due for a locked, triggered page and moves its cursor; saves the page."""
    policy = rules.PolicySpec.from_dict(page.policy_snapshot)
    is_critical = page.alert.severity == Alert.Severity.CRITICAL
    plan = rules.next_step(
        policy, step_index=page.step_index, round_index=page.round_index, instant=now, is_critical=is_critical
    )
    skipped = "; ".join(f"step {s.step_index + 1} skipped ({s.reason})" for s in plan.skipped)
    if plan.step_index is None:
        _log(page, PageEvent.Kind.EXHAUSTED, now, f"Nobody acknowledged; the policy ran out. {skipped}".strip())
        _tell_managers_nobody_answered(page, now)
        page.next_step_at = None
    else:
        _log_progress(page, policy, plan, now, by=by, opening=opening, skipped=skipped)
        _notify_step(page, policy, plan.step_index, plan.round_index, now)
        page.step_index, page.round_index = rules.cursor_after(
            policy, step_index=plan.step_index, round_index=plan.round_index
        )
        page.next_step_at = rules.next_step_at(policy, step_index=plan.step_index, ran_at=now)
    page.stalled_at = None
    page.save(update_fields=["step_index", "round_index", "next_step_at", "stalled_at"])


def _log_progress(
    page: Page,
    policy: rules.PolicySpec,
    plan: rules.NextStep,
    now: datetime,
    *,
    by: User | None,
    opening: bool,
    skipped: str,
) -> None:
    assert plan.step_index is not None
    # A new round: the cursor wrapped to step 1 after the last step ran, or skipping wrapped it.
    if plan.round_index > 0 and (plan.round_index > page.round_index or page.step_index == 0):
        _log(page, PageEvent.Kind.REPEATED, now, f"Round {plan.round_index + 1} of {policy.repeats + 1}.")
    if not opening or plan.skipped:
        what = f"Escalated by {by}" if by is not None else "Escalated"
        message = f"{what} to step {plan.step_index + 1}. {skipped}".strip()
        _log(page, PageEvent.Kind.ESCALATED, now, message, user=by, step=plan.step_index)


# --- opening and repeats ---------------------------------------------------------------


@transaction.atomic
def page_open(*, alert: Alert, now: datetime) -> Page:
    """Opens the page of a new alert and runs its first applicable step at once.

    Side effects: the Page with its frozen policy; TRIGGERED, NOTIFIED/NOBODY (and
    ESCALATED for skipped steps) events; PAGE notifications to the step's people.
    Called inside the alert intake's transaction; a second call for the same alert
    returns the existing page.
    """
    existing = Page.objects.filter(alert=alert).first()
    if existing is not None:
        return existing
    policy = page_policy_for(alert=alert)
    page = Page.objects.create(
        alert=alert,
        service=alert.service,
        team=alert.service.team,
        policy_snapshot=policy.to_dict(),
        created_at=now,
        next_step_at=now,
    )
    if policy.source == rules.SOURCE_FALLBACK:
        logger.warning("Service %s has no escalation policy; paging team managers.", alert.service.slug)
        message = "No escalation policy for this service or team: paging the team's managers."
    else:
        message = f"Paging along “{policy.name}”."
    _log(page, PageEvent.Kind.TRIGGERED, now, message)
    _advance(page, now, opening=True)
    return page


def _page_of(alert: Alert) -> Page | None:
    # Lock only the page row: the alert row belongs to the intake, which may hold it already.
    return (
        Page.objects.select_for_update(of=("self",))
        .select_related("alert", "service", "team")
        .filter(alert=alert)
        .first()
    )


def page_alert_repeated(*, alert: Alert, now: datetime) -> None:
    """A duplicate of the alert arrived: logged (at most once a minute), nobody paged again.

    The alert's `repeat_logged_at` says when the log last got a line; a conditional update of it
    makes two repeats at once write one. The page is not locked: a log line beside an
    acknowledgement harms nothing.
    """
    due = now - REPEAT_LOG_INTERVAL
    if alert.repeat_logged_at is not None and alert.repeat_logged_at > due:
        return
    stamped = (
        Alert.objects.filter(pk=alert.pk)
        .filter(Q(repeat_logged_at__isnull=True) | Q(repeat_logged_at__lte=due))
        .update(repeat_logged_at=now)
    )
    alert.repeat_logged_at = now
    page_id = Page.objects.filter(alert_id=alert.pk).values_list("pk", flat=True).first() if stamped else None
    if page_id is not None:
        message = f"The tool sent the alert again ({alert.count} in all)."
        _log(Page(pk=page_id, alert_id=alert.pk), PageEvent.Kind.ALERT_REPEATED, now, message)


@transaction.atomic
def page_resolve_from_alert(*, alert: Alert, now: datetime) -> Page | None:
    """The tool resolved the alert: the page resolves and escalation stops (no-op when resolved)."""
    page = _page_of(alert)
    if page is None or page.status == Page.Status.RESOLVED:
        return page
    _resolve(page, by=None, now=now, message=f"Resolved by {alert.integration.name}.")
    return page


# --- acting on a page ------------------------------------------------------------------


def _lock(page: Page) -> Page:
    return Page.objects.select_for_update(of=("self",)).select_related("alert", "service", "team").get(pk=page.pk)


def _was_paged(page: Page, user: User) -> bool:
    return page.events.filter(kind=PageEvent.Kind.NOTIFIED, user=user).exists()


def _require_responder(page: Page, by: User) -> None:
    if Membership.objects.filter(team_id=page.team_id, user=by).exists() or _was_paged(page, by):
        return
    raise DomainError(f"Only members of {page.team.name}, or people paged for it, can act on this page.")


def _local(page: Page, instant: datetime) -> str:
    return f"{instant.astimezone(ZoneInfo(page.team.time_zone)):%H:%M %Z}"


@transaction.atomic
def page_acknowledge(*, page: Page, by: User, now: datetime | None = None) -> Page:
    """Someone is on it: escalation stops and everyone already paged is told who.

    Side effects: ACKNOWLEDGED event; PAGE_ACKNOWLEDGED notifications to the people
    paged so far. Under the page's row lock, so of many simultaneous acknowledgements
    exactly one is recorded; the same person again changes nothing.
    """
    now = now or timezone.now()
    page = _lock(page)
    _require_responder(page, by)
    if page.status == Page.Status.RESOLVED:
        raise ConflictError("This page is already resolved.")
    if page.status == Page.Status.ACKNOWLEDGED:
        if page.acknowledged_by_id == by.pk:
            return page
        who = page.acknowledged_by or "Someone"
        raise ConflictError(f"{who} already acknowledged this page at {_local(page, page.acknowledged_at or now)}.")
    page.status, page.acknowledged_at, page.acknowledged_by = Page.Status.ACKNOWLEDGED, now, by
    page.next_step_at = None
    page.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "next_step_at"])
    _log(page, PageEvent.Kind.ACKNOWLEDGED, now, f"{by} is on it.", user=by)
    _tell_paged_people(page, by=by, now=now)
    return page


def _tell_paged_people(page: Page, *, by: User, now: datetime) -> None:
    paged = page.events.filter(kind=PageEvent.Kind.NOTIFIED).exclude(user=by).values("user")
    for user in User.objects.filter(pk__in=paged, is_active=True).order_by("pk"):
        notify_user(
            user=user,
            event=Event.PAGE_ACKNOWLEDGED,
            dedup_key=f"page:{page.pk}:ack:u{user.pk}",
            subject=f"{by} is on it: {_subject(page)}"[:200],
            body=f"{by} acknowledged the page at {_local(page, now)}. You can stand down.\n{page_url(page)}",
            payload={"page": page.pk, "acknowledged_by": by.pk},
            now=now,
        )


@transaction.atomic
def page_resolve(*, page: Page, by: User, now: datetime | None = None) -> Page:
    """Resolves the page and its alert; escalation stops.

    Side effects: RESOLVED event; the alert resolved if still open; the responder's
    work span (acknowledged → resolved) as a WorkLog for the comp-time job.
    """
    now = now or timezone.now()
    page = _lock(page)
    _require_responder(page, by)
    if page.status == Page.Status.RESOLVED:
        raise ConflictError("This page is already resolved.")
    _resolve(page, by=by, now=now, message=f"Resolved by {by}.")
    Alert.objects.filter(pk=page.alert_id, status=Alert.Status.OPEN).update(
        status=Alert.Status.RESOLVED, resolved_at=now
    )
    return page


def _resolve(page: Page, *, by: User | None, now: datetime, message: str) -> None:
    page.status, page.resolved_at, page.resolved_by, page.next_step_at = Page.Status.RESOLVED, now, by, None
    page.save(update_fields=["status", "resolved_at", "resolved_by", "next_step_at"])
    _log(page, PageEvent.Kind.RESOLVED, now, message, user=by)
    _record_work(page)


def _record_work(page: Page) -> None:
    """The acknowledger's span, once (get_or_create on its reference), for after-hours comp time."""
    start, end, user_id = page.acknowledged_at, page.resolved_at, page.acknowledged_by_id
    if start is None or end is None or user_id is None or end <= start:
        return
    WorkLog.objects.get_or_create(
        user_id=user_id,
        reference=f"page:{page.pk}",
        defaults={
            "team_id": page.team_id,
            "start_at": start,
            "end_at": end,
            "source": WorkLog.Source.PAGE,
            "page": page,
            "note": f"Page: {page.alert.title}"[:300],
        },
    )


@transaction.atomic
def page_escalate_now(*, page: Page, by: User, now: datetime | None = None) -> Page:
    """Runs the next step at once, without waiting for the current one's time to pass."""
    now = now or timezone.now()
    page = _lock(page)
    _require_responder(page, by)
    if page.status != Page.Status.TRIGGERED:
        raise ConflictError(f"This page is {page.get_status_display().lower()}; there is nothing to escalate.")
    if page.next_step_at is None:
        raise ConflictError("The escalation policy has run out; page people directly.")
    _advance(page, now, by=by)
    return page


# --- the sweeper and its auditor -------------------------------------------------------


def _due(now: datetime) -> Q:
    return Q(status=Page.Status.TRIGGERED, next_step_at__lte=now)


def run_escalations(*, now: datetime, batch: int = SWEEP_BATCH) -> int:
    """Runs the due step of every due page, at most `batch` pages; returns how many it advanced.

    Each page is advanced in its own transaction under a row lock taken with SKIP
    LOCKED, so two sweepers share the work instead of queueing, and a page whose
    acknowledgement holds the lock is simply left for the next beat. The due condition
    is checked again under the lock: a second run at the same `now` finds the page
    already moved on and notifies nobody twice.
    """
    ids = list(Page.objects.filter(_due(now)).order_by("next_step_at").values_list("pk", flat=True)[:batch])
    return sum(_escalate_one(pk, now) for pk in ids)


@transaction.atomic
def _escalate_one(page_id: int, now: datetime) -> int:
    page = (
        Page.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("alert", "service", "team")
        .filter(_due(now), pk=page_id)
        .first()
    )
    if page is None:
        return 0
    _advance(page, now)
    return 1


def run_escalation_audit(*, now: datetime, grace: timedelta = AUDIT_GRACE, batch: int = SWEEP_BATCH) -> int:
    """Flags triggered pages whose next step is overdue by more than `grace`; returns how many.

    Side effects: `stalled_at` and a STALLED event per page; PAGE_STALLED to every
    active superuser, once per page (dedup key), however often the page stalls.
    The sweeper clears `stalled_at` when it runs the page again.
    """
    cutoff = now - grace
    stalled = Page.objects.filter(status=Page.Status.TRIGGERED, next_step_at__lt=cutoff, stalled_at__isnull=True)
    ids = list(stalled.order_by("next_step_at").values_list("pk", flat=True)[:batch])
    return sum(_flag_stalled(pk, cutoff=cutoff, now=now) for pk in ids)


@transaction.atomic
def _flag_stalled(page_id: int, *, cutoff: datetime, now: datetime) -> int:
    # Conditional UPDATE: two auditors at once flag (and tell) once.
    flagged = Page.objects.filter(
        pk=page_id, status=Page.Status.TRIGGERED, next_step_at__lt=cutoff, stalled_at__isnull=True
    ).update(stalled_at=now)
    if not flagged:
        return 0
    page = Page.objects.select_related("alert", "service", "team").get(pk=page_id)
    assert page.next_step_at is not None
    late = int((now - page.next_step_at).total_seconds() // 60)
    _log(
        page,
        PageEvent.Kind.STALLED,
        now,
        f"Step due at {_local(page, page.next_step_at)} did not run ({late} min late).",
    )
    for admin in User.objects.filter(is_superuser=True, is_active=True).order_by("pk"):
        notify_user(
            user=admin,
            event=Event.PAGE_STALLED,
            dedup_key=f"page:{page.pk}:stalled:u{admin.pk}",
            subject=f"Escalation stalled: {_subject(page)}"[:200],
            body=f"Page #{page.pk} of {page.team.name} should have escalated {late} minutes ago and did not.\n"
            "Check that Celery beat and a worker are running (/healthz), then the page:\n"
            f"{page_url(page)}",
            payload={"page": page.pk, "stalled": True},
            now=now,
        )
    return 1
