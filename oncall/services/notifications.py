"""The notification outbox: write rows in the caller's transaction, deliver them after.

Producers call `notify_user` / `notify_team` inside their own transaction. Each
destination gets one Notification row with a unique dedup key, so a producer that
runs twice (two beats, a retried task) writes nothing new. Delivery is enqueued
on commit; if the broker is down, the row waits for `run_notification_sweep`.

`notification_deliver` claims a row with a conditional UPDATE, sends it through
`oncall.channels`, and records the outcome: sent, retried with backoff, or failed
(a permanent failure also disables the destination and tells its owner).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from config.errors import DomainError
from oncall import channels
from oncall.models import ContactMethod, Membership, Notification, NotificationRule, Team, TeamWebhook, User
from oncall.models.notifications import Event

logger = logging.getLogger(__name__)

# Sent by name (send_task), not imported: oncall.tasks imports the services that import
# this module, and the web process need not load task code to publish a message.
DELIVER_TASK = "oncall.tasks.deliver_notification"
FALLBACK_SUFFIX = ":email"

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(minutes=30)
# A row in SENDING longer than this belongs to a worker that died mid-send. It must be
# longer than any send can take (HTTP 5 s, SMTP 10 s), or a slow send would go twice.
STALE_SENDING = timedelta(minutes=10)
SWEEP_BATCH = 200

# Every delay the outbox waits on. Each must stay well below the broker's
# visibility_timeout (oncall.checks), or Redis would redeliver a task still waiting.
RETRY_DELAYS: dict[str, timedelta] = {
    "notification backoff cap (BACKOFF_CAP)": BACKOFF_CAP,
    "stale sending limit (STALE_SENDING)": STALE_SENDING,
}

BROKER_ERRORS = (OperationalError, ConnectionError, OSError)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


# --- writing notifications -------------------------------------------------------------


def _check_event(event: str) -> None:
    if event not in Event.values:
        raise ValueError(f"Unknown notification event {event!r}; add it to Event.")


def _enqueue(*ids: int) -> int:
    """Hands rows to the broker in order; returns how many it took.

    A broker outage is logged, never raised: the sweep retries. The first refusal ends the
    batch, so an outage (or a broker that hangs until the socket timeout) costs the caller
    one wait, not one per row.
    """
    for done, notification_id in enumerate(ids):
        if celery_app.conf.task_always_eager:
            # send_task ignores eager mode; debugging setups then deliver inline.
            notification_deliver(notification_id=notification_id)
            continue
        try:
            celery_app.send_task(DELIVER_TASK, args=(notification_id,))
        except BROKER_ERRORS as exc:
            left = ", ".join(str(pk) for pk in ids[done:])
            logger.warning("Notifications %s not enqueued (%s); the sweep will pick them up.", left, exc)
            return done
    return len(ids)


OUTBOX_BATCH = "fireline_outbox_batch"


def _enqueue_on_commit(notification_id: int) -> None:
    """Enqueues the row after commit, in one batch with the other rows of the same transaction."""
    connection = transaction.get_connection()
    open_savepoints = set(connection.savepoint_ids)
    # Join a batch queued by this block or one enclosing it: it runs when this row commits.
    # A row rolled back with an inner savepoint stays in the batch and is skipped by the claim.
    for savepoints, callback, *_ in connection.run_on_commit:
        batch = getattr(callback, OUTBOX_BATCH, None)
        if batch is not None and savepoints <= open_savepoints:
            batch.append(notification_id)
            return
    batch = [notification_id]

    def run() -> None:
        _enqueue(*batch)

    setattr(run, OUTBOX_BATCH, batch)
    transaction.on_commit(run)


def _write(*, dedup_key: str, now: datetime, **fields: object) -> Notification | None:
    """Creates the row unless its key exists; returns it only when new, and enqueues it on commit."""
    if len(dedup_key) > Notification._meta.get_field("dedup_key").max_length:
        raise ValueError(f"Dedup key too long: {dedup_key!r}")
    notification, created = Notification.objects.get_or_create(
        dedup_key=dedup_key, defaults={**fields, "next_attempt_at": now, "created_at": now}
    )
    if not created:
        return None
    _enqueue_on_commit(notification.pk)
    return notification


def _user_destinations(*, user: User, event: str) -> list[ContactMethod] | None:
    """The active methods this user routes the event to, or None for "use the account email"."""
    rules = NotificationRule.objects.filter(user=user, event=event).select_related("contact_method")
    methods = [rule.contact_method for rule in rules if rule.contact_method.is_active]
    # No active route (no rule, or every routed method disabled) still reaches the person:
    # otherwise nobody could tell them that their last method was disabled.
    return sorted(methods, key=lambda m: m.pk) or None


@transaction.atomic
def notify_user(
    *,
    user: User,
    event: str,
    dedup_key: str,
    subject: str,
    body: str,
    payload: dict | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """Writes one row per destination of `user` for `event`; returns only the rows new this call.

    The dedup key is per destination (`{dedup_key}:cm{id}` or `{dedup_key}:email`): a repeat
    call writes nothing, unless the person changed their routing in between, when only the
    new destinations get a row.
    """
    _check_event(event)
    now = now or timezone.now()
    if not user.is_active:
        return []
    fields = {"event": event, "recipient": user, "subject": subject[:200], "body": body, "payload": payload or {}}
    methods = _user_destinations(user=user, event=event)
    if methods is None:
        if not user.email:
            logger.info("%s has no route for %s and no account email; nothing written.", user, event)
            return []
        rows = [_write(dedup_key=f"{dedup_key}{FALLBACK_SUFFIX}", now=now, **fields)]
    else:
        rows = [_write(dedup_key=f"{dedup_key}:cm{m.pk}", now=now, contact_method=m, **fields) for m in methods]
    return [row for row in rows if row is not None]


@transaction.atomic
def notify_team(
    *,
    team: Team,
    event: str,
    dedup_key: str,
    subject: str,
    body: str,
    payload: dict | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """Writes one row per active webhook of `team` that wants `event` (an empty list wants all)."""
    _check_event(event)
    now = now or timezone.now()
    fields = {"event": event, "subject": subject[:200], "body": body, "payload": payload or {}}
    hooks = TeamWebhook.objects.filter(team=team, disabled_at__isnull=True).order_by("pk")
    rows = [
        _write(dedup_key=f"{dedup_key}:wh{hook.pk}", now=now, webhook=hook, **fields)
        for hook in hooks
        if not hook.events or event in hook.events
    ]
    return [row for row in rows if row is not None]


@transaction.atomic
def notify_addresses(
    *,
    messages: list[tuple[str, str, str, dict]],
    event: str,
    dedup_key: str,
    subject: str,
    now: datetime | None = None,
) -> int:
    """Writes one row per (address, key part, body, payload) for people without an account.

    Status page subscribers can number in the thousands, so rows are written in bulk;
    a repeat call skips keys that exist. Returns the number of rows written.
    """
    _check_event(event)
    now = now or timezone.now()
    rows = [
        Notification(
            dedup_key=f"{dedup_key}:{part}{FALLBACK_SUFFIX}",
            event=event,
            email_address=address,
            subject=subject[:200],
            body=body,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for address, part, body, payload in messages
    ]
    keys = [row.dedup_key for row in rows]
    existing = set(Notification.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
    new = [row for row in rows if row.dedup_key not in existing]
    Notification.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    new_keys = [row.dedup_key for row in new]
    transaction.on_commit(lambda: _enqueue_keys(new_keys))
    return len(new)


def _enqueue_keys(keys: list[str]) -> None:
    # bulk_create with ignore_conflicts returns no ids; read them back after commit.
    for start in range(0, len(keys), 500):
        rows = Notification.objects.filter(dedup_key__in=keys[start : start + 500], status=Notification.Status.PENDING)
        ids = list(rows.values_list("pk", flat=True))
        if _enqueue(*ids) < len(ids):
            return  # The broker is away: the sweep enqueues the rest.


# --- delivering ------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the n-th failed attempt, capped at BACKOFF_CAP."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def _claim(notification_id: int, now: datetime) -> Notification | None:
    # Conditional UPDATE: of two workers holding the same message, exactly one
    # changes the row; the other sees 0 rows and leaves.
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).update(status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    related = ("recipient", "contact_method__user", "webhook__team")
    return Notification.objects.select_related(*related).get(pk=notification_id)


def _destination_gone(notification: Notification) -> str:
    """Why this row must not be sent any more (its destination was disabled or removed), or ''."""
    method, hook = notification.contact_method, notification.webhook
    if method is not None and not method.is_active:
        return f"Not sent: {method} was disabled ({method.disabled_reason})."
    if hook is not None and not hook.is_active:
        return f"Not sent: webhook {hook.name} was disabled ({hook.disabled_reason})."
    if method is None and hook is None and not notification.dedup_key.endswith(FALLBACK_SUFFIX):
        return "Not sent: its destination was removed."
    return ""


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Sends one due row once. Returns "sent", "retry", "failed", "cancelled" or "skipped".

    Side effects: the row's status, attempts and times; on a permanent failure the
    contact method or team webhook is disabled and its owner is told (CONTACT_DISABLED).
    The send itself runs outside any transaction, so a slow server holds no lock.
    """
    now = now or timezone.now()
    notification = _claim(notification_id, now)
    if notification is None:
        return "skipped"
    reason = _destination_gone(notification)
    if reason:
        _record(notification, status=Notification.Status.CANCELLED, error=reason)
        return "cancelled"
    try:
        channels.channel_for(notification).send(notification)
    except channels.TransportError as exc:
        return _record_failure(notification, exc, now)
    except Exception as exc:
        # A bug in a channel must not strand the row in SENDING: retry it like any failure.
        logger.exception("Channel crashed on notification %s", notification.pk)
        return _record_failure(notification, channels.TransportError(f"{type(exc).__name__}: {exc}"), now)
    notification.sent_at = now
    _record(notification, status=Notification.Status.SENT, error="", extra=["sent_at"])
    return "sent"


def _record(notification: Notification, *, status: str, error: str, extra: Iterable[str] = ()) -> None:
    notification.status = status
    notification.last_error = error[:2000]
    notification.save(update_fields=["status", "last_error", *extra])


def _record_failure(notification: Notification, exc: channels.TransportError, now: datetime) -> str:
    if exc.permanent:
        _record(notification, status=Notification.Status.FAILED, error=exc.message)
        _disable_destination(notification, reason=exc.message, now=now)
        return "failed"
    if notification.attempts >= MAX_ATTEMPTS:
        _record(notification, status=Notification.Status.FAILED, error=f"Gave up: {exc.message}")
        return "failed"
    notification.next_attempt_at = now + retry_delay(notification.attempts)
    _record(notification, status=Notification.Status.PENDING, error=exc.message, extra=["next_attempt_at"])
    return "retry"


def _disable_destination(notification: Notification, *, reason: str, now: datetime) -> None:
    if notification.contact_method is not None:
        _contact_method_disable(notification.contact_method, reason=reason[:300], now=now)
    elif notification.webhook is not None:
        _team_webhook_disable(notification.webhook, reason=reason[:300], now=now)


@transaction.atomic
def _contact_method_disable(method: ContactMethod, *, reason: str, now: datetime) -> None:
    # Conditional update: two failures at once disable once and tell once.
    if not ContactMethod.objects.filter(pk=method.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason
    ):
        return
    key = f"contact:{method.pk}:disabled:{now:%Y%m%dT%H%M%S}"
    # notify_user reads the method back as disabled, so this news goes elsewhere.
    _tell(method.user, what=str(method), reason=reason, key=key, now=now)


@transaction.atomic
def _team_webhook_disable(hook: TeamWebhook, *, reason: str, now: datetime) -> None:
    if not TeamWebhook.objects.filter(pk=hook.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason
    ):
        return
    managers = User.objects.filter(
        memberships__team_id=hook.team_id, memberships__role=Membership.Role.MANAGER, is_active=True
    )
    what = f"the {hook.team.name} webhook “{hook.name}”"
    for manager in managers:
        key = f"webhook:{hook.pk}:disabled:{now:%Y%m%dT%H%M%S}:{manager.pk}"
        _tell(manager, what=what, reason=reason, key=key, now=now)


def _tell(user: User, *, what: str, reason: str, key: str, now: datetime) -> None:
    notify_user(
        user=user,
        event=Event.CONTACT_DISABLED,
        dedup_key=key,
        subject=f"Fireline stopped using {what}",
        body=f"Fireline disabled {what} because delivery failed for good:\n{reason}\n\n"
        "Fix or replace it on your notification settings page; until then nothing is sent there.",
        now=now,
    )


# --- the sweep -------------------------------------------------------------------------


def _reset_stale(*, now: datetime, batch: int) -> None:
    cutoff = now - STALE_SENDING
    stale = Notification.objects.filter(status=Notification.Status.SENDING, claimed_at__lt=cutoff)
    ids = list(stale.order_by("claimed_at").values_list("pk", flat=True)[:batch])
    # The status and claimed_at conditions again: a row re-claimed meanwhile is left alone.
    again = Notification.objects.filter(pk__in=ids, status=Notification.Status.SENDING, claimed_at__lt=cutoff)
    error = "The worker stopped while sending."
    again.filter(attempts__lt=MAX_ATTEMPTS).update(
        status=Notification.Status.PENDING, next_attempt_at=now, last_error=f"{error} Retrying."
    )
    again.filter(attempts__gte=MAX_ATTEMPTS).update(status=Notification.Status.FAILED, last_error=f"Gave up: {error}")


def run_notification_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Re-enqueues due pending rows (and rows whose worker died); returns how many were enqueued.

    Bounded: at most `batch` stale and `batch` due rows per run, found through the
    partial indexes on claimed_at and next_attempt_at. A row enqueued twice is sent
    once, because delivery claims it first.
    """
    now = now or timezone.now()
    _reset_stale(now=now, batch=batch)
    due = Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:batch])
    return _enqueue(*ids)


@transaction.atomic
def notification_retry(*, notifications: QuerySet[Notification], now: datetime | None = None) -> int:
    """Makes failed or pending rows due now (the admin's "retry now"). Returns the rows changed.

    Attempts are kept: a row that used up MAX_ATTEMPTS gets one more try.
    """
    now = now or timezone.now()
    retry = Notification.Status.FAILED, Notification.Status.PENDING
    ids = list(notifications.filter(status__in=retry).values_list("pk", flat=True))
    changed = Notification.objects.filter(pk__in=ids, status__in=retry).update(
        status=Notification.Status.PENDING, next_attempt_at=now
    )
    transaction.on_commit(lambda: _enqueue(*ids))
    return changed


def _cancel_pending(destination: Q, reason: str) -> None:
    Notification.objects.filter(destination, status=Notification.Status.PENDING).update(
        status=Notification.Status.CANCELLED, last_error=reason
    )


# --- contact methods and rules ---------------------------------------------------------


def _validate_url(url: str, *, field: str) -> None:
    """https only, except plain http to this machine while developing (DEBUG)."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise DomainError("Enter a full URL, like https://hooks.example.com/….", field=field) from exc
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if settings.DEBUG and parts.hostname in LOCAL_HOSTS:
        return
    raise DomainError("Use an https:// URL: notifications can carry incident details.", field=field)


def _validate_address(kind: str, address: str) -> None:
    if kind not in ContactMethod.Kind.values:
        raise DomainError(f"Unknown kind “{kind}”; choose email, slack or webhook.", field="kind")
    if not address:
        raise DomainError("Give an address.", field="address")
    if kind == ContactMethod.Kind.EMAIL:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise DomainError("Enter a valid email address.", field="address") from exc
    else:
        _validate_url(address, field="address")


@transaction.atomic
def contact_method_create(*, user: User, kind: str, address: str, label: str = "") -> ContactMethod:
    address = address.strip()
    _validate_address(kind, address)
    if len(address) > 500 or len(label) > 60:
        raise DomainError("Keep the address under 500 and the label under 60 characters.", field="address")
    try:
        # A savepoint, so a duplicate from a second tab leaves the outer transaction usable.
        with transaction.atomic():
            return ContactMethod.objects.create(user=user, kind=kind, address=address, label=label.strip())
    except IntegrityError as exc:
        raise DomainError("You already have this contact method.", field="address") from exc


def _require_owner(contact_method: ContactMethod, by: User) -> None:
    if contact_method.user_id != by.pk:
        raise DomainError("You can only change your own contact methods.")


@transaction.atomic
def contact_method_update(
    *, contact_method: ContactMethod, by: User, address: str | None = None, label: str | None = None
) -> ContactMethod:
    """Changes the label or the address; a new address also re-enables a disabled method."""
    _require_owner(contact_method, by)
    changed: list[str] = []
    if label is not None and label.strip() != contact_method.label:
        if len(label.strip()) > 60:
            raise DomainError("Keep the label under 60 characters.", field="label")
        contact_method.label = label.strip()
        changed.append("label")
    if address is not None and address.strip() != contact_method.address:
        _validate_address(contact_method.kind, address.strip())
        contact_method.address = address.strip()
        contact_method.disabled_at, contact_method.disabled_reason = None, ""
        changed += ["address", "disabled_at", "disabled_reason"]
    if changed:
        try:
            with transaction.atomic():
                contact_method.save(update_fields=changed)
        except IntegrityError as exc:
            raise DomainError("You already have this contact method.", field="address") from exc
    return contact_method


@transaction.atomic
def contact_method_delete(*, contact_method: ContactMethod, by: User) -> None:
    """Removes the method; its pending notifications are cancelled, its history is kept."""
    _require_owner(contact_method, by)
    _cancel_pending(Q(contact_method=contact_method), "Not sent: the contact method was removed.")
    contact_method.delete()


@transaction.atomic
def notification_rule_set(
    *, user: User, event: str, contact_methods: Iterable[ContactMethod]
) -> list[NotificationRule]:
    """Makes exactly these methods receive `event` for `user`. An empty set means "account email"."""
    if event not in Event.values:
        raise DomainError(f"Unknown event “{event}”.", field="event")
    methods = {m.pk: m for m in contact_methods}
    for method in methods.values():
        if method.user_id != user.pk:
            raise DomainError("You can only route events to your own contact methods.", field="contact_methods")
        if not method.is_active:
            raise DomainError(f"{method} is disabled; fix or replace it first.", field="contact_methods")
    NotificationRule.objects.filter(user=user, event=event).exclude(contact_method_id__in=methods).delete()
    NotificationRule.objects.bulk_create(
        [NotificationRule(user=user, event=event, contact_method=m) for m in methods.values()],
        ignore_conflicts=True,
    )
    return list(NotificationRule.objects.filter(user=user, event=event).select_related("contact_method"))


# --- team webhooks ---------------------------------------------------------------------


def _require_manager(*, team: Team, by: User) -> None:
    if not Membership.objects.filter(team=team, user=by, role=Membership.Role.MANAGER).exists():
        raise DomainError(f"Only managers of {team.name} can change its webhooks.")


def _validated_webhook_fields(*, name: str, url: str, format: str, events: list[str]) -> dict[str, object]:
    name, url = name.strip(), url.strip()
    if not name or len(name) > 100:
        raise DomainError("Give the webhook a name of at most 100 characters.", field="name")
    if len(url) > 500:
        raise DomainError("Keep the URL under 500 characters.", field="url")
    _validate_url(url, field="url")
    if format not in TeamWebhook.Format.values:
        raise DomainError("Choose slack or json as the format.", field="format")
    unknown = sorted(set(events) - set(Event.values))
    if unknown:
        raise DomainError(f"Unknown events: {', '.join(unknown)}.", field="events")
    return {"name": name, "url": url, "format": format, "events": sorted(set(events))}


@transaction.atomic
def team_webhook_create(
    *, team: Team, by: User, name: str, url: str, format: str = TeamWebhook.Format.JSON, events: list[str] | None = None
) -> TeamWebhook:
    """Creates a webhook with a fresh signing secret (show it to the manager once)."""
    _require_manager(team=team, by=by)
    fields = _validated_webhook_fields(name=name, url=url, format=format, events=events or [])
    return TeamWebhook.objects.create(team=team, **fields)


@transaction.atomic
def team_webhook_update(
    *,
    webhook: TeamWebhook,
    by: User,
    name: str | None = None,
    url: str | None = None,
    format: str | None = None,
    events: list[str] | None = None,
    is_enabled: bool | None = None,
    now: datetime | None = None,
) -> TeamWebhook:
    """Changes a webhook; `is_enabled` switches it on (clearing why it was disabled) or off."""
    _require_manager(team=webhook.team, by=by)
    fields = _validated_webhook_fields(
        name=webhook.name if name is None else name,
        url=webhook.url if url is None else url,
        format=webhook.format if format is None else format,
        events=webhook.events if events is None else events,
    )
    if is_enabled is not None and is_enabled != webhook.is_active:
        fields["disabled_at"] = None if is_enabled else (now or timezone.now())
        fields["disabled_reason"] = "" if is_enabled else f"Switched off by {by}."
    changed = [f for f, value in fields.items() if getattr(webhook, f) != value]
    for field in changed:
        setattr(webhook, field, fields[field])
    if changed:
        webhook.save(update_fields=changed)
    return webhook


@transaction.atomic
def team_webhook_delete(*, webhook: TeamWebhook, by: User) -> None:
    _require_manager(team=webhook.team, by=by)
    _cancel_pending(Q(webhook=webhook), "Not sent: the webhook was removed.")
    webhook.delete()
