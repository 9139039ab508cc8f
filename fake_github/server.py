"""A GitHub-shaped HTTP server over a :class:`Dataset`, for tests, the bench and the demo.

It speaks GitHub's field names, ``Link`` pagination, ETags and 304s, ``x-ratelimit-*``
headers, and can be told to fail, either with ``FakeGitHub(faults=[...])``, with
``server.add_fault(...)`` or over HTTP (``POST /_control/faults`` with a JSON fault,
``DELETE /_control/faults``, ``GET /_control`` for counters). A fault::

    {"kind": "5xx" | "timeout" | "rate_limit" | "secondary" | "malformed" | "link_loop"
             | "truncated" | "status" | "graphql_rate_limited" | "graphql_error",
     "path": "/issues",      # substring of the request path; "" matches all
     "count": 2,             # how many matching requests fail (-1: all)
     "status": 502,          # for 5xx and status
     "retry_after": 1,       # secondary (and rate_limit, when given)
     "reset_in": 1,          # rate_limit, graphql_rate_limited: seconds until the reset
     "delay": 2.0,           # timeout: seconds before answering
     "numbers": [12],        # graphql_error: the PRs nulled by the error
     "type": "FORBIDDEN", "message": "..."}  # graphql_error: the error's type and words

``graphql_rate_limited`` answers HTTP 200 with an error of type ``RATE_LIMITED`` (and
the graphql budget at 0), as GitHub does when the GraphQL budget is spent;
``graphql_error`` answers the query with ``numbers`` nulled and an error at each path
(a partial answer: ``data`` and ``errors`` both present).

Rate limits are kept per resource, as GitHub does (``x-ratelimit-resource``): ``core``
for REST, ``search`` (30 a minute) for /search/, ``graphql`` for /graphql.

Other options: ``token`` (requests must carry it, else 401 "Bad credentials"),
``link_base`` (Link headers point there, e.g. another host name or an /api/v3 prefix;
the server answers under any prefix before /repos/), ``delay`` (seconds per request).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import re
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from fake_github import actions, identity
from fake_github.dataset import BOT_SUFFIX, GHOST, GHOST_ID, ISSUE_ID_BASE, Dataset, iso

logger = logging.getLogger(__name__)
RATE_LIMIT = 5000
# Each budget's size and window, as on api.github.com for a signed-in user.
BUDGETS = {"core": (RATE_LIMIT, 3600), "search": (30, 60), "graphql": (5000, 3600)}


def resource_for(path: str) -> str:
    """Which budget a request spends (GitHub names it in x-ratelimit-resource)."""
    if path.split("?")[0].endswith("/graphql"):
        return "graphql"
    return "search" if "/search/" in path else "core"


ROUTES: list[tuple[re.Pattern, str]] = [
    (re.compile(p), name)
    for p, name in [
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)$", "repo"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/issues$", "issues"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/issues/comments$", "comments"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/issues/(?P<n>\d+)/comments$", "issue_comments"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/pulls/(?P<n>\d+)/reviews$", "reviews"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/pulls/(?P<n>\d+)/files$", "files"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/labels$", "labels"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/releases$", "releases"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/runs$", "runs"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/runs/(?P<n>\d+)/artifacts$", "artifacts"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/actions/artifacts/(?P<n>\d+)/zip$", "artifact_zip"),
        (
            r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/compare/(?P<base>[^/.]+)\.\.\.(?P<head>[^/]+)$",
            "compare",
        ),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/commits$", "commits"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/commits/(?P<sha>[0-9a-f]+)/pulls$", "commit_pulls"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/collaborators/(?P<u>[^/]+)/permission$", "permission"),
        (r"^/repos/(?P<o>[^/]+)/(?P<r>[^/]+)/contents/(?P<path>.+)$", "contents"),
    ]
]


RUN_FILTERS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")
RUN_SEARCH_CAP = 1000
# Larger files: the contents API answers "content": "" and "encoding": "none", and only
# the raw media type gives the text.
CONTENTS_JSON_LIMIT = 1024 * 1024
GRAPHQL_PR = re.compile(r"(\w+): pullRequest\(number: (\d+)\)")
# ``databaseId`` asked for on its own (not the tail of ``fullDatabaseId``).
GRAPHQL_DATABASE_ID = re.compile(r"(?<![A-Za-z])databaseId\b")
INT_MAX = 2**31 - 1  # GraphQL's Int is 32-bit signed


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # GitHub: UTC
    except ValueError:
        raise HTTPError(422, f"Invalid time: {value}") from None


class FakeGitHub:
    """The server. ``start()`` serves in a thread; ``url`` is its API base."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        link_base: str | None = None,
        delay: float = 0.0,
        faults: list[dict] | None = None,
        more: list[Dataset] | None = None,
    ):
        self.dataset = dataset
        # Every repository served (``more``: other repositories, e.g. for the benchmark).
        self.datasets = {d.full_name.lower(): d for d in [dataset, *(more or [])]}
        self.token = token
        self.link_base = link_base
        self.delay = delay
        self.faults: list[dict] = []
        self.lock = threading.Lock()
        self.counters = {"requests": 0, "not_modified": 0, "faults": 0}
        self.paths: list[str] = []  # every request's path and query, in order
        self.auth_headers: list[str | None] = []
        now = int(time.time())
        self.budgets = {name: size for name, (size, _) in BUDGETS.items()}
        self.resets = {name: now + window for name, (_, window) in BUDGETS.items()}
        for fault in faults or []:
            self.add_fault(**fault)
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # The REST (core) budget, as most tests read it.
    @property
    def remaining(self) -> int:
        return self.budgets["core"]

    @remaining.setter
    def remaining(self, value: int) -> None:
        self.budgets["core"] = value

    @property
    def reset_at(self) -> int:
        return self.resets["core"]

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.httpd.server_address[0]!s}:{self.port}"

    def start(self) -> FakeGitHub:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- faults -------------------------------------------------------------------------
    def add_fault(self, kind: str, path: str = "", count: int = 1, **options) -> None:
        known = {
            "5xx",
            "timeout",
            "rate_limit",
            "secondary",
            "malformed",
            "link_loop",
            "truncated",
            "status",
            "graphql_rate_limited",
            "graphql_error",
        }
        if kind not in known:
            raise ValueError(f"Unknown fault {kind!r}; known: {sorted(known)}")
        with self.lock:
            self.faults.append({"kind": kind, "path": path, "count": count, **options})

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, path: str) -> dict | None:
        with self.lock:
            for fault in self.faults:
                if fault["path"] in path and fault["count"] != 0:
                    if fault["count"] > 0:
                        fault["count"] -= 1
                    self.counters["faults"] += 1
                    return dict(fault)
        return None

    def reset_counters(self) -> None:
        with self.lock:
            self.counters = {"requests": 0, "not_modified": 0, "faults": 0}
            self.paths.clear()
            self.auth_headers.clear()


def _handler_for(server: FakeGitHub):
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    ds: Dataset  # the repository the current request names
    protocol_version = "HTTP/1.1"
    server_version = "FakeGitHub/1.0"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add 40 ms to every answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # quiet: tests and the bench read counters
        logger.debug(format, *args)

    # -- entry points -------------------------------------------------------------------
    def do_GET(self):
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._get()

    def do_POST(self):
        if identity.dispatch(self, "POST"):  # OAuth token exchange, issue writes
            return
        if actions.dispatch(self):  # workflow dispatch (fake_github/actions.py)
            return
        if self.path.startswith("/_control/faults"):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                fault = json.loads(self.rfile.read(length) or b"{}")
                self.fake.add_fault(**fault)
            except (ValueError, TypeError) as error:
                return self._send_json(422, {"message": str(error)})
            return self._send_json(201, {"faults": self.fake.faults})
        if urlsplit(self.path).path.endswith("/graphql"):
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._graphql()
            return
        self._send_json(404, {"message": "Not Found"})

    def do_PATCH(self):
        if not identity.dispatch(self, "PATCH"):  # issue updates
            self._send_json(404, {"message": "Not Found"})

    def do_DELETE(self):
        if self.path.startswith("/_control/faults"):
            self.fake.clear_faults()
            return self._send_json(200, {"faults": []})
        self._send_json(404, {"message": "Not Found"})

    def _get(self):
        fake = self.fake
        split = urlsplit(self.path)
        path = split.path
        if path.startswith("/_control"):
            return self._send_json(200, {**fake.counters, "faults": fake.faults})
        self._record_request()
        # Any prefix before /repos/ is accepted (GitHub Enterprise serves /api/v3/repos/...).
        if "/repos/" in path:
            self.prefix = path[: path.index("/repos/")]
            path = path[path.index("/repos/") :]
        else:
            self.prefix = ""
        fault = fake.take_fault(self.path)
        if fault and self._fault(fault):
            return
        # OAuth sign-in, /user, team members, search, one issue (fake_github/identity.py).
        if identity.serve_get(self, path, split.query, fault):
            return
        # Workflow runs on demand, one run, one PR (fake_github/actions.py).
        if actions.serve_get(self, path, split.query, fault):
            return
        if fake.token and self.headers.get("Authorization") not in {
            f"Bearer {fake.token}",
            f"token {fake.token}",
        }:
            return self._send_json(401, {"message": "Bad credentials"})
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            for pattern, name in ROUTES:
                match = pattern.match(path)
                if match:
                    params = match.groupdict()
                    ds = fake.datasets.get((params["o"] + "/" + params["r"]).lower())
                    if ds is None:
                        raise HTTPError(404, "Not Found")
                    self.ds = ds
                    with self.ds.lock:
                        result = getattr(self, "_" + name)(query, **params)
                    return self._answer(result, query, fault)
            raise HTTPError(404, "Not Found")
        except HTTPError as error:
            self._send_json(error.status, {"message": error.message})

    # -- GraphQL: the subset the client uses (PRs' reviews and files by number) ---------
    def _record_request(self):
        """Count and record the request (path, Authorization), then wait the set delay."""
        fake = self.fake
        with fake.lock:
            fake.counters["requests"] += 1
            fake.paths.append(self.path)
            fake.auth_headers.append(self.headers.get("Authorization"))
        if fake.delay:
            time.sleep(fake.delay)

    def _graphql(self):
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        self._record_request()
        self.prefix = ""
        fault = fake.take_fault(self.path)
        if fault and self._fault(fault):
            return
        if fake.token and self.headers.get("Authorization") not in {
            f"Bearer {fake.token}",
            f"token {fake.token}",
        }:
            return self._send_json(401, {"message": "Bad credentials"})
        try:
            body = json.loads(raw)
            if isinstance(body, dict) and actions.graphql(self, body, fault):
                return  # the revertPullRequest mutation
            query, variables = body["query"], body.get("variables") or {}
            full_name = f"{variables['owner']}/{variables['name']}"
        except (ValueError, KeyError, TypeError):
            return self._send_json(400, {"message": "Problems parsing JSON"})
        ds = fake.datasets.get(full_name.lower())
        if ds is None:
            return self._send_json(
                200,
                {"data": {"repository": None}, "errors": [{"type": "NOT_FOUND"}]},
            )
        self.ds = ds
        repository: dict[str, dict | None] = {}
        errors: list[dict] = []
        nulled = (
            set(fault.get("numbers", [])) if fault and fault["kind"] == "graphql_error" else set()
        )
        with self.ds.lock:
            for alias, number in GRAPHQL_PR.findall(query):
                record = self.ds.issue(int(number))
                if record is None or record.kind != "pr":
                    repository[alias] = None
                    errors.append(
                        {
                            "type": "NOT_FOUND",
                            "path": ["repository", alias],
                            "locations": [{"line": 1, "column": 1}],
                            "message": "Could not resolve to a PullRequest with the number "
                            f"of {number}.",
                        }
                    )
                elif int(number) in nulled and fault:
                    repository[alias] = None
                    error = {
                        "path": ["repository", alias],
                        "locations": [{"line": 1, "column": 1}],
                        "message": fault.get(
                            "message",
                            "Something went wrong while executing "
                            "your query. This may be the result of a timeout.",
                        ),
                    }
                    if fault.get("type"):
                        error["type"] = fault["type"]
                    errors.append(error)
                else:
                    pr = self._graphql_pr(record)
                    errors += _database_ids(pr, alias, bool(GRAPHQL_DATABASE_ID.search(query)))
                    repository[alias] = pr
        data: dict[str, object] = {
            "data": {
                "repository": repository,
                "rateLimit": {
                    "cost": 1,
                    "remaining": max(fake.budgets["graphql"] - 1, 0),
                    "resetAt": iso(datetime.fromtimestamp(fake.resets["graphql"], UTC)),
                },
            }
        }
        if errors:
            data["errors"] = errors
        self._answer(data, {}, fault)

    def _graphql_pr(self, record) -> dict:
        reviews = self.ds.reviews.get(record.number, [])
        return {
            "number": record.number,
            "updatedAt": iso(record.updated_at),
            "reviews": {
                "pageInfo": {"hasNextPage": len(reviews) > 100},
                "nodes": [
                    {
                        "fullDatabaseId": str(v.id),  # BigInt: a string
                        "databaseId": v.id,  # checked by _database_ids
                        "state": v.state,
                        "submittedAt": iso(v.submitted_at),
                        "url": f"{self._html}/pull/{record.number}#pullrequestreview-{v.id}",
                        "authorAssociation": v.association,
                        "author": _graphql_actor(v.author),
                    }
                    for v in reviews[:100]
                ],
            },
            "files": {
                "pageInfo": {"hasNextPage": len(record.files) > 100},
                "nodes": [{"path": f} for f in record.files[:100]],
            },
        }

    # -- faults -------------------------------------------------------------------------
    def _fault(self, fault: dict) -> bool:
        """Answer with the fault; False when it only changes the normal answer."""
        kind = fault["kind"]
        if kind == "5xx":
            self._send_json(fault.get("status", 502), {"message": "Server Error"})
        elif kind == "status":
            self._send_json(fault.get("status", 500), {"message": fault.get("message", "Error")})
        elif kind == "timeout":
            time.sleep(fault.get("delay", 2.0))
            self._send_json(200, [])
        elif kind == "rate_limit":
            reset = int(time.time() + fault.get("reset_in", 3600))
            headers = {
                "x-ratelimit-limit": str(BUDGETS[resource_for(self.path)][0]),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": str(BUDGETS[resource_for(self.path)][0]),
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": resource_for(self.path),
            }
            if "retry_after" in fault:
                headers["retry-after"] = str(fault["retry_after"])
            self._send_json(
                fault.get("status", 403),
                {"message": "API rate limit exceeded for user ID 1."},
                headers,
                rate_limit=False,
            )
        elif kind == "graphql_rate_limited":
            # A spent GraphQL budget: HTTP 200, data null, an error of type RATE_LIMITED.
            with self.fake.lock:
                self.fake.budgets["graphql"] = 0
                if "reset_in" in fault:
                    self.fake.resets["graphql"] = int(time.time() + fault["reset_in"])
            self._send_json(
                200,
                {
                    "data": None,
                    "errors": [
                        {
                            "type": "RATE_LIMITED",
                            "code": "graphql_rate_limit",
                            "message": "API rate limit already exceeded for user ID 1.",
                        }
                    ],
                },
            )
        elif kind == "graphql_error":  # changes the normal answer (see _graphql)
            return False
        elif kind == "secondary":
            self._send_json(
                403,
                {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
                {"retry-after": str(fault.get("retry_after", 60))},
            )
        elif kind == "malformed":
            self._send_raw(200, b'{"message": "this is not', "application/json")
        elif kind == "truncated":
            body = json.dumps([{"number": n} for n in range(100)]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:  # link_loop: answer normally, but Link back to the same page
            return False
        return True

    # -- output -------------------------------------------------------------------------
    def _answer(self, result, query: dict, fault: dict | None):
        if isinstance(result, _Raw):
            return self._send_raw(200, result.data, result.content_type)
        data, item_key, link_items = result if isinstance(result, tuple) else (result, None, None)
        headers = {}
        if link_items is not None:
            page, per_page, total = link_items[:3]
            count = link_items[3] if len(link_items) > 3 else total  # total_count
            data, links = self._paginate(data, item_key, query, page, per_page, total, fault, count)
            if links:
                headers["Link"] = links
        body = json.dumps(data, separators=(",", ":")).encode()
        etag = 'W/"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        headers["ETag"] = etag
        if self.headers.get("If-None-Match") == etag:
            with self.fake.lock:
                self.fake.counters["not_modified"] += 1
            return self._send_raw(304, b"", None, headers, cost=0)
        self._send_raw(200, body, "application/json; charset=utf-8", headers)

    def _paginate(self, items, item_key, query, page, per_page, total, fault, count=None):
        last = max(1, -(-total // per_page))
        base = self.fake.link_base or self.fake.url + self.prefix
        path = urlsplit(self.path).path
        if "/repos/" in path:
            path = path[path.index("/repos/") :]

        def link(number):
            params = {k: v for k, v in query.items() if k != "page"}
            params["page"] = number
            return f"{base}{path}?{urlencode(params)}"

        rels = []
        if fault and fault["kind"] == "link_loop":
            rels.append(f'<{link(max(page - 1, 1))}>; rel="next"')
        elif page < last:
            rels.append(f'<{link(page + 1)}>; rel="next"')
            rels.append(f'<{link(last)}>; rel="last"')
        if page > 1:
            rels.append(f'<{link(1)}>; rel="first"')
            rels.append(f'<{link(page - 1)}>; rel="prev"')
        if item_key == "__object__":  # compare: the object is the page
            return items, ", ".join(rels)
        data = (
            {item_key: items, "total_count": total if count is None else count}
            if item_key
            else items
        )
        return data, ", ".join(rels)

    def _send_json(self, status, data, headers=None, rate_limit=True):
        body = json.dumps(data).encode()
        self._send_raw(
            status, body, "application/json; charset=utf-8", headers, rate_limit=rate_limit
        )

    def _send_raw(self, status, body, content_type, headers=None, cost=1, rate_limit=True):
        fake = self.fake
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if rate_limit:
            resource = resource_for(self.path)
            size, window = BUDGETS[resource]
            with fake.lock:
                if fake.resets[resource] <= time.time():  # a new window
                    fake.budgets[resource] = size
                    fake.resets[resource] = int(time.time()) + window
                if status != 304:
                    fake.budgets[resource] = max(fake.budgets[resource] - cost, 0)
                remaining = fake.budgets[resource]
                reset = fake.resets[resource]
            self.send_header("x-ratelimit-limit", str(size))
            self.send_header("x-ratelimit-remaining", str(remaining))
            self.send_header("x-ratelimit-used", str(size - remaining))
            self.send_header("x-ratelimit-reset", str(reset))
            self.send_header("x-ratelimit-resource", resource)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    # -- helpers --------------------------------------------------------------------------
    def _slice(self, items, query, item_key=None):
        try:
            per_page = min(max(int(query.get("per_page", 30)), 1), 100)
            page = max(int(query.get("page", 1)), 1)
        except ValueError:
            raise HTTPError(422, "per_page and page must be integers") from None
        start = (page - 1) * per_page
        return items[start : start + per_page], item_key, (page, per_page, len(items))

    @property
    def _api(self) -> str:
        return self.fake.url + "/repos/" + self.ds.full_name

    @property
    def _html(self) -> str:
        return "https://github.com/" + self.ds.full_name

    def _user(self, login: str) -> dict:
        # A deleted account is GitHub's placeholder user "ghost" (id 10137) in REST.
        user_id = GHOST_ID if login == GHOST else self.fake.dataset.user_id(login)
        return {
            "login": login,
            "id": user_id,
            "node_id": f"U_{user_id}",
            "type": "Bot" if login.endswith(BOT_SUFFIX) else "User",
            "site_admin": False,
            "html_url": f"https://github.com/{login}",
            "url": f"{self.fake.url}/users/{login}",
        }

    def _label(self, name: str) -> dict:
        known = next((lb for lb in self.ds.labels if lb["name"] == name), None)
        label_id = int(hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:8], 16)
        return {
            "id": label_id,
            "node_id": f"LA_{label_id}",
            "url": f"{self._api}/labels/{name}",
            "name": name,
            "color": (known or {}).get("color", "ededed"),
            "default": False,
            "description": (known or {}).get("description", ""),
        }

    def _issue_json(self, r) -> dict:
        kind = "pull" if r.kind == "pr" else "issues"
        data = {
            "url": f"{self._api}/issues/{r.number}",
            "repository_url": self._api,
            "html_url": f"{self._html}/{kind}/{r.number}",
            "id": ISSUE_ID_BASE + r.number,
            "node_id": f"I_{r.number}",
            "number": r.number,
            "title": r.title,
            "user": self._user(r.author),
            "labels": [self._label(name) for name in r.labels],
            "state": r.state,
            "state_reason": "completed" if r.state == "closed" else None,
            "locked": False,
            "assignee": self._user(r.assignees[0]) if r.assignees else None,
            "assignees": [self._user(login) for login in r.assignees],
            "comments": 0,
            "created_at": iso(r.created_at),
            "updated_at": iso(r.updated_at),
            "closed_at": iso(r.closed_at),
            "author_association": r.association,
            "body": r.body,
        }
        if r.kind == "pr":
            data["draft"] = r.draft
            data["pull_request"] = {
                "url": f"{self._api}/pulls/{r.number}",
                "html_url": f"{self._html}/pull/{r.number}",
                "diff_url": f"{self._html}/pull/{r.number}.diff",
                "patch_url": f"{self._html}/pull/{r.number}.patch",
                "merged_at": iso(r.merged_at),
            }
        return data

    def _pull_json(self, r) -> dict:
        data = self._issue_json(r)
        data.update(
            {
                "url": f"{self._api}/pulls/{r.number}",
                "merged_at": iso(r.merged_at),
                "merge_commit_sha": r.merge_commit_sha,
                "base": {"ref": self.ds.default_branch},
            }
        )
        data.pop("pull_request", None)
        return data

    # -- routes -------------------------------------------------------------------------
    def _repo(self, query, o, r):
        ds = self.ds
        return {
            "id": 1,
            "name": ds.name,
            "full_name": ds.full_name,
            "owner": self._user(ds.owner),
            "html_url": self._html,
            "default_branch": ds.default_branch,
            "private": False,
        }

    def _issues(self, query, o, r):
        ds = self.ds
        since = _parse_time(query["since"]) if query.get("since") else None
        records = ds.issues_since(since)
        state = query.get("state", "open")
        if state != "all":
            records = [i for i in records if i.state == state]
        if query.get("sort", "created") != "updated":
            records = sorted(records, key=lambda i: i.created_at)
        if query.get("direction", "desc") == "desc":
            records = records[::-1]
        page, item_key, info = self._slice(records, query)
        return [self._issue_json(i) for i in page], item_key, info

    def _comment_json(self, c) -> dict:
        return {
            "id": c.id,
            "node_id": f"IC_{c.id}",
            "url": f"{self._api}/issues/comments/{c.id}",
            "html_url": f"{self._html}/issues/{c.issue_number}#issuecomment-{c.id}",
            "issue_url": f"{self._api}/issues/{c.issue_number}",
            "user": self._user(c.author),
            "created_at": iso(c.created_at),
            "updated_at": iso(c.created_at),
            "author_association": c.association,
            "body": c.body,
        }

    def _comments(self, query, o, r):
        since = _parse_time(query["since"]) if query.get("since") else None
        records = self.ds.comments_since(since)
        if query.get("direction", "asc") == "desc":
            records = records[::-1]
        page, item_key, info = self._slice(records, query)
        return [self._comment_json(c) for c in page], item_key, info

    def _issue_comments(self, query, o, r, n):
        records = [c for c in self.ds.comments if c.issue_number == int(n)]
        page, item_key, info = self._slice(records, query)
        return [self._comment_json(c) for c in page], item_key, info

    def _pr(self, n):
        record = self.ds.issue(int(n))
        if not record or record.kind != "pr":
            raise HTTPError(404, "Not Found")
        return record

    def _reviews(self, query, o, r, n):
        self._pr(n)
        reviews = self.ds.reviews.get(int(n), [])
        data = [
            {
                "id": v.id,
                "node_id": f"PRR_{v.id}",
                "user": self._user(v.author),
                "body": v.body,
                "state": v.state,
                "html_url": f"{self._html}/pull/{n}#pullrequestreview-{v.id}",
                "pull_request_url": f"{self._api}/pulls/{n}",
                "author_association": v.association,
                "submitted_at": iso(v.submitted_at),
                "commit_id": "0" * 40,
            }
            for v in reviews
        ]
        page, item_key, info = self._slice(data, query)
        return page, item_key, info

    def _files(self, query, o, r, n):
        record = self._pr(n)
        data = [
            {
                "sha": hashlib.sha1(f.encode(), usedforsecurity=False).hexdigest(),
                "filename": f,
                "status": "modified",
                "additions": 10,
                "deletions": 2,
                "changes": 12,
            }
            for f in record.files
        ]
        return self._slice(data, query)

    def _labels(self, query, o, r):
        return self._slice([self._label(lb["name"]) for lb in self.ds.labels], query)

    def _releases(self, query, o, r):
        data = [
            {
                "id": rel["id"],
                "node_id": f"RE_{rel['id']}",
                "url": f"{self._api}/releases/{rel['id']}",
                "html_url": f"{self._html}/releases/tag/{rel['tag_name']}",
                "tag_name": rel["tag_name"],
                "target_commitish": rel["target_commitish"],
                "name": rel["name"],
                "body": rel["body"],
                "draft": rel["draft"],
                "prerelease": rel["prerelease"],
                "created_at": iso(rel["created_at"]),
                "published_at": iso(rel["published_at"]),
                "author": self._user("tensorflower-gardener"),
            }
            for rel in self.ds.releases
        ]
        return self._slice(data, query)

    def _run_json(self, run) -> dict:
        return {
            "id": run.id,
            "name": run.workflow,
            "node_id": f"WFR_{run.id}",
            "head_branch": run.branch,
            "head_sha": run.head_sha,
            "path": run.workflow_path,
            "display_title": run.workflow,
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": int(
                hashlib.md5(run.workflow.encode(), usedforsecurity=False).hexdigest()[:6], 16
            ),
            "url": f"{self._api}/actions/runs/{run.id}",
            "html_url": f"{self._html}/actions/runs/{run.id}",
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "run_attempt": run.attempt,
            "run_started_at": iso(run.created_at),
            "artifacts_url": f"{self._api}/actions/runs/{run.id}/artifacts",
        }

    def _runs(self, query, o, r):
        runs = self.ds.runs
        created = query.get("created", "")
        if created:
            runs = [run for run in runs if _created_matches(run.created_at, created)]
        for key, attr in (("branch", "branch"), ("event", "event"), ("status", "status")):
            if query.get(key):
                runs = [run for run in runs if getattr(run, attr) == query[key]]
        total = len(runs)
        if any(query.get(key) for key in RUN_FILTERS):
            # GitHub: "This API will return up to 1,000 results for each search when
            # using the following parameters: actor, branch, check_suite_id, created,
            # event, head_sha, status." total_count still counts them all.
            runs = runs[:RUN_SEARCH_CAP]
        page, _, (number, per_page, _listed) = self._slice(runs, query)
        return (
            [self._run_json(run) for run in page],
            "workflow_runs",
            (number, per_page, len(runs), total),
        )

    def _artifacts(self, query, o, r, n):
        run = next((run for run in self.ds.runs if run.id == int(n)), None)
        if not run:
            raise HTTPError(404, "Not Found")
        data = [
            {
                "id": a.id,
                "node_id": f"A_{a.id}",
                "name": a.name,
                "size_in_bytes": len(a.data),
                "url": f"{self._api}/actions/artifacts/{a.id}",
                "archive_download_url": f"{self._api}/actions/artifacts/{a.id}/zip",
                "expired": False,
                "created_at": iso(a.created_at),
                "workflow_run": {"id": run.id, "head_sha": run.head_sha, "head_branch": run.branch},
            }
            for a in run.artifacts
        ]
        page, _, info = self._slice(data, query)
        return page, "artifacts", info

    def _artifact_zip(self, query, o, r, n):
        for run in self.ds.runs:
            for artifact in run.artifacts:
                if artifact.id == int(n):
                    return _Raw(artifact.data, "application/zip")
        raise HTTPError(404, "Not Found")

    def _commit_json(self, c) -> dict:
        author = {"name": c.author, "email": f"{c.author}@example.org", "date": iso(c.date)}
        return {
            "sha": c.sha,
            "node_id": f"C_{c.sha[:10]}",
            "commit": {"author": author, "committer": author, "message": c.message},
            "url": f"{self._api}/commits/{c.sha}",
            "html_url": f"{self._html}/commit/{c.sha}",
            "author": self._user(c.author),
        }

    def _compare(self, query, o, r, base, head):
        ds = self.ds
        start, end = ds.commit_index(base), ds.commit_index(head)
        if start is None or end is None:
            raise HTTPError(404, "Not Found")
        commits = ds.commits[start + 1 : end + 1] if end > start else []
        status = "identical" if start == end else ("ahead" if end > start else "behind")
        page, _, (number, per_page, total) = self._slice(commits, query)
        data = {
            "url": f"{self._api}/compare/{base}...{head}",
            "html_url": f"{self._html}/compare/{base}...{head}",
            "status": status,
            "ahead_by": max(end - start, 0),
            "behind_by": max(start - end, 0),
            "total_commits": total,
            "base_commit": self._commit_json(ds.commits[start]),
            "merge_base_commit": self._commit_json(ds.commits[min(start, end)]),
            "commits": [self._commit_json(c) for c in page],
            "files": [],
        }
        return _Paged(data, number, per_page, total)

    def _commits(self, query, o, r):
        """The default branch's commits, newest first (``since``/``until`` filter)."""
        commits = list(reversed(self.ds.commits))
        if query.get("since"):
            commits = [c for c in commits if c.date >= _parse_time(query["since"])]
        if query.get("until"):
            commits = [c for c in commits if c.date <= _parse_time(query["until"])]
        return self._slice([self._commit_json(c) for c in commits], query)

    def _commit_pulls(self, query, o, r, sha):
        ds = self.ds
        commit = next((c for c in ds.commits if c.sha == sha), None)
        if not commit:
            raise HTTPError(422, "No commit found for SHA")
        record = ds.issue(commit.pr_number) if commit.pr_number else None
        return [self._pull_json(record)] if record else []

    def _permission(self, query, o, r, u):
        role = self.ds.permissions.get(u.lower())
        if role is None:
            raise HTTPError(404, f"{u} is not a user")
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        return {"permission": legacy, "role_name": role, "user": self._user(u)}

    def _contents(self, query, o, r, path):
        ds = self.ds
        ref = query.get("ref")
        if ref and ref != ds.default_branch and ds.commit_index(ref) is None:
            raise HTTPError(404, "No commit found for the ref")
        text = ds.files.get(path)
        if text is None:
            raise HTTPError(404, "Not Found")
        raw = text.encode()
        accept = self.headers.get("Accept") or ""
        if "vnd.github.raw" in accept:
            return _Raw(raw, "application/vnd.github.raw; charset=utf-8")
        large = len(raw) > CONTENTS_JSON_LIMIT
        return {
            "type": "file",
            "encoding": "none" if large else "base64",
            "size": len(raw),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": hashlib.sha1(raw, usedforsecurity=False).hexdigest(),
            "content": "" if large else base64.encodebytes(raw).decode(),
            "html_url": f"{self._html}/blob/{ds.default_branch}/{path}",
        }


def _graphql_actor(login: str) -> dict | None:
    """An author as GraphQL answers it: a Bot's login without REST's "[bot]" suffix
    (``dependabot[bot]`` is the Bot ``dependabot``), a deleted account as null (REST
    shows it as the user ``ghost``)."""
    if login == GHOST:
        return None
    if login.endswith(BOT_SUFFIX):
        return {"login": login[: -len(BOT_SUFFIX)], "__typename": "Bot"}
    return {"login": login, "__typename": "User"}


def _database_ids(pr: dict, alias: str, asked: bool) -> list[dict]:
    """GraphQL's Int is 32-bit: a ``databaseId`` past 2**31 - 1 cannot be answered, so
    it is null with a field error naming its path (GitHub's answer, as graphql-ruby
    words it); one that fits stays. ``fullDatabaseId`` (a BigInt string) always holds.
    Not ``asked``: the field is left out of the answer."""
    errors = []
    for index, node in enumerate(pr["reviews"]["nodes"]):
        value = node.pop("databaseId", None)
        if not asked:
            continue
        node["databaseId"] = value
        if value is not None and value > INT_MAX:
            node["databaseId"] = None
            errors.append(
                {
                    "message": f"Integer out of bounds: {value} @ databaseId "
                    "(PullRequestReview.databaseId). Consider using ID or "
                    "GraphQL::Types::BigInt instead.",
                    "locations": [{"line": 1, "column": 1}],
                    "path": ["repository", alias, "reviews", "nodes", index, "databaseId"],
                }
            )
    return errors


def _created_matches(moment: datetime, query: str) -> bool:
    """GitHub's ``created`` qualifier: ``>=T``, ``>T``, ``<=T``, ``<T``, ``A..B``, ``T``."""
    for op, test in (
        (">=", moment.__ge__),
        ("<=", moment.__le__),
        (">", moment.__gt__),
        ("<", moment.__lt__),
    ):
        if query.startswith(op):
            return test(_parse_time(query[len(op) :]))
    if ".." in query:
        low, high = query.split("..", 1)
        return (low in ("", "*") or moment >= _parse_time(low)) and (
            high in ("", "*") or moment <= _parse_time(high)
        )
    day = _parse_time(query)
    return (
        day.date() == moment.astimezone(day.tzinfo or UTC).date()
        if len(query) == 10
        else moment == day
    )


class _Raw:
    def __init__(self, data: bytes, content_type: str):
        self.data = data
        self.content_type = content_type


class _Paged(tuple):
    """compare: an object answer paginated by its commits (Link header, no item key)."""

    def __new__(cls, data, page, per_page, total):
        return super().__new__(cls, (data, "__object__", (page, per_page, total)))


__all__ = ["FakeGitHub", "HTTPError"]
