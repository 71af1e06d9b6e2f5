"""Integrations (where tools post alerts) and the alert intake that opens, repeats and resolves alerts.

Decisions worth knowing:
- Managers of the service's team create, rotate, disable, enable and delete
  integrations; members see them. A key is a pager's front door, so who may hand one
  out is kept small.
- A key is 240 random bits shown once; only its SHA-256 digest and a short prefix are
  stored (like API tokens), and digests are compared with `hmac.compare_digest`.
- An integration with alerts cannot be deleted (its alerts, pages and their logs
  would go with it, and with them the alert-quality history): disable it instead.
- A repeat of an open alert refreshes details, links, labels and severity but keeps
  its title, so the page people already got still names the same thing.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import ConflictError, DomainError
from oncall.intake_formats import RESOLVE, AlertItem
from oncall.models import Alert, Integration, Service, User
from oncall.selectors import is_manager
from oncall.services import paging
from oncall.services.teams import secret_digest

LAST_ALERT_RESOLUTION = timedelta(seconds=1)

KEY_PREFIX = "fli_"
SHOWN_PREFIX_LENGTH = 10
DEFAULT_RATE_LIMIT_PER_MINUTE = 120


class IntegrationDisabled(ConflictError):
    """The integration was disabled; the intake answers 410."""

    status_code = 410


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(30)


def _require_manager(*, service: Service, by: User) -> None:
    if not is_manager(user=by, team=service.team_id):
        raise DomainError("Only managers of the service's team can change its integrations.")


def _validated(integration: Integration) -> None:
    try:
        integration.full_clean(exclude=["key_digest", "key_prefix", "created_by"])
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        name = None if field_name == "__all__" else field_name
        message = messages[0]
        if "service" in message.lower() and "name" in message.lower():
            name, message = "name", "This service already has an integration with that name."
        raise DomainError(message, field=name) from exc


@transaction.atomic
def integration_create(
    *,
    service: Service,
    name: str,
    kind: str,
    by: User,
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
    now: datetime | None = None,
) -> tuple[Integration, str]:
    """Creates an integration and returns it with its key's only clear-text copy, to show once."""
    _require_manager(service=service, by=by)
    name = (name or "").strip()
    if not name:
        raise DomainError("Name the integration after what sends to it, e.g. “Alertmanager prod”.", field="name")
    if kind not in Integration.Kind.values:
        raise DomainError(f"Choose a kind: {', '.join(Integration.Kind.values)}.", field="kind")
    raw = _new_key()
    integration = Integration(
        service=service,
        name=name,
        kind=kind,
        rate_limit_per_minute=rate_limit_per_minute,
        key_prefix=raw[:SHOWN_PREFIX_LENGTH],
        key_digest=secret_digest(raw),
        created_by=by,
    )
    _validated(integration)
    integration.save()
    return integration, raw


@transaction.atomic
def integration_update(
    *, integration: Integration, by: User, name: str | None = None, rate_limit_per_minute: int | None = None
) -> Integration:
    """Renames the integration or changes its limit."""
    _require_manager(service=integration.service, by=by)
    changed = []
    if name is not None and name.strip() != integration.name:
        integration.name = name.strip()
        changed.append("name")
    if rate_limit_per_minute is not None and rate_limit_per_minute != integration.rate_limit_per_minute:
        integration.rate_limit_per_minute = rate_limit_per_minute
        changed.append("rate_limit_per_minute")
    if changed:
        _validated(integration)
        integration.save(update_fields=changed)
    return integration


@transaction.atomic
def integration_rotate_key(
    *, integration: Integration, by: User, now: datetime | None = None
) -> tuple[Integration, str]:
    """Replaces the key at once (the old one stops working) and returns the new one, to show once."""
    _require_manager(service=integration.service, by=by)
    raw = _new_key()
    integration.key_prefix, integration.key_digest = raw[:SHOWN_PREFIX_LENGTH], secret_digest(raw)
    integration.key_rotated_at = now or timezone.now()
    integration.save(update_fields=["key_prefix", "key_digest", "key_rotated_at"])
    return integration, raw


@transaction.atomic
def integration_disable(*, integration: Integration, by: User, now: datetime | None = None) -> Integration:
    """Stops intake: the tool's posts answer 410 until the integration is enabled again."""
    _require_manager(service=integration.service, by=by)
    now = now or timezone.now()
    _close_gate(integration)
    # Conditional update: disabling twice keeps the first instant.
    Integration.objects.filter(pk=integration.pk, disabled_at__isnull=True).update(disabled_at=now)
    integration.refresh_from_db(fields=["disabled_at"])
    return integration


@transaction.atomic
def integration_enable(*, integration: Integration, by: User) -> Integration:
    _require_manager(service=integration.service, by=by)
    _close_gate(integration)
    Integration.objects.filter(pk=integration.pk).update(disabled_at=None)
    integration.refresh_from_db(fields=["disabled_at"])
    return integration


@transaction.atomic
def integration_delete(*, integration: Integration, by: User) -> None:
    _require_manager(service=integration.service, by=by)
    if integration.alerts.exists():
        raise ConflictError(
            "This integration has alerts; deleting it would delete them and their pages. Disable it instead."
        )
    integration.delete()


def integration_key_matches(*, integration: Integration, raw: str) -> bool:
    """Constant-time check of a presented key against the stored digest."""
    return hmac.compare_digest(secret_digest(raw), integration.key_digest)


# --- intake ------------------------------------------------------------------------------


@dataclass
class IngestResult:
    created: int = 0
    repeated: int = 0
    resolved: int = 0
    ignored: int = 0
    alert_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "repeated": self.repeated,
            "resolved": self.resolved,
            "ignored": self.ignored,
            "alerts": self.alert_ids,
        }


def _open_alert(integration: Integration, key: str) -> Alert | None:
    # What a repeat or resolve overwrites is not read: a payload may be most of a megabyte.
    alert = (
        Alert.objects.filter(integration=integration, dedup_key=key, status=Alert.Status.OPEN)
        .defer("source_payload", "details", "links", "labels")
        .first()
    )
    if alert is not None:
        alert.integration = integration
    return alert


def _open(integration: Integration, item: AlertItem, now: datetime) -> Alert:
    alert = Alert.objects.create(
        integration=integration,
        service=integration.service,
        dedup_key=item.dedup_key,
        title=item.title,
        details=item.details,
        severity=item.severity,
        links=item.links,
        labels=item.labels,
        source_payload=item.raw,
        first_seen_at=now,
        last_seen_at=now,
    )
    paging.page_open(alert=alert, now=now)
    return alert


# A repeat is an alert storm's hot path: one statement finds the key's open alert and counts
# the repeat, instead of a read and a save (bench/alert_storm.py). The partial unique
# constraint leaves at most one open alert per key to update.
REPEAT_SQL = """
    UPDATE oncall_alert
    SET count = count + 1, last_seen_at = %s, details = %s, links = %s, labels = %s, severity = %s,
        source_payload = %s
    WHERE integration_id = %s AND dedup_key = %s AND status = %s
    RETURNING id, count, repeat_logged_at
"""


def _repeat_open(integration: Integration, item: AlertItem, now: datetime) -> Alert | None:
    """Counts a repeat of the key's open alert and refreshes what the tool sent; None if none is open."""
    field = Alert._meta.get_field
    params = [
        field("last_seen_at").get_db_prep_save(now, connection),
        item.details,
        field("links").get_db_prep_save(item.links, connection),
        field("labels").get_db_prep_save(item.labels, connection),
        item.severity,
        field("source_payload").get_db_prep_save(item.raw, connection),
        integration.pk,
        item.dedup_key,
        Alert.Status.OPEN,
    ]
    # raw() maps the returned columns onto an Alert with the backend's converters.
    alert = next(iter(Alert.objects.raw(REPEAT_SQL, params)), None)
    if alert is not None:
        alert.integration = integration
        paging.page_alert_repeated(alert=alert, now=now)
    return alert


def _resolve(alert: Alert, item: AlertItem, now: datetime) -> None:
    alert.status, alert.resolved_at, alert.resolved_by_tool = Alert.Status.RESOLVED, now, True
    alert.last_seen_at, alert.source_payload = now, item.raw
    alert.save(update_fields=["status", "resolved_at", "resolved_by_tool", "last_seen_at", "source_payload"])
    paging.page_resolve_from_alert(alert=alert, now=now)


@transaction.atomic
def alert_ingest(*, integration: Integration, items: list[AlertItem], now: datetime) -> IngestResult:
    """Applies what a tool sent: each item opens, repeats or resolves an alert of the integration.

    Side effects: Alert rows created or updated; for a new alert a Page (paging.page_open,
    which notifies the first step's people); for a repeat a logged repeat and nobody paged;
    for a resolve the page resolved; the integration's `last_alert_at`. A resolve for a key
    with no open alert is ignored and counted.
    """
    locked = _lock_for_intake(integration, sorted({item.dedup_key for item in items}))
    # Checked under the lock: a disable that commits while a post is in flight wins.
    if locked.disabled_at is not None:
        raise IntegrationDisabled("This integration is disabled; a manager of the service can enable it.")
    result = IngestResult()
    for item in items:
        if item.action == RESOLVE:
            alert = _open_alert(locked, item.dedup_key)
            if alert is None:
                result.ignored += 1
                continue
            _resolve(alert, item, now)
            result.resolved += 1
        elif (alert := _repeat_open(locked, item, now)) is not None:
            result.repeated += 1
        else:
            alert = _open(locked, item, now)
            result.created += 1
        result.alert_ids.append(alert.pk)
    if _touch_due(locked.last_alert_at, now):
        transaction.on_commit(lambda: _touch(locked.pk, now))
    integration.last_alert_at = now
    return result


def _gate_key(integration_id: int) -> str:
    return f"intake-gate:{integration_id}"


def _close_gate(integration: Integration) -> None:
    """A disable or enable waits for posts in flight, and posts arriving after it wait for it.

    PostgreSQL queues advisory locks in order, so a storm of posts cannot hold a disable off.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_gate_key(integration.pk)])


def _lock_for_intake(integration: Integration, keys: list[str]) -> Integration:
    """Locks what one post may change: the gate against a disable, each fingerprint against its twins.

    On PostgreSQL posts share the integration's gate (an advisory lock a disable takes
    exclusively), so posts of different fingerprints run side by side; posts of one
    fingerprint take one advisory lock in turn, so fifty identical alerts make one alert
    (the partial unique constraint is the backstop). Keys are locked in sorted order, so two
    posts with several items cannot deadlock. Elsewhere (SQLite) the row lock serializes them.
    """
    if connection.vendor != "postgresql":
        locked = Integration.objects.select_related("service__team").select_for_update(of=("self",))
        return locked.get(pk=integration.pk)
    # One statement takes them all: PostgreSQL evaluates a select list left to right, so the
    # gate comes first and the keys follow in sorted order.
    key_locks = ", pg_advisory_xact_lock(hashtextextended(%s, 0))" * len(keys)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))" + key_locks,
            [_gate_key(integration.pk), *(f"intake:{integration.pk}:{key}" for key in keys)],
        )
    # Read after the gate: a disable that committed before it is seen here. Only what a
    # disable or a post changes is read again; the rest of the caller's row still holds.
    fresh = Integration.objects.filter(pk=integration.pk).values_list("disabled_at", "last_alert_at")
    integration.disabled_at, integration.last_alert_at = fresh.get()
    return integration


def _touch_due(last_alert_at: datetime | None, now: datetime) -> bool:
    return last_alert_at is None or last_alert_at < now - LAST_ALERT_RESOLUTION


def _touch(integration_id: int, now: datetime) -> None:
    # At most once a second, and never waiting: last_alert_at is informational. Posts that
    # read a recent value skip this; the check here settles the ones that raced.
    recent = now - LAST_ALERT_RESOLUTION
    with transaction.atomic():
        due = (
            Integration.objects.select_for_update(skip_locked=True)
            .filter(pk=integration_id)
            .filter(Q(last_alert_at__isnull=True) | Q(last_alert_at__lt=recent))
        )
        if due.exists():
            due.update(last_alert_at=now)
