"""GitHub Actions on demand and the ``revertPullRequest`` mutation, for the GitHub-shaped
server, with GitHub's shapes and failure modes:

- ``POST /repos/{o}/{r}/actions/workflows/{workflow}/dispatches`` with ``{"ref",
  "inputs"}``: 204 with no body; 404 for an unknown workflow; 422 for a missing required
  input, an input the workflow does not declare, an unknown ref, or a workflow without
  the ``workflow_dispatch`` trigger.
- The run it creates is ``queued``, then ``in_progress``, then ``completed`` over a few
  seconds (``Dataset.run_timing``), listed by ``GET /repos/{o}/{r}/actions/runs`` and
  ``GET /repos/{o}/{r}/actions/workflows/{workflow}/runs`` (``event``, ``status``,
  ``created=>=``), read by ``GET /repos/{o}/{r}/actions/runs/{id}``; once completed it
  carries an artifact ``convergence-results`` (a zip of ``results.json`` in the portal's
  results format) served by the artifact routes of the server.
- Whether the test passes at a commit comes from the commits it contains
  (:class:`Behaviour`): a test fails at and after its culprit commit, a flaky test fails
  at random, a metric shifts at its culprit commit. The bisection must find the culprit
  by running, as it would on GitHub.
- ``GET /repos/{o}/{r}/pulls/{n}``: a pull request (its GraphQL ``node_id`` ``PR_<n>``).
- GraphQL ``mutation { revertPullRequest(input: {pullRequestId, title, body, draft}) {
  revertPullRequest { number url } } }``: opens the revert as a new PR; a node id that
  names no PR is NOT_FOUND, a PR that is not merged, was reverted already, or does not
  revert cleanly (``Dataset.unrevertable``) is UNPROCESSABLE, with ``data.revertPullRequest``
  null as GitHub answers.
"""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fake_github.dataset import Dataset, RunRecord, iso

ARTIFACT = "convergence-results"
_REPO = r"^(?:/api/v3)?/repos/(?P<o>[^/]+)/(?P<r>[^/]+)"
_DISPATCH = re.compile(_REPO + r"/actions/workflows/(?P<w>[^/]+)/dispatches$")
_WORKFLOW_RUNS = re.compile(_REPO + r"/actions/workflows/(?P<w>[^/]+)/runs$")
_RUN = re.compile(_REPO + r"/actions/runs/(?P<n>\d+)$")
_PULL = re.compile(_REPO + r"/pulls/(?P<n>\d+)$")


@dataclass
class Workflow:
    """A workflow file of the repository that can be dispatched."""

    path: str  # .github/workflows/convergence.yml
    name: str
    inputs: dict[str, bool] = field(default_factory=dict)  # input name -> required
    dispatchable: bool = True  # has the workflow_dispatch trigger
    hang: bool = False  # its runs never complete (a stuck runner)
    sha_input: str = "sha"  # the input that names the commit to test
    test_input: str = "test"  # the input that names the test

    @property
    def file(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class Behaviour:
    """How one convergence test behaves at each commit of the repository."""

    culprit: str = ""  # a commit SHA: the test fails at it and at every later commit
    flaky: float = 0.0  # the chance that a run fails anyway
    metric: str = ""  # the metric the runs report
    value: float = 0.0  # its value before the culprit
    shift: float = 0.0  # added at and after ``shift_at`` (a change point)
    shift_at: str = ""
    noise: float = 0.0  # uniform noise, +/-
    errors_at: dict[str, int] = field(default_factory=dict)  # sha -> runs that error first


def _workflows(ds: Dataset) -> dict[str, Workflow]:
    return ds.workflows


def _find_workflow(ds: Dataset, key: str) -> Workflow | None:
    for workflow in _workflows(ds).values():
        if key in {workflow.file, workflow.path, str(workflow_id(workflow))}:
            return workflow
    return None


def workflow_id(workflow: Workflow) -> int:
    import hashlib

    return int(hashlib.md5(workflow.name.encode(), usedforsecurity=False).hexdigest()[:6], 16)


def outcome_at(ds: Dataset, test: str, sha: str, attempt: int) -> tuple[str, dict[str, float]]:
    """The outcome and metrics of ``test`` run at ``sha`` (the ``attempt``-th run there)."""
    behaviour = ds.behaviours.get(test, Behaviour())
    index = ds.commit_index(sha)
    rng = random.Random(f"{test}:{sha}:{attempt}")

    def reached(culprit: str) -> bool:
        at = ds.commit_index(culprit) if culprit else None
        return at is not None and index is not None and index >= at

    metrics: dict[str, float] = {}
    if behaviour.metric:
        value = behaviour.value + (behaviour.shift if reached(behaviour.shift_at) else 0)
        value += rng.uniform(-behaviour.noise, behaviour.noise)
        metrics[behaviour.metric] = round(value, 3)
    if attempt <= behaviour.errors_at.get(sha, 0):
        return "error", {}
    failed = reached(behaviour.culprit) or rng.random() < behaviour.flaky
    return ("failed" if failed else "passed"), metrics


def _artifact(ds: Dataset, test: str, sha: str, attempt: int, run: RunRecord) -> bytes:
    outcome, metrics = outcome_at(ds, test, sha, attempt)
    document = {
        "tfmot_sha": sha,
        "started_at": iso(run.created_at),
        "runs": [{"test": test, "outcome": outcome, "metrics": metrics}],
    }
    return results_zip(document)


def results_zip(document: dict) -> bytes:
    """A ``convergence-results`` artifact: a zip of ``results.json``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("results.json", json.dumps(document))
    return buffer.getvalue()


def advance(ds: Dataset, now: datetime | None = None) -> None:
    """Move dispatched runs along: queued, then in progress, then completed with their
    artifact, as the clock passes ``Dataset.run_timing``."""
    from fake_github.dataset import ArtifactRecord

    now = now or datetime.now(UTC)
    queued, running = ds.run_timing
    with ds.lock:
        for run in ds.runs:
            spec = ds.dispatched.get(run.id)
            if spec is None or run.status == "completed":
                continue
            age = (now - run.created_at).total_seconds()
            workflow = _find_workflow(ds, spec["workflow"])
            if age >= queued and run.status == "queued":
                run.status, run.updated_at = "in_progress", now
            if age >= queued + running and not (workflow and workflow.hang):
                test, sha = spec["test"], spec["sha"]
                attempt = spec["attempt"]
                data = _artifact(ds, test, sha, attempt, run)
                outcome = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("results.json"))
                conclusion = "success" if outcome["runs"][0]["outcome"] == "passed" else "failure"
                run.status, run.conclusion, run.updated_at = "completed", conclusion, now
                run.artifacts.append(ArtifactRecord(ds.new_id(), run.id, ARTIFACT, data, now))
                ds._changed()


def run_json(handler, run: RunRecord) -> dict:
    data = handler._run_json(run)
    spec = handler.ds.dispatched.get(run.id)
    if spec:
        # The workflow's run-name: "<test> at <sha>", as the portal's workflow sets it.
        data["display_title"] = f"{spec['test']} at {spec['sha']}"
        data["workflow_id"] = spec["workflow_id"]
    return data


# --- GET ----------------------------------------------------------------------------------
def serve_get(handler, path: str, query_string: str, fault: dict | None) -> bool:
    """The GET routes of this module (False for others); every Actions route first moves
    the dispatched runs along."""
    from fake_github.server import HTTPError

    if "/actions/" not in path and not _PULL.match(path):
        return False
    match = re.match(_REPO, path)
    ds = handler.fake.datasets.get(f"{match['o']}/{match['r']}".lower()) if match else None
    if ds is None:
        return False
    advance(ds)
    handler.ds = ds
    if handler.fake.token and handler.headers.get("Authorization") not in {
        f"Bearer {handler.fake.token}",
        f"token {handler.fake.token}",
    }:
        handler._send_json(401, {"message": "Bad credentials"})
        return True
    query = {k: v[-1] for k, v in parse_qs(query_string).items()}
    try:
        with ds.lock:
            if m := _WORKFLOW_RUNS.match(path):
                result = _workflow_runs(handler, ds, query, m["w"])
            elif m := _RUN.match(path):
                run = next((r for r in ds.runs if r.id == int(m["n"])), None)
                if run is None:
                    raise HTTPError(404, "Not Found")
                result = run_json(handler, run)
            elif m := _PULL.match(path):
                record = ds.issue(int(m["n"]))
                if record is None or record.kind != "pr":
                    raise HTTPError(404, "Not Found")
                result = handler._pull_json(record)
                result["node_id"] = f"PR_{record.number}"
                result["merged"] = record.merged_at is not None
                result["head"] = {"ref": f"revert-{record.number}", "sha": ""}
            else:
                return False  # the server's own Actions routes, runs moved along
    except HTTPError as error:
        handler._send_json(error.status, {"message": error.message})
        return True
    handler._answer(result, query, fault)
    return True


def _workflow_runs(handler, ds: Dataset, query: dict, key: str):
    from fake_github.server import HTTPError, _parse_time

    workflow = _find_workflow(ds, key)
    if workflow is None:
        raise HTTPError(404, "Not Found")
    runs = [r for r in ds.runs if r.workflow_path == workflow.path]
    created = query.get("created", "")
    if created.startswith(">="):
        since = _parse_time(created[2:])
        runs = [r for r in runs if r.created_at >= since]
    elif created:
        raise HTTPError(422, "Only created=>=TIME is supported here")
    for key_, attr in (("branch", "branch"), ("event", "event"), ("status", "status")):
        if query.get(key_):
            runs = [r for r in runs if getattr(r, attr) == query[key_]]
    page, _, info = handler._slice(runs, query)
    return [run_json(handler, r) for r in page], "workflow_runs", info


# --- POST: dispatch -------------------------------------------------------------------------
def dispatch(handler) -> bool:
    """POST .../actions/workflows/{workflow}/dispatches; False for any other path."""
    path = urlsplit(handler.path).path
    match = _DISPATCH.match(path)
    if not match:
        return False
    fake = handler.fake
    handler._record_request()
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    fault = fake.take_fault(f"POST {handler.path}")
    if fault and handler._fault(fault):
        return True
    if fake.token and handler.headers.get("Authorization") not in {
        f"Bearer {fake.token}",
        f"token {fake.token}",
    }:
        handler._send_json(401, {"message": "Bad credentials"})
        return True
    ds = fake.datasets.get(f"{match['o']}/{match['r']}".lower())
    if ds is None:
        handler._send_json(404, {"message": "Not Found"})
        return True
    handler.ds = ds
    try:
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        handler._send_json(400, {"message": "Problems parsing JSON"})
        return True
    with ds.lock:
        status, message = _dispatch(ds, match["w"], body)
    if status == 204:
        handler._send_raw(204, b"", None)
    else:
        handler._send_json(status, {"message": message})
    return True


def _dispatch(ds: Dataset, key: str, body: dict) -> tuple[int, str]:
    workflow = _find_workflow(ds, key)
    if workflow is None:
        return 404, "Not Found"
    if not workflow.dispatchable:
        return 422, "Workflow does not have 'workflow_dispatch' trigger"
    ref = body.get("ref")
    if not isinstance(ref, str) or not ref:
        return 422, 'Invalid request.\n\n"ref" wasn\'t supplied.'
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict):
        return 422, "Invalid request.\n\nFor 'properties/inputs', is not an object."
    branch = ref.removeprefix("refs/heads/")
    if branch != ds.default_branch and not ref.startswith("refs/tags/"):
        return 422, f"No ref found for: {ref}"
    unexpected = sorted(set(inputs) - set(workflow.inputs))
    if unexpected:
        return 422, f"Unexpected inputs provided: {json.dumps(unexpected)}"
    for name, required in workflow.inputs.items():
        if required and not inputs.get(name):
            return 422, f"Required input '{name}' not provided"
    sha = str(inputs.get(workflow.sha_input, ""))
    if ds.commit_index(sha) is None:
        # The workflow checks the commit out: an unknown one fails the run, not the call.
        sha = sha or ds.commits[-1].sha
    test = str(inputs.get(workflow.test_input, ""))
    now = datetime.now(UTC)
    attempt = 1 + sum(
        1 for spec in ds.dispatched.values() if spec["test"] == test and spec["sha"] == sha
    )
    run = ds.add_workflow_run(
        workflow.name,
        None,
        created_at=now,
        head_sha=ds.commits[-1].sha if ds.commits else "",
        branch=branch,
        event="workflow_dispatch",
        status="queued",
        workflow_path=workflow.path,
        duration=timedelta(),
    )
    ds.dispatched[run.id] = {
        "workflow": workflow.file,
        "workflow_id": workflow_id(workflow),
        "test": test,
        "sha": sha,
        "attempt": attempt,
    }
    return 204, ""


# --- GraphQL: revertPullRequest --------------------------------------------------------------
def graphql(handler, body: dict, fault: dict | None) -> bool:
    """Answer a ``revertPullRequest`` mutation; False for any other document."""
    query = str(body.get("query") or "")
    if "revertPullRequest" not in query or not query.lstrip().startswith("mutation"):
        return False
    variables = body.get("variables") or {}
    data = variables.get("input") if isinstance(variables, dict) else None
    if not isinstance(data, dict) or not data.get("pullRequestId"):
        handler._send_json(
            200,
            {
                "errors": [
                    {
                        "message": "Variable $input of type RevertPullRequestInput! was "
                        "provided invalid value for pullRequestId (Expected value to not "
                        "be null)",
                        "locations": [{"line": 1, "column": 10}],
                    }
                ]
            },
        )
        return True
    ds = handler.fake.dataset
    handler.ds = ds
    with ds.lock:
        answer = _revert(handler, ds, data)
    handler._answer(answer, {}, fault)
    return True


def _refusal(kind: str, message: str) -> dict:
    return {
        "data": {"revertPullRequest": None},
        "errors": [
            {
                "type": kind,
                "path": ["revertPullRequest"],
                "locations": [{"line": 1, "column": 50}],
                "message": message,
            }
        ],
    }


def _revert(handler, ds: Dataset, data: dict) -> dict:
    node_id = str(data["pullRequestId"])
    number = int(node_id[3:]) if re.fullmatch(r"PR_\d+", node_id) else None
    record = ds.issue(number) if number else None
    if record is None or record.kind != "pr":
        return _refusal(
            "NOT_FOUND", f"Could not resolve to a node with the global id of '{node_id}'"
        )
    if record.merged_at is None:
        return _refusal("UNPROCESSABLE", "Pull request is not merged and cannot be reverted.")
    if record.number in ds.reverts:
        return _refusal(
            "UNPROCESSABLE", f"Pull request #{record.number} has already been reverted."
        )
    if record.number in ds.unrevertable:
        return _refusal(
            "UNPROCESSABLE",
            "The revert could not be created: the changes do not revert cleanly.",
        )
    now = datetime.now(UTC)
    revert = ds.add_pull(
        str(data.get("title") or f'Revert "{record.title}"'),
        ds.app_login,
        now,
        body=str(data.get("body") or ""),
        draft=bool(data.get("draft", False)),
        files=list(record.files),
        association="MEMBER",
    )
    ds.reverts[record.number] = revert.number
    url = f"{handler._html}/pull/{revert.number}"
    return {
        "data": {
            "revertPullRequest": {
                "pullRequest": {
                    "number": record.number,
                    "url": f"{handler._html}/pull/{record.number}",
                },
                "revertPullRequest": {"number": revert.number, "url": url},
            }
        }
    }


__all__ = ["ARTIFACT", "Behaviour", "Workflow", "advance", "outcome_at", "results_zip"]
