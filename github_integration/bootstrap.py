"""Bootstrap the registry from a repository: techniques from its ``technique:*`` labels,
their paths from CODEOWNERS, owner groups from the teams (or owners) named there.

``bootstrap_propose`` only writes :class:`BootstrapProposal` rows; staff confirm them on
the bootstrap page (``bootstrap_decide``), and only then are groups and techniques
created. Proposing again updates pending proposals and leaves decided ones alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from ci_status.github import GitHubClient
from github_integration.models import BootstrapProposal
from github_integration.permissions import DECIDE_BOOTSTRAP
from lifecycle.services import parse_codeowners
from techniques.models import Maintainer, OwnerGroup, Stage, Technique, TOSLevel
from techniques.services import technique_save

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# Labels that name no single technique.
GENERIC_LABELS = {"technique:all", "technique:proposal"}
_MODULE_RE = re.compile(r"\btfmot(?:\.[a-z_]+)+")


@dataclass
class BootstrapSummary:
    repository: str
    proposed: list[BootstrapProposal] = field(default_factory=list)
    unchanged: list[BootstrapProposal] = field(default_factory=list)
    in_registry: list[str] = field(default_factory=list)  # labels already used


def _codeowners(client: GitHubClient) -> dict[str, list[str]]:
    for path in CODEOWNERS_PATHS:
        text = client.file_contents(path)
        if text is not None:
            return parse_codeowners(text)
    return {}


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
    codeowners = _codeowners(client)
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
        paths = _paths_for(name, description, codeowners)
        owners = [o for path in paths for o in codeowners.get(path, [])]
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


def _group_from(proposal: BootstrapProposal) -> OwnerGroup:
    data = proposal.data
    group = None
    if data.get("github_team"):
        group = OwnerGroup.objects.filter(github_team__iexact=data["github_team"]).first()
    group = group or OwnerGroup.objects.filter(name=data["name"]).first()
    if group is None:
        slug = slugify(data["name"])[:110] or "group"
        while OwnerGroup.objects.filter(slug=slug).exists():
            slug += "-x"
        group = OwnerGroup(name=data["name"], slug=slug, github_team=data.get("github_team", ""))
        group.full_clean()
        group.save()
    for login in data.get("maintainers", []):
        if not group.maintainers.filter(github_login__iexact=login).exists():
            Maintainer.objects.create(group=group, github_login=login)
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
        obj = _group_from(proposal)
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
