"""The deadline and escalation sweepers against big tables with 1,000 due rows each.

Run: .venv/bin/python bench/enforcement.py [--keep]   (or `make bench`)
Needs PostgreSQL on 127.0.0.1:5432 (makes and drops `fireline_bench_enforcement`) and Redis
(databases 7 and 8, flushed). At two sizes, 100,000 then 1,000,000 action items (with 10,000
then 100,000 incidents, postmortems, alerts and pages), of which 1,000 of each kind are due,
it runs each sweeper as beat would, one run after the other at the same instant, until a run
does nothing (at most 12 runs):

- `postmortems.services.run_action_item_deadlines` — 1,000 open items due in 3 days, today,
  1-2 days ago and 3-6 days ago (reminder, due today, overdue, escalated);
- `postmortems.services.run_postmortem_deadlines` — 1,000 unpublished postmortems due in 12 h,
  1 h ago and 2-5 days ago;
- `oncall.services.paging.run_escalations` — 1,000 triggered pages whose next step is due;
- `incidents.services.run_update_reminders` — 1,000 open incidents whose update is overdue.

It prints seconds per run, SQL queries per run, how many of the 1,000 due rows the runs
reached (got their notification or moved on), and EXPLAIN (ANALYZE, BUFFERS) of each
sweeper's claiming query, captured from its first run, flagging a sequential scan of the big
table. Aim: every run under 2 s, its cost following the due rows, not the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import _scale
from _scale import BenchError, mark, median

DATABASE = "fireline_bench_enforcement"
# Incidents per size; postmortems and pages follow them, action items are ten per postmortem.
SIZES = (10_000, 100_000)
ITEMS_PER_POSTMORTEM = 10
DUE = 1_000
# Rows the sweeper is to look at on its next run (postmortems.models.NEXT_SWEEP).
NEXT_SWEEP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_RUNS = 12
AIM_SECONDS = 2.0


# --- loading -------------------------------------------------------------------------------

POSTMORTEMS_SQL = """
INSERT INTO postmortems_postmortem (status, due_at, summary, latency_impact, features_affected, business_impact,
    timeline, root_cause, went_well, went_badly, created_at, published_at, overdue_since, next_check_at, incident_id,
    owner_id, team_id)
SELECT 'published', i.declared_at + interval '3 days', 'What happened.', '', '', '', '[]'::jsonb, 'A cause.', '', '',
    i.declared_at + interval '1 day', i.declared_at + interval '2 days', NULL, NULL, i.id, i.declared_by_id, i.team_id
FROM incidents_incident i WHERE i.number BETWEEN %(first)s AND %(last)s
"""

# Ten items per postmortem: most verified done or dropped; open ones are due months ahead or undated.
ACTION_ITEMS_SQL = f"""
INSERT INTO postmortems_actionitem (title, due_date, priority, kind, verification, expected_impact, status,
    wont_do_reason, evidence, done_at, overdue_since, next_check_at, created_at, owner_id, team_id, postmortem_id)
SELECT 'Item ' || n || ' of postmortem ' || p.id, d.due_date,
    1 + mod(n, 4), 'prevent', 'A drill shows it.', '', s.status, CASE WHEN s.status = 'wont_do' THEN 'Moot' ELSE '' END,
    CASE WHEN s.status = 'done' THEN 'Drill passed' ELSE '' END,
    CASE WHEN s.status IN ('done', 'wont_do') THEN p.created_at + interval '20 days' END, NULL,
    -- Where the sweeper left an open item: the day of its reminder, three days before it is due.
    CASE WHEN s.status = 'open' THEN d.due_date - 3 END, p.created_at, m.user_id, p.team_id, p.id
FROM postmortems_postmortem p
JOIN incidents_incident i ON i.id = p.incident_id AND i.number BETWEEN %(first)s AND %(last)s
CROSS JOIN generate_series(1, {ITEMS_PER_POSTMORTEM}) AS n
CROSS JOIN LATERAL (SELECT i.number::bigint * {ITEMS_PER_POSTMORTEM} + n AS g) gg
CROSS JOIN LATERAL (SELECT CASE WHEN {_scale._h(20, 100)} < 85 THEN 'done' WHEN {_scale._h(20, 100)} < 90
    THEN 'wont_do' ELSE 'open' END AS status) s
CROSS JOIN LATERAL (SELECT
    CASE WHEN s.status <> 'open' THEN (p.created_at + make_interval(days => 14 + n))::date
         WHEN mod(g, 3) = 0 THEN NULL
         ELSE (%(anchor)s::timestamptz + make_interval(days => 60 + {_scale._h(21, 300)}))::date END AS due_date) d
JOIN bench_team_member m ON m.team_id = p.team_id AND m.k = mod(n, {_scale.MEMBERS_PER_TEAM})
"""

ALERTS_SQL = f"""
INSERT INTO oncall_alert (dedup_key, title, details, severity, links, labels, source_payload, status, count,
    first_seen_at, last_seen_at, resolved_at, resolved_by_tool, service_id, integration_id)
SELECT 'alert-' || g, 'Error rate above 5%%', '', 'error', '[]'::jsonb, '{{}}'::jsonb, '{{}}'::jsonb, 'resolved', 1,
    %(anchor)s::timestamptz - make_interval(mins => 60 + {_scale._h(30, _scale.SPAN_MINUTES)}),
    %(anchor)s::timestamptz - make_interval(mins => 50 + {_scale._h(30, _scale.SPAN_MINUTES)}),
    %(anchor)s::timestamptz - make_interval(mins => 40 + {_scale._h(30, _scale.SPAN_MINUTES)}), true,
    b.service_id, b.integration_id
FROM generate_series(%(first)s::int, %(last)s::int) AS g
JOIN bench_integration b ON b.k = mod(g, {_scale.TEAMS})
"""

PAGES_SQL = """
INSERT INTO oncall_page (status, policy_snapshot, step_index, round_index, next_step_at, created_at, acknowledged_at,
    resolved_at, stalled_at, acknowledged_by_id, alert_id, resolved_by_id, service_id, team_id)
SELECT 'resolved', %(snapshot)s::jsonb, 0, 1, NULL, a.first_seen_at, a.first_seen_at + interval '4 minutes',
    a.resolved_at, NULL, NULL, a.id, NULL, a.service_id, s.team_id
FROM oncall_alert a JOIN oncall_service s ON s.id = a.service_id
WHERE a.dedup_key LIKE 'alert-%%' AND a.id > %(after)s
"""


def load(org: _scale.Org, *, first: int, last: int, anchor: dt.datetime) -> float:
    started = time.perf_counter()
    _scale.load_incidents(org, first=first, last=last, anchor=anchor)
    params = {"first": first, "last": last, "anchor": anchor}
    with _scale.bulk_load():
        _scale.sql(POSTMORTEMS_SQL, params)
        _scale.sql(ACTION_ITEMS_SQL, params)
        after = _scale.sql_value("SELECT coalesce(max(id), 0) FROM oncall_alert")
        _scale.sql(ALERTS_SQL, params)
        _scale.sql(PAGES_SQL, {"snapshot": SNAPSHOT["policy"], "after": after})
    return time.perf_counter() - started


SNAPSHOT: dict[str, str] = {}


def seed_paging(org: _scale.Org, now: dt.datetime) -> None:
    """One integration per team, and a real page opened by the service to copy its frozen policy from."""
    import json

    from oncall.models import Alert, Integration, Page, Service
    from oncall.services import paging

    _scale.sql("CREATE TABLE bench_integration (k int, service_id bigint, integration_id bigint)")
    for k, team_id in enumerate(org.team_ids):
        service = Service.objects.filter(team_id=team_id).order_by("pk").first()
        integration = Integration.objects.create(
            service=service, name="Alertmanager", kind="alertmanager", key_prefix="fli_bench", key_digest=f"{k:064x}"
        )
        _scale.sql("INSERT INTO bench_integration VALUES (%s, %s, %s)", [k, service.pk, integration.pk])
    alert = Alert.objects.create(
        integration=integration, service=service, dedup_key="template", title="Template", first_seen_at=now,
        last_seen_at=now,
    )  # fmt: skip
    page = paging.page_open(alert=alert, now=now)
    SNAPSHOT["policy"] = json.dumps(page.policy_snapshot)
    SNAPSHOT["step_index"], SNAPSHOT["round_index"] = str(page.step_index), str(page.round_index)
    Page.objects.filter(pk=page.pk).update(status="resolved", next_step_at=None, resolved_at=now)


# --- the due rows, set afresh before each size ---------------------------------------------


def make_due(org: _scale.Org, now: dt.datetime) -> None:
    """Exactly DUE rows of each kind are due at `now`; everything the previous size's runs wrote is gone."""
    _scale.sql("TRUNCATE oncall_notification, oncall_pageevent, incidents_timelineentry")
    _scale.sql("DROP TABLE IF EXISTS bench_team_today")
    _scale.sql("CREATE TABLE bench_team_today (team_id bigint, today date)")
    from oncall.models import Team

    for team in Team.objects.filter(pk__in=org.team_ids):
        today = now.astimezone(ZoneInfo(team.time_zone)).date()
        _scale.sql("INSERT INTO bench_team_today VALUES (%s, %s)", [team.pk, today])

    # Action items: the items of the first 100 postmortems, a quarter each due in 3 days, today,
    # 1-2 days ago (overdue) and 3-6 days ago (escalated to the managers).
    _scale.sql(
        """
        UPDATE postmortems_actionitem a SET status = 'open', done_at = NULL, overdue_since = NULL, evidence = '',
            wont_do_reason = '', next_check_at = %s,
            due_date = t.today + (ARRAY[3, 0, -1 - mod(a.id, 2)::int, -3 - mod(a.id, 4)::int])[1 + mod(a.id, 4)::int]
        FROM bench_team_today t
        WHERE t.team_id = a.team_id AND a.postmortem_id IN (SELECT id FROM postmortems_postmortem ORDER BY id LIMIT %s)
        """,
        [NEXT_SWEEP, DUE // ITEMS_PER_POSTMORTEM],
    )
    # Postmortems: the first DUE are drafts due in 12 hours, 1 hour ago, and 2-5 days ago.
    _scale.sql(
        """
        UPDATE postmortems_postmortem p SET status = 'draft', published_at = NULL, overdue_since = NULL,
            next_check_at = %(armed)s,
            due_at = %(now)s::timestamptz + (ARRAY[interval '12 hours', interval '-1 hour',
                make_interval(days => -2 - mod(p.id, 4)::int)])[1 + mod(p.id, 3)::int]
        WHERE p.id IN (SELECT id FROM postmortems_postmortem ORDER BY id LIMIT %(due)s)
        """,
        {"now": now, "due": DUE, "armed": NEXT_SWEEP},
    )
    # Pages: DUE triggered pages whose next step was due a minute ago, each with its alert open.
    _scale.sql(
        """
        UPDATE oncall_alert SET status = 'open', resolved_at = NULL, resolved_by_tool = false
        WHERE id IN (SELECT alert_id FROM oncall_page WHERE alert_id IN
            (SELECT id FROM oncall_alert WHERE dedup_key LIKE 'alert-%%' ORDER BY id LIMIT %s))
        """,
        [DUE],
    )
    _scale.sql(
        """
        UPDATE oncall_page SET status = 'triggered', step_index = %(step)s, round_index = %(round)s,
            next_step_at = %(now)s::timestamptz - interval '1 minute', acknowledged_at = NULL, resolved_at = NULL,
            stalled_at = NULL
        WHERE alert_id IN (SELECT id FROM oncall_alert WHERE dedup_key LIKE 'alert-%%' ORDER BY id LIMIT %(due)s)
        """,
        {"step": SNAPSHOT["step_index"], "round": SNAPSHOT["round_index"], "now": now, "due": DUE},
    )
    # Incidents: DUE open ones whose next update was due ten minutes ago, commander still on.
    _scale.sql(
        """
        UPDATE incidents_incident SET status = 'investigating', resolved_at = NULL, closed_at = NULL,
            next_update_due_at = %(now)s::timestamptz - interval '10 minutes', update_reminded_for = NULL
        WHERE number <= %(due)s
        """,
        {"now": now, "due": DUE},
    )
    _scale.sql(
        "UPDATE incidents_roleassignment SET ended_at = NULL WHERE role = 'commander' AND incident_id IN "
        "(SELECT id FROM incidents_incident WHERE number <= %s)",
        [DUE],
    )
    _scale.analyze()


# --- the sweepers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    name: str
    table: str
    run: Callable[[dt.datetime], int]
    reached_sql: str  # how many of the due rows the runs reached


def _sweeps() -> list[Sweep]:
    from incidents.services import run_update_reminders
    from oncall.services.paging import run_escalations
    from postmortems.services import run_action_item_deadlines, run_postmortem_deadlines

    return [
        Sweep(
            "action items",
            "postmortems_actionitem",
            lambda now: run_action_item_deadlines(now=now),
            "SELECT count(DISTINCT payload->>'action_item') FROM oncall_notification WHERE payload ? 'action_item'",
        ),
        Sweep(
            "postmortems",
            "postmortems_postmortem",
            lambda now: run_postmortem_deadlines(now=now),
            "SELECT count(DISTINCT payload->>'postmortem') FROM oncall_notification WHERE payload ? 'postmortem'",
        ),
        Sweep(
            "escalations",
            "oncall_page",
            lambda now: run_escalations(now=now),
            # A page the sweeper ran has its next step in the future, or none left.
            "SELECT count(*) FROM oncall_page WHERE status = 'triggered' AND "
            "(next_step_at IS NULL OR next_step_at > %(now)s)",
        ),
        Sweep(
            "update reminders",
            "incidents_incident",
            lambda now: run_update_reminders(now=now),
            "SELECT count(*) FROM incidents_incident WHERE update_reminded_for IS NOT NULL",
        ),
    ]


@dataclass
class Outcome:
    size: int
    sweep: str
    seconds: list[float] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    queries_first_run: int = 0
    reached: int = 0
    plan: str = ""
    plan_sql: str = ""
    seq_scan: bool = False


class QueryLog:
    """Counts a run's SQL and keeps the claiming query: the first SELECT on the swept table with a LIMIT."""

    def __init__(self, table: str) -> None:
        self.table, self.count, self.claiming = table, 0, ""

    def __call__(self, execute: Callable, sql: str, params: object, many: bool, context: dict) -> object:
        self.count += 1
        if not self.claiming and sql.startswith("SELECT") and f'FROM "{self.table}"' in sql and "LIMIT" in sql:
            self.claiming = context["connection"].ops.compose_sql(sql, params) if params else sql
        return execute(sql, params, many, context)


def explain(query: str) -> str:
    from django.db import connection, transaction

    # FOR UPDATE SKIP LOCKED takes row locks even under EXPLAIN ANALYZE: roll them back.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query.replace("%", "%%"))
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def sweep_once(sweep: Sweep, size: int, now: dt.datetime) -> Outcome:
    from django.db import connection, transaction

    outcome = Outcome(size, sweep.name)
    # The claiming query's plan while the rows are due: a dry run, rolled back, captures it.
    dry = QueryLog(sweep.table)
    with transaction.atomic(), connection.execute_wrapper(dry):
        sweep.run(now)
        transaction.set_rollback(True)
    if not dry.claiming:
        raise BenchError(f"no claiming query on {sweep.table} among the {dry.count} of a run")
    outcome.plan_sql = dry.claiming
    outcome.plan = explain(dry.claiming)
    outcome.seq_scan = bool(re.search(rf"Seq Scan on {sweep.table}\b", outcome.plan))
    for run in range(MAX_RUNS):
        log = QueryLog(sweep.table)
        started = time.perf_counter()
        with connection.execute_wrapper(log):
            done = sweep.run(now)
        outcome.seconds.append(time.perf_counter() - started)
        outcome.returned.append(done)
        if run == 0:
            outcome.queries_first_run = log.count
        if not done:
            break
    outcome.reached = _scale.sql_value(sweep.reached_sql, {"now": now})
    return outcome


# --- figures -------------------------------------------------------------------------------


def report(outcomes: list[Outcome], loads: dict[int, float], tables: dict[int, dict[str, int]]) -> None:
    print()
    for size in SIZES:
        counts = tables[size]
        print(
            f"At {size} incidents: {counts['items']} action items, {counts['postmortems']} postmortems, "
            f"{counts['pages']} pages, {counts['incidents']} incidents (loaded in {loads[size]:.1f} s)"
        )
    print()
    print(
        f"{'size':>7}  {'sweeper':<17} {'runs':>4} {'1st run s':>9} {'median s':>8} {'max s':>6} "
        f"{'SQL/run':>7} {'returned per run':<28} {'reached':>9}  aim < 2 s/run"
    )
    for o in outcomes:
        returned = ",".join(str(n) for n in o.returned)
        print(
            f"{o.size:>7}  {o.sweep:<17} {len(o.seconds):>4} {o.seconds[0]:>9.3f} {median(o.seconds):>8.3f} "
            f"{max(o.seconds):>6.3f} {o.queries_first_run:>7} {returned:<28} {o.reached:>4}/{DUE:<4}  "
            f"{mark(max(o.seconds) < AIM_SECONDS)}{'' if o.reached >= DUE else ', DUE ROWS LEFT BEHIND'}"
        )
    print()
    for o in outcomes:
        if o.size != max(SIZES):
            continue
        verdict = "SEQUENTIAL SCAN of the big table" if o.seq_scan else "index scan"
        print(f"--- {o.sweep} at {o.size} incidents: claiming query with {DUE} rows due ({verdict})")
        print(o.plan_sql)
        print(o.plan)
        print()
    print("Reproduce: .venv/bin/python bench/enforcement.py   (or make bench)")
    print(_scale.machine_line())


def table_counts() -> dict[str, int]:
    return {
        "items": _scale.sql_value("SELECT count(*) FROM postmortems_actionitem"),
        "postmortems": _scale.sql_value("SELECT count(*) FROM postmortems_postmortem"),
        "pages": _scale.sql_value("SELECT count(*) FROM oncall_page"),
        "incidents": _scale.sql_value("SELECT count(*) FROM incidents_incident"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the database fireline_bench_enforcement")
    options = parser.parse_args()
    print(f"$ {shlex.join(['.venv/bin/python', 'bench/enforcement.py', *sys.argv[1:]])}", flush=True)
    _scale.reset_redis()
    with _scale.bench_database(DATABASE, keep=options.keep) as url:
        _scale.start_django(url)
        org = _scale.seed_org()
        anchor = dt.datetime.now(dt.UTC)
        seed_paging(org, anchor)
        outcomes: list[Outcome] = []
        loads: dict[int, float] = {}
        tables: dict[int, dict[str, int]] = {}
        loaded = 0
        for size in SIZES:
            print(f"Loading incidents {loaded + 1}..{size} with postmortems, action items, alerts, pages …", flush=True)
            loads[size] = load(org, first=loaded + 1, last=size, anchor=anchor)
            loaded = size
            now = dt.datetime.now(dt.UTC)
            make_due(org, now)
            tables[size] = table_counts()
            for sweep in _sweeps():
                print(f"Sweeping {sweep.name} at {size} incidents …", flush=True)
                outcomes.append(sweep_once(sweep, size, now))
        report(outcomes, loads, tables)
    _scale.reset_redis()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        sys.exit(2)
