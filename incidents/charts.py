"""Server-rendered SVG charts: no JavaScript library, nothing fetched from another host.

The numbers behind each chart are also shown in a table beside it, so the chart is a
picture of the table, readable by a screen reader through the table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Bootstrap's danger, warning, info and secondary colours, by severity level.
COLOURS = {1: "#dc3545", 2: "#ffc107", 3: "#0dcaf0", 4: "#6c757d"}
WIDTH, HEIGHT, PAD = 600, 220, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    top: int


def stacked_bars(counts: dict[dt.date, dict[int, int]]) -> Chart:
    """One bar per month, stacked SEV-1 at the bottom to SEV-4 on top."""
    months = sorted(counts)
    top = max((sum(levels.values()) for levels in counts.values()), default=0) or 1
    slot = (WIDTH - PAD) / max(len(months), 1)
    scale = (HEIGHT - 2 * PAD) / top
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for index, month in enumerate(months):
        x = PAD + index * slot + slot * 0.15
        base = HEIGHT - PAD
        for level in range(1, 5):
            count = counts[month].get(level, 0)
            if count:
                height = count * scale
                base -= height
                bars.append(Bar(x, base, slot * 0.7, height, COLOURS[level], f"{month:%b %Y}: {count} at SEV-{level}"))
        labels.append((x + slot * 0.35, f"{month:%b}"))
    return Chart(WIDTH, HEIGHT, bars, labels, top)
