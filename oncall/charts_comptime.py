"""Small server-rendered SVG bar charts for the load report: no JavaScript, nothing fetched.

Every person's chart shares one scale, so a heavier month stands out against the
team, not only against the person's own quiet months. The figures are also in the
table beside the chart, which is what a screen reader reads.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, LABEL = 240, 90, 16


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str
    is_last: bool


@dataclass(frozen=True)
class MiniChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    description: str


def mini_bars(values: list[float], labels: list[str], *, top: float, unit: str, name: str) -> MiniChart:
    """One bar per value, scaled to `top` (at least 1), the last (current) month highlighted."""
    top = max(top, 1.0)
    slot = WIDTH / max(len(values), 1)
    baseline = HEIGHT - LABEL
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        height = (baseline - 4) * value / top
        bars.append(
            Bar(
                x=round(index * slot + slot * 0.15, 1),
                y=round(baseline - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=label,
                title=f"{label}: {value:g} {unit}",
                is_last=index == len(values) - 1,
            )
        )
    trend = ", ".join(f"{label} {value:g}" for value, label in zip(values, labels, strict=True))
    return MiniChart(WIDTH, HEIGHT, baseline, bars, f"{name}, {unit} per month: {trend}")
