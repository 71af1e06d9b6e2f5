"""Writes with rules for status pages. Every customer-visible change re-publishes its page on commit.

Side effects shared by the notice services: component status intervals (uptime history),
subscriber mail through the outbox (written by a worker after commit, see subscribers_notify),
a timeline entry on a linked incident, and a publish.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.celery import app as celery_app
from config.errors import ConflictError, DomainError
from incidents.models import Incident, TimelineEntry
from incidents.services import timeline_record
from oncall.models import User
from oncall.models.notifications import Event
from oncall.selectors import team_ids_for_user
from oncall.services.notifications import BROKER_ERRORS, notify_addresses
from statuspage import messages, publishing, rules
from statuspage.models import (
    Component,
    ComponentStatus,
    ComponentStatusInterval,
    Impact,
    Notice,
    NoticeUpdate,
    StatusPage,
    Subscriber,
)

logger = logging.getLogger(__name__)
CONFIRM_SALT = "statuspage.subscribe"
UNSUBSCRIBE_SALT = "statuspage.unsubscribe"
CONFIRM_MAX_AGE = dt.timedelta(days=3)
MAX_BODY = 5000
Status = Notice.Status


def can_publish(*, user: User, page: StatusPage) -> bool:
    return page.teams.filter(pk__in=team_ids_for_user(user=user)).exists()


def _require_publisher(page: StatusPage, by: User) -> None:
    if not can_publish(user=by, page=page):
        raise DomainError(f"Only members of the teams of “{page.name}” may publish on it.")


# --- components ------------------------------------------------------------------------------


def _set_status(
    component: Component, status: str, *, now: dt.datetime, source: str = Component.Source.HAND
) -> tuple[str, str] | None:
    """Moves one (locked) component to `status`; returns (old, new) when it changed."""
    if status not in ComponentStatus.values:
        raise DomainError(f"“{status}” is not a component status.", field="components")
    old = component.status
    component.status_source = source
    component.status_changed_at = now
    component.updated_at = now
    component.save(update_fields=["status", "status_source", "status_changed_at", "updated_at"])
    if old == status:
        return None
    ComponentStatusInterval.objects.filter(component=component, ended_at__isnull=True).update(ended_at=now)
    ComponentStatusInterval.objects.create(component=component, status=status, started_at=now)
    component.status = status
    component.save(update_fields=["status"])
    return old, status


def _apply(
    page: StatusPage, statuses: Mapping[Component, str], *, now: dt.datetime, source: str = Component.Source.HAND
) -> list[dict[str, str]]:
    """Applies chosen statuses to components of `page`; returns Statuspage's affected_components."""
    foreign = [c.name for c in statuses if c.page_id != page.pk]
    if foreign:
        raise DomainError(f"Not components of {page.name}: {', '.join(foreign)}.", field="components")
    locked = {c.pk: c for c in Component.objects.select_for_update().filter(pk__in=[c.pk for c in statuses])}
    affected = []
    for component, status in sorted(statuses.items(), key=lambda item: item[0].pk):
        current = locked[component.pk]
        change = _set_status(current, status, now=now, source=source)
        old, new = change or (current.status, current.status)
        affected.append({"code": current.public_id, "name": current.name, "old_status": old, "new_status": new})
    return affected


def component_create(*, page: StatusPage, name: str, now: dt.datetime | None = None, **fields: object) -> Component:
    """A component starts operational; its first uptime interval starts with it."""
    now = now or timezone.now()
    name = name.strip()
    if not name:
        raise DomainError("Give the component a name.", field="name")
    if Component.objects.filter(page=page, name=name).exists():
        raise DomainError(f"{page.name} already has a component named “{name}”.", field="name")
    with transaction.atomic():
        component = Component.objects.create(
            page=page, name=name, status_changed_at=now, created_at=now, updated_at=now, **fields
        )
        ComponentStatusInterval.objects.create(component=component, status=component.status, started_at=now)
        publishing.publish_on_commit(page)
    return component


@transaction.atomic
def component_set_status(*, component: Component, status: str, by: User, now: dt.datetime | None = None) -> bool:
    """Sets one status by hand (also confirms it is still right: the stale clock restarts)."""
    now = now or timezone.now()
    _require_publisher(component.page, by)
    locked = Component.objects.select_for_update().get(pk=component.pk)
    changed = _set_status(locked, status, now=now) is not None
    publishing.publish_on_commit(component.page)
    return changed


# --- notices ----------------------------------------------------------------------------------


def _clean_text(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    if not title:
        raise DomainError("Give the notice a title customers will understand.", field="title")
    if not body:
        raise DomainError("Write the message customers will read.", field="body")
    if len(body) > MAX_BODY:
        raise DomainError(f"Keep the message under {MAX_BODY} characters.", field="body")
    return title, body


def _check_impact(impact: str) -> None:
    if impact not in Impact.values:
        raise DomainError(f"“{impact}” is not an impact level.", field="impact")


def _stamp_status(notice: Notice, status: str, now: dt.datetime) -> None:
    notice.status = status
    notice.updated_at = now
    if status == Status.MONITORING and notice.monitoring_at is None:
        notice.monitoring_at = now
    if status in rules.FINISHED:
        notice.resolved_at = notice.resolved_at or now
    elif status in rules.INCIDENT_OPEN | rules.MAINTENANCE_ACTIVE:
        notice.resolved_at = None


def _post(
    notice: Notice,
    *,
    status: str,
    body: str,
    statuses: Mapping[Component, str],
    by: User | None,
    now: dt.datetime,
    source: str = Component.Source.HAND,
) -> NoticeUpdate:
    affected = _apply(notice.page, statuses, now=now, source=source)
    if statuses:
        notice.components.add(*statuses.keys())
    update = NoticeUpdate.objects.create(
        notice=notice, status=status, body=body, affected_components=affected, created_by=by, created_at=now
    )
    if notice.incident_id is not None:
        timeline_record(
            incident=notice.incident,
            kind=TimelineEntry.Kind.UPDATE,
            text=f"Customer update on {notice.page.name} ({notice.get_status_display().lower()}): {body}",
            by=by,
            now=now,
            notice=notice.public_id,
        )
    # Subscribers may number in the tens of thousands: the worker writes their mail, not the
    # request. The update row, committed with the change, is what says they are owed it.
    transaction.on_commit(lambda: _notify_subscribers_later(update.pk))
    publishing.publish_on_commit(notice.page)
    return update


@transaction.atomic
def notice_create(
    *,
    page: StatusPage,
    title: str,
    impact: str,
    status: str,
    body: str,
    by: User,
    statuses: Mapping[Component, str] | None = None,
    incident: Incident | None = None,
    now: dt.datetime | None = None,
) -> Notice:
    """Publishes a public incident with its first update."""
    now = now or timezone.now()
    _require_publisher(page, by)
    title, body = _clean_text(title, body)
    _check_impact(impact)
    error = rules.transition_error(kind=Notice.Kind.INCIDENT, current=None, new=status)
    if error:
        raise DomainError(error, field="status")
    if incident is not None and not page.teams.filter(pk=incident.team_id).exists():
        raise DomainError("This incident's team does not publish on that page.", field="page")
    notice = Notice(page=page, title=title, impact=impact, incident=incident, created_by=by, created_at=now)
    notice.started_at = now
    _stamp_status(notice, status, now)
    notice.save()
    _post(notice, status=status, body=body, statuses=statuses or {}, by=by, now=now)
    return notice


@transaction.atomic
def notice_update(
    *,
    notice: Notice,
    status: str,
    body: str,
    by: User,
    statuses: Mapping[Component, str] | None = None,
    impact: str | None = None,
    now: dt.datetime | None = None,
) -> NoticeUpdate:
    """A new update on a notice: its status, its text, and the components' statuses."""
    now = now or timezone.now()
    _require_publisher(notice.page, by)
    notice = Notice.objects.select_for_update(of=("self",)).select_related("page", "incident").get(pk=notice.pk)
    _title, body = _clean_text(notice.title, body)
    error = rules.transition_error(kind=notice.kind, current=notice.status, new=status)
    if error:
        raise ConflictError(error)
    if impact is not None:
        _check_impact(impact)
        notice.impact = impact
    _stamp_status(notice, status, now)
    notice.save()
    return _post(notice, status=status, body=body, statuses=statuses or {}, by=by, now=now)


# --- maintenance ------------------------------------------------------------------------------


@transaction.atomic
def maintenance_schedule(
    *,
    page: StatusPage,
    title: str,
    body: str,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    components: Sequence[Component],
    by: User,
    now: dt.datetime | None = None,
) -> Notice:
    """Announces a maintenance window; the beat starts and completes it at its times."""
    now = now or timezone.now()
    _require_publisher(page, by)
    title, body = _clean_text(title, body)
    if scheduled_until <= scheduled_for:
        raise DomainError("The window must end after it starts.", field="scheduled_until")
    if scheduled_until <= now:
        raise DomainError("That window is already over.", field="scheduled_until")
    notice = Notice.objects.create(
        page=page,
        kind=Notice.Kind.MAINTENANCE,
        title=title,
        impact=Impact.MAINTENANCE,
        status=Status.SCHEDULED,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        started_at=scheduled_for,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    foreign = [c.name for c in components if c.page_id != page.pk]
    if foreign:
        raise DomainError(f"Not components of {page.name}: {', '.join(foreign)}.", field="components")
    notice.components.set(components)
    _post(notice, status=Status.SCHEDULED, body=body, statuses={}, by=by, now=now)
    return notice


def _maintenance_statuses(notice: Notice, status: str) -> dict[Component, str]:
    if status == Status.IN_PROGRESS:
        return {c: ComponentStatus.MAINTENANCE for c in notice.components.all()}
    if status == Status.COMPLETED:
        # Only what maintenance itself set goes back: a component someone marked as broken stays so,
        # and one that another window still covers stays under maintenance. The components are
        # locked first: a window another beat is starting right now holds them until it commits,
        # and the query below then sees it in progress.
        list(Component.objects.select_for_update(of=("self",)).filter(notices=notice).order_by("pk"))
        still_covered = Notice.objects.filter(
            kind=Notice.Kind.MAINTENANCE, status__in=rules.MAINTENANCE_ACTIVE
        ).exclude(pk=notice.pk)
        ending = notice.components.filter(status=ComponentStatus.MAINTENANCE).exclude(notices__in=still_covered)
        return dict.fromkeys(ending, ComponentStatus.OPERATIONAL)
    return {}


def _maintenance_move(notice: Notice, *, status: str, body: str, by: User | None, now: dt.datetime) -> NoticeUpdate:
    error = rules.transition_error(kind=notice.kind, current=notice.status, new=status)
    if error:
        raise ConflictError(error)
    statuses = _maintenance_statuses(notice, status)
    _stamp_status(notice, status, now)
    notice.save()
    return _post(
        notice, status=status, body=body, statuses=statuses, by=by, now=now, source=Component.Source.MAINTENANCE
    )


@transaction.atomic
def maintenance_transition(
    *, notice: Notice, status: str, body: str, by: User, now: dt.datetime | None = None
) -> NoticeUpdate:
    """Moves a maintenance by hand (start early, verify, complete, or say something)."""
    now = now or timezone.now()
    _require_publisher(notice.page, by)
    notice = Notice.objects.select_for_update(of=("self",)).select_related("page").get(pk=notice.pk)
    if not notice.is_maintenance:
        raise DomainError("That notice is not a maintenance.")
    _title, body = _clean_text(notice.title, body)
    return _maintenance_move(notice, status=status, body=body, by=by, now=now)


AUTO_STARTED = "Scheduled maintenance is now in progress."
AUTO_COMPLETED = "Scheduled maintenance has been completed."


def run_maintenance_windows(*, now: dt.datetime | None = None, batch: int = 100) -> int:
    """Starts windows that are due and completes windows that are over; returns how many moved.

    Scans the two partial indexes; rows are locked with skip_locked, so two beats move each once.
    """
    now = now or timezone.now()
    moved = 0
    scans = (
        (Q(status=Status.SCHEDULED, scheduled_for__lte=now, scheduled_until__gt=now), Status.IN_PROGRESS, AUTO_STARTED),
        (
            Q(status__in=[Status.SCHEDULED, Status.IN_PROGRESS, Status.VERIFYING], scheduled_until__lte=now),
            Status.COMPLETED,
            AUTO_COMPLETED,
        ),
    )
    for condition, status, text in scans:
        with transaction.atomic():
            due = (
                Notice.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("page")
                .filter(condition, kind=Notice.Kind.MAINTENANCE)
                .order_by("scheduled_for")[:batch]
            )
            for notice in due:
                _maintenance_move(notice, status=status, body=text, by=None, now=now)
                moved += 1
    return moved


# --- subscribers ------------------------------------------------------------------------------


def _normalized_email(email: str) -> str:
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError("Enter a valid email address.", field="email") from exc
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def subscription_request(
    *, page: StatusPage, email: str, components: Sequence[Component] = (), now: dt.datetime | None = None
) -> None:
    """Starts a double opt-in: one confirmation mail per address and day, whatever is asked.

    The answer is the same whether the address is new, pending or confirmed, so the form
    tells nobody who subscribes.
    """
    now = now or timezone.now()
    email = _normalized_email(email)
    if any(c.page_id != page.pk for c in components):
        raise DomainError("Choose components of this page.", field="components")
    with transaction.atomic():
        subscriber, _created = Subscriber.objects.get_or_create(page=page, email=email, defaults={"created_at": now})
        if subscriber.confirmed_at is not None:
            return
        subscriber.components.set(components)
        token = signing.dumps({"s": subscriber.pk, "e": email}, salt=CONFIRM_SALT)
        body = messages.confirmation(page=page, token=token, components=components)
        notify_addresses(
            messages=[(email, f"s{subscriber.pk}", body, {})],
            event=Event.STATUS_SUBSCRIPTION,
            dedup_key=f"status:{page.pk}:confirm:{now:%Y%m%d}",
            subject=f"Confirm your subscription to {page.name}",
            now=now,
        )


def _subscriber_from(token: str, *, salt: str, max_age: dt.timedelta | None) -> Subscriber:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise DomainError("This link has expired; subscribe again to get a new one.") from exc
    except signing.BadSignature as exc:
        raise DomainError("This link is not valid.") from exc
    subscriber = Subscriber.objects.filter(pk=data.get("s"), email=data.get("e")).select_related("page").first()
    if subscriber is None:
        raise DomainError("This subscription no longer exists.")
    return subscriber


def subscription_confirm(*, token: str, now: dt.datetime | None = None) -> Subscriber:
    now = now or timezone.now()
    subscriber = _subscriber_from(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    Subscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(confirmed_at=now)
    subscriber.refresh_from_db(fields=["confirmed_at"])
    return subscriber


def subscription_cancel(*, token: str) -> StatusPage:
    """Deletes the subscription: nothing about the address is kept once it leaves."""
    subscriber = _subscriber_from(token, salt=UNSUBSCRIBE_SALT, max_age=None)
    page = subscriber.page
    subscriber.delete()
    return page


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=UNSUBSCRIBE_SALT)


FANOUT_BATCH = 1000
# The task sent on commit goes first; the sweep takes what it left (a broker outage, a crash).
FANOUT_SWEEP_AFTER = dt.timedelta(minutes=1)
FANOUT_SWEEP_SIZE = 20
NOTIFY_TASK = "statuspage.tasks.notify_subscribers"


def _notify_subscribers_later(update_id: int) -> None:
    try:
        celery_app.send_task(NOTIFY_TASK, args=(update_id,))
    except BROKER_ERRORS:
        logger.warning("Broker unreachable; the sweep tells the subscribers of update %s.", update_id)


def subscribers_notify(*, update_id: int, now: dt.datetime | None = None) -> int:
    """Writes the outbox mail of one notice update for every confirmed subscriber who wants it.

    In batches of FANOUT_BATCH, each in its own transaction, so a crash halfway loses what
    was written by nobody: the next run skips the dedup keys that exist and goes on. Runs
    twice or at once, it writes each mail once. Returns the rows written.
    """
    now = now or timezone.now()
    update = (
        NoticeUpdate.objects.select_related("notice__page")
        .filter(pk=update_id, subscribers_notified_at__isnull=True)
        .first()
    )
    if update is None:
        return 0
    notice = update.notice
    component_ids = list(notice.components.values_list("pk", flat=True))
    audience = (
        Subscriber.objects.filter(page=notice.page, confirmed_at__isnull=False)
        .filter(Q(components__isnull=True) | Q(components__in=component_ids))
        .distinct()
        .order_by("pk")
    )
    subject = messages.subscriber_subject(notice=notice, update=update)
    written, after = 0, 0
    while batch := list(audience.filter(pk__gt=after)[:FANOUT_BATCH]):
        mails = [
            (s.email, f"s{s.pk}", *messages.subscriber_update(notice=notice, update=update, token=unsubscribe_token(s)))
            for s in batch
        ]
        with transaction.atomic():
            written += notify_addresses(
                messages=mails,
                event=Event.STATUS_SUBSCRIPTION,
                dedup_key=f"status:update:{update.public_id}",
                subject=subject,
                now=now,
            )
        after = batch[-1].pk
    NoticeUpdate.objects.filter(pk=update.pk, subscribers_notified_at__isnull=True).update(subscribers_notified_at=now)
    return written


def run_subscriber_updates(*, now: dt.datetime) -> int:
    """Tells subscribers of updates the task on commit did not get to; returns the updates done."""
    due = NoticeUpdate.objects.filter(
        subscribers_notified_at__isnull=True, created_at__lte=now - FANOUT_SWEEP_AFTER
    ).order_by("created_at")
    ids = list(due.values_list("pk", flat=True)[:FANOUT_SWEEP_SIZE])
    for update_id in ids:
        subscribers_notify(update_id=update_id, now=now)
    return len(ids)
