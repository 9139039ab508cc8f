"""The one GitHub client of the portal, on ``requests``: workers, the demo, the
management command and the tests all use it, against api.github.com, a GitHub
Enterprise server (``GITHUB_API_URL``) or the project's GitHub-shaped server.

What it promises:

- pagination only by following the ``Link`` header's ``rel="next"`` exactly as given
  (its host and path may differ from the first request's); ``per_page=100``;
- conditional requests: the ETag of each URL is kept in an ``etags`` store
  (``get(url)``/``set(url, etag)``) and sent as ``If-None-Match``; a 304 means
  "unchanged" and costs no rate limit;
- rate limits: ``x-ratelimit-*`` is read on every answer and kept in ``client.stats``,
  one budget per ``x-ratelimit-resource`` (core, search, graphql, ...: a spent search
  budget never holds back a REST call); 403/429 with ``retry-after`` waits that long,
  with ``x-ratelimit-remaining: 0`` waits until ``x-ratelimit-reset``, secondary limits
  back off, and a GraphQL answer whose errors say ``RATE_LIMITED`` (HTTP 200) waits for
  the reset too; a wait longer than ``max_wait`` raises :class:`RateLimited` (with
  ``reset_at``) instead of sleeping;
- a timeout on every call; retries with exponential backoff on 5xx, timeouts and
  broken connections; every other failure is a :class:`GitHubError` subclass with a
  message a person can read.

Methods other apps use (signatures are stable):

- ``compare(base, head) -> Comparison`` — commits between two SHAs (oldest first) and
  the merged PRs that brought them (``Comparison.pull_requests``);
- ``run_artifacts(run_id) -> list[dict]`` — a workflow run's artifacts
  (``id``, ``name``, ``size_in_bytes``, ``archive_download_url``, ``expired``);
- ``download_artifact(artifact_id) -> bytes`` — the artifact's zip;
- ``collaborator_permission(login) -> str | None`` — "admin", "maintain", "write",
  "triage", "read" or "none"; None when the login is not a collaborator (404);
- ``file_contents(path, ref=None) -> str | None`` — a file of the repository, base64
  decoded (UTF-8); None when it does not exist (404).
- ``dispatch_workflow(workflow, ref, inputs)``, ``workflow_dispatch_runs(workflow,
  created_since)``, ``workflow_run(run_id)`` — re-run a test at a commit through GitHub
  Actions and find the run it created;
- ``pull_request(number)``, ``revert_pull_request(node_id, title, body, draft)`` (the
  GraphQL ``revertPullRequest`` mutation) and ``comment_issue(number, body)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, overload
from urllib.parse import urlencode, urlsplit

import requests

from github.errors import (
    AuthenticationFailed,
    BadResponse,
    Forbidden,
    GitHubError,
    GraphQLError,
    NotFound,
    RateLimited,
    Unavailable,
)

logger = logging.getLogger(__name__)

PER_PAGE = 100
USER_AGENT = "tfmot-portal (+https://github.com/tensorflow/model-optimization)"
ACCEPT = "application/vnd.github+json"
API_VERSION = "2022-11-28"
_LINK_RE = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')
JSONObject = dict[str, Any]  # a GitHub object as decoded from JSON
Params = dict[str, Any]  # query parameters; None values are left out


class ETagStore(Protocol):
    def get(self, url: str) -> str | None: ...

    def set(self, url: str, etag: str) -> None: ...


# --- errors --------------------------------------------------------------------------
# PRs per GraphQL request (GitHub allows 100 aliases of this size: ~20,000 nodes).
GRAPHQL_BATCH = 100
# GitHub lists at most this many workflow runs per filtered query (created, branch...).
RUN_SEARCH_CAP = 1000
RAW = "application/vnd.github.raw+json"  # a file's bytes, whatever its size (to 100 MB)
# Review ids are past 2**31 - 1: ``databaseId`` (an Int) answers null with a field error
# for them, ``fullDatabaseId`` is a BigInt (a string holding a 64-bit integer).
PR_FIELDS = (
    "number updatedAt "
    "reviews(first: 100) { pageInfo { hasNextPage } nodes { fullDatabaseId state submittedAt "
    "url authorAssociation author { login __typename } } } "
    "files(first: 100) { pageInfo { hasNextPage } nodes { path } }"
)


# --- small value types ---------------------------------------------------------------
@dataclass
class RateLimit:
    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset: int | None = None  # epoch seconds
    resource: str = ""

    @property
    def reset_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.reset, tz=UTC) if self.reset else None


@dataclass
class Stats:
    """What the client did; the sync copies it onto its SyncRun."""

    requests: int = 0  # HTTP requests sent, retries included
    not_modified: int = 0  # 304 answers (free of rate limit)
    retries: int = 0
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0
    rate_limit: RateLimit = field(default_factory=RateLimit)  # of the latest answer
    # One budget per x-ratelimit-resource: "core", "search", "graphql", ...
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)


# GraphQL error types that mean "rate limit spent" (GitHub has used both words).
GRAPHQL_RATE_LIMITED = frozenset({"RATE_LIMITED", "RATE_LIMIT"})


def resource_of(url: str) -> str:
    """The rate-limit resource a request to ``url`` counts against (GitHub names it in
    ``x-ratelimit-resource``; this is the guess before the first answer)."""
    path = urlsplit(url).path
    if path.endswith("/graphql"):
        return "graphql"
    if "/search/code" in path:
        return "code_search"
    if "/search/" in path:
        return "search"
    return "core"


class PullDetails(dict[int, "JSONObject"]):
    """``pull_details``' answer: {number: details}, and in ``failed`` the PRs GitHub
    could not answer this time (a GraphQL error other than NOT_FOUND), with why."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.failed: dict[int, str] = {}


@dataclass
class Page:
    """One page of a listing. ``not_modified`` pages carry no items."""

    url: str
    items: list[JSONObject]
    etag: str = ""
    not_modified: bool = False
    next_url: str | None = None
    last_page: int | None = None  # from rel="last", for progress bars only
    total_count: int | None = None  # an object answer's total_count (search, runs)


@dataclass
class Comparison:
    base: str
    head: str
    status: str  # "ahead", "behind", "diverged", "identical"
    commits: list[JSONObject]  # GitHub commit objects, oldest first
    pull_requests: dict[str, list[JSONObject]]  # commit SHA -> merged PRs that contain it
    total_commits: int = 0

    @property
    def merged_pull_requests(self) -> list[JSONObject]:
        """Distinct merged PRs of the range, in commit order."""
        seen: set[int] = set()
        result: list[JSONObject] = []
        for commit in self.commits:
            for pr in self.pull_requests.get(commit["sha"], []):
                if pr["number"] not in seen:
                    seen.add(pr["number"])
                    result.append(pr)
        return result


class DictETagStore(dict[str, str]):
    """The default ETag store: in memory, per client. The sync passes a DB-backed one."""

    def set(self, url: str, etag: str) -> None:
        self[url] = etag


def parse_link_header(value: str) -> dict[str, str]:
    """``<url>; rel="next", <url>; rel="last"`` -> {"next": url, "last": url}."""
    links: dict[str, str] = {}
    for url, rels in _LINK_RE.findall(value or ""):
        for rel in rels.split():
            links[rel] = url
    return links


@overload
def parse_timestamp(value: str) -> datetime: ...
@overload
def parse_timestamp(value: str | None) -> datetime | None: ...
def parse_timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


# --- the client ----------------------------------------------------------------------
class GitHubClient:
    """A client for one repository (``owner/name``).

    ``base_url``/``token``/``timeout`` default to the settings ``GITHUB_API_URL``,
    ``GITHUB_TOKEN`` and ``GITHUB_TIMEOUT_SECONDS``. ``etags`` is any object with
    ``get(url)`` and ``set(url, etag)``. ``sleep`` is injectable so tests never wait.
    """

    def __init__(
        self,
        repo: str | None = None,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
        etags: ETagStore | None = None,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ):
        from django.conf import settings

        self.repo = repo or settings.GITHUB_REPOSITORY
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", self.repo):
            raise ValueError(f"Repository must be written owner/name, got {self.repo!r}")
        self.base_url = (base_url or settings.GITHUB_API_URL).rstrip("/")
        self.token = settings.GITHUB_TOKEN if token is None else token
        self.timeout = timeout or settings.GITHUB_TIMEOUT_SECONDS
        self.etags: ETagStore = DictETagStore() if etags is None else etags
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.stats = Stats()
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Accept": ACCEPT, "User-Agent": USER_AGENT, "X-GitHub-Api-Version": API_VERSION}
        )
        self._api_host = urlsplit(self.base_url).netloc

    # -- URLs ---------------------------------------------------------------------------
    def url(self, path: str, params: Params | None = None) -> str:
        """An API URL from a path ("/repos/{repo}/issues" has {repo} filled in)."""
        if path.startswith(("http://", "https://")):
            url = path
        else:
            url = self.base_url + "/" + path.lstrip("/").replace("{repo}", self.repo)
        if params:
            query = urlencode({k: v for k, v in params.items() if v is not None})
            url += ("&" if "?" in url else "?") + query
        return url

    def _headers_for(self, url: str, etag: str | None) -> dict[str, str]:
        headers = {}
        # The token goes only to the API host: a Link to another host must not leak it
        # (requests does the same on redirects).
        if self.token and urlsplit(url).netloc == self._api_host:
            headers["Authorization"] = f"Bearer {self.token}"
        if etag:
            headers["If-None-Match"] = etag
        return headers

    # -- one request, with retries and rate limits ----------------------------------------
    def request(
        self,
        url: str,
        *,
        etag: str | None = None,
        accept: str | None = None,
        json_body: JSONObject | None = None,
    ) -> requests.Response:
        """GET ``url`` (POST ``json_body`` when given); returns a 2xx or 304 response,
        else raises a GitHubError."""
        attempt = 0
        while True:
            self._wait_if_spent(url)
            headers = self._headers_for(url, etag)
            if accept:
                headers["Accept"] = accept
            self.stats.requests += 1
            try:
                if json_body is None:
                    response = self.session.get(url, headers=headers, timeout=self.timeout)
                else:
                    response = self.session.post(
                        url, json=json_body, headers=headers, timeout=self.timeout
                    )
                # Read the body here so that a truncated body counts as a broken
                # connection (retried), not as garbage later.
                response.content  # noqa: B018
            except requests.RequestException as error:
                attempt += 1
                if attempt > self.max_retries:
                    raise Unavailable(
                        f"GitHub did not answer at {url}: {type(error).__name__} after "
                        f"{attempt} attempts",
                        url=url,
                    ) from error
                self._backoff(attempt, f"{type(error).__name__} on {url}")
                continue
            self._record_rate_limit(response, url)
            status = response.status_code
            if status == 304:
                self.stats.not_modified += 1
                return response
            if status < 300:
                return response
            if status in (403, 429) and self._is_rate_limited(response):
                attempt += 1
                self._wait_for_rate_limit(response, url, attempt)
                continue
            if status >= 500:
                attempt += 1
                if attempt > self.max_retries:
                    raise Unavailable(
                        f"GitHub answered {status} at {url}, {attempt} times",
                        status=status,
                        url=url,
                    )
                self._backoff(attempt, f"{status} on {url}")
                continue
            raise self._error_for(response, url)

    def _error_for(self, response: requests.Response, url: str) -> GitHubError:
        status = response.status_code
        message = _message_of(response)
        if status == 401:
            return AuthenticationFailed(
                f"GitHub refused the token (401: {message}). Is GITHUB_TOKEN expired?",
                status=status,
                url=url,
            )
        if status == 403:
            return Forbidden(f"GitHub refused access (403: {message})", status=status, url=url)
        if status == 404:
            return NotFound(f"Not found on GitHub (404): {url}", status=status, url=url)
        return GitHubError(f"GitHub answered {status} at {url}: {message}", status=status, url=url)

    def _record_rate_limit(self, response: requests.Response, url: str) -> None:
        h = response.headers
        if "x-ratelimit-remaining" not in h:
            return
        resource = h.get("x-ratelimit-resource") or resource_of(url)
        rl = self.stats.rate_limits.setdefault(resource, RateLimit(resource=resource))
        rl.limit = _int(h.get("x-ratelimit-limit"))
        rl.remaining = _int(h.get("x-ratelimit-remaining"))
        rl.used = _int(h.get("x-ratelimit-used"))
        rl.reset = _int(h.get("x-ratelimit-reset"))
        self.stats.rate_limit = rl

    def _budget(self, url: str) -> RateLimit | None:
        return self.stats.rate_limits.get(resource_of(url))

    @staticmethod
    def _is_rate_limited(response: requests.Response) -> bool:
        h = response.headers
        if response.status_code == 429 or "retry-after" in h:
            return True
        if h.get("x-ratelimit-remaining") == "0":
            return True
        return "rate limit" in _message_of(response).lower()

    def _wait_for_rate_limit(self, response: requests.Response, url: str, attempt: int) -> None:
        h = response.headers
        retry_after = _int(h.get("retry-after"))
        reset = _int(h.get("x-ratelimit-reset"))
        wait: float
        if retry_after is not None:
            wait = max(retry_after, 0)
        elif h.get("x-ratelimit-remaining") == "0" and reset:
            wait = max(reset - time.time(), 0) + 1
        else:
            # A secondary limit without a hint: GitHub asks for at least a minute.
            wait = max(60.0, self.backoff * 2**attempt)
        reset_at = datetime.fromtimestamp(time.time() + wait, tz=UTC)
        if wait > self.max_wait or attempt > self.max_retries + 2:
            raise RateLimited(
                f"GitHub rate limit reached ({response.status_code}: {_message_of(response)}); "
                f"it resets at {reset_at:%Y-%m-%d %H:%M:%S} UTC",
                reset_at=reset_at,
                status=response.status_code,
                url=url,
            )
        logger.warning("GitHub rate limit on %s: waiting %.0f s", url, wait)
        self.stats.rate_limit_waits += 1
        self._sleep(wait)
        # Waited as GitHub asked: the next answer tells what is left.
        budget = self._budget(url)
        if budget is not None:
            budget.remaining = None

    def _wait_if_spent(self, url: str) -> None:
        """Do not send a request that would only be refused: wait for the reset of the
        budget it counts against first (other resources' budgets do not matter)."""
        rl = self._budget(url)
        if rl is None or rl.remaining != 0 or not rl.reset:
            return
        wait = rl.reset - time.time() + 1
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise RateLimited(
                f"GitHub rate limit spent; it resets at {rl.reset_at:%Y-%m-%d %H:%M:%S} UTC",
                reset_at=rl.reset_at,
                url=url,
            )
        self.stats.rate_limit_waits += 1
        self._sleep(wait)
        rl.remaining = None

    def graphql(self, query: str, variables: JSONObject | None = None) -> JSONObject:
        """POST a GraphQL document; the answer's JSON object (``data`` and ``errors``).

        GitHub answers a spent GraphQL budget with HTTP 200 and an error of type
        ``RATE_LIMITED``: that is a rate limit like the 403 form (wait for the reset,
        from ``x-ratelimit-reset`` or ``rateLimit.resetAt``, else :class:`RateLimited`),
        not a bad answer."""
        url = self.graphql_url
        body = {"query": query, "variables": variables or {}}
        attempt = 0
        while True:
            data = _json_of(self.request(url, json_body=body), url)
            if not isinstance(data, dict):
                raise BadResponse(f"GraphQL answered no object at {url}", url=url)
            limited = [
                e
                for e in data.get("errors") or []
                if isinstance(e, dict) and e.get("type") in GRAPHQL_RATE_LIMITED
            ]
            if not limited:
                return data
            attempt += 1
            budget = self.stats.rate_limits.setdefault("graphql", RateLimit(resource="graphql"))
            reset_at = parse_timestamp(
                ((data.get("data") or {}).get("rateLimit") or {}).get("resetAt")
            )
            if not budget.reset or budget.reset < time.time():
                budget.reset = int(reset_at.timestamp()) if reset_at else int(time.time() + 60)
            budget.remaining = 0
            message = str(limited[0].get("message") or "GraphQL rate limit exceeded")[:200]
            if attempt > self.max_retries:
                raise RateLimited(
                    f"GitHub GraphQL rate limit reached ({message}); it resets at "
                    f"{budget.reset_at:%Y-%m-%d %H:%M:%S} UTC",
                    reset_at=budget.reset_at,
                    status=200,
                    url=url,
                )
            logger.warning("GitHub GraphQL rate limit: %s", message)
            # The next request waits for the reset (or raises RateLimited if too far).

    def _backoff(self, attempt: int, reason: str) -> None:
        self.stats.retries += 1
        wait = self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)
        logger.info("GitHub retry %s in %.2f s: %s", attempt, wait, reason)
        self._sleep(wait)

    def _sleep(self, seconds: float) -> None:
        self.stats.waited_seconds += seconds
        self.sleep(seconds)

    # -- JSON and pagination ----------------------------------------------------------
    def get_json(
        self, path: str, params: Params | None = None, *, conditional: bool = False
    ) -> Any:
        """One JSON document. With ``conditional``, returns None when unchanged (304)."""
        url = self.url(path, params)
        etag = self.etags.get(url) if conditional else None
        response = self.request(url, etag=etag)
        if response.status_code == 304:
            return None
        data = _json_of(response, url)
        if conditional and response.headers.get("ETag"):
            self.etags.set(url, response.headers["ETag"])
        return data

    def pages(
        self,
        path: str,
        params: Params | None = None,
        *,
        item_key: str | None = None,
        conditional: bool = True,
    ) -> Iterator[Page]:
        """Every page of a listing, one at a time (never all in memory).

        The first request is conditional: when it answers 304 the whole listing is
        unchanged and a single not-modified page is yielded. Later pages are followed
        from ``Link: rel="next"`` as given. ``item_key`` names the list inside an
        object answer (e.g. "workflow_runs"). ``conditional=False``: no ETag is sent
        or kept (a listing that is not the first of its resource).
        """
        params = {"per_page": PER_PAGE, **(params or {})}
        first_url = self.url(path, params)
        url: str | None = first_url
        seen: set[str] = set()
        first = True
        while url:
            if url in seen:
                raise BadResponse(f"GitHub pagination loops back to {url}", url=url)
            seen.add(url)
            etag = self.etags.get(first_url) if first and conditional else None
            response = self.request(url, etag=etag)
            if response.status_code == 304:
                yield Page(url=url, items=[], etag=etag or "", not_modified=True)
                return
            data = _json_of(response, url)
            items = data.get(item_key) if item_key and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise BadResponse(
                    f"Expected a list from {url}, got {type(items).__name__}", url=url
                )
            links = parse_link_header(response.headers.get("Link", ""))
            next_url = links.get("next")
            new_etag = response.headers.get("ETag", "")
            total_count = data.get("total_count") if item_key and isinstance(data, dict) else None
            yield Page(
                url=url,
                items=items,
                etag=new_etag,
                next_url=next_url,
                last_page=_page_number(links.get("last")),
                total_count=total_count if isinstance(total_count, int) else None,
            )
            if first and new_etag and conditional:
                # Stored after the caller handled the first page, so that a crash before
                # it was written does not turn the next sync into a 304.
                self.etags.set(first_url, new_etag)
            first = False
            url = next_url

    def items(
        self, path: str, params: Params | None = None, *, item_key: str | None = None
    ) -> Iterator[JSONObject]:
        """Every item of a listing. Never conditional: a 304 carries no body, and a caller
        that asks for the items holds none to reuse (two reads of one URL, e.g. two
        bisections polling the same runs, would otherwise see the second read empty)."""
        for page in self.pages(path, params, item_key=item_key, conditional=False):
            yield from page.items

    # -- resources used by the sync -----------------------------------------------------
    def issues(self, since: datetime | None = None) -> Iterator[Page]:
        """Issues and PRs (PRs carry ``pull_request``), latest update first, so that
        the first page changes whenever anything changed (its ETag then tells)."""
        params: Params = {"state": "all", "sort": "updated", "direction": "desc"}
        if since:
            params["since"] = _iso(since)
        return self.pages("/repos/{repo}/issues", params)

    def issue_comments(self, since: datetime | None = None) -> Iterator[Page]:
        params: Params = {"sort": "updated", "direction": "desc"}
        if since:
            params["since"] = _iso(since)
        return self.pages("/repos/{repo}/issues/comments", params)

    def labels(self) -> Iterator[Page]:
        return self.pages("/repos/{repo}/labels")

    def releases(self) -> Iterator[Page]:
        return self.pages("/repos/{repo}/releases")

    def workflow_runs(
        self, created_since: datetime | None = None, branch: str | None = None
    ) -> Iterator[Page]:
        """Workflow runs, newest first. With ``created`` (or ``branch``) GitHub lists at
        most 1,000 runs per query, so when a listing stops at that cap while
        ``total_count`` says there are more, the next query asks for the runs created
        up to the oldest one seen (``created=SINCE..OLDEST``), and so on: every run is
        listed once (the boundary run, listed twice, is passed over the second time)."""
        params: Params = {}
        if created_since:
            params["created"] = ">=" + _iso(created_since)
        if branch:
            params["branch"] = branch
        seen: set[int] = set()
        first = True
        while True:
            listed, total, oldest = 0, 0, None
            for page in self.pages(
                "/repos/{repo}/actions/runs",
                params,
                item_key="workflow_runs",
                conditional=first,
            ):
                if page.not_modified:
                    yield page
                    return
                listed += len(page.items)
                total = max(total, page.total_count or 0)
                for run in page.items:
                    created = parse_timestamp(run.get("created_at"))
                    if created and (oldest is None or created < oldest):
                        oldest = created
                new = [run for run in page.items if int(run.get("id") or 0) not in seen]
                seen.update(int(run.get("id") or 0) for run in new)
                page.items = new
                yield page
            first = False
            if listed < RUN_SEARCH_CAP or total <= listed or oldest is None or not params:
                return
            low = _iso(created_since) if created_since else "*"
            params = {**params, "created": f"{low}..{_iso(oldest)}"}

    def repository(self) -> JSONObject:
        data: JSONObject = self.get_json("/repos/{repo}")
        return data

    def pull_reviews(self, number: int) -> list[JSONObject]:
        return list(self.items(f"/repos/{{repo}}/pulls/{int(number)}/reviews"))

    def pull_files(self, number: int) -> list[JSONObject]:
        return list(self.items(f"/repos/{{repo}}/pulls/{int(number)}/files"))

    @property
    def graphql_url(self) -> str:
        """api.github.com/graphql; GitHub Enterprise serves /api/graphql beside /api/v3."""
        if self.base_url.endswith("/api/v3"):
            return self.base_url[: -len("v3")] + "graphql"
        return self.base_url + "/graphql"

    def pull_details(self, numbers: list[int]) -> PullDetails:
        """Reviews and changed files of many PRs: one GraphQL request per
        ``GRAPHQL_BATCH`` PRs, {number: {"reviews": [...], "files": [...]}} in the REST
        shapes. A PR with more than 100 of either is completed through REST; a PR that
        no longer exists (NOT_FOUND) is absent; a PR that an error other than NOT_FOUND
        nulled or cut (a timeout, a forbidden field) is absent too, and named with the
        error in ``failed``, so that it is asked for again."""
        details = PullDetails()
        for start in range(0, len(numbers), GRAPHQL_BATCH):
            batch = [int(n) for n in numbers[start : start + GRAPHQL_BATCH]]
            found = self._pull_details_batch(batch)
            details.update(found)
            details.failed.update(found.failed)
        return details

    def _pull_details_batch(self, numbers: list[int]) -> PullDetails:
        owner, name = self.repo.split("/")
        aliases = " ".join(f"p{n}: pullRequest(number: {n}) {{ {PR_FIELDS} }}" for n in numbers)
        query = (
            "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) "
            f"{{ {aliases} }} rateLimit {{ cost remaining resetAt }} }}"
        )
        url = self.graphql_url
        data = self.graphql(query, {"owner": owner, "name": name})
        repository = (data.get("data") or {}).get("repository")
        errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
        if not isinstance(repository, dict):
            raise BadResponse(f"GraphQL answered no data at {url}: {str(errors)[:200]}", url=url)
        out = PullDetails()
        wanted = {f"p{n}": n for n in numbers}
        for error in errors:
            if error.get("type") == "NOT_FOUND":
                continue
            found = error.get("path")
            path: list[Any] = found if isinstance(found, list) else []
            reason = str(error.get("type") or error.get("message") or "GraphQL error")[:200]
            if len(path) >= 2 and path[0] == "repository" and path[1] in wanted:
                out.failed.setdefault(wanted[path[1]], reason)
            else:  # an error GitHub did not place: no PR of the batch can be trusted
                out.failed.update({n: reason for n in numbers if n not in out.failed})
        for number in numbers:
            pr = repository.get(f"p{number}")
            if not isinstance(pr, dict) or number in out.failed:
                continue  # deleted or moved: nothing to learn; failed: asked again later
            try:
                out[number] = self._rest_shaped(number, pr)
            except (KeyError, TypeError, ValueError) as error:
                raise BadResponse(f"GraphQL answered a malformed PR #{number}", url=url) from error
        return out

    def _rest_shaped(self, number: int, pr: JSONObject) -> JSONObject:
        reviews, files = pr["reviews"], pr["files"]
        result: JSONObject = {
            "reviews": [
                {
                    "id": int(r["fullDatabaseId"]),
                    "user": rest_user(r.get("author")),
                    "state": r.get("state", ""),
                    "submitted_at": r.get("submittedAt"),
                    "html_url": r.get("url", ""),
                    "author_association": r.get("authorAssociation", ""),
                }
                for r in reviews["nodes"]
            ],
            "files": [{"filename": f["path"]} for f in files["nodes"]],
        }
        if reviews["pageInfo"]["hasNextPage"]:
            result["reviews"] = self.pull_reviews(number)
        if files["pageInfo"]["hasNextPage"]:
            result["files"] = self.pull_files(number)
        return result

    # -- for the other apps -------------------------------------------------------------
    def commits(self, since: datetime | None = None) -> list[JSONObject]:
        """The default branch's commits, newest first (GitHub's order)."""
        params = {"since": _iso(since)} if since else None
        return list(self.items("/repos/{repo}/commits", params))

    def compare(self, base: str, head: str) -> Comparison:
        """Commits between ``base`` and ``head`` (oldest first) and their merged PRs.

        GET /repos/{o}/{r}/compare/{base}...{head} (its commit pages followed by Link),
        then GET /repos/{o}/{r}/commits/{sha}/pulls per commit, keeping merged PRs.
        """
        _check_ref(base)
        _check_ref(head)
        commits: list[JSONObject] = []
        status, total = "", 0
        url: str | None = self.url(
            f"/repos/{{repo}}/compare/{base}...{head}", {"per_page": PER_PAGE}
        )
        seen: set[str] = set()
        while url:
            if url in seen:
                raise BadResponse(f"GitHub pagination loops back to {url}", url=url)
            seen.add(url)
            response = self.request(url)
            data = _json_of(response, url)
            if not isinstance(data, dict) or not isinstance(data.get("commits"), list):
                raise BadResponse(f"Unexpected compare answer from {url}", url=url)
            commits.extend(data["commits"])
            status = data.get("status", status)
            total = data.get("total_commits", total)
            url = parse_link_header(response.headers.get("Link", "")).get("next")
        return self._compare_result(base, head, commits, status, total)

    def _compare_result(
        self, base: str, head: str, commits: list[JSONObject], status: str, total: int
    ) -> Comparison:
        prs: dict[str, list[JSONObject]] = {}
        for commit in commits:
            pulls = self.get_json(f"/repos/{{repo}}/commits/{commit['sha']}/pulls") or []
            prs[commit["sha"]] = [p for p in pulls if p.get("merged_at")]
        return Comparison(
            base=base,
            head=head,
            status=status or ("identical" if not commits else "ahead"),
            commits=commits,
            pull_requests=prs,
            total_commits=total or len(commits),
        )

    def run_artifacts(self, run_id: int) -> list[JSONObject]:
        """GET /repos/{o}/{r}/actions/runs/{run_id}/artifacts, every page."""
        return list(
            self.items(
                f"/repos/{{repo}}/actions/runs/{int(run_id)}/artifacts", item_key="artifacts"
            )
        )

    def download_artifact(self, artifact_id: int) -> bytes:
        """GET /repos/{o}/{r}/actions/artifacts/{id}/zip: the zip file's bytes."""
        url = self.url(f"/repos/{{repo}}/actions/artifacts/{int(artifact_id)}/zip")
        return self.request(url).content

    def collaborator_permission(self, login: str) -> str | None:
        """GET /repos/{o}/{r}/collaborators/{login}/permission -> "admin", "maintain",
        "write", "triage", "read" or "none"; None when the login is no collaborator."""
        if not re.fullmatch(r"[A-Za-z0-9-]{1,39}", login or ""):
            raise ValueError(f"Not a GitHub login: {login!r}")
        try:
            data = self.get_json(f"/repos/{{repo}}/collaborators/{login}/permission")
        except NotFound:
            return None
        role: str | None = data.get("role_name") or data.get("permission")
        return role

    def file_contents(self, path: str, ref: str | None = None) -> str | None:
        """GET /repos/{o}/{r}/contents/{path}[?ref=] decoded from base64 (UTF-8);
        None when the file does not exist."""
        path = path.lstrip("/")
        if ".." in path.split("/"):
            raise ValueError(f"Not a repository path: {path!r}")
        try:
            data = self.get_json(f"/repos/{{repo}}/contents/{path}", {"ref": ref} if ref else None)
        except NotFound:
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            raise BadResponse(f"{path} is not a file", url=self.url(path))
        try:
            if data.get("encoding") == "none" or (not data.get("content") and data.get("size")):
                # Over 1 MB GitHub sends no content in JSON: ask for the raw bytes.
                url = self.url(f"/repos/{{repo}}/contents/{path}", {"ref": ref} if ref else None)
                return self.request(url, accept=RAW).content.decode("utf-8")
            return base64.b64decode(data.get("content", "")).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise BadResponse(f"{path}: content is not base64 UTF-8 text") from error

    # -- teams, the signed-in user, issue writes and search -----------------------------
    # Writes are never retried: a 5xx may come after GitHub did the write, so callers
    # look for what they wrote (e.g. a marker in an issue body) before writing again.
    def write(
        self, method: str, path: str, payload: JSONObject, *, expect_body: bool = True
    ) -> JSONObject:
        """POST/PATCH ``path`` with a JSON body; the answer's JSON (``{}`` for a 204 when
        ``expect_body`` is False), else a GitHubError."""
        url = self.url(path)
        self._wait_if_spent(url)
        self.stats.requests += 1
        try:
            response = self.session.request(
                method,
                url,
                json=payload,
                headers=self._headers_for(url, None),
                timeout=self.timeout,
            )
            response.content  # noqa: B018
        except requests.RequestException as error:
            raise Unavailable(
                f"GitHub did not answer {method} {url}: {type(error).__name__}", url=url
            ) from error
        self._record_rate_limit(response, url)
        status = response.status_code
        if status in (403, 429) and self._is_rate_limited(response):
            retry_after = _int(response.headers.get("retry-after"))
            reset = _int(response.headers.get("x-ratelimit-reset"))
            at = time.time() + retry_after if retry_after is not None else reset or time.time()
            raise RateLimited(
                f"GitHub rate limit reached ({status}: {_message_of(response)})",
                reset_at=datetime.fromtimestamp(at, tz=UTC),
                status=status,
                url=url,
            )
        if status >= 500:
            raise Unavailable(f"GitHub answered {status} to {method} {url}", status=status, url=url)
        if status == 410:
            raise NotFound(
                f"GitHub refused {method} {url} (410: {_message_of(response)})",
                status=status,
                url=url,
            )
        if status >= 300:
            raise self._error_for(response, url)
        if not expect_body and (status == 204 or not response.content):
            return {}
        data: JSONObject = _json_of(response, url)
        return data

    def team_members(self, team: str) -> Iterator[Page]:
        """GET /orgs/{org}/teams/{slug}/members for ``team`` = "org/slug", page by page;
        the first request is conditional (one 304 page when the team is unchanged)."""
        org, _, slug = team.partition("/")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", org) or not re.fullmatch(r"[A-Za-z0-9_.-]+", slug):
            raise ValueError(f"A team is written org/team-slug, got {team!r}")
        return self.pages(f"/orgs/{org}/teams/{slug}/members")

    def search_issues(self, query: str, limit: int = 100) -> list[JSONObject]:
        """GET /search/issues?q=: up to ``limit`` issues (search may lag behind writes)."""
        found: list[JSONObject] = []
        for page in self.pages("/search/issues", {"q": query}, item_key="items"):
            found += page.items
            if len(found) >= limit:
                break
        return found[:limit]

    def issue(self, number: int) -> JSONObject:
        data: JSONObject = self.get_json(f"/repos/{{repo}}/issues/{int(number)}")
        return data

    def create_issue(
        self,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> JSONObject:
        payload: JSONObject = {"title": title, "body": body, "labels": list(labels)}
        if assignees:
            payload["assignees"] = list(assignees)
        return self.write("POST", "/repos/{repo}/issues", payload)

    def update_issue(self, number: int, **fields: Any) -> JSONObject:
        """PATCH an issue: any of title, body, state ("open"/"closed"), state_reason,
        labels, assignees."""
        return self.write("PATCH", f"/repos/{{repo}}/issues/{int(number)}", fields)

    def comment_issue(self, number: int, body: str) -> JSONObject:
        return self.write("POST", f"/repos/{{repo}}/issues/{int(number)}/comments", {"body": body})

    # -- Actions: re-running a workflow at a commit, and reverting a PR -----------------
    def dispatch_workflow(self, workflow: str, ref: str, inputs: dict[str, str]) -> None:
        """POST /repos/{o}/{r}/actions/workflows/{workflow}/dispatches (204, no body):
        ``workflow`` is the workflow's file name or id, ``ref`` a branch or tag (the commit
        to test is one of ``inputs``). 404: no such workflow; 422: an input or the ref is
        refused (the message says which). Never retried: the run may have started."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", workflow or ""):
            raise ValueError(f"Not a workflow file name or id: {workflow!r}")
        _check_ref(ref)
        path = f"/repos/{{repo}}/actions/workflows/{workflow}/dispatches"
        self.write("POST", path, {"ref": ref, "inputs": dict(inputs)}, expect_body=False)

    def workflow_dispatch_runs(self, workflow: str, created_since: datetime) -> list[JSONObject]:
        """The workflow's runs triggered by workflow_dispatch since ``created_since``
        (GET /repos/{o}/{r}/actions/workflows/{workflow}/runs, newest first)."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", workflow or ""):
            raise ValueError(f"Not a workflow file name or id: {workflow!r}")
        params: Params = {"event": "workflow_dispatch", "created": ">=" + _iso(created_since)}
        return list(
            self.items(
                f"/repos/{{repo}}/actions/workflows/{workflow}/runs",
                params,
                item_key="workflow_runs",
            )
        )

    def workflow_run(self, run_id: int) -> JSONObject:
        """GET /repos/{o}/{r}/actions/runs/{run_id}."""
        data: JSONObject = self.get_json(f"/repos/{{repo}}/actions/runs/{int(run_id)}")
        return data

    def pull_request(self, number: int) -> JSONObject:
        """GET /repos/{o}/{r}/pulls/{n}: the PR (``node_id``, ``user``, ``merged_at``...)."""
        data: JSONObject = self.get_json(f"/repos/{{repo}}/pulls/{int(number)}")
        return data

    def revert_pull_request(
        self, pull_request_id: str, title: str, body: str, draft: bool = True
    ) -> JSONObject:
        """GraphQL ``revertPullRequest(input: {pullRequestId, title, body, draft})``: the
        new revert PR's {"number", "url"}. GitHub's GraphQL errors (NOT_FOUND, a PR that
        cannot be reverted) raise :class:`GraphQLError` with their type and message."""
        query = (
            "mutation($input: RevertPullRequestInput!) { revertPullRequest(input: $input) "
            "{ revertPullRequest { number url } } }"
        )
        variables = {
            "input": {
                "pullRequestId": pull_request_id,
                "title": title,
                "body": body,
                "draft": draft,
            }
        }
        data = self.graphql_write(query, variables)
        payload = (data.get("data") or {}).get("revertPullRequest")
        pull = (payload or {}).get("revertPullRequest") if isinstance(payload, dict) else None
        if not isinstance(pull, dict) or "number" not in pull:
            raise BadResponse("GraphQL answered no revert pull request", url=self.graphql_url)
        return pull

    def graphql_write(self, query: str, variables: JSONObject) -> JSONObject:
        """A GraphQL mutation, sent once (never retried, as every write); errors in the
        answer raise :class:`GraphQLError`."""
        url = self.graphql_url
        self._wait_if_spent(url)
        self.stats.requests += 1
        try:
            response = self.session.post(
                url,
                json={"query": query, "variables": variables},
                headers=self._headers_for(url, None),
                timeout=self.timeout,
            )
            response.content  # noqa: B018
        except requests.RequestException as error:
            raise Unavailable(
                f"GitHub did not answer POST {url}: {type(error).__name__}", url=url
            ) from error
        self._record_rate_limit(response, url)
        if response.status_code >= 500:
            raise Unavailable(f"GitHub answered {response.status_code} to POST {url}", url=url)
        if response.status_code >= 300:
            raise self._error_for(response, url)
        data = _json_of(response, url)
        if not isinstance(data, dict):
            raise BadResponse(f"GraphQL answered no object at {url}", url=url)
        errors = data.get("errors") or []
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            raise GraphQLError(
                f"GitHub refused the mutation ({first.get('type') or 'ERROR'}): "
                f"{str(first.get('message', ''))[:300]}",
                kind=str(first.get("type") or ""),
                url=url,
            )
        return data


GHOST = "ghost"  # REST's stand-in for a deleted account; GraphQL answers a null author
BOT_SUFFIX = "[bot]"


def rest_user(actor: JSONObject | None) -> JSONObject:
    """A GraphQL actor ({login, __typename}) as REST names the same person: a Bot's
    login carries "[bot]" (``dependabot`` -> ``dependabot[bot]``) and a deleted
    account (null) is ``ghost``, so that one person has one login whatever the source."""
    if not isinstance(actor, dict):
        return {"login": GHOST, "type": "User"}
    login = str(actor.get("login") or "")
    kind = str(actor.get("__typename") or "User")
    if kind == "Bot" and login and not login.endswith(BOT_SUFFIX):
        login += BOT_SUFFIX
    return {"login": login or GHOST, "type": kind}


def _page_number(url: str | None) -> int | None:
    match = re.search(r"[?&]page=(\d+)", url or "")
    return int(match.group(1)) if match else None


def _check_ref(ref: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9._/-]{1,200}", ref or "") or ".." in ref:
        raise ValueError(f"Not a git ref or SHA: {ref!r}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_of(response: requests.Response, url: str) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as error:
        snippet = response.content[:80].decode("utf-8", "replace")
        raise BadResponse(
            f"GitHub sent a body that is not JSON at {url} (starts {snippet!r})",
            status=response.status_code,
            url=url,
        ) from error


def _message_of(response: requests.Response) -> str:
    """GitHub's ``message``, with the field-level ``errors`` of a 422 ("Validation
    Failed: Issue.title missing_field; ...") so that the reason is not lost."""
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return response.content[:200].decode("utf-8", "replace")
    if not isinstance(data, dict):
        return ""
    message = str(data.get("message", ""))[:200]
    details = [_field_error(e) for e in data.get("errors") or [] if e]
    if details:
        message = f"{message}: " + "; ".join(details)
    return message[:500]


def _field_error(error: Any) -> str:
    """One entry of a 422's ``errors``: {resource, field, code[, message]} or text."""
    if not isinstance(error, dict):
        return str(error)[:200]
    where = ".".join(str(error[k]) for k in ("resource", "field") if error.get(k))
    code = str(error.get("code") or "")
    text = str(error.get("message") or "")
    if code == "custom" and text:
        code = ""
    return " ".join(part for part in (where, code, text) if part)[:200]
