"""The users of the load benchmark (Locust), driven by bench/load.py; not run on its own.

Reads what to ask for from the JSON file named by LOAD_FIXTURE (technique and group
slugs, session keys of owners and the staff member, the CI token, the webhook secret,
the repository, issue numbers, convergence tests) and writes its figures to LOAD_SUMMARY
when the run ends. The writers (chosen by naming WebhookSender and Uploader on locust's
command line) send signed webhook deliveries at LOAD_WEBHOOKS_PER_S (10) and one results
upload every second. Each reader asks for
LOAD_USER_RATE (10) pages a second at most. Needs no Django: only HTTP and HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import uuid
from datetime import UTC, datetime

from locust import constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.stats import StatsEntry

FIXTURE = json.loads(open(os.environ["LOAD_FIXTURE"]).read())  # noqa: SIM115 - read at import
USER_RATE = float(os.environ.get("LOAD_USER_RATE", "10"))
WEBHOOKS_PER_S = float(os.environ.get("LOAD_WEBHOOKS_PER_S", "10"))
WEBHOOK_SENDERS = 2  # each sends half the deliveries: one slow answer does not stall the rate
# The page groups of the table: each request is named after its page (bench/pages.toml
# names, where run.py times the page cold), each page belongs to one group.
GROUPS = {
    "home": "home",
    "technique page": "technique pages",
    "CI grid, public": "/ci/",
    "badge": "badges",
    "API techniques": "API lists",
    "API groups": "API lists",
    "API gaps": "API lists",
    "landing, owner": "owners",
    "adherence, owner": "owners",
    "reviews, owner": "owners",
    "landing, staff": "staff",
    "adherence": "staff",
    "reviews": "staff",
    "webhook": "writes",
    "upload": "writes",
}
_numbers = itertools.count()


def _slug() -> str:
    return random.choice(FIXTURE["slugs"])


class Visitor(FastHttpUser):
    """An anonymous visitor: the public pages, badges and API lists."""

    weight = 7
    wait_time = constant_throughput(USER_RATE)

    @task(4)
    def home(self):
        self.client.get("/", name="home")

    @task(4)
    def technique(self):
        self.client.get(f"/techniques/{_slug()}/", name="technique page")

    @task(2)
    def ci(self):
        self.client.get("/ci/", name="CI grid, public")

    @task(3)
    def badge(self):
        self.client.get(f"/badges/{_slug()}.svg", name="badge")

    @task(1)
    def api_techniques(self):
        self.client.get("/api/techniques/", name="API techniques")

    @task(1)
    def api_groups(self):
        self.client.get("/api/groups/", name="API groups")

    @task(1)
    def api_gaps(self):
        self.client.get("/api/gaps/", name="API gaps")


class _SignedIn(FastHttpUser):
    abstract = True
    wait_time = constant_throughput(USER_RATE)
    sessions: list[str] = []

    def on_start(self):
        session = random.choice(self.sessions)
        self.headers = {"Cookie": f"sessionid={session}"}


class Owner(_SignedIn):
    """A maintainer signed in: their landing page, the adherence matrix, the reviews."""

    weight = 2
    sessions = FIXTURE["owner_sessions"]

    @task(3)
    def landing(self):
        self.client.get("/me/", name="landing, owner", headers=self.headers)

    @task(1)
    def matrix(self):
        self.client.get("/adherence/", name="adherence, owner", headers=self.headers)

    @task(1)
    def reviews(self):
        self.client.get("/reviews/", name="reviews, owner", headers=self.headers)


class Staff(_SignedIn):
    """The staff member: the staff landing, the matrix, the reviews."""

    weight = 1
    sessions = FIXTURE["staff_sessions"]

    @task(3)
    def landing(self):
        self.client.get("/me/", name="landing, staff", headers=self.headers)

    @task(1)
    def matrix(self):
        self.client.get("/adherence/", name="adherence", headers=self.headers)

    @task(1)
    def reviews(self):
        self.client.get("/reviews/", name="reviews", headers=self.headers)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def webhook_delivery() -> tuple[str, dict]:
    """A delivery as GitHub sends them: mostly new comments on stored issues, some
    issues edited, one in ten a workflow run's event (requested, in progress or completed,
    as GitHub sends three per run; one run in five on the default branch, the others on
    pull requests' branches)."""
    n = next(_numbers)
    number, created_at = random.choice(FIXTURE["issues"])
    repository = {"full_name": FIXTURE["repository"]}
    sender = {"login": f"user{n % 500}", "type": "User"}
    issue = {
        "number": number,
        "id": 900_000_000 + number,
        "title": f"Issue {number}",
        "state": "open",
        "labels": [],
        "user": {"login": f"user{number % 5000}", "type": "User"},
        "created_at": created_at,
        "updated_at": _now(),
    }
    if n % 10 == 9:
        number, stage = divmod(n // 10, 3)  # each run: requested, in progress, completed
        on_default = number % 5 == 0
        status = ("requested", "in_progress", "completed")[stage]
        run = {
            "id": 800_000_000 + number,
            "run_attempt": 1,
            "name": "CI",
            "head_branch": "master" if on_default else f"pr-{number}",
            "event": "push" if on_default else "pull_request",
            "head_sha": f"{number:040x}",
            "status": "queued" if status == "requested" else status,
            "conclusion": "success" if status == "completed" else None,
            "created_at": _now(),
            "run_started_at": _now(),
            "updated_at": _now(),
        }
        payload = {"action": status, "workflow_run": run}
        return "workflow_run", {**payload, "repository": repository, "sender": sender}
    if n % 10 == 8:
        payload = {"action": "edited", "issue": issue}
        return "issues", {**payload, "repository": repository, "sender": sender}
    comment = {
        "id": 700_000_000 + n + random.randrange(1_000_000) * 1000,
        "user": sender,
        "author_association": "NONE",
        "created_at": _now(),
        "updated_at": _now(),
        "html_url": f"https://github.com/{FIXTURE['repository']}/issues/{number}",
    }
    payload = {"action": "created", "issue": issue, "comment": comment}
    return "issue_comment", {**payload, "repository": repository, "sender": sender}


class WebhookSender(FastHttpUser):
    """GitHub delivering signed webhooks."""

    fixed_count = WEBHOOK_SENDERS
    wait_time = constant_throughput(WEBHOOKS_PER_S / WEBHOOK_SENDERS)

    @task
    def deliver(self):
        event, payload = webhook_delivery()
        body = json.dumps(payload).encode()
        signature = hmac.new(FIXTURE["webhook_secret"].encode(), body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": "sha256=" + signature.hexdigest(),
        }
        self.client.post("/webhooks/github/", data=body, headers=headers, name="webhook")


class Uploader(FastHttpUser):
    """A CI system uploading one convergence result a second."""

    fixed_count = 1
    wait_time = constant_throughput(1)

    @task
    def upload(self):
        test = random.choice(FIXTURE["tests"])
        document = {
            "tfmot_sha": uuid.uuid4().hex + uuid.uuid4().hex[:8],
            "started_at": _now(),
            "runs": [{"test": test, "outcome": "passed", "metrics": {"top1_accuracy": 76.6}}],
        }
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {FIXTURE['ci_token']}",
        }
        self.client.post(
            "/api/convergence/upload/", data=json.dumps(document), headers=headers, name="upload"
        )


def _figures(entry: StatsEntry, duration: float) -> dict:
    return {
        "requests": entry.num_requests,
        "errors": entry.num_failures,
        "rps": entry.num_requests / duration if duration else 0.0,
        "median": entry.get_response_time_percentile(0.5) if entry.num_requests else 0,
        "p95": entry.get_response_time_percentile(0.95) if entry.num_requests else 0,
        "p99": entry.get_response_time_percentile(0.99) if entry.num_requests else 0,
    }


@events.quitting.add_listener
def _write_summary(environment, **kwargs):
    """Per page, per group and in total: requests, errors, requests/s, median, p95, p99."""
    stats = environment.runner.stats
    total = stats.total
    duration = (
        max(total.last_request_timestamp - total.start_time, 1e-9) if total.num_requests else 0
    )
    pages, groups = {}, {}
    for (name, _method), entry in stats.entries.items():
        pages[name] = _figures(entry, duration)
        group = GROUPS.get(name, name)
        if group not in groups:
            groups[group] = StatsEntry(stats, group, "", use_response_times_cache=False)
        groups[group].extend(entry)
    errors = [
        {"name": e.name, "error": str(e.error)[:200], "count": e.occurrences}
        for e in stats.errors.values()
    ]
    summary = {
        "total": _figures(total, duration),
        "pages": pages,
        "groups": {name: _figures(entry, duration) for name, entry in groups.items()},
        "errors": errors,
        "duration": duration,
    }
    with open(os.environ["LOAD_SUMMARY"], "w") as out:
        json.dump(summary, out)
