"""The demo's data for tests that start from it, loaded once per test module.

``load_demo`` takes seconds (it syncs from the GitHub-shaped server, evaluates every
rule); the browser and consistency tests each start from its result and most change it.
On PostgreSQL the first test of a module runs the command and copies every table into a
schema of the test database; the module's later tests get the same rows copied back (the
tables are emptied between transactional tests). Elsewhere (SQLite) every test runs the
command. Tests of the loader itself run the command, never this.
"""

from __future__ import annotations

import os

from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction

SCHEMA = "demo_snapshot"
_taken: dict[str, list[str]] = {}  # module -> the tables the snapshot holds rows of
_outbox: dict[str, list] = {}  # module -> the notification emails the load held back


def load_demo(module: str) -> None:
    """The test database as ``load_demo`` leaves it (a transactional test's, empty)."""
    if connection.vendor != "postgresql":
        _run_command()
        return
    if module not in _taken:
        _run_command()
        _take(module)
    else:
        _restore(module)


def _run_command() -> None:
    with open(os.devnull, "w") as devnull:
        call_command("load_demo", stdout=devnull)


def _tables() -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True))


def _take(module: str) -> None:
    tables = []
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in _tables():
            cursor.execute(f'CREATE TABLE {SCHEMA}."{table}" AS TABLE public."{table}"')
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM {SCHEMA}."{table}")')  # noqa: S608
            if cursor.fetchone()[0]:
                tables.append(table)
    _taken.clear()  # one module's snapshot at a time
    _taken[module] = tables
    _outbox[module] = list(getattr(mail, "outbox", []))


def _restore(module: str) -> None:
    from django.contrib.contenttypes.models import ContentType

    tables = _tables()
    # The rows the flush's post_migrate recreated (content types, permissions) give way
    # to the snapshot's; foreign keys are checked at the commit (deferrable).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'public."{t}"' for t in tables))
        for table in _taken[module]:
            cursor.execute(f'INSERT INTO public."{table}" SELECT * FROM {SCHEMA}."{table}"')  # noqa: S608
    # Every table's sequence is past the snapshot's ids already (flushes do not reset them).
    ContentType.objects.clear_cache()
    mail.outbox = list(_outbox[module])
