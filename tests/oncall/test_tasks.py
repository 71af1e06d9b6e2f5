import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.celery import app as celery_app
from config.views import BEAT_HEARTBEAT_KEY
from oncall.tasks import beat_heartbeat


def test_heartbeat_twice_leaves_one_key_with_the_latest_instant(db):
    first = beat_heartbeat()
    second = beat_heartbeat()
    assert cache.get(BEAT_HEARTBEAT_KEY) == second >= first


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_heartbeat_from_the_broker():
    cache.delete(BEAT_HEARTBEAT_KEY)
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        beat_heartbeat.delay()
        deadline = time.monotonic() + 20
        while cache.get(BEAT_HEARTBEAT_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    assert cache.get(BEAT_HEARTBEAT_KEY) is not None


def test_setup_periodic_tasks_creates_missing_jobs_and_keeps_admin_edits(db):
    call_command("setup_periodic_tasks", stdout=None)
    job = PeriodicTask.objects.get(name="beat heartbeat")
    assert job.task == "oncall.tasks.beat_heartbeat"
    job.interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    job.save()
    call_command("setup_periodic_tasks")
    assert PeriodicTask.objects.get(name="beat heartbeat").interval.every == 5
    assert PeriodicTask.objects.filter(name="beat heartbeat").count() == 1
