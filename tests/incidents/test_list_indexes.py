"""The incident list's queries match the indexes made for them (bench/api_incidents.py).

A tiny test table is always cheapest to scan, so the planner is told to avoid sequential
scans: what remains in the plan is what an index can serve. If Django or a selector changes
the SQL's shape (the `UPPER(…) LIKE` of `icontains`, the `NOT IN` of open incidents), the
index no longer matches and these fail.
"""

from __future__ import annotations

import pytest
from django.db import connection

from incidents.selectors import IncidentFilters, incident_list_visible

pytestmark = pytest.mark.postgres(reason="the plans of PostgreSQL's indexes")


def _count_plan(queryset) -> str:
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT count(*) FROM ({sql}) AS counted", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_counting_what_a_reader_may_see_reads_the_visibility_index(bob, team_a):
    plan = _count_plan(incident_list_visible(user=bob))
    assert "incident_visibility" in plan


def test_open_incidents_are_read_from_their_partial_index(bob, team_a):
    plan = _count_plan(incident_list_visible(user=bob, filters=IncidentFilters(open_only=True)))
    assert "incident_open_declared" in plan


def test_searching_titles_and_summaries_uses_the_trigram_indexes(bob, team_a):
    plan = _count_plan(incident_list_visible(user=bob, filters=IncidentFilters(text="replica")))
    assert "incident_title_trgm" in plan
    assert "incident_summary_trgm" in plan
