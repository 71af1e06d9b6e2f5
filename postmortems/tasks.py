from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from postmortems import services


@shared_task(acks_late=True, ignore_result=True)
def enforce_postmortem_deadlines() -> str:
    """Creates missing postmortems, then reminds, marks overdue and escalates (beat, every 5 minutes)."""
    now = timezone.now()
    created = services.run_missing_postmortems(now=now)
    sent = services.run_postmortem_deadlines(now=now)
    return f"created {created}, notified {sent}"


@shared_task(acks_late=True, ignore_result=True)
def enforce_action_item_deadlines() -> str:
    return f"notified {services.run_action_item_deadlines(now=timezone.now())}"


@shared_task(acks_late=True, ignore_result=True)
def send_manager_digests() -> str:
    """Weekly digest; safe to run daily, since each manager gets one per ISO week."""
    return f"sent {services.run_manager_digest(now=timezone.now())}"
