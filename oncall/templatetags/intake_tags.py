"""The service page's integrations and alert-quality panel, rendered with its own reads."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from oncall import selectors_intake
from oncall.models import Service
from oncall.selectors_schedules import is_manager

register = template.Library()


@register.inclusion_tag("oncall/intake/_service_panel.html", takes_context=True)
def intake_panel(context: template.Context, service: Service) -> dict[str, Any]:
    user = context["request"].user
    quality = selectors_intake.alert_quality(service=service, now=timezone.now())
    return {
        "service": service,
        "integrations": list(selectors_intake.integration_list_for_service(service=service)),
        "quality": quality,
        "busiest_week": max((w.alerts for w in quality.weeks), default=0),
        "can_manage": is_manager(user=user, team=service.team),
        "csrf_token": context.get("csrf_token"),
    }
