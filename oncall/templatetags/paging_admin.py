"""The admin index's warning about pages whose escalation stalled."""

from __future__ import annotations

from typing import Any

from django import template

from oncall.selectors_paging import stalled_pages

register = template.Library()
SHOWN = 10


@register.inclusion_tag("admin/_stalled_pages.html")
def stalled_pages_notice() -> dict[str, Any]:
    pages = stalled_pages()
    return {"pages": list(pages[:SHOWN]), "count": pages.count()}
