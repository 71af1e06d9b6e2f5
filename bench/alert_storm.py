"""An alert storm against the intake endpoint of the production server, on PostgreSQL and Redis.

Run: .venv/bin/python bench/alert_storm.py [--alerts 10000] [--senders 16] [--keep]   (or `make bench`)
Needs PostgreSQL on 127.0.0.1:5432 (makes and drops `fireline_bench_storm`) and Redis
(databases 7 and 8, flushed). Starts the `web:` line of the Procfile (granian, 2 workers of 4
threads, as bench/status_page.py does) with production settings, then 16 senders post
generic JSON alerts over 20 fingerprints to one integration's
`/api/v1/integrations/{id}/alerts/`, each on its own keep-alive connection, first 1,000 alerts
then 10,000 (each size to a fresh integration, so each makes its own 20 pages). The
integration's limit is raised to 100,000 a minute (its `rate_limit_per_minute`, the setting
oncall/intake_limits.py enforces), so the storm measures intake, not the limiter.

It prints alerts accepted (2xx) and stored (the repeat counts of the integration's alerts:
must equal), alerts and pages created (must be 20 each), alerts per second and the senders'
latency. Aim: at least 300 alerts per second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import _scale
import status_page
from _scale import BenchError, mark, median, percentile

DATABASE = "fireline_bench_storm"
FINGERPRINTS = 20
AIM_PER_SECOND = 300.0


@dataclass
class Storm:
    alerts: int
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def send(port: int, path: str, key: str, numbers: range, storm: Storm, lock: threading.Lock) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Host": "localhost"}
    statuses: Counter[int] = Counter()
    latencies = []
    try:
        for number in numbers:
            fingerprint = number % FINGERPRINTS
            body = json.dumps(
                {
                    "title": f"Checkout error rate above 5% on shard {fingerprint}",
                    "dedup_key": f"checkout-errors-{fingerprint}",
                    "severity": "critical",
                    "details": f"Alert {number} of the storm.",
                }
            )
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status] += 1
    except (OSError, http.client.HTTPException) as error:
        with lock:
            storm.errors.append(repr(error))
    finally:
        connection.close()
        with lock:
            storm.statuses.update(statuses)
            storm.latencies_ms.extend(latencies)


def run_storm(port: int, path: str, key: str, alerts: int, senders: int) -> Storm:
    storm = Storm(alerts)
    lock = threading.Lock()
    threads = [
        threading.Thread(target=send, args=(port, path, key, range(n, alerts, senders), storm, lock))
        for n in range(senders)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    storm.seconds = time.perf_counter() - started
    return storm


def new_integration(name: str) -> tuple[str, str, int]:
    """An integration on the storm's service with the limit raised; its intake path, key and id."""
    from django.urls import reverse

    from oncall.models import Service, User
    from oncall.services.intake import integration_create

    service = Service.objects.get(slug="checkout")
    manager = User.objects.get(username="manager")
    integration, key = integration_create(
        service=service, name=name, kind="generic", by=manager, rate_limit_per_minute=100_000
    )
    return reverse("integration-alerts", kwargs={"public_id": integration.public_id}), key, integration.pk


def seed() -> None:
    from oncall.models import Membership, Service, Team, User

    team = Team.objects.create(name="Checkout", slug="checkout-team", time_zone="Europe/Berlin")
    manager = User.objects.create(username="manager", email="manager@example.com")
    Membership.objects.create(team=team, user=manager, role=Membership.Role.MANAGER)
    Service.objects.create(team=team, name="Checkout", slug="checkout")


def stored(integration_id: int) -> tuple[int, int, int]:
    """Alerts counted (repeats included), alert rows and pages of the integration."""
    from django.db.models import Sum

    from oncall.models import Alert, Page

    alerts = Alert.objects.filter(integration_id=integration_id)
    counted = alerts.aggregate(n=Sum("count"))["n"] or 0
    return counted, alerts.count(), Page.objects.filter(alert__integration_id=integration_id).count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=10_000, help="alerts in the big storm (default 10000)")
    parser.add_argument("--senders", type=int, default=16, help="concurrent senders (default 16)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temp dir")
    options = parser.parse_args()
    print(f"$ {shlex.join(['.venv/bin/python', 'bench/alert_storm.py', *sys.argv[1:]])}", flush=True)
    sizes = (options.alerts // 10, options.alerts)
    _scale.reset_redis()
    workdir = Path(tempfile.mkdtemp(prefix="fireline-storm-"))
    results: list[tuple[Storm, tuple[int, int, int]]] = []
    with _scale.bench_database(DATABASE, keep=options.keep) as url, ExitStack() as servers:
        _scale.start_django(url)
        seed()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GRANIAN_", "DJANGO_"))},
            **_scale.app_env(url),
            "PATH": f"{status_page.VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "STATIC_ROOT": str(workdir / "static"),
        }
        port = status_page.free_port()
        argv = status_page.procfile_web_argv({**env, "PORT": str(port)})
        print(f"Starting {shlex.join(argv)}", flush=True)
        log = workdir / "granian.log"
        server = servers.enter_context(status_page.running(argv, env, log, "granian"))
        status_page.wait_until_serving(server, port, "localhost", log, "granian")
        for n, alerts in enumerate(sizes):
            path, key, integration_id = new_integration(f"Alertmanager {n}")
            run_storm(port, path, key, options.senders * 2, options.senders)  # warm-up: connections, imports
            before = stored(integration_id)[0]
            print(f"Storm of {alerts} alerts from {options.senders} senders …", flush=True)
            storm = run_storm(port, path, key, alerts, options.senders)
            counted, rows, pages = stored(integration_id)
            results.append((storm, (counted - before, rows, pages)))
        load_average = os.getloadavg()
    if not options.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    _scale.reset_redis()

    print()
    print(
        f"{'alerts':>7} {'accepted':>8} {'other':>6} {'stored':>7} {'alerts':>6} {'pages':>5} {'seconds':>7}"
        f" {'alerts/s':>8} {'median ms':>9} {'p95 ms':>7}  aim >= 300/s"
    )
    problems = []
    for storm, (counted, rows, pages) in results:
        accepted = sum(n for status, n in storm.statuses.items() if 200 <= status < 300)
        other = sum(storm.statuses.values()) - accepted
        rate = accepted / storm.seconds if storm.seconds else 0.0
        print(
            f"{storm.alerts:>7} {accepted:>8} {other:>6} {counted:>7} {rows:>6} {pages:>5} {storm.seconds:>7.1f}"
            f" {rate:>8.0f} {median(storm.latencies_ms):>9.1f} {percentile(storm.latencies_ms, 0.95):>7.1f}"
            f"  {mark(rate >= AIM_PER_SECOND)}"
        )
        if accepted != storm.alerts or other or storm.errors:
            problems.append(f"{storm.alerts} alerts: statuses {dict(storm.statuses)}, errors {storm.errors[:3]}")
        if counted != accepted:
            problems.append(f"{storm.alerts} alerts: {accepted} accepted but {counted} stored")
        if (rows, pages) != (FINGERPRINTS, FINGERPRINTS):
            problems.append(f"{storm.alerts} alerts: {rows} alerts and {pages} pages, not {FINGERPRINTS} each")
    print()
    print(f"Server: {shlex.join(argv)}")
    print(f"Senders: {options.senders} threads in this process, one keep-alive connection each (http.client)")
    print(f"Reproduce: .venv/bin/python bench/alert_storm.py --alerts {options.alerts} --senders {options.senders}")
    print(f"Load average at the end: {' '.join(f'{x:.1f}' for x in load_average)}")
    print(
        f"Machine: {os.cpu_count()} CPUs, {_scale.memory_gib():.0f} GiB, {_scale.cpu_model()}; senders, granian and"
        " PostgreSQL share these CPUs"
    )
    for problem in problems:
        print(f"INVALID: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, status_page.BenchError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        sys.exit(2)
