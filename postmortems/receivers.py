"""Receivers of the incidents app's signals: each only calls a service."""

from __future__ import annotations

from typing import Any

from postmortems import services


def open_postmortem(sender: Any, *, incident_id: int, **kwargs: Any) -> None:
    services.on_incident_resolved(incident_id)
