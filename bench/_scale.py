"""What the scale benchmarks share: a throwaway PostgreSQL database, Django on it, a bulk-loaded
organisation with incidents, and the figures' helpers.

Each benchmark creates its own database (`fireline_bench_<name>`, dropped at the end unless
`--keep`), sets production settings (DEBUG off) in the environment before Django starts,
migrates, and loads its rows with `INSERT … SELECT generate_series` in a few statements, so
100,000 incidents or 1,000,000 action items load in seconds. The spread is deterministic (PostgreSQL's
hashint8 of the row number), so two runs measure the same data.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The server the bench databases are made on; override for a PostgreSQL elsewhere on this machine.
PG_SERVER = os.environ.get("FIRELINE_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_CACHE = "redis://127.0.0.1:6379/7"
REDIS_BROKER = "redis://127.0.0.1:6379/8"
DATE = "2026-11-25"


class BenchError(Exception):
    pass


# --- database, environment, Django ------------------------------------------------------


def _admin() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise BenchError(f"PostgreSQL is not reachable at {PG_SERVER} ({error})") from error


def create_database(name: str) -> str:
    with _admin() as admin:
        # A leftover of a run that was killed would otherwise be measured again.
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_SERVER}/{name}"


def drop_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_redis() -> None:
    for url in (REDIS_CACHE, REDIS_BROKER):
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            # Cached pages, rate-limit counters and queued tasks of an earlier run would skew this one.
            client.flushdb()
        except redis.ConnectionError as error:
            raise BenchError(f"Redis is not reachable at {url} ({error})") from error
        finally:
            client.close()


def app_env(database_url: str) -> dict[str, str]:
    """Production settings (DEBUG off, so no query log in memory) on the bench's database and Redis dbs."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1,testserver",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_CACHE,
        "CELERY_BROKER_URL": REDIS_BROKER,
        "LOG_LEVEL": "WARNING",
    }


def start_django(database_url: str, *, static_root: Path | None = None) -> None:
    """Django in this process on the bench database, migrated; with `static_root`, static files
    collected there too (DEBUG off serves hashed names from the manifest, as in production)."""
    for key in [key for key in os.environ if key.startswith("DJANGO_")]:
        del os.environ[key]
    os.environ.update(app_env(database_url))
    if static_root is not None:
        os.environ["STATIC_ROOT"] = str(static_root)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if static_root is not None:
        call_command("collectstatic", verbosity=0, interactive=False)


def close_django() -> None:
    from django.db import connections

    connections.close_all()


@contextmanager
def bench_database(name: str, *, keep: bool) -> Iterator[str]:
    url = create_database(name)
    try:
        yield url
    finally:
        close_django()
        if keep:
            print(f"Kept the database: {url}")
        else:
            drop_database(name)


def sql(statement: str, params: dict[str, Any] | list[Any] | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def sql_value(statement: str, params: dict[str, Any] | list[Any] | None = None) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


@contextmanager
def bulk_load() -> Iterator[None]:
    """Foreign-key triggers off while the bench writes rows it made consistent itself.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so each inserted row queues a
    check for the commit; at a million rows that queue is most of the load time.
    """
    sql("SET session_replication_role = replica")
    try:
        yield
    finally:
        sql("SET session_replication_role = DEFAULT")


def analyze() -> None:
    # Fresh statistics and visibility maps, as autovacuum would have them in production after a
    # while: index-only scans (the incident count's) skip the table only for all-visible pages.
    sql("VACUUM ANALYZE")


# --- the organisation and its incidents --------------------------------------------------

TEAMS = 8
MEMBERS_PER_TEAM = 6
SERVICES_PER_TEAM = 5
TITLES = [
    "Checkout error rate above 5%",
    "Payment provider timeouts",
    "Login latency p99 above 2 s",
    "Database replica lag",
    "Search index stale",
    "CDN 5xx spike in eu-west",
    "Queue backlog growing",
    "Certificate about to expire",
    "Mobile app crash loop",
    "Webhook deliveries failing",
    "Disk almost full on storage nodes",
    "Email sending delayed",
    "DNS resolution failures",
    "Cache hit ratio collapsed",
    "Invoice generation stuck",
    "Partner API rate limited",
]


@dataclass(frozen=True)
class Org:
    team_ids: list[int]
    team_slugs: list[str]
    user_ids: list[int]
    viewer_id: int  # the person the reads are made as: member of two teams, participant in a few others
    viewer_teams: list[int]
    service_slugs: list[str]


def seed_org() -> Org:
    """Eight teams of six, five services each, and the viewer (`viewer`, member of two teams)."""
    from oncall.models import Membership, Service, Team, User

    zones = ["Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo"]
    teams = Team.objects.bulk_create(
        Team(name=f"Team {n}", slug=f"team-{n}", time_zone=zones[n % len(zones)]) for n in range(TEAMS)
    )
    users = [User(username=f"person{n}", email=f"person{n}@example.com") for n in range(TEAMS * MEMBERS_PER_TEAM)]
    users.append(User(username="viewer", email="viewer@example.com"))
    for user in users:
        user.set_unusable_password()
    users = User.objects.bulk_create(users)
    viewer = users[-1]
    memberships = [
        Membership(
            team=team,
            user=users[t * MEMBERS_PER_TEAM + k],
            role=Membership.Role.MANAGER if k == 0 else Membership.Role.MEMBER,
        )
        for t, team in enumerate(teams)
        for k in range(MEMBERS_PER_TEAM)
    ]
    viewer_teams = teams[:2]
    memberships += [Membership(team=team, user=viewer) for team in viewer_teams]
    Membership.objects.bulk_create(memberships)
    services = Service.objects.bulk_create(
        Service(team=team, name=f"{team.name} service {k}", slug=f"{team.slug}-svc-{k}")
        for team in teams
        for k in range(SERVICES_PER_TEAM)
    )
    # Lookup tables for the bulk loads: the k-th service and member of each team.
    sql("CREATE TABLE bench_team_service (team_id bigint, k int, service_id bigint)")
    sql("CREATE TABLE bench_team_member (team_id bigint, k int, user_id bigint)")
    sql("CREATE TABLE bench_team (k int, team_id bigint)")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_team_service VALUES (%s, %s, %s)",
            [(s.team_id, n % SERVICES_PER_TEAM, s.pk) for n, s in enumerate(services)],
        )
        cursor.executemany(
            "INSERT INTO bench_team_member VALUES (%s, %s, %s)",
            [
                (m.team_id, n % MEMBERS_PER_TEAM, m.user_id)
                for n, m in enumerate(memberships[: TEAMS * MEMBERS_PER_TEAM])
            ],
        )
        cursor.executemany("INSERT INTO bench_team VALUES (%s, %s)", [(n, t.pk) for n, t in enumerate(teams)])
    return Org(
        team_ids=[t.pk for t in teams],
        team_slugs=[t.slug for t in teams],
        user_ids=[u.pk for u in users],
        viewer_id=viewer.pk,
        viewer_teams=[t.pk for t in viewer_teams],
        service_slugs=[s.slug for s in services],
    )


# PostgreSQL's own hash of the row number: a deterministic, even spread, different per salt.
def _h(salt: int, modulo: int, column: str = "g") -> str:
    return f"mod(hashint8({column}::bigint * 7919 + {salt}) + 2147483648, {modulo})::int"


SPAN_MINUTES = 730 * 24 * 60  # incidents are spread over two years before the anchor

INCIDENTS_SQL = f"""
INSERT INTO incidents_incident (
    number, title, summary, severity, status, detection_source, is_restricted, impact_trend, triage,
    mitigation_path, resolution_checks, resolved_early_reason, root_cause, fix, impact_started_at, detected_at,
    declared_at, acknowledged_at, mitigated_at, monitoring_since, resolved_at, closed_at, next_update_due_at,
    update_reminded_for, declared_by_id, page_id, team_id)
SELECT g, t.title || ' (' || g || ')', 'Customers see errors; ' || t.title || '. Bulk-loaded for the benchmark.',
    t.severity, t.status, t.source, {_h(5, 50)} = 7, 'stable', '{{}}'::jsonb, '', '{{}}'::jsonb, '', '', '',
    t.declared - make_interval(mins => 10 + {_h(6, 30)}), t.declared - make_interval(mins => {_h(7, 10)}),
    t.declared, t.declared + make_interval(mins => 1 + {_h(8, 20)}),
    CASE WHEN t.open THEN NULL ELSE t.declared + make_interval(mins => 20 + {_h(9, 120)}) END,
    CASE WHEN t.open THEN NULL ELSE t.declared + make_interval(mins => 25 + {_h(9, 120)}) END,
    CASE WHEN t.open THEN NULL ELSE t.declared + make_interval(mins => 60 + {_h(10, 480)}) END,
    CASE WHEN t.status = 'closed' THEN t.declared + make_interval(mins => 600 + {_h(10, 480)}) END,
    CASE WHEN t.open AND t.severity < 4 THEN %(anchor)s::timestamptz + make_interval(mins => 30) END,
    NULL, m.user_id, NULL, m.team_id
FROM generate_series(%(first)s::int, %(last)s::int) AS g
CROSS JOIN LATERAL (
    SELECT declared, declared > %(anchor)s::timestamptz - interval '2 days' AS open,
        (%(titles)s::text[])[1 + {_h(1, len(TITLES))}] AS title,
        CASE WHEN {_h(2, 100)} < 5 THEN 1 WHEN {_h(2, 100)} < 20 THEN 2 WHEN {_h(2, 100)} < 60 THEN 3 ELSE 4 END
            AS severity,
        CASE WHEN declared > %(anchor)s::timestamptz - interval '2 days'
            THEN (ARRAY['investigating', 'identified', 'mitigating', 'monitoring'])[1 + {_h(3, 4)}]
            WHEN {_h(3, 10)} < 7 THEN 'closed' ELSE 'resolved' END AS status,
        CASE WHEN {_h(4, 100)} < 60 THEN 'monitoring' WHEN {_h(4, 100)} < 75 THEN 'customer'
            WHEN {_h(4, 100)} < 85 THEN 'support' WHEN {_h(4, 100)} < 95 THEN 'internal' ELSE 'social' END AS source
    FROM (SELECT %(anchor)s::timestamptz - make_interval(mins => 60 + {_h(0, SPAN_MINUTES)}) AS declared) d
) t
JOIN bench_team bt ON bt.k = mod(g, {TEAMS})
JOIN bench_team_member m ON m.team_id = bt.team_id AND m.k = {_h(11, MEMBERS_PER_TEAM)}
"""

INCIDENT_SERVICES_SQL = f"""
INSERT INTO incidents_incident_services (incident_id, service_id)
SELECT i.id, s.service_id FROM incidents_incident i
JOIN bench_team_service s ON s.team_id = i.team_id
    AND (s.k = mod(i.number, {SERVICES_PER_TEAM})
        OR (mod(i.number, 10) < 3 AND s.k = mod(i.number + 1, {SERVICES_PER_TEAM})))
WHERE i.number BETWEEN %(first)s AND %(last)s
"""

# A commander on every incident (to its end), a tech lead on SEV-1/2, and the viewer as participant
# in one incident in a hundred, which shows them some restricted incidents of other teams.
ROLES_SQL = f"""
INSERT INTO incidents_roleassignment (role, started_at, ended_at, incident_id, user_id)
SELECT 'commander', i.declared_at, i.resolved_at, i.id, m.user_id FROM incidents_incident i
JOIN bench_team_member m ON m.team_id = i.team_id AND m.k = mod(i.number, {MEMBERS_PER_TEAM})
WHERE i.number BETWEEN %(first)s AND %(last)s
UNION ALL
SELECT 'tech_lead', i.declared_at + interval '5 minutes', i.resolved_at, i.id, m.user_id FROM incidents_incident i
JOIN bench_team_member m ON m.team_id = i.team_id AND m.k = mod(i.number + 1, {MEMBERS_PER_TEAM})
WHERE i.number BETWEEN %(first)s AND %(last)s AND i.severity <= 2
UNION ALL
SELECT 'participant', i.declared_at + interval '10 minutes', i.resolved_at, i.id, %(viewer)s FROM incidents_incident i
WHERE i.number BETWEEN %(first)s AND %(last)s AND mod(i.number, 100) = 3
"""


def load_incidents(org: Org, *, first: int, last: int, anchor: dt.datetime) -> float:
    """Incidents numbered first..last with services and roles; returns the seconds it took."""
    started = time.perf_counter()
    params = {"first": first, "last": last, "anchor": anchor, "titles": TITLES, "viewer": org.viewer_id}
    with bulk_load():
        sql(INCIDENTS_SQL, params)
        sql(INCIDENT_SERVICES_SQL, params)
        sql(ROLES_SQL, params)
    sql(
        "INSERT INTO incidents_incidentcounter (id, last_number) VALUES (1, %(last)s) "
        "ON CONFLICT (id) DO UPDATE SET last_number = EXCLUDED.last_number",
        params,
    )
    return time.perf_counter() - started


def api_token(user_id: int) -> str:
    from oncall.models import User
    from oncall.services.teams import token_create

    _token, raw = token_create(user=User.objects.get(pk=user_id), name="bench")
    return raw


# --- figures -------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mark(met: bool) -> str:
    return "met" if met else "MISSED"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return "?"


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def machine_line() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    return (
        f"Machine: {os.cpu_count()} CPUs, {memory_gib():.0f} GiB, {cpu_model()}; PostgreSQL {pg_version}, "
        f"Python {sys.version.split()[0]}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine skews figures)"
    )
