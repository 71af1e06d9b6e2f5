"""Trigram indexes for the incident search (`?q=`, the portal's search box), on PostgreSQL.

The search is `icontains` on title and summary, which Django writes as
`UPPER(col::text) LIKE UPPER('%…%')`: a B-tree cannot serve it, so at 100,000 incidents each
search read the whole table (190 ms). GIN indexes with pg_trgm's operator class on the same
`UPPER(…)` expressions answer it from the index (10 ms). pg_trgm ships with PostgreSQL and is a
trusted extension since PostgreSQL 13, so the database's owner may create it; where it is
refused, the migration says so and the search keeps working without the indexes. SQLite (the
embedded default) has no such index and needs none at its sizes.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

INDEXES = {
    "incident_title_trgm": "UPPER(title::text)",
    "incident_summary_trgm": "UPPER(summary::text)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        logger.warning("pg_trgm is not available (%s); incident search will scan the table.", error)
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON incidents_incident USING gin (({expression}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_incident_list_indexes")]

    operations = [migrations.RunPython(create, drop)]
