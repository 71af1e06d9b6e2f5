"""Publishing a status page that has a long history: 100 and then 1,000 resolved notices.

Run: .venv/bin/python bench/publish_history.py [--runs 5] [--keep]   (or `make bench`)
Needs PostgreSQL on 127.0.0.1:5432 (makes and drops `fireline_bench_publish`) and Redis
(databases 7 and 8, flushed). Loads the demo (a page with grouped components and 90 days of
uptime), adds resolved notices of three updates each, one every six hours going back, and
times `page_publish` as a change makes it run: the first publish after the notices arrive
renders every notice and month page; each later one (an update on the newest notice, as
during an incident) keeps the pages whose sources did not change. It prints seconds per
publish, documents re-rendered, and the size of the stored bundle. Aim: a publish under one
second, so a change reaches customers within a second (the status page issue).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time

import _scale
from _scale import BenchError, mark, median

DATABASE = "fireline_bench_publish"
SIZES = (100, 1_000)
AIM_SECONDS = 1.0
UPDATES = ("investigating", "monitoring", "resolved")


def add_history(page: object, count: int, *, before: dt.datetime, offset: int) -> None:
    from statuspage.models import Notice, NoticeUpdate

    notices = []
    for i in range(offset, offset + count):
        start = before - dt.timedelta(hours=6 * (i + 1))
        notices.append(
            Notice(
                page=page,
                title=f"Elevated error rates on checkout ({i})",
                impact="minor",
                status="resolved",
                started_at=start,
                resolved_at=start + dt.timedelta(hours=1),
                created_at=start,
                updated_at=start + dt.timedelta(hours=1),
            )
        )
    Notice.objects.bulk_create(notices)
    NoticeUpdate.objects.bulk_create(
        NoticeUpdate(
            notice=notice,
            status=status,
            body="Some card payments failed while a dependency answered slowly. " * 2,
            created_at=notice.started_at + dt.timedelta(minutes=30 * k),
        )
        for notice in notices
        for k, status in enumerate(UPDATES)
    )


def timed_publish(page: object) -> tuple[float, int]:
    """Seconds of one publish and the documents it rendered (not kept from the last bundle)."""
    from statuspage import publishing, snapshots

    before = snapshots.documents_for(page.host) or {}
    started = time.perf_counter()
    publishing.page_publish(page_id=page.pk)
    seconds = time.perf_counter() - started
    after = snapshots.documents_for(page.host) or {}
    return seconds, sum(1 for path, doc in after.items() if before.get(path) is not doc)


def post_update(notice: object, run: int) -> None:
    """An update on the open notice, written without publishing (the bench times the publish)."""
    from django.utils import timezone

    from statuspage.models import Notice, NoticeUpdate

    now = timezone.now()
    NoticeUpdate.objects.create(notice=notice, status="identified", body=f"Still on it ({run}).", created_at=now)
    Notice.objects.filter(pk=notice.pk).update(status="identified", updated_at=now)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="publishes after an update, per size (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the database fireline_bench_publish")
    options = parser.parse_args()
    print(f"$ {shlex.join(['.venv/bin/python', 'bench/publish_history.py', *sys.argv[1:]])}", flush=True)
    _scale.reset_redis()
    rows = []
    with _scale.bench_database(DATABASE, keep=options.keep) as url:
        _scale.start_django(url)
        from django.core.management import call_command
        from django.utils import timezone

        from statuspage.models import Notice, PublishedSnapshot, StatusPage

        call_command("demo", verbosity=0)
        page = StatusPage.objects.order_by("pk").first()
        if page is None:
            raise BenchError("the demo made no status page")
        now = timezone.now()
        open_notice = Notice.objects.create(
            page=page, title="Card payments failing", impact="major", status="investigating",
            started_at=now, created_at=now, updated_at=now,
        )  # fmt: skip
        loaded = 0
        for size in SIZES:
            add_history(page, size - loaded, before=now - dt.timedelta(days=1), offset=loaded)
            loaded = size
            _scale.analyze()
            first, first_rendered = timed_publish(page)
            later = []
            for run in range(options.runs):
                post_update(open_notice, run)
                later.append(timed_publish(page))
            bundle = len(bytes(PublishedSnapshot.objects.get(page=page).bundle))
            rows.append((Notice.objects.filter(page=page).count(), first, first_rendered, later, bundle))
        machine = _scale.machine_line()
    _scale.reset_redis()

    print()
    print(f"{'notices':>7} {'first s':>8} {'rendered':>8} {'later s (median)':>16} {'max':>6} {'rendered':>8}"
          f" {'bundle MB':>9}  aim: later < {AIM_SECONDS:.0f} s")  # fmt: skip
    for notices, first, first_rendered, later, bundle in rows:
        seconds = [s for s, _ in later]
        rendered = max(r for _, r in later)
        print(
            f"{notices:>7} {first:>8.2f} {first_rendered:>8} {median(seconds):>16.2f} {max(seconds):>6.2f}"
            f" {rendered:>8} {bundle / 1e6:>9.1f}  {mark(median(seconds) < AIM_SECONDS)}"
        )
    print()
    print(f"Reproduce: .venv/bin/python bench/publish_history.py --runs {options.runs}")
    print(machine)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/publish_history.py: {error}", file=sys.stderr)
        sys.exit(2)
