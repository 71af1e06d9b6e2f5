"""Writes with rules for postmortems and action items, and the deadline sweepers.

Each sweeper takes `now`, works in bounded batches over an indexed due column, and sends
every reminder or escalation through the outbox with a dedup key naming the event, so
running it twice, or two beats at once, notifies once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from config.errors import ConflictError, DomainError
from incidents.models import Incident, RoleAssignment
from incidents.services import severity_policies_for
from oncall.models import Holiday, Membership, Team, User
from oncall.models.notifications import Event
from oncall.selectors import is_member
from oncall.services.notifications import notify_user
from postmortems import blameless, deadlines, selectors
from postmortems.models import NEXT_SWEEP, ActionItem, ContributingFactor, Postmortem, PostmortemPolicy

BATCH = 200
TIMELINE_KINDS = {"declared", "status", "severity", "role", "note", "correction", "update"}


def policy_for(team: Team) -> PostmortemPolicy:
    policy, _ = PostmortemPolicy.objects.get_or_create(team=team)
    return policy


def team_holidays(team: Team, years: range) -> frozenset[dt.date]:
    policy = policy_for(team)
    own = Holiday.objects.filter(team=team, date__year__in=list(years)).values_list("date", flat=True)
    return deadlines.public_holidays(policy.holiday_country, policy.holiday_subdivision, years) | frozenset(own)


def due_at_for(incident: Incident, since: dt.datetime) -> dt.datetime:
    policy = policy_for(incident.team)
    return deadlines.postmortem_due_at(
        since,
        time_zone=incident.team.time_zone,
        kind=policy.due_kind,
        hours=policy.due_hours,
        business_days=policy.due_business_days,
        holidays=team_holidays(incident.team, range(since.year, since.year + 2)),
    )


def _owner(incident: Incident) -> User | None:
    """The incident commander: the current one, else the last who held the role."""
    span = (
        RoleAssignment.objects.filter(incident=incident, role=RoleAssignment.Role.COMMANDER)
        .select_related("user")
        # The open span first, then the latest to end: resolving ends every span, and the
        # commander who handed over ended first. NULLs sort last in PostgreSQL, so say so.
        .order_by(F("ended_at").desc(nulls_first=True), "-started_at")
        .first()
    )
    return span.user if span else incident.declared_by


def _facts(incident: Incident) -> list[dict[str, str]]:
    entries = incident.timeline.filter(kind__in=TIMELINE_KINDS).order_by("happened_at", "pk")
    return [{"at": e.happened_at.isoformat(), "text": e.text} for e in entries]


def _summary(incident: Incident) -> str:
    end = incident.resolved_at or timezone.now()
    start = incident.impact_started_at or incident.detected_at
    minutes = int((end - start).total_seconds() // 60)
    return (
        f"{incident.title}. SEV-{incident.severity}, {incident.get_status_display().lower()}. "
        f"Impact from {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC ({minutes} minutes)."
    )


@transaction.atomic
def postmortem_create(*, incident: Incident, by: User | None = None, now: dt.datetime | None = None) -> Postmortem:
    """Opens the incident's postmortem, once: owner the commander, due date from the team's policy.

    Side effects: the timeline imported as facts, the owner told (Event.POSTMORTEM_ASSIGNED).
    """
    now = now or timezone.now()
    # The resolve signal, the beat's sweep and a person may open it at the same moment: under the
    # incident's row lock one creates it and the others find it.
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    existing = Postmortem.objects.filter(incident=incident).first()
    if existing:
        return existing
    if by is not None and not Membership.objects.filter(team=incident.team, user=by).exists():
        raise DomainError(f"Only members of {incident.team.name} can open its postmortems.")
    owner = _owner(incident)
    postmortem = Postmortem.objects.create(
        incident=incident,
        team=incident.team,
        owner=owner,
        due_at=due_at_for(incident, incident.resolved_at or now),
        summary=_summary(incident),
        timeline=_facts(incident),
        created_at=now,
    )
    if owner is not None:
        _tell(owner, postmortem, Event.POSTMORTEM_ASSIGNED, "assigned", f"You own the postmortem of {incident}", now)
    return postmortem


def _tell(user: User, postmortem: Postmortem, event: str, key: str, subject: str, now: dt.datetime) -> int:
    local_due = postmortem.due_at.astimezone(ZoneInfo(postmortem.team.time_zone))
    rows = notify_user(
        user=user,
        event=event,
        dedup_key=f"postmortem:{postmortem.pk}:{key}:u{user.pk}",
        subject=subject[:200],
        body=(
            f"{subject}. Due {local_due:%a %d %b %H:%M} {postmortem.team.time_zone}. "
            f"{settings.SITE_URL}{postmortem.get_absolute_url()}"
        ),
        payload={"postmortem": postmortem.pk, "incident": postmortem.incident.number},
        now=now,
    )
    return len(rows)


def on_incident_resolved(incident_id: int) -> None:
    """Receiver of incidents.signals.incident_resolved: SEV levels that require one get a postmortem."""
    incident = Incident.objects.select_related("team").get(pk=incident_id)
    if _required(incident):
        postmortem_create(incident=incident)


def _required(incident: Incident) -> bool:
    return severity_policies_for(incident.team)[incident.severity].postmortem_required


EDITABLE = {
    "summary", "users_affected_percent", "peak_error_rate_percent", "latency_impact", "features_affected",
    "business_impact", "root_cause", "went_well", "went_badly", "review_at", "owner",
}  # fmt: skip


def _require_member(team: Team, user: User) -> None:
    if not is_member(user=user, team=team):
        raise DomainError(f"Only members of {team.name} can change its postmortems.")


@transaction.atomic
def postmortem_update(
    *, postmortem: Postmortem, by: User, now: dt.datetime | None = None, **changes: object
) -> list[blameless.Finding]:
    """Edits a draft or in-review postmortem; returns the blameless warnings of the new text."""
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    _require_member(postmortem.team, by)
    if postmortem.status == Postmortem.Status.PUBLISHED:
        raise ConflictError("A published postmortem is read-only; only its action items move on.")
    unknown = set(changes) - EDITABLE
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    owner = changes.get("owner")
    if owner is not None and not Membership.objects.filter(team=postmortem.team, user=owner).exists():
        raise DomainError(f"{owner} is not a member of {postmortem.team.name}.", field="owner")
    if "owner" in changes:
        # A new owner hears of the deadline from the next sweep, whatever the last one sent.
        changes = {**changes, "next_check_at": NEXT_SWEEP}
    for field, value in changes.items():
        setattr(postmortem, field, value)
    postmortem.save(update_fields=list(changes))
    return blameless_findings(postmortem)


def blameless_findings(postmortem: Postmortem) -> list[blameless.Finding]:
    people = User.objects.filter(memberships__team=postmortem.team)
    names = [n for u in people for n in (u.username, u.first_name, u.last_name, u.get_full_name())]
    factors = " ".join(f.description for f in postmortem.factors.all())
    return blameless.check(f"{postmortem.root_cause}\n{factors}", names=names)


@transaction.atomic
def factor_add(*, postmortem: Postmortem, kind: str, by: User, description: str = "") -> ContributingFactor:
    _require_member(postmortem.team, by)
    if postmortem.status == Postmortem.Status.PUBLISHED:
        raise ConflictError("A published postmortem is read-only.")
    if kind not in ContributingFactor.Kind.values:
        raise DomainError("Choose a kind of contributing factor.", field="kind")
    if kind == ContributingFactor.Kind.OTHER and not description.strip():
        raise DomainError("Describe the factor.", field="description")
    factor = ContributingFactor.objects.create(postmortem=postmortem, kind=kind, description=description.strip())
    _flag_repeats(postmortem)
    return factor


def earlier_with_open_items(incident: Incident) -> QuerySet[Postmortem]:
    """Earlier postmortems on the incident's services whose action items are not all done."""
    return (
        Postmortem.objects.filter(
            incident__services__in=incident.services.all(),
            incident__declared_at__lt=incident.declared_at,
            action_items__status__in=["open", "in_progress"],
        )
        .exclude(incident=incident)
        .select_related("incident")
        .distinct()
    )


def _flag_repeats(postmortem: Postmortem) -> None:
    kinds = set(postmortem.factors.values_list("kind", flat=True))
    shared = earlier_with_open_items(postmortem.incident).filter(factors__kind__in=kinds).distinct()
    postmortem.repeat_of.add(*shared)


TRANSITIONS = {
    Postmortem.Status.DRAFT: {Postmortem.Status.IN_REVIEW},
    Postmortem.Status.IN_REVIEW: {Postmortem.Status.DRAFT, Postmortem.Status.PUBLISHED},
    Postmortem.Status.PUBLISHED: set(),
}


@transaction.atomic
def postmortem_transition(
    *,
    postmortem: Postmortem,
    status: str,
    by: User,
    reviewers: Iterable[User] = (),
    now: dt.datetime | None = None,
) -> Postmortem:
    """draft → in review (with reviewers) → published; publishing needs a root cause."""
    now = now or timezone.now()
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    _require_member(postmortem.team, by)
    if status not in TRANSITIONS.get(postmortem.status, set()):
        raise ConflictError(f"A postmortem cannot go from {postmortem.status} to {status}.")
    reviewers = list(reviewers)
    if status == Postmortem.Status.IN_REVIEW and not (reviewers or postmortem.reviewers.exists()):
        raise DomainError("Name at least one reviewer.", field="reviewers")
    if status == Postmortem.Status.PUBLISHED and not postmortem.root_cause.strip():
        raise DomainError("State the root cause before publishing.", field="root_cause")
    if reviewers:
        postmortem.reviewers.set(reviewers)
    postmortem.status = status
    fields = ["status"]
    if status == Postmortem.Status.PUBLISHED:
        postmortem.published_at = now
        fields.append("published_at")
    postmortem.save(update_fields=fields)
    return postmortem


ITEM_FIELDS = {"title", "owner", "due_date", "priority", "kind", "verification", "expected_impact"}
VAGUE = ("improve monitoring", "be more careful", "improve testing", "better communication", "investigate")


def vague_hint(title: str) -> str:
    """A hint when a title names a wish rather than a change someone can finish and verify."""
    words = title.strip().lower()
    if any(words.startswith(v) for v in VAGUE) or len(words.split()) < 3:
        return "Say exactly what changes, e.g. “Alert when the DB pool is above 80% for 5 minutes”."
    return ""


@transaction.atomic
def action_item_create(
    *, postmortem: Postmortem, by: User, now: dt.datetime | None = None, **fields: object
) -> ActionItem:
    now = now or timezone.now()
    _require_member(postmortem.team, by)
    _check_item_fields(postmortem.team, fields)
    return ActionItem.objects.create(postmortem=postmortem, team=postmortem.team, created_at=now, **fields)


def _check_item_fields(team: Team, fields: dict[str, object]) -> None:
    unknown = set(fields) - ITEM_FIELDS
    if unknown:
        raise DomainError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
    if "title" in fields and not str(fields["title"]).strip():
        raise DomainError("Say what will change.", field="title")
    owner = fields.get("owner")
    if owner is not None and not Membership.objects.filter(team=team, user=owner).exists():
        raise DomainError(f"{owner} is not a member of {team.name}.", field="owner")


@transaction.atomic
def action_item_update(*, item: ActionItem, by: User, **fields: object) -> ActionItem:
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    _require_member(item.team, by)
    _check_item_fields(item.team, fields)
    if not item.is_open:
        raise ConflictError("This action item is closed; reopen it first.")
    for field, value in fields.items():
        setattr(item, field, value)
    if "due_date" in fields:
        item.overdue_since = None
        fields = {**fields, "overdue_since": None}
    if "due_date" in fields or "owner" in fields:
        # The next sweep looks again, so a new owner hears of a due or overdue item.
        item.next_check_at = NEXT_SWEEP
        fields = {**fields, "next_check_at": NEXT_SWEEP}
    item.save(update_fields=list(fields))
    return item


@transaction.atomic
def action_item_set_status(
    *,
    item: ActionItem,
    status: str,
    by: User,
    evidence: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> ActionItem:
    """Done needs evidence of verification; won't do needs a reason. Nothing else ends an item."""
    now = now or timezone.now()
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    _require_member(item.team, by)
    if status not in ActionItem.Status.values:
        raise DomainError("Unknown status.", field="status")
    if status == item.status:
        raise ConflictError(f"The item already is {item.get_status_display().lower()}.")
    if status == ActionItem.Status.DONE and not evidence.strip():
        raise DomainError("Show how it was verified: a link, a test, a drill.", field="evidence")
    if status == ActionItem.Status.WONT_DO and not reason.strip():
        raise DomainError("Say why it will not be done.", field="reason")
    item.status = status
    item.evidence = evidence.strip() or item.evidence
    item.wont_do_reason = reason.strip() if status == ActionItem.Status.WONT_DO else ""
    item.done_at = now if status in (ActionItem.Status.DONE, ActionItem.Status.WONT_DO) else None
    item.next_check_at = NEXT_SWEEP  # a reopened item is looked at again
    item.save(update_fields=["status", "evidence", "wont_do_reason", "done_at", "next_check_at"])
    return item


@transaction.atomic
def action_items_reassign(*, items: Iterable[ActionItem], owner: User, by: User) -> int:
    """A manager hands open items of their teams to someone else in one go."""
    items = list(items)
    managed = set(Membership.objects.filter(user=by, role=Membership.Role.MANAGER).values_list("team_id", flat=True))
    foreign = [i.title for i in items if i.team_id not in managed]
    if foreign:
        raise DomainError(f"You do not manage the teams of: {', '.join(foreign)}.")
    outsiders = [i.title for i in items if not Membership.objects.filter(team=i.team_id, user=owner).exists()]
    if outsiders:
        raise DomainError(f"{owner} is not in the team of: {', '.join(outsiders)}.", field="owner")
    return ActionItem.objects.filter(pk__in=[i.pk for i in items], status__in=["open", "in_progress"]).update(
        owner=owner, next_check_at=NEXT_SWEEP
    )


# --- sweepers ---------------------------------------------------------------------------


def run_missing_postmortems(*, now: dt.datetime | None = None) -> int:
    """Creates postmortems the signal missed (a crash between commit and receiver)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=30)
    missing = Incident.objects.filter(
        status__in=["resolved", "closed"], resolved_at__gte=since, postmortem__isnull=True
    ).select_related("team")[:BATCH]
    created = 0
    for incident in missing:
        if not _required(incident):
            continue
        with transaction.atomic():
            # Another beat may be creating it: wait for the incident's lock, then look again.
            Incident.objects.select_for_update().filter(pk=incident.pk).first()
            if Postmortem.objects.filter(incident=incident).exists():
                continue
            postmortem_create(incident=incident, now=now)
        created += 1
    return created


def _managers(team: Team) -> list[User]:
    return list(User.objects.filter(memberships__team=team, memberships__role=Membership.Role.MANAGER))


def run_postmortem_deadlines(*, now: dt.datetime | None = None) -> int:
    """Reminds owners before the due time, marks overdue at it, escalates to managers after the grace.

    Claims the postmortems whose `next_check_at` has come, oldest first, and moves each on to
    the instant of its next step (or clears it), so every due postmortem gets its turn however
    many wait, and a run reads only those.
    """
    now = now or timezone.now()
    sent = 0
    due = (
        Postmortem.objects.exclude(status=Postmortem.Status.PUBLISHED)
        .filter(next_check_at__lte=now)
        .select_related("team", "owner", "incident")
        .order_by("next_check_at")[:BATCH]
    )
    policies: dict[int, PostmortemPolicy] = {}
    managers: dict[int, list[User]] = {}  # by team, for this run
    for postmortem in due:
        policy = _cached_policy(policies, postmortem.team)
        with transaction.atomic():
            sent += _postmortem_step(postmortem, policy, now, managers)
            Postmortem.objects.filter(pk=postmortem.pk, next_check_at=postmortem.next_check_at).update(
                next_check_at=_postmortem_next_check(postmortem, policy, now)
            )
    return sent


def _cached_policy(policies: dict[int, PostmortemPolicy], team: Team) -> PostmortemPolicy:
    if team.pk not in policies:
        policies[team.pk] = policy_for(team)
    return policies[team.pk]


def _postmortem_next_check(postmortem: Postmortem, policy: PostmortemPolicy, now: dt.datetime) -> dt.datetime | None:
    steps = (
        postmortem.due_at - dt.timedelta(hours=policy.remind_before_hours),
        postmortem.due_at,
        postmortem.due_at + dt.timedelta(hours=policy.escalate_after_hours),
    )
    return min((step for step in steps if step > now), default=None)


def _postmortem_step(
    postmortem: Postmortem, policy: PostmortemPolicy, now: dt.datetime, managers: dict[int, list[User]]
) -> int:
    owner, incident = postmortem.owner, postmortem.incident
    sent = 0
    # "Due soon" only before the due time: once it has passed, the overdue notice says it all.
    if owner and postmortem.due_at - dt.timedelta(hours=policy.remind_before_hours) <= now < postmortem.due_at:
        subject = f"Postmortem of {incident.reference} is due soon"
        sent += _tell(owner, postmortem, Event.POSTMORTEM_DUE, "reminder", subject, now)
    if now >= postmortem.due_at:
        Postmortem.objects.filter(pk=postmortem.pk, overdue_since__isnull=True).update(overdue_since=postmortem.due_at)
        if owner:
            subject = f"Postmortem of {incident.reference} is overdue"
            sent += _tell(owner, postmortem, Event.POSTMORTEM_OVERDUE, "overdue", subject, now)
    if now >= postmortem.due_at + dt.timedelta(hours=policy.escalate_after_hours):
        subject = f"Overdue postmortem: {incident.reference} (owner {owner or 'nobody'})"
        if postmortem.team_id not in managers:
            managers[postmortem.team_id] = _managers(postmortem.team)
        for manager in managers[postmortem.team_id]:
            sent += _tell(manager, postmortem, Event.POSTMORTEM_OVERDUE, "escalated", subject, now)
    return sent


def run_action_item_deadlines(*, now: dt.datetime | None = None) -> int:
    """Reminders before and on the due date, overdue marking, escalation after the grace period.

    Keeps going whatever the state of the incident and postmortem: an item ends only when
    verified done or dropped with a reason. Claims open items by `next_check_at`, oldest
    first, and moves each on to the local day of its next step (or clears it once escalated),
    so items already escalated do not hold back those behind them.
    """
    now = now or timezone.now()
    items = (
        ActionItem.objects.filter(status__in=["open", "in_progress"], next_check_at__lte=now)
        .select_related("team", "owner", "postmortem__incident")
        .order_by("next_check_at")[:BATCH]
    )
    touched = 0
    policies: dict[int, PostmortemPolicy] = {}
    for item in items:
        policy = _cached_policy(policies, item.team)
        with transaction.atomic():
            if item.due_date is not None:
                touched += _item_step(item, policy, now)
            # Unless an edit re-armed it meanwhile (a new due date): then the next run looks again.
            ActionItem.objects.filter(pk=item.pk, due_date=item.due_date, next_check_at=item.next_check_at).update(
                next_check_at=_item_next_check(item, policy, now)
            )
    return touched


def _item_next_check(item: ActionItem, policy: PostmortemPolicy, now: dt.datetime) -> dt.datetime | None:
    """The start of the next local day with a step: reminder, due day, first overdue day, escalation."""
    if item.due_date is None:
        return None
    zone = ZoneInfo(item.team.time_zone)
    today = now.astimezone(zone).date()
    days = (
        item.due_date - dt.timedelta(days=policy.item_remind_days_before),
        item.due_date,
        item.due_date + dt.timedelta(days=1),
        item.due_date + dt.timedelta(days=policy.item_escalate_after_days),
    )
    later = [day for day in days if day > today]
    return dt.datetime.combine(min(later), dt.time(), tzinfo=zone) if later else None


def _item_step(item: ActionItem, policy: PostmortemPolicy, now: dt.datetime) -> int:
    today = now.astimezone(ZoneInfo(item.team.time_zone)).date()
    assert item.due_date is not None
    days_left = (item.due_date - today).days
    events: list[tuple[User, str, str, str]] = []
    if item.owner and days_left == policy.item_remind_days_before:
        events.append((item.owner, Event.ACTION_ITEM_DUE, "soon", f"Action item due in {days_left} days: {item.title}"))
    if item.owner and days_left == 0:
        events.append((item.owner, Event.ACTION_ITEM_DUE, "today", f"Action item due today: {item.title}"))
    if days_left < 0:
        ActionItem.objects.filter(pk=item.pk, overdue_since__isnull=True).update(overdue_since=now)
        if item.owner:
            events.append((item.owner, Event.ACTION_ITEM_OVERDUE, "overdue", f"Action item overdue: {item.title}"))
    if -days_left >= policy.item_escalate_after_days:
        who = item.owner or "nobody"
        subject = f"Overdue action item of {who}: {item.title}"
        events.extend((m, Event.ACTION_ITEM_OVERDUE, "escalated", subject) for m in _managers(item.team))
    sent = 0
    for user, event, key, subject in events:
        sent += len(
            notify_user(
                user=user,
                event=event,
                dedup_key=f"action-item:{item.pk}:{item.due_date:%Y%m%d}:{key}:u{user.pk}",
                subject=subject[:200],
                body=f"{subject}. {settings.SITE_URL}{item.postmortem.get_absolute_url()}#items",
                payload={"action_item": item.pk},
                now=now,
            )
        )
    return sent


def run_manager_digest(*, now: dt.datetime | None = None) -> int:
    """Each manager, once a week: their teams' overdue postmortems and action items."""
    now = now or timezone.now()
    year, week, _ = now.isocalendar()
    sent = 0
    managers = User.objects.filter(memberships__role=Membership.Role.MANAGER).distinct()
    for manager in managers:
        teams = Team.objects.filter(memberships__user=manager, memberships__role=Membership.Role.MANAGER)
        postmortems = Postmortem.objects.filter(team__in=teams, overdue_since__isnull=False).exclude(status="published")
        items = selectors.overdue_items(ActionItem.objects.filter(team__in=teams), now=now)
        if not postmortems.exists() and not items.exists():
            continue
        lines = [
            f"- {p.incident.reference} postmortem, owner {p.owner}"
            for p in postmortems.select_related("incident", "owner")
        ]
        lines += [f"- {i.title} (owner {i.owner or 'nobody'}, due {i.due_date})" for i in items.select_related("owner")]
        with transaction.atomic():
            rows = notify_user(
                user=manager,
                event=Event.MANAGER_DIGEST,
                dedup_key=f"digest:{manager.pk}:{year}-W{week:02d}",
                subject=f"Overdue this week: {postmortems.count()} postmortems, {items.count()} action items",
                body="\n".join(lines) + f"\n{settings.SITE_URL}/postmortems/overdue/",
                now=now,
            )
        sent += bool(rows)
    return sent
