#!/usr/bin/env python3
"""Load benchmark: the production server (`make serve`: gunicorn, a Celery worker and beat)
on its own PostgreSQL database and Redis database, under Locust users (bench/locustfile.py).

Usage: .venv/bin/python bench/load.py [--duration 30] [--users 32 --users 128]
       [--writes off --writes on] [--scale 1]
Starts scripts/serve.sh on the scale's data (made by bench/make_data.py when the
database is empty; its own database prefix, BENCH_DATABASE_PREFIX, default
tfmot_bench_load_) and Redis database LOAD_REDIS_URL (default redis://127.0.0.1:6379/12,
emptied first), times the pages cold in-process first (bench/run.py, for the per-page
target), then runs Locust headless for each number of users, writes off then on: anonymous
visitors (home, technique pages, /ci/, badges, API lists), signed-in owners and the staff
member (landing, matrix, reviews), each asking for up to --user-rate pages a second, while
(writes on) signed webhook deliveries arrive at 10 a second and a results upload every
second. The periodic jobs are marked as just run before the start, so that beat does not
start the hourly ones during the measurement. Prints requests/s, median, p95 and p99 per page group and the errors, and exits
non-zero when a target is missed. Targets (32 users): writes on >= 300 requests/s, p99 <=
150 ms, no error; writes off at least as fast; no page's p99 above 4x its cold median.
Locust comes from requirements-dev.txt (LOCUST names another locust executable). Stops
everything it started, also on Ctrl-C or a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_PREFIX", "tfmot_bench_load_")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/12")

TARGET_USERS = 32
TARGET_RPS = 300
TARGET_P99_MS = 150
TARGET_COLD_FACTOR = 4
# Locust's page names -> the bench/run.py page timed cold for the per-page target (the
# owner's matrix and reviews are the staff member's pages timed for an owner).
COLD_PAGE = {
    "home": "home",
    "technique page": "technique page",
    "CI grid, public": "CI grid, public",
    "badge": "badge",
    "API techniques": "API techniques",
    "API groups": "API groups",
    "API gaps": "API gaps",
    "landing, owner": "landing, owner",
    "adherence, owner": "adherence",
    "reviews, owner": "reviews",
    "landing, staff": "landing, staff",
    "adherence": "adherence",
    "reviews": "reviews",
}
GROUP_ORDER = [
    "home",
    "technique pages",
    "/ci/",
    "badges",
    "API lists",
    "owners",
    "staff",
    "writes",
]
READERS = ["Visitor", "Owner", "Staff"]
WRITERS = ["WebhookSender", "Uploader"]
WRITER_USERS = 3  # bench/locustfile.py: two webhook senders and one uploader


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python(*args: str, env: dict | None = None, timeout: float | None = None) -> str:
    """Run this project's Python (the interpreter running this file) and return stdout."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    ).stdout


def ensure_data(scale: float) -> None:
    """The scale's data in its own database, made once (bench/make_data.py)."""
    count = python(__file__, "--count-child", str(scale)).strip().splitlines()[-1]
    if int(count) == 0:
        print(f"Making the scale-{scale:g} data (bench/make_data.py) ...", flush=True)
        subprocess.run(
            [sys.executable, "bench/make_data.py", "--scale", str(scale)], cwd=ROOT, check=True
        )


def count_child(scale: float) -> None:
    from bench.common import setup_django

    setup_django(scale)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from techniques.models import Technique

    print(Technique.objects.count())


def _session(user) -> str:
    """A session signed in as ``user``, as the sign-in view would store it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _signed_in(count: int) -> tuple[list, object]:
    """Users for ``count`` maintainers of groups that own techniques, and the staff member."""
    from django.contrib.auth import get_user_model

    from bench.run import owner_user
    from techniques.models import Maintainer

    User = get_user_model()
    logins = list(
        Maintainer.objects.active()
        .filter(group__techniques__isnull=False)
        .order_by("github_login")
        .values_list("github_login", flat=True)
        .distinct()[:count]
    )
    owners = [User.objects.get_or_create(username=login)[0] for login in logins] or [owner_user()]
    return owners, User.objects.get(username="carol")


def _issues(count: int) -> list[list]:
    """``count`` stored issues that belong to a technique: [number, created_at]."""
    import random

    from ci_status.models import Issue, ItemTechnique

    linked = list(ItemTechnique.objects.values_list("issue__number", flat=True).distinct()[:2000])
    numbers = random.Random(7).sample(linked, min(count, len(linked)))
    rows = Issue.objects.filter(number__in=numbers).values_list("number", "created_at")
    return [[number, created.strftime("%Y-%m-%dT%H:%M:%SZ")] for number, created in rows]


def _periodic_jobs_just_run() -> None:
    """Every periodic job as if it had just run: beat would otherwise start the hourly
    ones at once (the community figures of 200,000 items, every test's state) and the run
    would measure a fresh deployment's first minutes, not its steady state."""
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask, PeriodicTasks
    from django_celery_beat.schedulers import DatabaseScheduler

    from tfmot_portal.celery import app

    DatabaseScheduler(app=app, lazy=True).update_from_dict(app.conf.beat_schedule)
    PeriodicTask.objects.update(last_run_at=timezone.now())
    PeriodicTasks.update_changed()


def fixture_child(scale: float, webhook_secret: str) -> None:
    """What the Locust users ask for, as JSON: slugs, sessions, the CI token, issues."""
    from bench.common import setup_django

    setup_django(scale)
    from django.conf import settings

    from adherence.services import gaps_evaluate
    from convergence.models import CIToken, ConvergenceTest
    from techniques.models import Technique

    # The rules judged as of now, as the hourly evaluation keeps them: the writes then
    # change what they change, not the health the data was made with.
    gaps_evaluate()
    _periodic_jobs_just_run()
    issues = _issues(500)
    if not issues:
        raise SystemExit("no stored issue linked to a technique: the webhooks would send nothing")
    owners, staff = _signed_in(10)
    _, token = CIToken.issue("load benchmark", all_techniques=True)
    tests = ConvergenceTest.objects.order_by("pk").values_list("technique__slug", "name")[:300]
    fixture = {
        "slugs": list(Technique.objects.order_by("slug").values_list("slug", flat=True)),
        "owner_sessions": [_session(user) for user in owners],
        "staff_sessions": [_session(staff) for _ in range(3)],
        "ci_token": token,
        "webhook_secret": webhook_secret,
        "repository": settings.GITHUB_REPOSITORY,
        "issues": issues,
        "tests": [f"{slug}/{name}" for slug, name in tests],
    }
    print(json.dumps(fixture))


def cold_medians(scale: float, requests: int) -> dict[str, float]:
    """Each page's cold median (ms) from bench/run.py, in its own process."""
    pages = sorted(set(COLD_PAGE.values()))
    args = ["bench/run.py", "--child", str(scale), "--cold", "--requests", str(requests)]
    for page in pages:
        args += ["--page", page]
    results = json.loads(python(*args).strip().splitlines()[-1])
    return {name: results[name]["median"] for name in pages if results.get(name, {}).get("median")}


class Server:
    """scripts/serve.sh (gunicorn, a Celery worker and beat) in production settings."""

    def __init__(
        self,
        scale: float,
        port: int,
        work: Path,
        webhook_secret: str,
        workers: str,
        preload: bool = True,
    ):
        from bench.common import SERVER_URL, database_name

        self.work = work
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY", "PYTEST"))
        }
        self.env.update(
            DJANGO_ENV="production",
            SECRET_KEY="load-" + secrets.token_urlsafe(48),
            DATABASE_URL=SERVER_URL.rsplit("/", 1)[0] + "/" + database_name(scale),
            CELERY_BROKER_URL=REDIS_URL,
            CACHE_URL=REDIS_URL,
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
            HOST="127.0.0.1",
            PORT=str(port),
            VENV_BIN=str(Path(sys.executable).parent),
            RUN_DIR=str(work / "run"),
            LOG_DIR=str(work / "log"),
            STATIC_ROOT=str(work / "static"),
            VAR_DIR=str(work / "var"),
            LOG_LEVEL="WARNING",
            GITHUB_WEBHOOK_SECRET=webhook_secret,
            # Nothing reaches the real GitHub: a scheduled sync fails at once. The same
            # address every run: a sync from another source would first delete the
            # stored items (ci_status.services.source_switch), the webhooks' targets.
            GITHUB_API_URL="http://127.0.0.1:9",
            GITHUB_TOKEN="",
            METRICS_TOKEN=secrets.token_urlsafe(32),
        )
        if workers:
            self.env["WEB_CONCURRENCY"] = workers
        self.env["GUNICORN_PRELOAD"] = "true" if preload else "false"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        log = open(self.work / "serve.log", "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            ["scripts/serve.sh"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches this script, which stops the server
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"make serve exited ({self.work / 'serve.log'})")
            if self.status("/readyz") == 200:
                return
            time.sleep(0.5)
        raise RuntimeError(f"make serve did not answer /readyz in 180 s ({self.work})")

    def status(self, path: str, headers: dict | None = None) -> int:
        request = urllib.request.Request(self.base + path, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                response.read()
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def counters(self) -> dict[str, float]:
        """What the writes cost, whatever the machine's speed: the page-cache counters
        (the data and registry versions, the bumps of every technique's pages and of one
        technique's), rule evaluations run, tasks waiting."""
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"]) as conn:
            rows = dict(conn.execute("SELECT name, value FROM techniques_dataversion").fetchall())
        found = {
            "data version": rows.get("data", 0),
            "registry version": rows.get("registry", 0),
            # Writes that said nothing of which technique: every technique page renewed.
            "any technique": rows.get("technique:*", 0),
            # Writes about some techniques: only their pages renewed.
            "one technique": sum(
                value
                for name, value in rows.items()
                if name.startswith("technique:") and name != "technique:*"
            ),
        }
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.base + "/metrics", headers={"Authorization": f"Bearer {self.env['METRICS_TOKEN']}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            text = response.read().decode()
        wanted = {
            "portal_rule_evaluation_seconds_count": "evaluations",
            'portal_queue_length{queue="celery"}': "tasks waiting",
        }
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name in wanted:
                found[wanted[name]] = float(value)
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the web server (gunicorn's master and workers, the
        recycled ones included) and by the Celery worker: what the load cost, whatever
        else the machine ran meanwhile."""
        ticks = os.sysconf("SC_CLK_TCK")

        def used(pid: int, children: bool) -> float:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                return 0.0
            # utime, stime, then the reaped children's cutime, cstime (fields 14 to 17)
            parts = fields[11:15] if children else fields[11:13]
            return sum(int(value) for value in parts) / ticks

        def tree(pidfile: str) -> float:
            try:
                master = int((self.work / "run" / pidfile).read_text().strip())
            except (OSError, ValueError):
                return 0.0
            path = Path(f"/proc/{master}/task/{master}/children")
            children = path.read_text().split() if path.exists() else []
            return used(master, True) + sum(used(int(pid), False) for pid in children)

        return {"web CPU s": tree("web.pid"), "worker CPU s": tree("worker.pid")}

    def web_memory(self) -> tuple[int, float]:
        """gunicorn's master and workers: how many, and their proportional set size in MB
        (pages shared by several processes counted once in all)."""
        master = int((self.work / "run" / "web.pid").read_text().strip())
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        total_kb = 0
        for pid in [master, *map(int, children)]:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        return len(children), total_kb / 1024

    def stop(self) -> None:
        """SIGTERM to serve.sh (which stops each process), then whatever is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for name in ("web", "worker", "beat"):
            pidfile = self.work / "run" / f"{name}.pid"
            try:
                pid = int(pidfile.read_text().strip())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        self.process = None


def warm_up(server: Server, fixture: dict) -> None:
    """Every worker has opened its connections, and every page the users ask for has
    been asked for once (each technique page and badge, each session's pages): the
    measurement starts from the steady state a running portal is in, so what it counts
    is what the writes cost."""
    paths = ["/", "/ci/", "/api/techniques/", "/api/groups/", "/api/gaps/"]
    for _ in range(6):
        for path in paths:
            server.status(path)
    for slug in fixture["slugs"]:
        server.status(f"/techniques/{slug}/")
        server.status(f"/badges/{slug}.svg")
    for session in fixture["owner_sessions"] + fixture["staff_sessions"]:
        for path in ("/me/", "/adherence/", "/reviews/"):
            server.status(path, {"Cookie": f"sessionid={session}"})


def run_locust(server: Server, fixture_path: Path, users: int, writes: bool, args) -> dict:
    summary = server.work / f"summary-{users}-{'on' if writes else 'off'}.json"
    locust = os.environ.get("LOCUST") or str(Path(sys.executable).with_name("locust"))
    total = users + (WRITER_USERS if writes else 0)
    command = [
        locust,
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(total),
        "--spawn-rate",
        str(total),
        "--run-time",
        f"{args.duration}s",
        "--host",
        server.base,
        "--reset-stats",
        "--only-summary",
        "--loglevel",
        "WARNING",
        *READERS,
        *(WRITERS if writes else []),
    ]
    env = {
        **os.environ,
        "LOAD_FIXTURE": str(fixture_path),
        "LOAD_SUMMARY": str(summary),
        "LOAD_USER_RATE": str(args.user_rate),
    }
    with open(server.work / f"locust-{users}-{'on' if writes else 'off'}.log", "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            process.wait(args.duration + 120)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(30)
    return json.loads(summary.read_text())


def print_table(results: dict) -> None:
    header = f"{'users':>5} {'writes':>6}  {'group':<16}{'req/s':>8}{'median':>8}{'p95':>7}{'p99':>7}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for (users, writes), summary in results.items():
        label = "on" if writes else "off"
        groups = summary["groups"]
        for group in [g for g in GROUP_ORDER if g in groups] + sorted(
            set(groups) - set(GROUP_ORDER)
        ):
            row = groups[group]
            print(
                f"{users:>5} {label:>6}  {group:<16}{row['rps']:>8.1f}{row['median']:>8}"
                f"{row['p95']:>7}{row['p99']:>7}{row['errors']:>8}"
            )
        total = summary["total"]
        print(
            f"{users:>5} {label:>6}  {'all':<16}{total['rps']:>8.1f}{total['median']:>8}"
            f"{total['p95']:>7}{total['p99']:>7}{total['errors']:>8}"
        )
        counters = ", ".join(
            f"{name} {value:.3g}"
            if name in ("tasks waiting", "web CPU ms a request")
            else f"{name} +{value:.4g}"
            for name, value in summary.get("counters", {}).items()
        )
        print(f"{'':>15}during the run: {counters}")
        for error in summary["errors"][:5]:
            print(f"{'':>15}error: {error['name']}: {error['error']} (x{error['count']})")
    print("(ms; median, p95 and p99 of every request of the group; 'all' includes the writes)")


def misses(results: dict, cold: dict[str, float]) -> list[str]:
    failures = []
    on, off = results.get((TARGET_USERS, True)), results.get((TARGET_USERS, False))
    for summary, label in ((on, "writes on"), (off, "writes off")):
        if summary is None:
            continue
        total = summary["total"]
        if total["errors"]:
            failures.append(f"{TARGET_USERS} users, {label}: {total['errors']} errors")
        if total["p99"] > TARGET_P99_MS:
            failures.append(
                f"{TARGET_USERS} users, {label}: p99 {total['p99']} ms > {TARGET_P99_MS}"
            )
        for name, page in summary["pages"].items():
            limit = TARGET_COLD_FACTOR * cold.get(COLD_PAGE.get(name, ""), float("inf"))
            if page["p99"] > limit:
                failures.append(
                    f"{TARGET_USERS} users, {label}: {name} p99 {page['p99']} ms > "
                    f"{TARGET_COLD_FACTOR} x its cold median ({limit:.1f} ms)"
                )
    if on is not None and on["total"]["rps"] < TARGET_RPS:
        failures.append(
            f"{TARGET_USERS} users, writes on: {on['total']['rps']:.1f} req/s < {TARGET_RPS}"
        )
    if on is not None and off is not None and off["total"]["rps"] < on["total"]["rps"]:
        failures.append(
            f"{TARGET_USERS} users: writes off {off['total']['rps']:.1f} req/s, "
            f"slower than writes on ({on['total']['rps']:.1f})"
        )
    return failures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--duration", type=int, default=30, help="seconds per configuration")
    parser.add_argument("--users", type=int, action="append", help="default: 32 and 128")
    parser.add_argument("--writes", choices=["off", "on"], action="append", help="default: both")
    parser.add_argument("--user-rate", type=float, default=10.0, help="pages/s per user at most")
    parser.add_argument("--cold-requests", type=int, default=20)
    parser.add_argument("--workers", default="", help="WEB_CONCURRENCY (default: make serve's)")
    parser.add_argument(
        "--preload", choices=["on", "off"], default="on", help="GUNICORN_PRELOAD (make serve: on)"
    )
    parser.add_argument("--count-child", type=float)
    parser.add_argument("--fixture-child", type=float)
    parser.add_argument("--secret", default="")
    return parser.parse_args()


def run_configurations(server: Server, fixture: dict, fixture_path: Path, args) -> tuple:
    """The warm-up, the web processes' memory, then each configuration with its counters."""
    warm_up(server, fixture)
    workers, memory = server.web_memory()
    memory_line = (
        f"gunicorn, preload {args.preload}: master and {workers} workers, "
        f"{memory:.0f} MB proportional set size after the warm-up"
    )
    print(memory_line, flush=True)
    results: dict = {}
    for write in [mode == "on" for mode in (args.writes or ["off", "on"])]:
        for count in args.users or [32, 128]:
            label = "on" if write else "off"
            print(f"{count} users, writes {label}, {args.duration} s ...", flush=True)
            before = {**server.counters(), **server.cpu_seconds()}
            results[(count, write)] = run_locust(server, fixture_path, count, write, args)
            after = {**server.counters(), **server.cpu_seconds()}
            counters = {
                name: after.get(name, 0) - (0 if name == "tasks waiting" else before.get(name, 0))
                for name in after
            }
            served = results[(count, write)]["total"]["requests"]
            counters["web CPU ms a request"] = (
                1000 * counters["web CPU s"] / served if served else 0.0
            )
            results[(count, write)]["counters"] = counters
    return results, memory_line


def main() -> int:
    args = parse_args()
    if args.count_child is not None:
        count_child(args.count_child)
        return 0
    if args.fixture_child is not None:
        fixture_child(args.fixture_child, args.secret)
        return 0
    # Ctrl-C and SIGTERM stop everything, even when started with SIGINT ignored (in the
    # background of a shell without job control).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensure_data(args.scale)
    print(
        f"Timing the pages cold (bench/run.py, {args.cold_requests} requests each) ...", flush=True
    )
    cold = cold_medians(args.scale, args.cold_requests)
    secret = secrets.token_urlsafe(32)
    work = Path(tempfile.mkdtemp(prefix="tfmot-load-"))
    fixture_path = work / "fixture.json"
    output = python(__file__, "--fixture-child", str(args.scale), "--secret", secret)
    fixture = json.loads(output.strip().splitlines()[-1])
    fixture_path.write_text(json.dumps(fixture))
    server = Server(args.scale, free_port(), work, secret, args.workers, args.preload == "on")
    try:
        print(f"Starting make serve on {server.base} (logs in {work}) ...", flush=True)
        server.start()
        results, memory_line = run_configurations(server, fixture, fixture_path, args)
    finally:
        print("Stopping make serve ...", flush=True)
        server.stop()
    print()
    print(memory_line)
    print_table(results)
    failures = misses(results, cold)
    if failures:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nAll targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
