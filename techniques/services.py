"""Workflows of the registry: edits with history, the OWNERS table and CODEOWNERS."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from techniques.cache import bump_data_version
from techniques.models import Maintainer, OwnerGroup, Technique, TechniqueChange

# Fields whose changes the history keeps (ownership and terms of service first).
TRACKED_FIELDS = ("owner_group", "tos_level", "stage", "github_labels", "path_globs", "slug")


def _display(technique: Technique, field: str) -> str:
    if field == "owner_group":
        return technique.owner_group.name if technique.owner_group else ""
    value = getattr(technique, field)
    if isinstance(value, list):
        return ", ".join(value)
    return str(value or "")


def technique_changes(before: Technique | None, after: Technique) -> list[tuple[str, str, str]]:
    """(field, before, after) for every tracked field that differs."""
    changes = []
    for field in TRACKED_FIELDS:
        old = _display(before, field) if before else ""
        new = _display(after, field)
        if old != new:
            changes.append((field, old, new))
    return changes


# Checks other apps add to every save (e.g. lifecycle's launch guard):
# guard(before, after, user, override) raises ValidationError to refuse the save.
SAVE_GUARDS: list = []


def register_save_guard(guard):
    if guard not in SAVE_GUARDS:
        SAVE_GUARDS.append(guard)
    return guard


@transaction.atomic
def technique_save(
    technique: Technique, *, user=None, note: str = "", override: str = ""
) -> list[TechniqueChange]:
    """Validate and save a technique, recording ownership/TOS changes in its history.

    ``override`` is a staff member's recorded reason to pass a guard (e.g. launching
    with contribution steps still open); it is kept as the history note.
    """
    before = None
    if technique.pk:
        before = Technique.objects.select_related("owner_group").filter(pk=technique.pk).first()
    technique.full_clean()
    for guard in SAVE_GUARDS:
        guard(before, technique, user, override)
    if override:
        note = f"{note} Override: {override}".strip()
    technique.save()
    return TechniqueChange.objects.bulk_create(
        TechniqueChange(
            technique=technique,
            field=field,
            before=old,
            after=new,
            note=note,
            changed_by=user if user and user.is_authenticated else None,
        )
        for field, old, new in technique_changes(before, technique)
    )


# --- owner groups and maintainers ---------------------------------------------------
# Every write of a group or its maintainers goes through these functions, whoever makes
# it (the admin, the team sync, the bootstrap, sign-in): each save is audited
# (techniques/audit.py) and bumps the page cache (techniques/cache.py), and
# ``maintainers_record_change`` writes the history and tells the apps that judge
# maintainers (adherence re-evaluates the group's techniques).

# listener(technique_ids) for every change of a group's maintainers.
MAINTAINER_LISTENERS: list = []


def register_maintainers_listener(listener):
    if listener not in MAINTAINER_LISTENERS:
        MAINTAINER_LISTENERS.append(listener)
    return listener


def group_create(name: str, *, github_team: str = "") -> OwnerGroup:
    """A new owner group, validated, under a free slug made from its name."""
    slug = slugify(name)[:110] or "group"
    while OwnerGroup.objects.filter(slug=slug).exists():
        slug += "-x"
    group = OwnerGroup(name=name, slug=slug, github_team=github_team)
    group.full_clean()
    group.save()
    return group


def maintainer_add(
    group: OwnerGroup, github_login: str, *, github_id: int | None = None, from_team=False
) -> Maintainer:
    """A new active maintainer of ``group`` (record the change with
    ``maintainers_record_change`` once the group's changes are made)."""
    return Maintainer.objects.create(
        group=group, github_login=github_login, github_id=github_id, from_github_team=from_team
    )


def maintainer_update(maintainer: Maintainer, **fields) -> list[str]:
    """Set ``fields`` on ``maintainer`` and save those whose value changed; returns their
    names (none: nothing is written)."""
    changed = [name for name, value in fields.items() if getattr(maintainer, name) != value]
    for name in changed:
        setattr(maintainer, name, fields[name])
    if changed:
        maintainer.save(update_fields=changed)
    return changed


@transaction.atomic
def maintainers_record_change(group: OwnerGroup, description: str, *, user=None) -> None:
    """Record a change of a group's maintainers in the history of each of its techniques,
    and ask the listeners to judge those techniques again."""
    bump_data_version()  # the technique pages' history (a bulk insert sends no save signal)
    techniques = list(group.techniques.values_list("pk", flat=True))
    TechniqueChange.objects.bulk_create(
        TechniqueChange(
            technique_id=technique_id,
            field="maintainers",
            after=description,
            changed_by=user if user and user.is_authenticated else None,
        )
        for technique_id in techniques
    )
    for listener in MAINTAINER_LISTENERS:
        listener(techniques)


# --- The OWNERS table (RFC "Ownership Attribution > Github") ------------------------


@dataclass
class OwnersRow:
    subpackage: str
    technique: Technique
    group: OwnerGroup | None
    maintainers: list[Maintainer]
    contacts: list[str]


def owners_techniques():
    """The techniques of the OWNERS table, in its order (by subpackage)."""
    return Technique.objects.for_pages().order_by("public_api", "name")


def owners_rows(techniques=None) -> list[OwnersRow]:
    """One row per technique (all, or the ``techniques`` given, e.g. a page of
    ``owners_techniques()``): Subpackage | Owners | Contact Information."""
    rows = []
    for technique in owners_techniques() if techniques is None else techniques:
        group = technique.owner_group
        maintainers = group.active_maintainers if group else []
        contacts = []
        if group and group.mailing_list:
            contacts.append(f"@{group.mailing_list}")
        contacts += [
            f"@{m.github_login}" + ("*" if m.is_direct_assignee else "") for m in maintainers
        ]
        rows.append(OwnersRow(technique.public_api, technique, group, maintainers, contacts))
    return rows


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def owners_markdown(rows: list[OwnersRow]) -> str:
    lines = [
        "| Subpackage | Owners | Contact Information |",
        "| :--- | :--- | :--- |",
    ]
    for row in rows:
        owners = row.group.name if row.group else "(none)"
        lines.append(
            f"| {_md_cell(row.subpackage)} | {_md_cell(owners)} | "
            f"{_md_cell(', '.join(row.contacts) or '(none)')} |"
        )
    lines += [
        "",
        "Note: the contact information should only be used when the OWNERS or docs say "
        "so. Regular communication should be done via Github issues and other channels. "
        "A star by an individual's name indicates to directly assign everything to that "
        "person, as opposed to having the OWNERS assign issues.",
        "",
    ]
    return "\n".join(lines)


def codeowners_entries(techniques) -> dict[str, list[str]]:
    """CODEOWNERS pattern → owners, from path globs and active maintainers.

    A path claimed by several techniques gets the union of their owners, in order.
    """
    entries: dict[str, list[str]] = {}
    for technique in techniques:
        group = technique.owner_group
        owners = [f"@{m.github_login}" for m in group.active_maintainers] if group else []
        if group and group.github_team:
            owners.append(f"@{group.github_team}")
        for glob in technique.path_globs:
            pattern = glob if glob.startswith("/") else "/" + glob
            merged = entries.setdefault(pattern, [])
            merged += [o for o in owners if o not in merged]
    return entries


def codeowners_text(techniques=None) -> str:
    if techniques is None:
        techniques = Technique.objects.for_pages().order_by("slug")
    lines = [
        "# CODEOWNERS generated by tfmot-portal from the technique registry.",
        "# Ownership attribution per subpackage (TFMOT ownership RFC).",
        "",
    ]
    for pattern, owners in sorted(codeowners_entries(techniques).items()):
        if owners:
            lines.append(f"{pattern} {' '.join(owners)}")
        else:
            lines.append(f"# {pattern} has no active owner")
    return "\n".join(lines) + "\n"
