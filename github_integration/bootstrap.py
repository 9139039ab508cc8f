"""Bootstrap the registry from a repository: techniques from its ``technique:*`` labels
(those of the repository and those ``.github/labeler.yml`` names), their paths from
labeler.yml (actions/labeler's v4 and v5 formats) and CODEOWNERS, owner groups from the
teams (or owners) CODEOWNERS names. tensorflow/model-optimization has a labeler.yml and
no CODEOWNERS: its techniques come with paths and without groups.

``bootstrap_propose`` only writes :class:`BootstrapProposal` rows; staff confirm them on
the bootstrap page (``bootstrap_decide``), and only then are groups and techniques
created. Proposing again updates pending proposals and leaves decided ones alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from github import GitHubClient
from github_integration.models import BootstrapProposal
from github_integration.permissions import DECIDE_BOOTSTRAP
from lifecycle.services import parse_codeowners
from techniques.models import OwnerGroup, Stage, Technique, TOSLevel
from techniques.services import (
    group_create,
    maintainer_add,
    maintainers_record_change,
    technique_save,
)

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
LABELER_PATHS = (".github/labeler.yml", ".github/labeler.yaml")
# actions/labeler v5: the keys of a changed-files entry that hold globs.
LABELER_V5_KEYS = (
    "any-glob-to-any-file",
    "any-glob-to-all-files",
    "all-globs-to-any-file",
    "all-globs-to-all-files",
)
# Labels that name no single technique.
GENERIC_LABELS = {"technique:all", "technique:proposal"}
_MODULE_RE = re.compile(r"\btfmot(?:\.[a-z_]+)+")


@dataclass
class BootstrapSummary:
    repository: str
    proposed: list[BootstrapProposal] = field(default_factory=list)
    unchanged: list[BootstrapProposal] = field(default_factory=list)
    in_registry: list[str] = field(default_factory=list)  # labels already used
    sources: list[str] = field(default_factory=list)  # the files read, e.g. ".github/labeler.yml"
    problems: list[str] = field(default_factory=list)  # files that could not be read


def _codeowners(client: GitHubClient, summary: BootstrapSummary) -> dict[str, list[str]]:
    for path in CODEOWNERS_PATHS:
        text = client.file_contents(path)
        if text is not None:
            summary.sources.append(path)
            return parse_codeowners(text)
    return {}


def _labeler(client: GitHubClient, summary: BootstrapSummary) -> dict[str, list[str]]:
    """label -> path patterns from ``.github/labeler.yml`` (empty without one)."""
    for path in LABELER_PATHS:
        text = client.file_contents(path)
        if text is None:
            continue
        summary.sources.append(path)
        try:
            return parse_labeler(text)
        except ValueError as error:
            summary.problems.append(f"{path}: {error}")
            return {}
    return {}


def parse_labeler(text: str) -> dict[str, list[str]]:
    """actions/labeler's configuration, v4 (``label: [glob, {any: [...]}, {all: [...]}]``)
    or v5 (``label: [{changed-files: [{any-glob-to-any-file: [...]}]}, {any: [...]}]``),
    as label -> path patterns in CODEOWNERS form ("/dir/" for "dir/**"). Negated globs
    ("!x") exclude and are left out; branch conditions name no path. Read with
    ``yaml.safe_load`` (no tags, no objects); ValueError when it is not such a file."""
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("expected a mapping of labels to path globs")
    result: dict[str, list[str]] = {}
    for label, rules in data.items():
        globs: list[str] = []
        _labeler_globs(rules, globs, depth=0)
        patterns = list(dict.fromkeys(_as_codeowners_pattern(g) for g in globs if g))
        result[str(label)] = [p for p in patterns if p]
    return result


def _labeler_globs(node: Any, out: list[str], depth: int) -> None:
    if depth > 8:  # labeler nests any/all a level or two; deeper is not a labeler file
        return
    if isinstance(node, str):
        if not node.startswith("!"):
            out.append(node)
    elif isinstance(node, list):
        for item in node:
            _labeler_globs(item, out, depth + 1)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("any", "all", "changed-files", *LABELER_V5_KEYS):
                _labeler_globs(value, out, depth + 1)


def _as_codeowners_pattern(glob: str) -> str:
    """``dir/**/*`` and ``dir/**`` -> ``/dir/`` (everything below, as CODEOWNERS says it);
    other globs keep their shape, rooted at "/"."""
    glob = glob.strip()
    if " " in glob or glob.startswith("#"):
        return ""
    for tail in ("/**/*", "/**"):
        if glob.endswith(tail):
            glob = glob[: -len(tail)] + "/"
            break
    return "/" + glob.lstrip("/")


def _words(label: str, description: str) -> list[list[str]]:
    """Path segments that point at the technique: its API modules from the label's
    description (tfmot.sparsity.keras -> [sparsity, keras]), else the label's words."""
    modules = [m.split(".")[1:] for m in _MODULE_RE.findall(description or "")]
    modules = [[part for part in m if part not in {"keras", "python"}] or m for m in modules]
    if modules:
        return modules
    name = label.split(":", 1)[-1]
    return [[word] for word in re.split(r"[\s_-]+", name.lower()) if len(word) > 2]


def _paths_for(label: str, description: str, codeowners: dict[str, list[str]]) -> list[str]:
    paths = []
    for segments in _words(label, description):
        for pattern in codeowners:
            parts = [p for p in pattern.lower().split("/") if p]
            if all(segment in parts for segment in segments) and pattern not in paths:
                paths.append(pattern)
    return paths


def _group_key(owners: list[str]) -> tuple[str, dict] | None:
    teams = sorted({o.lstrip("@") for o in owners if "/" in o})
    users = sorted({o.lstrip("@") for o in owners if "/" not in o and o.startswith("@")})
    if teams:
        team = teams[0]
        return f"team:{team.lower()}", {
            "name": team.split("/", 1)[1].replace("-", " ").title(),
            "github_team": team,
            "maintainers": users,
        }
    if users:
        return "users:" + ",".join(u.lower() for u in users), {
            "name": "Maintainers " + ", ".join(f"@{u}" for u in users),
            "github_team": "",
            "maintainers": users,
        }
    return None


def _display_name(short: str) -> str:
    """technique:qat -> "QAT", technique:weight clustering -> "Weight clustering"."""
    if len(short) <= 4 and short.isalpha():
        return short.upper()
    return short[:1].upper() + short[1:]


def bootstrap_propose(repository: str, client: GitHubClient | None = None) -> BootstrapSummary:
    """Read labels and CODEOWNERS of ``repository`` and store the proposals."""
    client = client or GitHubClient(repository)
    summary = BootstrapSummary(repository)
    labels = [
        label
        for label in client.items("/repos/{repo}/labels")
        if str(label.get("name", "")).lower().startswith("technique:")
        and label["name"].lower() not in GENERIC_LABELS
    ]
    labeler = _labeler(client, summary)
    codeowners = _codeowners(client, summary)
    known = {label["name"] for label in labels}
    labels += [  # labeler.yml may name labels the repository does not list (yet)
        {"name": name, "description": ""}
        for name in labeler
        if name.lower().startswith("technique:")
        and name.lower() not in GENERIC_LABELS
        and name not in known
    ]
    used = {
        label
        for labels_ in Technique.objects.values_list("github_labels", flat=True)
        for label in labels_ or []
    }
    wanted: list[tuple[str, str, dict]] = []
    groups: dict[str, dict] = {}
    for label in labels:
        name = label["name"]
        if name in used:
            summary.in_registry.append(name)
            continue
        description = label.get("description") or ""
        owned = _paths_for(name, description, codeowners)
        # labeler.yml says which paths carry the label: those first, then CODEOWNERS'.
        paths = list(dict.fromkeys([*labeler.get(name, []), *owned]))
        owners = [o for path in owned for o in codeowners.get(path, [])]
        group = _group_key(owners)
        if group:  # one proposal per group, with the people of every path it owns
            merged = groups.setdefault(group[0], group[1])
            merged["maintainers"] = sorted(
                set(merged["maintainers"]) | set(group[1]["maintainers"])
            )
        modules = _MODULE_RE.findall(description)
        short = name.split(":", 1)[1].strip()
        wanted.append(
            (
                BootstrapProposal.Kind.TECHNIQUE,
                name,
                {
                    "label": name,
                    "slug": slugify(short)[:80] or slugify(name)[:80],
                    "name": _display_name(short),
                    "public_api": modules[0] if modules else "tfmot",
                    "description": description,
                    "path_globs": paths,
                    "group": group[0] if group else "",
                },
            )
        )
    wanted = [(BootstrapProposal.Kind.GROUP, key, data) for key, data in groups.items()] + wanted
    _proposals_store(repository, wanted, summary)
    return summary


def _proposals_store(
    repository: str, wanted: list[tuple[str, str, dict]], summary: BootstrapSummary
) -> None:
    """Store each wanted proposal: new, updated while still pending, or unchanged."""
    with transaction.atomic():
        for kind, key, data in wanted:
            proposal, created = BootstrapProposal.objects.get_or_create(
                repository=repository, kind=kind, key=key, defaults={"data": data}
            )
            if created:
                summary.proposed.append(proposal)
            elif proposal.state == BootstrapProposal.State.PENDING and proposal.data != data:
                proposal.data = data
                proposal.proposed_at = timezone.now()
                proposal.save(update_fields=["data", "proposed_at"])
                summary.proposed.append(proposal)
            else:
                summary.unchanged.append(proposal)


def _group_from(proposal: BootstrapProposal, user) -> OwnerGroup:
    data = proposal.data
    group = None
    if data.get("github_team"):
        group = OwnerGroup.objects.filter(github_team__iexact=data["github_team"]).first()
    group = group or OwnerGroup.objects.filter(name=data["name"]).first()
    if group is None:
        group = group_create(data["name"], github_team=data.get("github_team", ""))
    listed = {login.lower() for login in group.maintainers.values_list("github_login", flat=True)}
    added = []
    for login in data.get("maintainers", []):
        if login.lower() not in listed:
            maintainer_add(group, login)
            listed.add(login.lower())
            added.append(login)
    if added:
        maintainers_record_change(
            group,
            f"Bootstrapped from {proposal.repository}: added "
            + ", ".join(f"@{login}" for login in added)
            + ".",
            user=user,
        )
    return group


def _technique_from(proposal: BootstrapProposal, user, groups: dict[str, OwnerGroup]):
    data = proposal.data
    group = groups.get(data.get("group", ""))
    if group is None and data.get("group"):
        group_proposal = BootstrapProposal.objects.filter(
            repository=proposal.repository, kind=BootstrapProposal.Kind.GROUP, key=data["group"]
        ).first()
        if group_proposal is not None and group_proposal.state != BootstrapProposal.State.REJECTED:
            group = _confirm(group_proposal, user, groups)
    slug = data["slug"]
    if Technique.objects.filter(slug=slug).exists():
        raise ValidationError(f"A technique with the slug {slug!r} already exists.")
    technique = Technique(
        slug=slug,
        name=data["name"],
        category=slug.split("-")[0],
        public_api=data["public_api"],
        github_labels=[data["label"]],
        path_globs=data.get("path_globs", []),
        tos_level=TOSLevel.RESEARCH,
        stage=Stage.PROPOSED,
        summary=data.get("description", ""),
        owner_group=group,
    )
    technique_save(technique, user=user, note=f"Bootstrapped from {proposal.repository}.")
    return technique


def _confirm(proposal: BootstrapProposal, user, groups: dict[str, OwnerGroup]):
    if proposal.kind == BootstrapProposal.Kind.GROUP:
        if proposal.state == BootstrapProposal.State.CONFIRMED:
            return OwnerGroup.objects.filter(slug=proposal.created_slug).first()
        obj = _group_from(proposal, user)
        groups[proposal.key] = obj
    else:
        obj = _technique_from(proposal, user, groups)
    proposal.state = BootstrapProposal.State.CONFIRMED
    proposal.created_slug = obj.slug
    proposal.decided_by, proposal.decided_at = user, timezone.now()
    proposal.save()
    return obj


@transaction.atomic
def bootstrap_decide(proposal_ids: list[int], user, confirm: bool) -> int:
    """Staff confirm (create what is proposed) or reject pending proposals. Groups are
    confirmed before techniques; decided proposals are never touched again."""
    DECIDE_BOOTSTRAP.check(user)
    proposals = list(
        BootstrapProposal.objects.select_for_update()
        .filter(pk__in=proposal_ids, state=BootstrapProposal.State.PENDING)
        .order_by("kind", "key")  # "group" sorts before "technique"
    )
    groups: dict[str, OwnerGroup] = {}
    for proposal in proposals:
        if confirm:
            _confirm(proposal, user, groups)
        else:
            proposal.state = BootstrapProposal.State.REJECTED
            proposal.decided_by, proposal.decided_at = user, timezone.now()
            proposal.save()
    return len(proposals)
