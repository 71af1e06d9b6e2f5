"""The status page under load: the production server against nginx serving the same bytes.

Run: .venv/bin/python bench/status_page.py [--duration 10s]   (or `make bench`)
Needs wrk, nginx and Redis on 127.0.0.1:6379 (databases 5 and 6 are the bench's own and are
flushed). Builds a throwaway SQLite database with the demo data, starts the `web:` line of the
Procfile (2 workers) on a free port, copies `/` and `/api/v2/summary.json` of the status host
byte for byte into an nginx docroot, then drives all four with wrk. nginx serving static files
is the ceiling: the aim is half its throughput with a p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STATUS_HOST = "status.localhost"
REDIS_CACHE = "redis://127.0.0.1:6379/5"
REDIS_BROKER = "redis://127.0.0.1:6379/6"
WORKERS = "2"
THREADS, CONNECTIONS = 2, 64
WARMUP = "2s"
AIM_RATIO = 0.5
AIM_P99_MS = 20.0


@dataclass(frozen=True)
class Document:
    name: str
    path: str
    file_name: str


DOCUMENTS = (
    Document("html", "/", "index.html"),
    Document("json", "/api/v2/summary.json", "summary.json"),
)


@dataclass(frozen=True)
class Result:
    document: str
    server: str
    requests_per_second: float
    p99_ms: float
    max_ms: float
    requests: int
    non_2xx_3xx: int
    socket_errors: int
    command: str


class BenchError(Exception):
    pass


def free_port() -> int:
    # The port is released before the server binds it; fine on a machine nobody else is benchmarking.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_web_argv(env: dict[str, str]) -> list[str]:
    """The Procfile's `web:` command with its variables expanded, so the bench runs what production runs."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    command = next((line.partition(":")[2].strip() for line in lines if line.startswith("web:")), None)
    if command is None:
        raise BenchError("Procfile has no `web:` line")

    def expand(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        default = match.group("default")
        value = env.get(name, "")
        if value:
            return value
        if default is not None:
            return default
        raise BenchError(f"Procfile `web:` needs ${name}, which the bench does not set")

    expanded = re.sub(r"\$\{(?P<braced>\w+)(?::-(?P<default>[^}]*))?\}|\$(?P<bare>\w+)", expand, command)
    # Only a plain command is run without a shell; anything fancier would need the bench to change too.
    if any(char in expanded for char in ";|&<>`$()"):
        raise BenchError(f"Procfile `web:` is more than a plain command: {command}")
    argv = shlex.split(expanded)
    if argv[0] != "granian":
        raise BenchError(f"Procfile `web:` no longer runs granian, which this bench reports on: {command}")
    executable = VENV_BIN / argv[0]
    if executable.exists():
        argv[0] = str(executable)
    return argv


def run_checked(argv: list[str], env: dict[str, str], label: str) -> None:
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{label} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


def redis_reset() -> None:
    for url in (REDIS_CACHE, REDIS_BROKER):
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            # Leftovers of an earlier run (snapshots, queued tasks) would be served instead of this run's.
            client.flushdb()
        except redis.ConnectionError as error:
            raise BenchError(f"Redis is not reachable at {url} ({error}); start redis-server first") from error
        finally:
            client.close()


def app_env(workdir: Path) -> dict[str, str]:
    """Production settings (DEBUG off) on a throwaway SQLite database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GRANIAN_", "DJANGO_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            # The bench speaks plain HTTP; in production TLS ends at the load balancer.
            "SECURE_SSL_REDIRECT": "false",
            "STATUS_HOST": STATUS_HOST,
            "ALLOWED_HOSTS": f"localhost,.localhost,127.0.0.1,{STATUS_HOST}",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "REDIS_URL": REDIS_CACHE,
            "CELERY_BROKER_URL": REDIS_BROKER,
            "STATIC_ROOT": str(workdir / "static"),
            "WEB_CONCURRENCY": WORKERS,
        }
    )
    return env


def prepare_database(env: dict[str, str]) -> None:
    manage = [sys.executable, "manage.py"]
    run_checked([*manage, "migrate", "--noinput"], env, "migrate")
    # No Celery worker runs here: whatever the demo hands to Celery (publishing the snapshot) runs inline.
    run_checked([*manage, "demo"], {**env, "CELERY_TASK_ALWAYS_EAGER": "true"}, "demo")
    # DEBUG off means hashed static names from the manifest, as in production.
    run_checked([*manage, "collectstatic", "--noinput"], env, "collectstatic")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # Each server runs in its own session, so its workers go with it and nothing else does.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def running(argv: list[str], env: dict[str, str] | None, log: Path, label: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)
        if process.returncode not in (0, -signal.SIGTERM):
            print(f"{label} exited with {process.returncode}; last lines of {log}:", file=sys.stderr)
            print(log.read_text(errors="replace")[-2000:], file=sys.stderr)


def fetch(port: int, path: str, host: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_serving(process: subprocess.Popen[bytes], port: int, host: str, log: Path, label: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{label} exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            fetch(port, "/", host)
            return
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"{label} did not answer on port {port} within 60 s")


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; application/json json; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    client_body_temp_path {workdir}/nginx-tmp/body;
    proxy_temp_path {workdir}/nginx-tmp/proxy;
    fastcgi_temp_path {workdir}/nginx-tmp/fastcgi;
    uwsgi_temp_path {workdir}/nginx-tmp/uwsgi;
    scgi_temp_path {workdir}/nginx-tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {docroot};
{locations}
    }}
}}
"""


def nginx_binary() -> str:
    # /usr/sbin is not on every user's PATH.
    return shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_argv(workdir: Path, docroot: Path, port: int) -> list[str]:
    (workdir / "nginx-tmp").mkdir()
    locations = "\n".join(
        f"        location = {document.path} {{ try_files /{document.file_name} =404; }}" for document in DOCUMENTS
    )
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workdir=workdir, docroot=docroot, port=port, locations=locations))
    if os.geteuid() == 0:
        # As root nginx's worker drops to `nobody`, which cannot read a private temp dir.
        for path in (workdir, docroot, *docroot.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
    return [
        nginx_binary(),
        "-p",
        str(workdir),
        "-e",
        str(workdir / "nginx-error.log"),
        "-c",
        str(conf),
    ]


LATENCY_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def milliseconds(value: str, unit: str) -> float:
    return float(value) * LATENCY_UNITS_MS[unit]


def parse_wrk(output: str) -> tuple[float, float, float, int, int, int]:
    """Requests/s, p99 and max in ms, requests, non-2xx/3xx responses and socket errors from `wrk --latency`."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    latency = r"([\d.]+)(us|ms|s|m)"
    stats = re.search(rf"^\s+Latency\s+{latency}\s+{latency}\s+{latency}", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rate and p99 and stats and total):
        raise BenchError(f"could not read wrk's output:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return (
        float(rate.group(1)),
        milliseconds(p99.group(1), p99.group(2)),
        milliseconds(stats.group(5), stats.group(6)),
        int(total.group(1)),
        int(bad.group(1)) if bad else 0,
        sum(int(count) for count in errors.groups()) if errors else 0,
    )


def wrk(url: str, duration: str, host: str | None) -> tuple[str, str]:
    argv = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}", "--latency"]
    if host:
        argv += ["-H", f"Host: {host}"]
    argv.append(url)
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return shlex.join(argv), done.stdout


def measure(document: Document, server: str, port: int, host: str | None, duration: str) -> Result:
    url = f"http://127.0.0.1:{port}{document.path}"
    # Templates, connections and caches warm up first; only the second run counts.
    wrk(url, WARMUP, host)
    command, output = wrk(url, duration, host)
    rate, p99, slowest, requests, bad, errors = parse_wrk(output)
    return Result(document.name, server, rate, p99, slowest, requests, bad, errors, command)


def version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    # nginx prints its version on stderr, the others on stdout.
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return "?"


def mark(met: bool) -> str:
    return "met" if met else "MISSED"


def report(results: list[Result], statuses: dict[str, int], server_argv: list[str], duration: str) -> list[str]:
    """Prints the figures; returns why they cannot be trusted, if they cannot."""
    problems = [
        f"granian answered {status} to GET {document.path}: not a 200, the {document.name} figures are worthless"
        for document in DOCUMENTS
        if (status := statuses[document.name]) != 200
    ]
    print()
    print(
        f"{'document':<9} {'server':<8} {'req/s':>10} {'p99 ms':>8} {'max ms':>8} {'requests':>9} {'non-2xx':>8}"
        f" {'sock err':>8}"
    )
    for result in results:
        print(
            f"{result.document:<9} {result.server:<8} {result.requests_per_second:>10.1f} {result.p99_ms:>8.2f}"
            f" {result.max_ms:>8.2f} {result.requests:>9} {result.non_2xx_3xx:>8} {result.socket_errors:>8}"
        )
        if result.non_2xx_3xx:
            problems.append(f"{result.server} {result.document}: {result.non_2xx_3xx} responses were not 2xx/3xx")
        if result.socket_errors:
            problems.append(f"{result.server} {result.document}: {result.socket_errors} socket errors")

    print()
    print(
        f"{'document':<9} {'granian/nginx':>13} {f'aim >= {AIM_RATIO}':>10} {'granian p99':>12} "
        f"{f'aim < {AIM_P99_MS:.0f} ms':>11} {'status':>7}"
    )
    by_key = {(result.document, result.server): result for result in results}
    for document in DOCUMENTS:
        granian, nginx = by_key[(document.name, "granian")], by_key[(document.name, "nginx")]
        ratio = granian.requests_per_second / nginx.requests_per_second if nginx.requests_per_second else 0.0
        print(
            f"{document.name:<9} {ratio:>13.3f} {mark(ratio >= AIM_RATIO):>10} {granian.p99_ms:>9.2f} ms"
            f" {mark(granian.p99_ms < AIM_P99_MS):>11} {statuses[document.name]:>7}"
        )

    print()
    print(f"granian: {shlex.join(server_argv)}")
    for result in results:
        print(f"wrk:     {result.command}")
    direct = f".venv/bin/python bench/status_page.py --duration {duration}"
    print(f"Reproduce: make bench DURATION={duration}   (or {direct})")
    print(
        f"Machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model()}; "
        f"{dt.datetime.now(dt.UTC).astimezone():%Y-%m-%d %H:%M %Z}"
    )
    print(
        f"Versions: {version([server_argv[0], '--version'])}, {version([nginx_binary(), '-v'])}, "
        f"{version(['wrk', '-v']).split(' Copyright')[0]}, Python {sys.version.split()[0]}"
    )
    print("wrk, both servers and the bench share these CPUs; compare figures from the same machine only.")
    for problem in problems:
        print(f"INVALID: {problem}")
    return problems


AIM_LAG_MS = 1000.0


def publish_lag(env: dict[str, str], port: int) -> list[float]:
    """Lags of 20 status changes made in another process, until the server serves them."""
    probe = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "publish_lag.py"), str(port)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        raise BenchError(f"publish lag probe failed:\n{probe.stderr[-2000:]}")
    return json.loads(probe.stdout.strip().splitlines()[-1])["lags_ms"]


def report_lag(lags: list[float]) -> None:
    ordered = sorted(lags)
    median, p95, worst = statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1], ordered[-1]
    met = worst < AIM_LAG_MS
    print(
        f"\nPublishing lag, save → new snapshot served by the server ({len(lags)} changes): "
        f"median {median:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms  [{mark(met)}: under {AIM_LAG_MS:.0f} ms]"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", default="10s", help="wrk's -d for each measured run (default 10s)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs, nginx docroot)")
    options = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise BenchError(f"{tool} is missing: apt-get install {tool} (or run `make bench`)")

    workdir = Path(tempfile.mkdtemp(prefix="fireline-bench-"))
    try:
        with ExitStack() as servers:
            redis_reset()
            env = app_env(workdir)
            print(f"Preparing the database in {workdir} (migrate, demo, collectstatic) …", flush=True)
            prepare_database(env)

            app_port = free_port()
            server_argv = procfile_web_argv({**env, "PORT": str(app_port)})
            print(f"Starting {shlex.join(server_argv)}", flush=True)
            app_log = workdir / "granian.log"
            app = servers.enter_context(running(server_argv, env, app_log, "granian"))
            wait_until_serving(app, app_port, STATUS_HOST, app_log, "granian")

            docroot = workdir / "docroot"
            docroot.mkdir()
            statuses: dict[str, int] = {}
            for document in DOCUMENTS:
                status, body = fetch(app_port, document.path, STATUS_HOST)
                statuses[document.name] = status
                (docroot / document.file_name).write_bytes(body)
                print(f"GET {document.path} (Host: {STATUS_HOST}) -> {status}, {len(body)} bytes", flush=True)

            nginx_port = free_port()
            nginx_log = workdir / "nginx.log"
            nginx = servers.enter_context(running(nginx_argv(workdir, docroot, nginx_port), None, nginx_log, "nginx"))
            wait_until_serving(nginx, nginx_port, "127.0.0.1", nginx_log, "nginx")
            for document in DOCUMENTS:
                status, body = fetch(nginx_port, document.path, "127.0.0.1")
                if status != 200 or body != (docroot / document.file_name).read_bytes():
                    raise BenchError(f"nginx does not serve {document.path} as copied ({status})")

            results = []
            for document in DOCUMENTS:
                for server, port, host in (("granian", app_port, STATUS_HOST), ("nginx", nginx_port, None)):
                    print(f"wrk {server} {document.path} for {options.duration} …", flush=True)
                    results.append(measure(document, server, port, host, options.duration))
                # A page that broke under load is as worthless as one that was never a 200.
                after, _ = fetch(app_port, document.path, STATUS_HOST)
                if after != 200:
                    statuses[document.name] = after
            lags = publish_lag(env, app_port)
        problems = report(results, statuses, server_argv, options.duration)
        report_lag(lags)
        return 1 if problems else 0
    finally:
        if options.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        sys.exit(2)
