"""Sections that later apps add to the incident page (the postmortems app adds its own).

A panel takes the request and the incident and returns HTML rendered from its own template.
Filled in the later app's apps.ready(), so this app never imports them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from incidents.models import Incident

INCIDENT_PANELS: list[Callable[[HttpRequest, Incident], SafeString]] = []


def render_panels(request: HttpRequest, incident: Incident) -> list[SafeString]:
    return [panel(request, incident) for panel in INCIDENT_PANELS]
