from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from incidents import services


@shared_task(acks_late=True, ignore_result=True)
def remind_incident_updates() -> str:
    """Reminds commanders and comms leads of missed updates (beat, every minute)."""
    return f"reminded {services.run_update_reminders(now=timezone.now())}"
