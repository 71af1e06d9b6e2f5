"""Celery tasks: thin wrappers that call one service each and say what happened.

All are idempotent (the outbox claims rows, reminders have dedup keys) and
acknowledged late, so a message redelivered after a worker crash does no harm.
"""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from config.views import BEAT_HEARTBEAT_KEY
from oncall.services import comptime, notifications, paging, reminders


@shared_task(acks_late=True, ignore_result=True)
def beat_heartbeat() -> str:
    """Proves beat and a worker are alive: /healthz shows when this last ran."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(acks_late=True, ignore_result=True)
def deliver_notification(notification_id: int) -> str:
    return notifications.notification_deliver(notification_id=int(notification_id))


@shared_task(acks_late=True, ignore_result=True)
def sweep_notifications() -> str:
    return f"enqueued {notifications.run_notification_sweep()}"


@shared_task(acks_late=True, ignore_result=True)
def send_shift_reminders() -> str:
    return f"wrote {reminders.run_shift_reminders(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True)
def escalate_pages() -> str:
    return f"advanced {paging.run_escalations(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True)
def audit_escalations() -> str:
    return f"flagged {paging.run_escalation_audit(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True)
def grant_comp_time() -> str:
    return f"granted {comptime.run_comp_time(now=timezone.now())}"
