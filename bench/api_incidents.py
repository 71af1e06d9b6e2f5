"""`GET /api/v1/incidents/` with 10,000 and 100,000 incidents in PostgreSQL, as a token user.

Run: .venv/bin/python bench/api_incidents.py [--requests 20] [--keep]   (or `make bench`)
Needs PostgreSQL on 127.0.0.1:5432 (makes and drops `fireline_bench_api`) and Redis
(databases 7 and 8, flushed). Requests go through Django's full WSGI handler and middleware
in this process (django.test.Client: no socket, no HTTP server), authenticated with an API
token of a person in two of eight teams, with DEBUG off. Each scenario (first, second, middle
and last page, filters by team, severity, status, text, and all together) is requested
`--requests` times (20: 200 requests per size) after a warm-up; the SQL queries of one request of each are counted, and
the list is also read with page sizes 10, 50 and 100 to show the query count does not grow
with the page. Aim: median under 40 ms at 100,000 incidents.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
from dataclasses import dataclass

import _scale
from _scale import BenchError, mark, median, percentile

DATABASE = "fireline_bench_api"
SIZES = (10_000, 100_000)
AIM_MEDIAN_MS = 40.0
PAGE_SIZES = (10, 50, 100)


@dataclass(frozen=True)
class Row:
    size: int
    scenario: str
    path: str
    median_ms: float
    p95_ms: float
    queries: int
    sql_ms: float
    count: int
    times_ms: tuple[float, ...]


def scenarios(pages: int) -> list[tuple[str, str]]:
    base = "/api/v1/incidents/"
    return [
        ("first page", base),
        ("page 2", f"{base}?page=2"),
        ("middle page", f"{base}?page={max(1, pages // 2)}"),
        ("last page", f"{base}?page={pages}"),
        ("team", f"{base}?team=team-3"),
        ("severity", f"{base}?severity=1"),
        ("status=open", f"{base}?status=open"),
        ("status=resolved", f"{base}?status=resolved"),
        ("q=replica", f"{base}?q=replica"),
        ("team+sev+status", f"{base}?team=team-1&severity=2&status=closed"),
    ]


class Reader:
    def __init__(self, token: str) -> None:
        from django.test import Client

        self.client = Client()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, path: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = self.client.get(path, **self.auth)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise BenchError(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
        return elapsed, response.json()

    def counted(self, path: str) -> tuple[int, float, dict]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            _elapsed, body = self.get(path)
        return len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000, body


def measure(reader: Reader, size: int, requests: int) -> list[Row]:
    _elapsed, first = reader.get("/api/v1/incidents/")
    pages = -(-first["count"] // 50)
    rows = []
    for name, path in scenarios(pages):
        for _ in range(3):  # warm-up: plans, connections, the token's row
            reader.get(path)
        times = [reader.get(path)[0] for _ in range(requests)]
        queries, sql_ms, body = reader.counted(path)
        rows.append(
            Row(size, name, path, median(times), percentile(times, 0.95), queries, sql_ms, body["count"], tuple(times))
        )
    return rows


def page_size_rows(reader: Reader, requests: int) -> list[tuple[int, float, int, int]]:
    """The first page at 10, 50 and 100 per page: (page size, median ms, queries, results on the page)."""
    from rest_framework.pagination import PageNumberPagination

    # The API has no page_size parameter; the bench sets the paginator's size in-process.
    default = PageNumberPagination.page_size
    out = []
    try:
        for size in PAGE_SIZES:
            PageNumberPagination.page_size = size
            for _ in range(3):
                reader.get("/api/v1/incidents/?page=2")
            times = [reader.get("/api/v1/incidents/?page=2")[0] for _ in range(requests)]
            queries, _sql_ms, body = reader.counted("/api/v1/incidents/?page=2")
            out.append((size, median(times), queries, len(body["results"])))
    finally:
        PageNumberPagination.page_size = default
    return out


def report(rows: list[Row], by_page_size: dict[int, list[tuple[int, float, int, int]]], loads: dict[int, float],
           requests: int) -> bool:  # fmt: skip
    print()
    print(
        f"{'incidents':>9}  {'scenario':<16} {'median ms':>9} {'p95 ms':>8} {'queries':>7} {'sql ms':>7} {'visible':>8}"
    )
    for row in rows:
        print(
            f"{row.size:>9}  {row.scenario:<16} {row.median_ms:>9.1f} {row.p95_ms:>8.1f} {row.queries:>7}"
            f" {row.sql_ms:>7.1f} {row.count:>8}"
        )
    print()
    print(f"{'incidents':>9}  {'all requests: median ms':>23} {'p95 ms':>8} {'requests':>8}   aim: median < 40 ms")
    met = True
    for size in SIZES:
        pooled = [ms for row in rows if row.size == size for ms in row.times_ms]
        overall = median(pooled)
        ok = overall < AIM_MEDIAN_MS
        if size == max(SIZES):
            met = ok
        print(f"{size:>9}  {overall:>23.1f} {percentile(pooled, 0.95):>8.1f} {len(pooled):>8}   {mark(ok)}")
    print()
    print(f"{'incidents':>9}  {'page size':>9} {'median ms':>9} {'queries':>7} {'results':>7}")
    for size, entries in by_page_size.items():
        for page_size, ms, queries, results in entries:
            print(f"{size:>9}  {page_size:>9} {ms:>9.1f} {queries:>7} {results:>7}")
    print()
    print("Load: " + ", ".join(f"{size} incidents in {seconds:.1f} s" for size, seconds in loads.items()))
    print("Server: Django's WSGI handler and middleware in this process (django.test.Client), DEBUG off.")
    print(f"Reproduce: .venv/bin/python bench/api_incidents.py --requests {requests}   (or make bench)")
    print(_scale.machine_line())
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per scenario (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the database fireline_bench_api")
    options = parser.parse_args()
    print(f"$ {shlex.join(['.venv/bin/python', 'bench/api_incidents.py', *sys.argv[1:]])}", flush=True)
    _scale.reset_redis()
    with _scale.bench_database(DATABASE, keep=options.keep) as url:
        _scale.start_django(url)
        org = _scale.seed_org()
        reader = Reader(_scale.api_token(org.viewer_id))
        anchor = dt.datetime.now(dt.UTC)
        rows: list[Row] = []
        by_page_size = {}
        loads = {}
        loaded = 0
        for size in SIZES:
            print(f"Loading incidents {loaded + 1}..{size} …", flush=True)
            loads[size] = _scale.load_incidents(org, first=loaded + 1, last=size, anchor=anchor)
            loaded = size
            _scale.analyze()
            print(f"Measuring at {size} incidents ({options.requests} requests per scenario) …", flush=True)
            rows += measure(reader, size, options.requests)
            by_page_size[size] = page_size_rows(reader, options.requests)
        met = report(rows, by_page_size, loads, options.requests)
    _scale.reset_redis()
    # A missed aim is a figure like any other (printed as MISSED); only a broken run fails.
    del met
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        sys.exit(2)
