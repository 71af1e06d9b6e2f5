"""The incident metrics page and its API with 10,000 and 100,000 incidents in PostgreSQL.

Run: .venv/bin/python bench/metrics_page.py [--requests 10] [--profile] [--keep]   (or `make bench`)
Needs PostgreSQL on 127.0.0.1:5432 (makes and drops `fireline_bench_metrics`) and Redis
(databases 7 and 8, flushed). Requests go through Django's full WSGI handler and middleware in
this process (django.test.Client), DEBUG off, as a person in two of eight teams: the portal
page (`/incidents/metrics/`, signed in, for the default 6 months and for 24 months, which
covers every incident) and the API (`/api/v1/incidents/metrics/`, with an API token). It
prints the median and p95 response time and the SQL queries of each; `--profile` adds the
functions that cost most in one request of the slowest. Aim: under 500 ms at 100,000 incidents.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _scale
from _scale import BenchError, mark, median, percentile

DATABASE = "fireline_bench_metrics"
SIZES = (10_000, 100_000)
AIM_MS = 500.0
TARGETS = (
    ("page, 6 months", "/incidents/metrics/", "session"),
    ("page, 24 months", "/incidents/metrics/?months=24", "session"),
    ("page, one team", "/incidents/metrics/?months=24&team=team-1", "session"),
    ("API, all", "/api/v1/incidents/metrics/", "token"),
    ("API, one team", "/api/v1/incidents/metrics/?team=team-1", "token"),
)


@dataclass(frozen=True)
class Row:
    size: int
    name: str
    path: str
    median_ms: float
    p95_ms: float
    queries: int
    sql_ms: float


class Reader:
    def __init__(self, user_id: int, token: str) -> None:
        from django.test import Client

        from oncall.models import User

        self.session = Client()
        self.session.force_login(User.objects.get(pk=user_id))
        self.token = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, how: str) -> float:
        client = self.session if how == "session" else self.token
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise BenchError(f"GET {path} answered {response.status_code}")
        return elapsed

    def counted(self, path: str, how: str) -> tuple[int, float]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            self.get(path, how)
        return len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000


def measure(reader: Reader, size: int, requests: int) -> list[Row]:
    rows = []
    for name, path, how in TARGETS:
        reader.get(path, how)  # warm-up: templates, plans, connections
        times = [reader.get(path, how) for _ in range(requests)]
        queries, sql_ms = reader.counted(path, how)
        rows.append(Row(size, name, path, median(times), percentile(times, 0.95), queries, sql_ms))
    return rows


def profile(reader: Reader, row: Row) -> str:
    how = next(how for _name, path, how in TARGETS if path == row.path)
    profiler = cProfile.Profile()
    profiler.enable()
    reader.get(row.path, how)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10, help="timed requests per target (default 10)")
    parser.add_argument("--profile", action="store_true", help="cProfile one request of the slowest target")
    parser.add_argument("--keep", action="store_true", help="keep the database fireline_bench_metrics")
    options = parser.parse_args()
    print(f"$ {shlex.join(['.venv/bin/python', 'bench/metrics_page.py', *sys.argv[1:]])}", flush=True)
    _scale.reset_redis()
    with _scale.bench_database(DATABASE, keep=options.keep) as url, tempfile.TemporaryDirectory() as static:
        _scale.start_django(url, static_root=Path(static))
        org = _scale.seed_org()
        reader = Reader(org.viewer_id, _scale.api_token(org.viewer_id))
        anchor = dt.datetime.now(dt.UTC)
        rows: list[Row] = []
        loads: dict[int, float] = {}
        loaded = 0
        for size in SIZES:
            print(f"Loading incidents {loaded + 1}..{size} …", flush=True)
            loads[size] = _scale.load_incidents(org, first=loaded + 1, last=size, anchor=anchor)
            loaded = size
            _scale.analyze()
            print(f"Measuring at {size} incidents ({options.requests} requests per target) …", flush=True)
            rows += measure(reader, size, options.requests)
        print()
        header = f"{'incidents':>9}  {'target':<16} {'median ms':>9} {'p95 ms':>8} {'queries':>7} {'sql ms':>7}"
        print(f"{header}  aim < 500 ms")
        for row in rows:
            print(
                f"{row.size:>9}  {row.name:<16} {row.median_ms:>9.1f} {row.p95_ms:>8.1f} {row.queries:>7}"
                f" {row.sql_ms:>7.1f}  {mark(row.median_ms < AIM_MS)}"
            )
        for name, path, _how in TARGETS:
            print(f"  {name}: GET {path}")
        if options.profile:
            slowest = max((row for row in rows if row.size == max(SIZES)), key=lambda row: row.median_ms)
            print(f"\nProfile of one GET {slowest.path} at {slowest.size} incidents:")
            print(profile(reader, slowest))
        print("Load: " + ", ".join(f"{size} incidents in {seconds:.1f} s" for size, seconds in loads.items()))
        print("Server: Django's WSGI handler and middleware in this process (django.test.Client), DEBUG off.")
        print(f"Reproduce: .venv/bin/python bench/metrics_page.py --requests {options.requests}   (or make bench)")
        print(_scale.machine_line())
    _scale.reset_redis()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        sys.exit(2)
