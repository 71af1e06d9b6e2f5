from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask


class Command(BaseCommand):
    help = "Creates the periodic jobs Fireline needs in django-celery-beat, keeping any edited in the admin."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, spec in settings.FIRELINE_PERIODIC_TASKS.items():
            every, _ = IntervalSchedule.objects.get_or_create(
                every=int(spec["every_seconds"]), period=IntervalSchedule.SECONDS
            )
            _, created = PeriodicTask.objects.get_or_create(
                name=name, defaults={"task": spec["task"], "interval": every}
            )
            self.stdout.write(f"{'created' if created else 'kept'}: {name}")
