"""Demo registry: the real toolkit's techniques (demo_data/techniques.json).

The toolkit never recorded a TOS level per technique, so the demo chooses one and says
why: techniques its docs call experimental are research, the others production. The docs
name owner groups, not people: the maintainers below are demo accounts (alice, dave in
TensorFlow Model Optimization; bob, erin in Arm ML Tooling) that you can sign in as.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from techniques.models import Maintainer, OwnerGroup, Stage, Technique, TOSLevel

DEMO_PASSWORD = "demo-password"  # noqa: S105 - demo accounts only, documented in the README
DATA = settings.BASE_DIR / "demo_data"
REPO_PREFIX = "tensorflow_model_optimization/"

GROUPS: dict[str, dict[str, Any]] = {
    "tf-mot": {
        "name": "TensorFlow Model Optimization",
        "mailing_list": "tf-mot@example.org",
        "github_team": "tensorflow/tf-mot",
        "contact_policy": OwnerGroup.ContactPolicy.DOCS_ONLY,
        "maintainers": [("alice", "Alice (demo)", True), ("dave", "Dave (demo)", False)],
    },
    "arm-ml-tooling": {
        "name": "Arm ML Tooling",
        "mailing_list": "arm-ml-tooling@example.org",
        "github_team": "",
        "contact_policy": OwnerGroup.ContactPolicy.OPEN,
        "maintainers": [("bob", "Bob (demo)", True), ("erin", "Erin (demo)", False)],
    },
    "weight-compression": {
        "name": "Weight Compression Contributors",
        "mailing_list": "",
        "github_team": "",
        "contact_policy": OwnerGroup.ContactPolicy.DOCS_ONLY,
        # One maintainer only: the demo shows the "2+ maintainers" gap.
        "maintainers": [("frank", "Frank (demo)", True)],
    },
}

# Per technique: owner group, CODEOWNERS paths (from .github/labeler.yml and the notes in
# the reference data), guide page, and the scope the owners claim.
OVERLAY = {
    "pruning": (
        "tf-mot",
        ["python/core/sparsity/", "python/core/api/sparsity/", "python/examples/sparsity/"],
        "guide/pruning",
    ),
    "pruning-policy-xnnpack": (
        "tf-mot",
        ["python/core/sparsity/keras/pruning_policy.py"],
        "guide/pruning/pruning_for_on_device_inference",
    ),
    "structural-pruning-m-by-n": (
        "tf-mot",
        ["python/core/sparsity/keras/tools/"],
        "guide/pruning/pruning_with_sparsity_2_by_4",
    ),
    "qat": (
        "tf-mot",
        ["python/core/quantization/keras/", "python/core/api/quantization/"],
        "guide/quantization/training",
    ),
    "qat-n-bit-experimental": (
        "tf-mot",
        ["python/core/quantization/keras/experimental/"],
        "guide/quantization/training",
    ),
    "weight-clustering": (
        "arm-ml-tooling",
        ["python/core/clustering/", "python/core/api/clustering/", "python/examples/clustering/"],
        "guide/clustering",
    ),
    "sparsity-preserving-clustering": (
        "arm-ml-tooling",
        ["python/core/clustering/keras/experimental/"],
        "guide/combine/collaborative_optimization",
    ),
    "pqat": (
        "arm-ml-tooling",
        ["python/core/quantization/keras/collab_opts/prune_preserve/"],
        "guide/combine/collaborative_optimization",
    ),
    "cqat": (
        "arm-ml-tooling",
        ["python/core/quantization/keras/collab_opts/cluster_preserve/"],
        "guide/combine/collaborative_optimization",
    ),
    "pcqat": (
        "arm-ml-tooling",
        ["python/core/quantization/keras/collab_opts/"],
        "guide/combine/collaborative_optimization",
    ),
    "weight-compression-api": ("weight-compression", ["python/core/common/keras/compression/"], ""),
    "tensor-encoding": ("tf-mot", ["python/core/internal/tensor_encoding/"], ""),
    "post-training-quantization": ("tf-mot", [], "guide/quantization/post_training"),
}
SUPPORT_SCOPE = {
    "research": "Keras Sequential and functional models with the layers listed on the "
    "overview page, TensorFlow 2.x, float32 training.",
}


def _summary(entry: dict) -> str:
    released = (
        f" First released in TFMOT {entry['introduced_version']} ({entry['introduced_date']})."
        if entry["introduced_version"]
        else " Not yet in a release."
    )
    api = entry["public_api"] or entry["module_path"] or ""
    return f"{entry['name']}. Public API: {api}.{released}"


def _short_api(public_api: str) -> str:
    return public_api.split(" (")[0].split("(")[0].strip()


# The real repository shares labels between techniques (technique:qat for five of them);
# the RFC gives each technique a label of its own. The demo's repository has adopted that
# for the techniques in demo_data/adopted_labels.json; tensor encoding (deprecating) has no
# label yet, so the demo shows that gap.
ADOPTED_LABELS = {
    row["technique"]: row["name"] for row in json.loads((DATA / "adopted_labels.json").read_text())
}


def _technique_values(entry: dict) -> dict:
    group_key, paths, guide = OVERLAY[entry["slug"]]
    research = bool(entry["experimental"])
    labels = [ADOPTED_LABELS[entry["slug"]]] if entry["slug"] in ADOPTED_LABELS else None
    labels = labels or entry["github_labels"] or [f"technique:{entry['slug']}"]
    launched = entry["introduced_date"] and entry["introduced_version"] is not None
    stage = Stage.LAUNCHED if launched else Stage.IN_DEVELOPMENT
    if entry["slug"] == "post-training-quantization":
        stage = Stage.LAUNCHED
    launch_date = date.fromisoformat(entry["introduced_date"]) if entry["introduced_date"] else None
    return {
        "name": entry["name"],
        "category": entry["category"],
        "summary": _summary(entry),
        "public_api": _short_api(entry["public_api"] or entry["module_path"] or entry["slug"]),
        "module_path": (entry["module_path"] or "").split(" (")[0],
        "github_labels": labels,
        "path_globs": [REPO_PREFIX + p for p in paths],
        "tos_level": TOSLevel.RESEARCH if research else TOSLevel.PRODUCTION,
        "tos_rationale": (
            "Demo choice: the toolkit's docs call this technique experimental."
            if research
            else "Demo choice: a stable, documented API of the toolkit."
        ),
        "stage": stage,
        "launch_date": launch_date if stage == Stage.LAUNCHED else None,
        "launch_release": entry["introduced_version"] or "",
        "overview_url": f"https://www.tensorflow.org/model_optimization/{guide}" if guide else "",
        "support_scope": SUPPORT_SCOPE["research"] if research else "",
        "provides_release_notes": research and entry["slug"] in {"pcqat", "cqat"},
        # QAT's owners let the portal open the revert of a verified culprit themselves.
        "auto_revert": True if entry["slug"] == "qat" else None,
        "api_tests_confirmed_on": launch_date
        if entry["slug"]
        in {
            "pruning",
            "qat",
            "weight-clustering",
            "structural-pruning-m-by-n",
            "pruning-policy-xnnpack",
            "post-training-quantization",
        }
        else None,
        "owner_group": group_key,
    }


@transaction.atomic
def load(stdout=None) -> dict:
    """Create or update the demo registry; safe to run again (upserts on natural keys)."""
    groups = {}
    for key, spec in GROUPS.items():
        group, _ = OwnerGroup.objects.update_or_create(
            slug=key,
            defaults={
                "name": spec["name"],
                "mailing_list": spec["mailing_list"],
                "github_team": spec["github_team"],
                "contact_policy": spec["contact_policy"],
            },
        )
        for login, name, star in spec["maintainers"]:
            Maintainer.objects.update_or_create(
                group=group,
                github_login=login,
                defaults={
                    "name": name,
                    "email": f"{login}@example.org",
                    "is_direct_assignee": star,
                },
            )
        groups[key] = group

    entries = json.loads((DATA / "techniques.json").read_text())
    for entry in entries:
        values = _technique_values(entry)
        values["owner_group"] = groups[values["owner_group"]]
        technique = Technique.objects.filter(slug=entry["slug"]).first() or Technique(
            slug=entry["slug"]
        )
        for field, value in values.items():
            setattr(technique, field, value)
        technique.full_clean()
        technique.save()

    User = get_user_model()
    logins = [login for spec in GROUPS.values() for login, _, _ in spec["maintainers"]]
    for login in [*logins, "carol", "mallory"]:
        user, created = User.objects.get_or_create(
            username=login, defaults={"email": f"{login}@example.org"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
        user.is_staff = user.is_superuser = login == "carol"
        user.save()
    counts = {"groups": len(groups), "techniques": len(entries), "users": len(logins) + 2}
    if stdout:
        stdout.write(f"registry: {counts}")
    return counts
