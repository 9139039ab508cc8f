"""Fuzzing over HTTP against the live test server (hypothesis, bounded for CI).

Targets: the upload API (JSON, JUnit XML and anything else), the signed GitHub webhook,
every form POST of the pages, and the query parameters of the pages and the API. The
property everywhere: never a 5xx, and a refused request (4xx) stores nothing — the data
version, which every write to the portal's tables bumps, does not move, and no run or
webhook delivery appears.
"""

from __future__ import annotations

import json
from datetime import date
from xml.sax.saxutils import quoteattr

import pytest
import requests
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ci_status.models import WebhookDelivery
from ci_status.webhooks import sign
from convergence.models import CIToken, ConvergenceRun
from reviews.models import Review
from reviews.services import cycles_ensure
from techniques.cache import data_version
from tests.factories import (
    BisectionFactory,
    ContributionStepFactory,
    ConvergenceTestFactory,
    DeprecationFactory,
    GapFactory,
    OwnerInterestFactory,
    TOSChangeRequestFactory,
    WaiverRequestFactory,
)
from tests.security.test_permission_matrix import EXPECTED, routes

pytestmark = pytest.mark.slow

SECRET = "fuzz-webhook-secret"
CSRF = "f" * 32
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- values ---------------------------------------------------------------------------

NASTY = [
    "",
    "0",
    "-1",
    "abc",
    "1 OR 1=1",
    "9" * 400,
    "1" * 5000,
    "1e999",
    "NaN",
    "2026-13-45",
    "2026-02-30",
    "2026-01-01T00:00:00+25:00",
    "9999-12-31",
    "0001-01-01",
    "\x00",
    "\x01\x02\x7f",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "https://example.org/x",
    "[" * 3000,
    "- " * 500 + "x",
    "a" * 20_001,
    "approve",
    "yes",
    "no",
    "reject",
    "accept",
    "changes",
    "submit",
    "save",
    "on",
    "production",
    "research",
    "done",
    "open",
    "not_applicable",
    "primary",
]
text_values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.integers().map(str),
    st.floats().map(str),
)
json_values = st.recursive(
    st.one_of(
        st.sampled_from(["a\x00b", "\ud800", "x\udfffy", "\u2028", "\ufeff"]),
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**18, max_value=10**400),
        st.floats(),
        text_values,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def deep(depth: int, opener: str, closer: str, inner: str = "") -> str:
    return opener * depth + inner + closer * depth


# --- the live server, its data and sessions ---------------------------------------------


@pytest.fixture
def portal(live_server, pruning, clustering, alice, bob, carol, settings, broker):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    broker("memory://")
    test = ConvergenceTestFactory(technique=pruning, name="resnet50")
    step = ContributionStepFactory(technique=pruning, step="proposal_rfc")
    change = TOSChangeRequestFactory(
        technique=pruning, to_level="research", justification="Why not.", requested_by=alice
    )
    deprecation = DeprecationFactory(
        technique=clustering, reason="other", planned_on=date(2027, 1, 1), started_by=carol
    )
    offer = OwnerInterestFactory(deprecation=deprecation, user=bob, message="I can help.")
    review = Review.objects.get(cycle=cycles_ensure(), technique=pruning)
    gap = GapFactory(technique=pruning, rule_id="owner-group")
    waiver = WaiverRequestFactory(gap=gap, requested_by=alice)
    bisection = BisectionFactory(test=test)
    sessions = {"owner": _session(alice), "staff": _session(carol), "anonymous": _session(None)}
    ids = {
        "step": step.pk,
        "change": change.pk,
        "offer": offer.pk,
        "review": review.pk,
        "gap": gap.pk,
        "test": test.pk,
        "waiver": waiver.pk,
        "bisection": bisection.pk,
    }
    yield {
        "url": live_server.url,
        "sessions": sessions,
        "ids": ids,
        "token": CIToken.issue("fuzz", internal=True, all_techniques=True)[1],
    }
    for session in sessions.values():
        session.close()


def _session(user) -> requests.Session:
    session = requests.Session()
    session.cookies.set("csrftoken", CSRF)
    session.headers["X-CSRFToken"] = CSRF
    if user is not None:
        client = Client()
        client.force_login(user)
        session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


def check(response, before_version: int, extra_unchanged=()):
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if 400 <= response.status_code < 500:
        assert data_version() == before_version, f"a {response.status_code} stored something"
        for label, before, now in extra_unchanged:
            assert before == now(), f"a {response.status_code} changed {label}"


# --- the upload API ---------------------------------------------------------------------

runs = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "test": st.one_of(st.just("pruning/resnet50"), st.just("resnet50"), json_values),
            "outcome": st.one_of(st.sampled_from(["passed", "failed", "error"]), json_values),
            "metrics": st.one_of(
                st.dictionaries(st.text(max_size=10), json_values, max_size=4), json_values
            ),
            "started_at": json_values,
            "tfmot_sha": st.one_of(st.just("abcdef1"), json_values),
            "log_url": json_values,
            "external_id": json_values,
            "tf_version": json_values,
        },
    ),
    max_size=4,
)
good_runs = st.lists(
    st.fixed_dictionaries(
        {
            "test": st.just("pruning/resnet50"),
            "outcome": st.sampled_from(["passed", "failed", "error", "skipped"]),
            "metrics": st.dictionaries(
                st.sampled_from(["top1_accuracy", "size_mb"]), st.floats(0, 100), max_size=2
            ),
        },
        optional={
            "started_at": st.sampled_from(["2026-11-20T03:00:00Z", "2026-11-21T03:00:00+02:00"]),
            "tfmot_sha": st.sampled_from(["abcdef1", "0123456789abcdef"]),
        },
    ),
    min_size=1,
    max_size=3,
)
json_bodies = st.one_of(
    st.builds(lambda r: json.dumps({"runs": r}), good_runs),
    st.builds(lambda r: json.dumps({"runs": r}), runs),
    st.builds(lambda v: json.dumps({"runs": [], "tfmot_sha": v}), json_values),
    st.integers(1, 3000).map(lambda d: '{"runs": ' + deep(d, "[", "]") + "}"),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)


@st.composite
def junit_bodies(draw):
    depth = draw(st.integers(1, 50))
    attrs = draw(
        st.dictionaries(
            st.sampled_from(["name", "timestamp", "time", "errors", "failures", "classname"]),
            text_values,
            max_size=4,
        )
    )
    attributes = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    case = f'<testcase classname="pruning" name="resnet50" {attributes}>' + draw(
        st.sampled_from(["", "<failure/>", "<error/>", "<skipped/>"])
    )
    case += (
        "<properties>"
        + "".join(
            f"<property name={quoteattr(k)} value={quoteattr(v)}/>"
            for k, v in draw(st.dictionaries(text_values, text_values, max_size=3)).items()
        )
        + "</properties></testcase>"
    )
    encoding = draw(st.sampled_from(["utf-8", "UTF-8", "x-unknown", "utf-16", "latin-1"]))
    body = deep(depth, f"<testsuite {attributes}>", "</testsuite>", case)
    return f'<?xml version="1.0" encoding="{encoding}"?>' + body


@FUZZ
@given(
    body=st.one_of(json_bodies, junit_bodies()),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/xml",
            "text/xml",
            "text/plain",
            "application/x-www-form-urlencoded",
        ]
    ),
    internal=st.booleans(),
)
def test_upload_api(portal, body, content_type, internal):
    before, runs_before = data_version(), ConvergenceRun.objects.count()
    response = requests.post(
        portal["url"] + "/api/convergence/upload/" + ("?internal=1" if internal else ""),
        data=body.encode("utf-8", "surrogatepass"),
        headers={"Authorization": f"Bearer {portal['token']}", "Content-Type": content_type},
        timeout=30,
    )
    check(response, before, [("runs", runs_before, ConvergenceRun.objects.count)])
    if response.status_code in (200, 201):
        assert ConvergenceRun.objects.count() - runs_before == response.json()["created"]


# --- the signed webhook -----------------------------------------------------------------

ISSUE = {
    "id": 1,
    "number": 7,
    "title": "t",
    "user": {"login": "kmlee"},
    "labels": [{"name": "bug"}],
    "state": "open",
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-01T10:00:00Z",
}
BASES = {
    "issues": {"action": "opened", "issue": ISSUE},
    "pull_request": {"action": "opened", "pull_request": ISSUE},
    "issue_comment": {
        "action": "created",
        "issue": ISSUE,
        "comment": {"id": 2, "user": {"login": "x"}, "created_at": "2026-11-02T10:00:00Z"},
    },
    "pull_request_review": {
        "action": "submitted",
        "pull_request": ISSUE,
        "review": {"id": 3, "user": {"login": "x"}, "submitted_at": "2026-11-02T10:00:00Z"},
    },
    "workflow_run": {
        "action": "completed",
        "workflow_run": {"id": 4, "run_attempt": 1, "status": "completed", "name": "ci"},
    },
    "ping": {"zen": "hi"},
}
PATHS = [
    ("action",),
    ("repository",),
    ("repository", "full_name"),
    ("sender",),
    *((obj, key) for obj in ("issue", "pull_request") for key in ISSUE),
    ("issue", "pull_request"),
    ("issue", "pull_request", "merged_at"),
    ("comment", "id"),
    ("comment", "created_at"),
    ("comment", "issue_url"),
    ("review", "id"),
    ("review", "submitted_at"),
    ("workflow_run", "id"),
    ("workflow_run", "run_attempt"),
    ("workflow_run", "status"),
    ("workflow_run", "created_at"),
]


def mutate(event: str, changes) -> dict:
    payload = json.loads(json.dumps(BASES[event]))
    payload["repository"] = {"full_name": "tensorflow/model-optimization"}
    for path, value in changes:
        target = payload
        for key in path[:-1]:  # missing objects on the way are created
            target = target.setdefault(key, {}) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[path[-1]] = value
    return payload


@FUZZ
@given(
    event=st.sampled_from([*sorted(BASES), "unknown"]),
    changes=st.lists(st.tuples(st.sampled_from(PATHS), json_values), max_size=3),
    delivery=st.one_of(
        st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40), st.just("d" * 300)
    ),
    raw=st.one_of(st.none(), st.integers(1, 5000).map(lambda d: deep(d, "[", "]"))),
)
def test_signed_webhook(portal, event, changes, delivery, raw):
    body = (raw or json.dumps(mutate(event if event in BASES else "ping", changes))).encode()
    before, deliveries = data_version(), WebhookDelivery.objects.count()
    response = requests.post(
        portal["url"] + "/webhooks/github/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(SECRET, body),
        },
        timeout=30,
    )
    check(response, before, [("deliveries", deliveries, WebhookDelivery.objects.count)])


# --- every form POST ----------------------------------------------------------------------

RATINGS = ["rating-owner-group", "note-owner-group"]
FORMS = {
    "login": ("/accounts/login/", ["username", "password"]),
    "account_login": ("/accounts/login/", ["username", "password"]),
    "socialaccount_connections": ("/accounts/social/connections/", ["account"]),
    "github_integration:bootstrap_decide": ("/github/bootstrap/decide", ["action", "proposal"]),
    "logout": ("/accounts/logout/", []),
    "ci_status:sync_now": ("/sync/now/", ["repository"]),
    "adherence:acknowledge": ("/adherence/gaps/{gap}/acknowledge", ["note"]),
    "adherence:waive": ("/adherence/gaps/{gap}/waive", ["reason", "until"]),
    "adherence:remediation": (
        "/adherence/gaps/{gap}/remediation",
        ["due_on", "assignee", "note"],
    ),
    "adherence:waiver_request": ("/adherence/gaps/{gap}/waiver-request", ["reason", "until"]),
    "adherence:waiver_decide": (
        "/adherence/waiver-requests/{waiver}/decide",
        ["approve", "comment"],
    ),
    "adherence:campaign_new": (
        "/adherence/campaigns/new",
        ["title", "rule_id", "tos_level", "due_on"],
    ),
    "convergence:bisection_revert": ("/ci/bisections/{bisection}/revert", []),
    "convergence:culprit_refresh": ("/ci/tests/{test}/culprit", []),
    "reviews:preview": ("/reviews/preview", ["text"]),
    "reviews:edit": (
        "/reviews/{review}/edit",
        [
            "benefits_usage",
            "major_updates",
            "proposal_maintainers",
            "proposal_notes",
            "proposal_tos",
            "proposal_deprecate",
            "version",
            "action",
            *RATINGS,
        ],
    ),
    "reviews:autosave": (
        "/reviews/{review}/autosave",
        ["benefits_usage", "major_updates", "version", "proposal_tos", *RATINGS],
    ),
    "reviews:decide": (
        "/reviews/{review}/decide",
        ["decision", "comment-benefits_usage", "comment-proposals"],
    ),
    "reviews:shepherd": ("/reviews/{review}/shepherd", ["shepherd"]),
    "reviews:submit": ("/reviews/{review}/submit", ["version"]),
    "lifecycle:ownership_check": ("/lifecycle/ownership/check", []),
    "lifecycle:step": ("/lifecycle/steps/{step}", ["state", "link", "done_on", "note"]),
    "lifecycle:moderate": ("/lifecycle/offers/{offer}/moderate", ["approve"]),
    "lifecycle:tos_decide": ("/lifecycle/tos-requests/{change}/decide", ["approve", "note"]),
    "lifecycle:launch": ("/lifecycle/pruning/launch", ["launch_date", "override"]),
    "lifecycle:deprecate": (
        "/lifecycle/pruning/deprecate",
        ["reason", "planned_on", "replacement", "explanation", "call_for_owners"],
    ),
    "lifecycle:help": ("/lifecycle/clustering/help", ["message"]),
    "lifecycle:tos_request": ("/lifecycle/pruning/tos", ["to_level", "justification"]),
}


def test_every_form_post_is_fuzzed():
    posted = {
        name
        for name, (_, may_post) in EXPECTED.items()
        if may_post and name in routes() and name not in ("convergence-upload", "ci_status:webhook")
    }
    assert posted <= set(FORMS), sorted(posted - set(FORMS))


@st.composite
def form_posts(draw):
    name = draw(st.sampled_from(sorted(FORMS)))
    path, fields = FORMS[name]
    data = {field: draw(text_values) for field in fields if draw(st.integers(0, 4))}
    data.update(draw(st.dictionaries(st.text(max_size=8), text_values, max_size=2)))
    as_json = draw(st.booleans()) and draw(st.booleans())
    return name, path, data, as_json, draw(st.sampled_from(["owner", "staff", "anonymous"]))


@settings(FUZZ, max_examples=120)
@given(post=form_posts())
def test_form_posts(portal, post):
    name, path, data, as_json, role = post
    url = portal["url"] + path.format(**portal["ids"])
    before = data_version()
    session = portal["sessions"][role]
    if as_json:  # JSON where a form is expected: refused, never stored
        response = session.post(
            url,
            data=json.dumps(data),
            allow_redirects=False,
            timeout=30,
            headers={"Content-Type": "application/json"},
        )
    else:
        response = session.post(url, data=data, allow_redirects=False, timeout=30)
    check(response, before)
    if name in (
        "login",
        "account_login",
        "logout",
    ):  # signing in or out changes the shared sessions: restore
        portal["sessions"].update(
            {"owner": _session_of(portal, "owner"), "staff": _session_of(portal, "staff")}
        )


def _session_of(portal, role):
    from django.contrib.auth import get_user_model

    return _session(
        get_user_model().objects.get(username={"owner": "alice", "staff": "carol"}[role])
    )


# --- query parameters of the pages and the API ------------------------------------------

PAGES = {
    "/": [],
    "/techniques/pruning/": [],
    "/owners/": [],
    "/pipeline/": [],
    "/me/techniques/": [],
    "/audit/": ["page", "actor", "model"],
    "/adherence/": ["tos_level", "owner_group", "stage", "severity", "sort", "page"],
    "/adherence/trend/": ["weeks"],
    "/adherence/gaps/{gap}/": [],
    "/adherence/feed.atom": [],
    "/badges/pruning.svg": ["style"],
    "/ci/": ["sort", "page"],
    "/ci/bisections/": ["state", "page"],
    "/releases/": ["sha", "page"],
    "/releases/readiness.json": ["sha"],
    "/reviews/": ["cycle", "status", "overdue", "page"],
    "/reviews/{review}/": [],
    "/reviews/{review}/edit": [],
    "/lifecycle/pruning/": [],
    "/lifecycle/ownership/": [],
    "/sync/": ["run"],
    "/sync/triage/": ["page"],
    "/api/techniques/": ["search", "ordering", "page", "format", "tos_level", "stage"],
    "/api/groups/": ["search", "page", "format"],
    "/api/maintainers/": ["search", "page", "format"],
    "/api/gaps/": ["state", "rule_id", "technique__slug", "page", "ordering"],
    "/api/rule-results/": ["status", "rule_id", "page"],
    "/api/convergence/tests/": ["state", "kind", "technique__slug", "page"],
    "/api/convergence/runs/": ["outcome", "test", "cursor"],
    "/api/convergence/bisections/": ["state", "test", "trigger", "page"],
    "/api/reviews/": ["status", "cycle", "page"],
}


@settings(FUZZ, max_examples=120)
@given(
    page=st.sampled_from(sorted(PAGES)),
    values=st.lists(text_values, min_size=6, max_size=6),
    extra=st.dictionaries(st.text(max_size=8), text_values, max_size=2),
    role=st.sampled_from(["owner", "staff", "anonymous"]),
    accept=st.sampled_from(["text/html", "application/json", "*/*", "x/y"]),
)
def test_query_parameters(portal, page, values, extra, role, accept):
    params = dict(zip(PAGES[page], values, strict=False)) | extra
    response = portal["sessions"][role].get(
        portal["url"] + page.format(**portal["ids"]),
        params=params,
        headers={"Accept": accept},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code < 500, (page, params, response.text[:500])


SHARP = ["\x00", "9" * 400, "-1", "2026-02-30", "[" * 3000, "a" * 5000]


def test_sharp_values_in_every_page_parameter(portal):
    """Beside the random examples: each page with every parameter set to each of the
    values that broke pages before (NUL, huge numbers, impossible dates, long text)."""
    session = portal["sessions"]["staff"]
    for page, names in sorted(PAGES.items()):
        for value in SHARP:
            params = dict.fromkeys([*names, "q"], value)
            response = session.get(
                portal["url"] + page.format(**portal["ids"]),
                params=params,
                allow_redirects=False,
                timeout=30,
            )
            assert response.status_code < 500, (page, value[:20], response.text[:300])
