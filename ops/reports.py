"""The team's CSV reports: rows of plain strings, built from the same reads as the pages."""

from __future__ import annotations

from collections.abc import Iterator

from adherence import engine
from adherence.matrix import matrix_columns
from adherence.selectors import Shown, adherence_matrix, matrix_techniques
from techniques.selectors import maintainer_labels

# A spreadsheet runs a cell that starts with one of these as a formula: such cells are
# prefixed with a quote (text from reviews and GitHub is free text).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def adherence_rows(filters: dict, user) -> Iterator[list[str]]:
    """The adherence matrix as the page filters it: one row per technique; per rule its
    state and, for a failing cell, since when, who is responsible (the gap's assignee,
    else the group's star assignees), the group and the due date."""
    rule_ids, rows = adherence_matrix(
        matrix_techniques(filters, user),
        severity=filters.get("severity", ""),
        sort=filters.get("sort") or "name",
    )
    if filters.get("failing"):
        rows = [row for row in rows if row.open_gaps]
    _, columns = matrix_columns(rule_ids, filters)
    kept = {c.rule.id for c in columns}
    index = [i for i, rule_id in enumerate(rule_ids) if rule_id in kept]
    rule_ids = [rule_ids[i] for i in index]
    yield [
        "technique",
        "name",
        "owner_group",
        "tos_level",
        "stage",
        "open_gaps",
        "oldest_gap_since",
        *(
            column
            for rule_id in rule_ids
            for column in (
                f"{rule_id} ({engine.RULES[rule_id].severity})",
                f"{rule_id} since",
                f"{rule_id} assignee",
                f"{rule_id} group",
                f"{rule_id} due",
            )
        ),
    ]
    stars = _star_assignees(rows)
    for row in rows:
        t = row.technique
        yield [
            cell(t.slug),
            cell(t.name),
            cell(t.owner_group.name if t.owner_group else ""),
            cell(t.tos_level),
            cell(t.stage),
            str(row.open_gaps),
            cell(row.oldest_gap),
            *(value for i in index for value in _cell_columns(row.cells[i], t, stars)),
        ]


def _star_assignees(rows) -> dict[int, str]:
    """Per owner group of the rows, its direct assignees ("@alice @bob"): one query."""
    group_ids = sorted({r.technique.owner_group_id for r in rows if r.technique.owner_group_id})
    return {
        group_id: " ".join(label.rstrip("*") for label in labels if label.endswith("*"))
        for group_id, labels in maintainer_labels(group_ids).items()
    }


def _cell_columns(matrix_cell, technique, stars: dict[int, str]) -> list[str]:
    """A cell's state, then (failing cells only) since, assignee, group and due date."""
    if matrix_cell.status != Shown.FAIL or matrix_cell.gap is None:
        return [matrix_cell.status, "", "", "", ""]
    gap, group = matrix_cell.gap, technique.owner_group
    login = getattr(gap, "assignee_login", None)
    return [
        matrix_cell.status,
        cell(gap.since),
        cell(f"@{login}" if login else stars.get(technique.owner_group_id, "")),
        cell(group.name if group else ""),
        cell(matrix_cell.due),
    ]


def review_answer_rows(cycle) -> Iterator[list[str]]:
    """Every review of a cycle with its answers; one column per duty's rating and note."""
    reviews = list(
        cycle.reviews.select_related(
            "technique__owner_group", "submitted_by", "decided_by", "shepherd"
        ).order_by("technique__name")
    )
    duties = sorted({duty for r in reviews for duty in (r.self_assessment or {})})
    yield [
        "technique",
        "owner_group",
        "status",
        "submitted_at",
        "submitted_by",
        "decided_at",
        "decided_by",
        "shepherd",
        "benefits_usage",
        "major_updates",
        "proposal_tos",
        "proposal_maintainers",
        "proposal_deprecate",
        "proposal_notes",
        *(f"{duty}: {part}" for duty in duties for part in ("rating", "note")),
    ]
    for r in reviews:
        answers = r.self_assessment or {}
        yield [
            cell(r.technique.slug),
            cell(r.technique.owner_group.name if r.technique.owner_group else ""),
            cell(r.status),
            cell(r.submitted_at),
            cell(r.submitted_by.username if r.submitted_by else ""),
            cell(r.decided_at),
            cell(r.decided_by.username if r.decided_by else ""),
            cell(r.shepherd.username if r.shepherd else ""),
            cell(r.benefits_usage),
            cell(r.major_updates),
            cell(r.proposal_tos),
            cell(r.proposal_maintainers),
            "yes" if r.proposal_deprecate else "no",
            cell(r.proposal_notes),
            *(
                cell((answers.get(duty) or {}).get(part, ""))
                for duty in duties
                for part in ("rating", "note")
            ),
        ]
