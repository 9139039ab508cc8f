"""``demo_dataset()``: the toolkit's repository as the demo shows it.

Labels and releases come from demo_data/ (the real repository's); issues, PRs,
comments, commits and CI runs are made up, deterministically for a given ``now``, to
show every figure and rule: answered and unanswered questions, PRs waiting for review,
unlabeled items that belong to a technique, API changes with and without TFMOT approval,
a release whose notes forget a technique, a CI workflow that was red for a while, a
maintainer with read access only. Like the real repository it has a
``.github/labeler.yml`` (actions/labeler's format: which paths carry which technique
label) and no CODEOWNERS; ``demo_dataset(with_codeowners=True)`` adds a CODEOWNERS file
that drifted from the registry, for the tests of the CODEOWNERS drift check.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from fake_github.actions import ARTIFACT, Behaviour, Workflow, outcome_at, results_zip
from fake_github.dataset import CommitRecord, Dataset

DEMO_DATA = Path(__file__).resolve().parents[1] / "demo_data"
PREFIX = "tensorflow_model_optimization/python/core/"

# label -> (maintainers, implementation paths, public API path, words for titles)
AREAS = {
    "technique:pruning": (
        ["alice", "dave"],
        ["sparsity/keras/prune.py", "sparsity/keras/pruning_wrapper.py"],
        "api/sparsity/keras/__init__.py",
        "prune_low_magnitude",
    ),
    "technique:qat": (
        ["alice", "dave"],
        ["quantization/keras/quantize.py", "quantization/keras/quantize_wrapper.py"],
        "api/quantization/keras/__init__.py",
        "quantize_model",
    ),
    "technique:clustering": (
        ["bob", "erin"],
        ["clustering/keras/cluster.py", "clustering/keras/cluster_wrapper.py"],
        "api/clustering/keras/__init__.py",
        "cluster_weights",
    ),
    "comp:weight compression": (
        ["frank"],
        ["common/keras/compression/algorithm.py"],
        "",
        "WeightCompressor",
    ),
}
BOTS = ["google-ml-butler[bot]", "github-actions[bot]"]
OUTSIDERS = ["kmlee", "priya-ml", "jdoe42", "tflite-fan", "rohan-s", "mchen"]
PERMISSIONS = {
    "alice": "admin",
    "carol": "admin",
    "dave": "maintain",
    "bob": "triage",
    "erin": "write",
    "frank": "read",  # the demo's missing-triage-access gap
}
# Maintained by hand: the quantization, sparsity and collaborative-optimization lines agree
# with the registry; clustering names a former owner, tensor_encoding misses one, and the
# compression and weight-sharing paths are not listed (the drift the portal reports).
CODEOWNERS = """\
# Ownership of the toolkit's subpackages (maintained by hand).
/tensorflow_model_optimization/python/core/sparsity/ @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/api/sparsity/ @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/examples/sparsity/ @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/sparsity/keras/pruning_policy.py @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/sparsity/keras/tools/ @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/quantization/keras/ @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/api/quantization/ @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/quantization/keras/experimental/ @alice @dave @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/quantization/keras/collab_opts/ @bob @erin
/tensorflow_model_optimization/python/core/quantization/keras/collab_opts/prune_preserve/ @bob @erin
/tensorflow_model_optimization/python/core/quantization/keras/collab_opts/cluster_preserve/ @bob @erin
/tensorflow_model_optimization/python/core/clustering/ @bob @oldowner
/tensorflow_model_optimization/python/core/api/clustering/ @bob @erin
/tensorflow_model_optimization/python/examples/clustering/ @bob @erin
/tensorflow_model_optimization/python/core/clustering/keras/experimental/ @bob @erin
/tensorflow_model_optimization/python/core/internal/tensor_encoding/ @alice
"""
# The real repository's .github/labeler.yml (actions/labeler v4 format), as of 2020-10.
LABELER = """\
# Labels the labeler workflow puts on PRs by the paths they change.
technique:clustering:
- tensorflow_model_optimization/python/core/clustering/**/*
- tensorflow_model_optimization/python/core/api/clustering/**/*
- tensorflow_model_optimization/python/examples/clustering/**/*
- tensorflow_model_optimization/g3doc/guide/clustering/**/*

technique:pruning:
- tensorflow_model_optimization/python/core/sparsity/**/*
- tensorflow_model_optimization/python/core/api/sparsity/**/*
- tensorflow_model_optimization/python/examples/sparsity/**/*
- tensorflow_model_optimization/g3doc/guide/pruning/**/*

technique:qat:
- tensorflow_model_optimization/python/core/quantization/**/*
- tensorflow_model_optimization/python/core/api/quantization/**/*
- tensorflow_model_optimization/python/examples/quantization/**/*
- tensorflow_model_optimization/g3doc/guide/quantization/**/*

comp:weight compression:
- tensorflow_model_optimization/python/core/common/keras/compression/**/*

# Note: this does not capture all PRs that need a API review.
api-review:
- tensorflow_model_optimization/python/core/api/**/*
"""
RELEASE_EXTRA = {
    "v0.8.1": "\n\n## Pruning\n- prune_low_magnitude keeps sparsity masks with numpy v2.\n\n"
    "## Clustering\n- Weight clustering works with Keras 2.15 layers.",
}


def _at(now: datetime, days: float, hour: int = 9) -> datetime:
    return (now - timedelta(days=days)).replace(hour=hour, minute=17, second=0)


def demo_dataset(now: datetime | None = None, *, with_codeowners: bool = False) -> Dataset:
    """The demo repository; the same ``now`` (default: today 00:00 UTC) gives the same
    data, ids and ETags. Its files are the real repository's kind, a labeler.yml and no
    CODEOWNERS; ``with_codeowners=True`` adds a CODEOWNERS that drifts from the registry."""
    now = now or datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    rng = random.Random(20190507)  # the first release's date: any fixed seed will do
    ds = Dataset(owner="tensorflow", name="model-optimization", default_branch="master")
    for login, role in PERMISSIONS.items():
        ds.set_permission(login, role)
    _labels(ds)
    _releases(ds)
    for label, (maintainers, paths, _api_path, word) in AREAS.items():
        _area_items(ds, now, rng, label, maintainers, paths, word)
    _unlabeled(ds, now)
    _merged_history(ds, now, rng)
    _ci_runs(ds, now)
    _convergence_nightly(ds, now)
    ds.set_file(".github/labeler.yml", LABELER)
    if with_codeowners:
        ds.set_file(".github/CODEOWNERS", CODEOWNERS)
    ds.set_file("README.md", "# TensorFlow Model Optimization Toolkit\n")
    ds.set_team("tensorflow/tf-mot", ["alice", "dave"])  # the demo group's GitHub team
    return ds


def _labels(ds: Dataset) -> None:
    colors = ["0e8a16", "1d76db", "5319e7", "fbca04", "d93f0b", "006b75", "b60205"]
    for index, label in enumerate(json.loads((DEMO_DATA / "labels.json").read_text())):
        ds.add_label(
            label["name"], colors[index % len(colors)], label.get("description_seen") or ""
        )
    # Labels of their own for techniques that shared one (the RFC's rule, adopted in the demo).
    for index, label in enumerate(json.loads((DEMO_DATA / "adopted_labels.json").read_text())):
        ds.add_label(label["name"], colors[index % len(colors)], label["description"])


def _releases(ds: Dataset) -> None:
    for entry in json.loads((DEMO_DATA / "releases.json").read_text()):
        published = datetime.fromisoformat(entry["tag_commit_date"]).replace(hour=18, tzinfo=UTC)
        notes = f"TensorFlow Model Optimization {entry['version']}\n\n{entry['summary']}"
        notes += RELEASE_EXTRA.get(entry["tag"], "")
        ds.add_release(
            entry["tag"],
            published,
            notes,
            name=f"TensorFlow Model Optimization {entry['version']}",
            prerelease="-rc" in entry["version"],
        )


def _area_items(ds, now, rng, label, maintainers, paths, word) -> None:
    """Issues and PRs of one technique label, with the demo's gaps for some labels."""
    first, second = maintainers[0], maintainers[-1]
    outsider = OUTSIDERS[len(label) % len(OUTSIDERS)]
    # 1. A question answered the same day, then closed.
    issue = ds.add_issue(
        f"How do I use {word} with a subclassed model?",
        outsider,
        _at(now, 60),
        labels=[label, "question"],
        body=f"I call {word} on my model and get a ValueError.",
    )
    ds.add_comment(issue.number, BOTS[0], _at(now, 60, 10), "Thanks for the report.")
    ds.add_comment(issue.number, first, _at(now, 60, 15), "Wrap the inner layers instead.")
    ds.update_issue(issue.number, _at(now, 58), state="closed", closed_at=_at(now, 58))
    # 2. A bug answered after three days, still open.
    issue = ds.add_issue(
        f"{word} produces NaN loss with mixed precision",
        OUTSIDERS[(len(label) + 1) % len(OUTSIDERS)],
        _at(now, 40),
        labels=[label, "bug"],
        body="Reproducible in a Colab; TF 2.15.",
    )
    ds.add_comment(issue.number, outsider, _at(now, 39), "Same here.")
    ds.add_comment(issue.number, second, _at(now, 37), "Confirmed, a fix is in review.")
    # 3. A feature request answered by a maintainer.
    issue = ds.add_issue(
        f"Support Conv3D in {word}",
        "mchen",
        _at(now, 50),
        labels=[label, "feature request"],
        body="Conv3D layers are skipped today.",
    )
    ds.add_comment(issue.number, first, _at(now, 48), "Contributions welcome.")
    # 4. A recent question not answered yet (within the 14 days).
    ds.add_issue(
        f"Is {word} compatible with TF 2.16?",
        "rohan-s",
        _at(now, 4),
        labels=[label, "question"],
        body="Asking before upgrading.",
    )
    # 5. A reviewed PR, open.
    pr = ds.add_pull(
        f"Fix {word} docstring example",
        "priya-ml",
        _at(now, 6),
        labels=[label],
        files=[PREFIX + paths[0]],
        body="Docs only.",
    )
    ds.add_review(pr.number, second, "COMMENTED", _at(now, 5), "One nit.")
    _area_gaps(ds, now, label, paths, word)


def _area_gaps(ds, now, label, paths, word) -> None:
    """The demo's gaps for some labels: an issue waiting for a maintainer, PRs waiting
    for a review, a draft."""
    if label in {"technique:pruning", "comp:weight compression"}:
        issue = ds.add_issue(
            f"{word} crashes on a model with shared layers",
            "jdoe42",
            _at(now, 21 if label == "technique:pruning" else 45),
            labels=[label, "bug"],
            body="Traceback attached.",
        )
        # Only a bot and another user answered: still waiting for a maintainer.
        ds.add_comment(issue.number, BOTS[0], _at(now, 20), "Assigning to the owners.")
        ds.add_comment(issue.number, "tflite-fan", _at(now, 19), "+1")
    if label in {"technique:qat", "technique:clustering"}:
        ds.add_pull(
            f"Add per-channel option to {word}",
            "kmlee",
            _at(now, 20 if label == "technique:qat" else 17),
            labels=[label],
            files=[PREFIX + paths[-1]],
            body="Adds an option and tests.",
        )
    if label == "technique:clustering":
        ds.add_pull(
            f"Draft: experiment with {word} on RNNs",
            "erin",
            _at(now, 30),
            labels=[label],
            draft=True,
            files=[PREFIX + paths[0]],
        )


def _unlabeled(ds, now) -> None:
    """Items nobody labeled: the triage queue suggests the label they probably need."""
    ds.add_issue(
        "prune_low_magnitude fails on Conv1DTranspose",
        "kmlee",
        _at(now, 10),
        body="Using tfmot.sparsity.keras with TF 2.15 raises a KeyError.",
    )
    ds.add_pull(
        "Speed up the cluster centroid update",
        "tflite-fan",
        _at(now, 9),
        files=[PREFIX + "clustering/keras/cluster_wrapper.py"],
        body="Vectorises the centroid update.",
    )
    ds.add_issue(
        "Quantization aware training loses accuracy on MobileNetV3",
        "priya-ml",
        _at(now, 2),
        body="quantize_model drops 5 points of top-1.",
    )
    ds.add_issue("pip install fails on Windows ARM", "jdoe42", _at(now, 12), body="No wheel.")


# The commit history: a year of commits, two a day over the last RECENT_DAYS days (so
# each nightly convergence run tests a commit of its own).
HISTORY, RECENT_DAYS = 240, 36


def _commit_dates(now: datetime) -> list[datetime]:
    recent = 2 * RECENT_DAYS
    older = HISTORY - recent
    start, split = now - timedelta(days=365), now - timedelta(days=RECENT_DAYS)
    step = (split - start) / older
    dates = [start + step * index + timedelta(hours=3) for index in range(older)]
    for day in range(RECENT_DAYS, 0, -1):
        dates += [_at(now, day, 10), _at(now, day, 16)]
    return dates


def _merged_history(ds, now, rng) -> None:
    """A year of commits on master, half of them merges of labeled, reviewed PRs."""
    labels = list(AREAS)
    for index, date in enumerate(_commit_dates(now)):
        if index % 2:
            ds.add_commit(f"Internal change {index}", "tensorflower-gardener", date)
            continue
        label = labels[(index // 2) % len(labels)]
        maintainers, paths, api_path, word = AREAS[label]
        files = [PREFIX + paths[index % len(paths)]]
        pr_labels = [label]
        reviewer = maintainers[0]
        touches_api = api_path and index % 12 == 0
        if touches_api:
            files.append(PREFIX + api_path)
            if label != "technique:clustering" or index < 200:
                pr_labels.append("api-review")
        author = rng.choice(OUTSIDERS + maintainers)
        created = date - timedelta(days=3)
        pr = ds.add_pull(
            f"{word}: change {index}",
            author,
            created,
            labels=pr_labels,
            files=files,
            state="closed",
            closed_at=date,
            merged_at=date,
            body=f"Improves {word}.",
        )
        if reviewer != author:
            ds.add_review(pr.number, reviewer, "APPROVED", date - timedelta(hours=5), "LGTM")
        ds.add_commit(f"{pr.title} (#{pr.number})", author, date, pr_number=pr.number)
    # The frank gap: his last activity is over a year ago.
    old = ds.add_issue(
        "WeightCompressor: document the algorithm interface",
        "frank",
        now - timedelta(days=400),
        labels=["comp:weight compression"],
        state="closed",
        closed_at=now - timedelta(days=399),
    )
    del old


def _ci_runs(ds, now) -> None:
    """CI on master every 12 hours for 20 days, red for two days a week ago."""
    for step in range(40):
        created = now - timedelta(days=20) + timedelta(hours=12 * step)
        red = 20 <= step < 24
        ds.add_workflow_run(
            "CI",
            "failure" if red else "success",
            created_at=created,
            head_sha=_head_at(ds, created).sha,
            workflow_path=".github/workflows/ci.yml",
        )
    ds.add_workflow_run(
        "CI",
        "success",
        created_at=now - timedelta(days=2),
        event="pull_request",
        branch="kmlee/per-channel",
        workflow_path=".github/workflows/ci.yml",
    )


def _head_at(ds: Dataset, when: datetime) -> CommitRecord:
    """The newest commit of the default branch at ``when`` (what a run there checks out)."""
    before = [commit for commit in ds.commits if commit.date <= when]
    return before[-1] if before else ds.commits[0]


# The nightly convergence workflow: QAT's two tests run in it, and their outcomes come
# from the commits each run tests (fake_github.actions.Behaviour), so that the portal's
# bisection finds the culprits by running the workflow again, as on GitHub.
NIGHTLY = Workflow(
    ".github/workflows/convergence.yml", "Convergence tests", {"sha": True, "test": True}
)
PYTHONS = ("3.10", "3.11", "3.12")  # the nightly's matrix, one Python a night
NIGHTS, OUTAGE = 30, 3  # nightly runs, and nights without one just before the first red
RED_TEST = "qat/mobilenetv2-imagenet-qat-int8"
SHIFTED_TEST = "qat/resnet50-imagenet-qat-int8"


def _qat_merge(ds: Dataset, now: datetime, days: int) -> CommitRecord:
    """The newest merge of a QAT pull request at least ``days`` days old."""
    for commit in reversed(ds.commits):
        pull = ds.issue(commit.pr_number) if commit.pr_number else None
        if pull and "technique:qat" in pull.labels and commit.date <= now - timedelta(days=days):
            return commit
    raise LookupError("the demo history has no QAT merge")


def _convergence_nightly(ds: Dataset, now: datetime) -> None:
    """The workflow, how QAT's tests behave, and thirty nights of its scheduled runs, each
    with a ``convergence-results`` artifact; the runner was down for three nights before
    the first red one, so the red test's culprit range holds several commits."""
    ds.workflows[NIGHTLY.file] = NIGHTLY
    culprit = _qat_merge(ds, now, 6)
    # The break fails the test and costs 0.8 points of top-1 (below the target's tolerance).
    ds.behaviours[RED_TEST] = Behaviour(
        culprit=culprit.sha,
        metric="top1_accuracy",
        value=72.85,
        shift=-0.8,
        shift_at=culprit.sha,
        noise=0.1,
    )
    # A shift of -0.2 points: inside the target's 0.3 tolerance, a change point all the same.
    shift = _qat_merge(ds, now, 13)
    ds.behaviours[SHIFTED_TEST] = Behaviour(
        metric="top1_accuracy", value=77.3, shift=-0.2, shift_at=shift.sha, noise=0.04
    )
    first_red = next(n for n in range(NIGHTS, 0, -1) if _night(now, n) > culprit.date)
    for night in range(NIGHTS, 0, -1):
        if first_red < night <= first_red + OUTAGE:
            continue
        started = _night(now, night)
        head = _head_at(ds, started)
        runs = []
        for test in (RED_TEST, SHIFTED_TEST):
            outcome, metrics = outcome_at(ds, test, head.sha, 1)
            runs.append({"test": test, "outcome": outcome, "metrics": metrics})
        document = {
            "tfmot_sha": head.sha,
            "started_at": started.isoformat(),
            "tf_version": f"tf-nightly 2.21.0.dev{started:%Y%m%d}",
            "python_version": PYTHONS[night % len(PYTHONS)],
            "runs": runs,
        }
        ds.add_workflow_run(
            NIGHTLY.name,
            "failure" if any(r["outcome"] != "passed" for r in runs) else "success",
            created_at=started,
            head_sha=head.sha,
            event="schedule",
            workflow_path=NIGHTLY.path,
            duration=timedelta(hours=5),
            artifacts={ARTIFACT: results_zip(document)},
        )


def _night(now: datetime, nights_ago: int) -> datetime:
    return (now - timedelta(days=nights_ago)).replace(hour=2, minute=0, second=0)
