"""Markdown fields rendered to HTML that is safe to show: Markdown first, then nh3's sanitizer."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

from postmortems.models import Postmortem

FIELDS = [
    ("summary", "Summary"),
    ("root_cause", "Root cause"),
    ("went_well", "What went well"),
    ("went_badly", "What did not"),
]


def render(text: str) -> SafeString:
    html = markdown_lib.markdown(text or "", extensions=["sane_lists"])
    # nh3 keeps only harmless tags and attributes, so the result may be marked safe.
    return mark_safe(nh3.clean(html))  # noqa: S308


def sections(postmortem: Postmortem) -> list[tuple[str, SafeString]]:
    return [(label, render(getattr(postmortem, field))) for field, label in FIELDS]
