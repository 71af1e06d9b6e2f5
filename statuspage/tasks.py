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
