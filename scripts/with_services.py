#!/usr/bin/env python3
"""Run a command with PostgreSQL and Redis when they answer on their usual local ports.

Sets DATABASE_URL and REDIS_URL (tests use Redis for the broker, the cache and locks)
unless they are set already. Without them the suite runs on SQLite and skips the
Redis-only tests, except under CI=true, where a missing service fails the run.
"""

import os
import socket
import sys


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main() -> int:
    env = dict(os.environ)
    ci = env.get("CI", "").lower() == "true"
    missing = []
    if not env.get("DATABASE_URL"):
        if answers("127.0.0.1", 5432):
            env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
        else:
            missing.append("PostgreSQL on 127.0.0.1:5432")
    if not env.get("REDIS_URL"):
        if answers("127.0.0.1", 6379):
            env["REDIS_URL"] = "redis://127.0.0.1:6379/15"
        else:
            missing.append("Redis on 127.0.0.1:6379")
    if missing:
        if ci:
            print(f"CI=true and not answering: {', '.join(missing)}", file=sys.stderr)
            return 2
        print(f"Not answering, tests use the fallback: {', '.join(missing)}", file=sys.stderr)
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"Test database: {database}; Redis: {'yes' if env.get('REDIS_URL') else 'no'}")
    os.execvpe(sys.argv[1], sys.argv[1:], env)  # noqa: S606 - runs the given command


if __name__ == "__main__":
    sys.exit(main())
