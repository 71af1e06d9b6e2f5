from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from config.views import BEAT_HEARTBEAT_KEY


@shared_task(acks_late=True, ignore_result=True)
def beat_heartbeat() -> str:
    """Proves beat and a worker are alive: /healthz shows when this last ran."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now
