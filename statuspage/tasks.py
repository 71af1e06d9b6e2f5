from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from statuspage import publishing, services, watch


@shared_task(acks_late=True, ignore_result=True)
def move_maintenance_windows() -> str:
    """Starts and completes scheduled maintenance at its times (beat, every minute)."""
    return f"moved {services.run_maintenance_windows(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True)
def guard_customer_notices() -> str:
    """Alerts the IC and comms lead of serious incidents customers were not told about (beat)."""
    return f"flagged {watch.run_customer_notice_guard(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True)
def flag_stale_components() -> str:
    return f"flagged {watch.run_stale_components(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True)
def republish_status_pages() -> str:
    """Rolls the uptime bars over to the new day and refreshes relative content."""
    return f"published {publishing.publish_all(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def publish_status_page(page_id: int) -> str:
    return publishing.page_publish(page_id=page_id)


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_subscribers(update_id: int) -> str:
    """Writes one notice update's mail for its subscribers (sent on commit of the update)."""
    return f"wrote {services.subscribers_notify(update_id=update_id)}"


@shared_task(acks_late=True, ignore_result=True)
def sweep_subscriber_updates() -> str:
    """Tells subscribers of updates whose task never ran (beat, every minute)."""
    return f"notified {services.run_subscriber_updates(now=timezone.now())}"
