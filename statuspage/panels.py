"""The customer communication section of the incident page."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident
from incidents.selectors import can_act
from incidents.services import severity_policies_for
from statuspage.models import NoticeGuardFlag


def customer_panel(request: HttpRequest, incident: Incident) -> SafeString:
    notices = list(incident.public_notices.select_related("page").order_by("-started_at"))
    policy = severity_policies_for(incident.team)[incident.severity]
    due_at = None
    if policy.customer_notice_required and policy.customer_notice_within_minutes is not None:
        due_at = incident.declared_at + dt.timedelta(minutes=policy.customer_notice_within_minutes)
    context = {
        "incident": incident,
        "can_act": can_act(user=request.user, incident=incident),
        "notices": notices,
        "required": policy.customer_notice_required,
        "due_at": due_at,
        "late": bool(due_at and not notices and incident.is_open and timezone.now() >= due_at),
        "flag": NoticeGuardFlag.objects.filter(incident=incident).first(),
    }
    # render_to_string escapes everything it is given; the result is our own template's HTML.
    return mark_safe(render_to_string("statuspage/_incident_panel.html", context, request=request))  # noqa: S308
