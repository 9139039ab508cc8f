"""Shared set-up of the benchmarks: a dedicated PostgreSQL database per scale.

The benchmarks never touch the development or test databases: each scale has its own
database (``tfmot_bench_<scale>``) on the server of ``BENCH_DATABASE_URL`` (default: the
local PostgreSQL), created and migrated on first use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# Several checkouts on one server: each may use its own prefix (tfmot_bench_<name>_).
PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "tfmot_bench_")


def database_name(scale: float | str) -> str:
    """The database of a scale, or of a benchmark with data of its own (its name)."""
    return PREFIX + (scale if isinstance(scale, str) else f"{scale:g}".replace(".", "_"))


def setup_django(scale: float | str) -> None:
    """Point Django at the scale's (or the named benchmark's) database, created if
    needed, and set it up."""
    import psycopg

    name = database_name(scale)
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = SERVER_URL.rsplit("/", 1)[0]
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("DEBUG", "false")  # as in production: no query log, cached templates
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
