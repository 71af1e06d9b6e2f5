"""Speed of the on-call rule module: the function every reader (pages, API, iCal, pager) calls.

Run: .venv/bin/python bench/schedule_rules.py
Prints how long `on_call_at` and `final_shifts` take for typical and heavy layers.
No database: the rule module works on plain values.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oncall.schedule import LayerRule, OverrideRule, final_shifts, on_call_at

START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def layer(unit: str, length: int) -> LayerRule:
    return LayerRule(1, "Europe/Berlin", dt.date(2026, 1, 5), dt.time(9), length, unit, tuple(range(1, 9)))


def overrides(count: int) -> list[OverrideRule]:
    return [
        OverrideRule(1, 100 + i, START + dt.timedelta(hours=13 * i), START + dt.timedelta(hours=13 * i + 5))
        for i in range(count)
    ]


def timed(label: str, runs: int, call) -> None:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    median = statistics.median(samples)
    print(f"{label:<62} median {median * 1e6:>10.1f} µs  ({runs} runs)")


def main() -> None:
    weekly, hourly = layer("weeks", 1), layer("hours", 12)
    some = overrides(20)
    instant = START + dt.timedelta(days=40, minutes=7)
    timed("on_call_at, weekly layer, no overrides", 2000, lambda: on_call_at(weekly, [], instant))
    timed("on_call_at, weekly layer, 20 overrides", 2000, lambda: on_call_at(weekly, some, instant))
    four_weeks = START + dt.timedelta(weeks=4)
    timed(
        "final_shifts, weekly layer, 4 weeks, 20 overrides", 300, lambda: final_shifts(weekly, some, START, four_weeks)
    )
    ninety = START + dt.timedelta(days=90)
    timed(
        "final_shifts, 12-hour layer, 90 days (fairness window)", 100, lambda: final_shifts(hourly, some, START, ninety)
    )
    year = START + dt.timedelta(days=365)
    timed("final_shifts, 12-hour layer, 1 year, 20 overrides", 20, lambda: final_shifts(hourly, some, START, year))


if __name__ == "__main__":
    main()
