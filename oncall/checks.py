"""Start-up checks, run by `manage.py check` and `migrate` (which stop on an error).

With Redis as the broker, a message that is not acknowledged within the broker's
visibility_timeout is handed to another worker. Tasks here are acknowledged late,
so any wait of ours that reaches that timeout would turn into a duplicate send.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from oncall.services.notifications import RETRY_DELAYS


@register("celery")
def check_delays_below_visibility_timeout(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    timeout = options.get("visibility_timeout")
    if timeout is None:
        return []
    return [
        Error(
            f"The {name} is {delay.total_seconds():.0f} s, not below the broker's visibility_timeout "
            f"({timeout} s): Redis would hand the task to a second worker while the first still holds it.",
            hint="Lower the delay or raise CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'].",
            id="oncall.E001",
        )
        for name, delay in RETRY_DELAYS.items()
        if delay.total_seconds() >= float(timeout)
    ]
