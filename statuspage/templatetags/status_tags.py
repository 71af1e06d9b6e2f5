"""Small filters for the public status templates."""

from __future__ import annotations

import math

from django import template

from statuspage.models import ComponentStatus, Notice

register = template.Library()

LABELS = {**dict(ComponentStatus.choices), **dict(Notice.Status.choices)}


@register.filter
def percent(share: float | None) -> str:
    """99.95%, rounded down so that any downtime never shows as 100%; a whole day up is 100%."""
    if share is None:
        return "no data"
    if share >= 1:
        return "100%"
    return f"{math.floor(share * 10000) / 100:.2f}%"


@register.filter
def label(status: str) -> str:
    return LABELS.get(status, status.replace("_", " ").capitalize())
