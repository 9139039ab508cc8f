"""GitHub sign-in, users, teams and issue writes for the GitHub-shaped server.

- ``GET /login/oauth/authorize?client_id=&redirect_uri=&state=[&login=]`` approves at
  once, as ``login`` (default: the first demo owner, ``alice``), and redirects back with
  a one-time ``code``; ``POST /login/oauth/access_token`` exchanges it for a token;
  ``GET /user`` (also under ``/api/v3``) answers who the token belongs to.
- ``GET /orgs/{org}/teams/{slug}/members``: paginated, with ETags, from ``Dataset.teams``.
- ``GET /search/issues?q=``: ``repo:``, ``is:issue``, ``state:``, ``label:`` and words
  or a quoted phrase matched in the title or body.
- ``GET /repos/{o}/{r}/issues/{n}``, ``POST /repos/{o}/{r}/issues``,
  ``PATCH /repos/{o}/{r}/issues/{n}``, ``POST /repos/{o}/{r}/issues/{n}/comments``;
  writes answer 410 when ``Dataset.issues_enabled`` is False, 404 for another
  repository, and obey the server's faults and token like every other route.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

DEFAULT_LOGIN = "alice"
_REPO = r"^(?:/api/v3)?/repos/(?P<o>[^/]+)/(?P<r>[^/]+)"
_ISSUE = re.compile(_REPO + r"/issues/(?P<n>\d+)$")
_ISSUES = re.compile(_REPO + r"/issues$")
_COMMENTS = re.compile(_REPO + r"/issues/(?P<n>\d+)/comments$")
_MEMBERS = re.compile(r"^(?:/api/v3)?/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)/members$")


class _Refused(Exception):
    def __init__(self, status: int, message: str, errors: list[dict] | None = None):
        self.status = status
        self.message = message
        self.errors = errors  # a 422's field-level errors, as GitHub lists them


def _refusal(refused: _Refused) -> dict:
    body: dict = {"message": refused.message}
    if refused.errors is not None:
        body["errors"] = refused.errors
        body["documentation_url"] = "https://docs.github.com/rest/issues/issues#create-an-issue"
    return body


def _oauth(fake) -> dict:
    with fake.lock:
        if not hasattr(fake, "oauth"):
            fake.oauth = {"codes": {}, "tokens": {}}
        return fake.oauth


def _token_of(handler) -> str:
    value = handler.headers.get("Authorization") or ""
    return value.split(" ", 1)[1].strip() if " " in value else ""


def _api_token_ok(handler) -> bool:
    token = handler.fake.token
    return not token or _token_of(handler) == token


# --- GET --------------------------------------------------------------------------------
def serve_get(handler, path: str, query_string: str, fault: dict | None) -> bool:
    """Answer the GET routes of this module; False for any other path."""
    handler.ds = handler.fake.dataset  # these routes serve the server's main repository
    query = {k: v[-1] for k, v in parse_qs(query_string).items()}
    try:
        if path == "/login/oauth/authorize":
            return _authorize(handler, query)
        if path in ("/user", "/api/v3/user"):
            return _current_user(handler)
        match = _MEMBERS.match(path)
        if match:
            return _team_members(handler, query, fault, **match.groupdict())
        if path in ("/search/issues", "/api/v3/search/issues"):
            return _search(handler, query, fault)
        match = _ISSUE.match(path)
        if match:
            _check_repo(handler, match, api=True)
            return _send_issue(handler, 200, int(match["n"]))
    except _Refused as refused:
        handler._send_json(refused.status, _refusal(refused))
        return True
    return False


def _authorize(handler, query: dict) -> bool:
    redirect_uri = query.get("redirect_uri", "")
    if not query.get("client_id") or not redirect_uri.startswith(("http://", "https://")):
        raise _Refused(400, "client_id and an http(s) redirect_uri are required")
    login = query.get("login") or DEFAULT_LOGIN
    code = secrets.token_hex(10)
    _oauth(handler.fake)["codes"][code] = {"login": login, "client_id": query["client_id"]}
    params = {"code": code}
    if query.get("state"):
        params["state"] = query["state"]
    location = redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params)
    handler.send_response(302)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()
    return True


def _current_user(handler) -> bool:
    login = _oauth(handler.fake)["tokens"].get(_token_of(handler))
    if login is None:
        if handler.fake.token and _token_of(handler) == handler.fake.token:
            login = handler.fake.dataset.app_login
        else:
            raise _Refused(401, "Bad credentials")
    user = handler._user(login)
    user.update(
        {
            "name": login.title(),
            "email": handler.fake.dataset.public_emails.get(login.lower()),
            "avatar_url": "",
            "created_at": "2019-05-07T00:00:00Z",
        }
    )
    handler._send_json(200, user)
    return True


def _team_members(handler, query, fault, org: str, slug: str) -> bool:
    if not _api_token_ok(handler):
        raise _Refused(401, "Bad credentials")
    ds = handler.fake.dataset
    with ds.lock:
        members = ds.teams.get(f"{org}/{slug}".lower())
        if members is None:
            raise _Refused(404, "Not Found")
        page, item_key, info = handler._slice(list(members), query)
        data = [handler._user(login) for login in page]
    handler._answer((data, item_key, info), query, fault)
    return True


def _search(handler, query, fault) -> bool:
    if not _api_token_ok(handler):
        raise _Refused(401, "Bad credentials")
    ds = handler.fake.dataset
    try:
        terms = shlex.split(query.get("q", ""))
    except ValueError:
        raise _Refused(422, "Validation Failed: the q parameter is malformed") from None
    words: list[str] = []
    filters: dict[str, list[str]] = {}
    for term in terms:
        key, sep, value = term.partition(":")
        if sep and key in {"repo", "is", "state", "label", "in"}:
            filters.setdefault(key, []).append(value)
        else:
            words.append(term.lower())
    if not terms:
        raise _Refused(422, "Validation Failed: q is required")
    with ds.lock:
        if any(repo.lower() != ds.full_name.lower() for repo in filters.get("repo", [])):
            records = []
        else:
            records = list(reversed(ds.issues))
        kinds = {"issue": "issue", "pr": "pr", "pull-request": "pr"}
        for value in filters.get("is", []):
            if value in kinds:
                records = [r for r in records if r.kind == kinds[value]]
            elif value in {"open", "closed"}:
                records = [r for r in records if r.state == value]
        for value in filters.get("state", []):
            records = [r for r in records if r.state == value]
        for value in filters.get("label", []):
            records = [r for r in records if value in r.labels]
        records = [r for r in records if all(w in (r.title + "\n" + r.body).lower() for w in words)]
        page, _, info = handler._slice(records, query)
        data = [handler._issue_json(r) for r in page]
    handler._answer((data, "items", info), query, fault)
    return True


# --- writes -----------------------------------------------------------------------------
def dispatch(handler, method: str) -> bool:
    """POST/PATCH routes of this module; False for any other path."""
    handler.ds = handler.fake.dataset  # these routes serve the server's main repository
    path = urlsplit(handler.path).path
    if method == "POST" and path == "/login/oauth/access_token":
        return _access_token(handler)
    routes = [(_ISSUES, "POST", _create_issue), (_ISSUE, "PATCH", _update_issue)]
    routes.append((_COMMENTS, "POST", _add_comment))
    found = [(pattern.match(path), action) for pattern, verb, action in routes if verb == method]
    match, action = next(((m, a) for m, a in found if m), (None, None))
    if match is None or action is None:
        return False
    fake = handler.fake
    with fake.lock:
        fake.counters["requests"] += 1
        fake.paths.append(f"{method} {handler.path}")
        fake.auth_headers.append(handler.headers.get("Authorization"))
    body = _read_json(handler)
    fault = fake.take_fault(f"{method} {handler.path}")
    if fault and handler._fault(fault):
        return True
    try:
        if not _api_token_ok(handler):
            raise _Refused(401, "Bad credentials")
        _check_repo(handler, match)
        if body is None:
            raise _Refused(400, "Problems parsing JSON")
        action(handler, body, match)
    except _Refused as refused:
        handler._send_json(refused.status, _refusal(refused))
    return True


def _read_json(handler):
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _check_repo(handler, match, api: bool = False) -> None:
    if api and not _api_token_ok(handler):
        raise _Refused(401, "Bad credentials")
    ds = handler.fake.dataset
    if f"{match['o']}/{match['r']}".lower() != ds.full_name.lower():
        raise _Refused(404, "Not Found")


def _writable(handler):
    ds = handler.fake.dataset
    if not ds.issues_enabled:
        raise _Refused(410, "Issues are disabled for this repo")
    return ds


def _assignable(ds, logins) -> tuple[str, ...]:
    # GitHub drops assignees without push access (and unknown logins) silently.
    return tuple(
        login
        for login in logins or []
        if ds.permissions.get(str(login).lower()) in {"admin", "maintain", "write", "triage"}
    )


def _send_issue(handler, status: int, number: int) -> bool:
    ds = handler.fake.dataset
    with ds.lock:
        record = ds.issue(number)
        if record is None:
            raise _Refused(404, "Not Found")
        data = handler._issue_json(record)
    handler._send_json(status, data)
    return True


def _create_issue(handler, body: dict, match) -> None:
    ds = _writable(handler)
    title = str(body.get("title") or "").strip()
    if not title:
        raise _Refused(
            422,
            "Validation Failed",
            [{"resource": "Issue", "code": "missing_field", "field": "title"}],
        )
    now = datetime.now(UTC)
    with ds.lock:
        record = ds.add_issue(
            title,
            ds.app_login,
            now,
            body=str(body.get("body") or ""),
            labels=[str(label) for label in body.get("labels") or []],
            assignees=_assignable(ds, body.get("assignees")),
            association="MEMBER",
        )
    _send_issue(handler, 201, record.number)


def _update_issue(handler, body: dict, match) -> None:
    ds = _writable(handler)
    number = int(match["n"])
    now = datetime.now(UTC)
    with ds.lock:
        record = ds.issue(number)
        if record is None:
            raise _Refused(404, "Not Found")
        fields: dict[str, object] = {}
        for key in ("title", "body"):
            if key in body:
                fields[key] = str(body[key] or "")
        if "labels" in body:
            fields["labels"] = [str(label) for label in body["labels"] or []]
        if "assignees" in body:
            fields["assignees"] = _assignable(ds, body["assignees"])
        if body.get("state") in {"open", "closed"} and body["state"] != record.state:
            fields["state"] = body["state"]
            fields["closed_at"] = now if body["state"] == "closed" else None
        ds.update_issue(number, now, **fields)
    _send_issue(handler, 200, number)


def _add_comment(handler, body: dict, match) -> None:
    ds = _writable(handler)
    number = int(match["n"])
    text = str(body.get("body") or "").strip()
    if not text:
        raise _Refused(
            422,
            "Validation Failed",
            [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
        )
    with ds.lock:
        if ds.issue(number) is None:
            raise _Refused(404, "Not Found")
        comment = ds.add_comment(number, ds.app_login, datetime.now(UTC), text, "MEMBER")
        data = handler._comment_json(comment)
    handler._send_json(201, data)


def _access_token(handler) -> bool:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length).decode("utf-8", "replace") if length else ""
    if "json" in (handler.headers.get("Content-Type") or ""):
        try:
            form = {k: str(v) for k, v in json.loads(raw or "{}").items()}
        except (ValueError, AttributeError):
            form = {}
    else:
        form = {k: v[-1] for k, v in parse_qs(raw).items()}
    oauth = _oauth(handler.fake)
    grant = oauth["codes"].pop(form.get("code", ""), None)  # one use only
    if grant is None or grant["client_id"] != form.get("client_id"):
        handler._send_json(
            200,
            {
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
            },
        )
        return True
    token = "gho_" + secrets.token_hex(18)
    oauth["tokens"][token] = grant["login"]
    handler._send_json(200, {"access_token": token, "token_type": "bearer", "scope": ""})
    return True
