"""How the adherence matrix shows the rules: grouped by duty area, with short names."""

from __future__ import annotations

from dataclasses import dataclass

from adherence import engine
from techniques.duties import DUTIES

# Column headers: a few characters each, the full title in the header's tooltip.
SHORT_NAMES = {
    "owner-group": "Group",
    "two-maintainers": "2+ people",
    "maintainers-active": "Active",
    "technique-label": "Label",
    "questions-answered": "Answers",
    "prs-reviewed": "PRs",
    "release-notes": "Notes",
    "unlabeled-triage": "Triage",
    "maintainers-triage": "Access",
    "codeowners-drift": "Drift",
    "api-review": "API ok",
    "review-due": "Review",
    "ci-green": "CI",
    "convergence-test-exists": "Test",
    "convergence-green": "Green",
    "convergence-fresh": "Fresh",
    "benefits-delivered": "Benefit",
    "training-speed-test": "Speed",
    "api-tests": "API tests",
    "compat-matrix": "Compat",
    "binary-size": "Size",
    "deprecation-owners": "Owners",
}
AREA_ORDER = ("Ownership", "Community engagement", "Maintenance", "Deprecation", "Other")
AREA_SHORT = {"Community engagement": "Community", "Deprecation": "Depr."}


@dataclass
class RuleColumn:
    rule: engine.Rule
    area: str
    short: str
    duty_title: str


def rule_columns() -> list[RuleColumn]:
    """Every registered rule, ordered by the duty area and duty it checks."""
    columns, seen = [], set()
    for area in AREA_ORDER:
        for duty in DUTIES:
            if duty.section != area:
                continue
            for rule_id in duty.rules:
                rule = engine.RULES.get(rule_id)
                if rule is None or rule_id in seen:
                    continue
                seen.add(rule_id)
                short = SHORT_NAMES.get(rule_id, rule_id.replace("-", " ")[:10])
                columns.append(RuleColumn(rule, area, short, duty.title))
    for rule in engine.RULES.values():
        if rule.id not in seen:
            columns.append(RuleColumn(rule, "Other", SHORT_NAMES.get(rule.id, rule.id[:10]), ""))
    return columns


def area_spans(columns: list[RuleColumn]) -> list[tuple[str, str, int]]:
    """(area, short label, number of columns) in column order, for the header row."""
    spans: list[tuple[str, str, int]] = []
    for column in columns:
        if spans and spans[-1][0] == column.area:
            area, label, count = spans[-1]
            spans[-1] = (area, label, count + 1)
        else:
            spans.append((column.area, AREA_SHORT.get(column.area, column.area), 1))
    return spans


def matrix_columns(rule_ids: list[str], filters: dict) -> tuple[list[RuleColumn], list[RuleColumn]]:
    """(every column of the evaluated rules, the columns the area and rule filters keep)."""
    all_columns = [c for c in rule_columns() if c.rule.id in rule_ids]
    columns = [
        c
        for c in all_columns
        if (not filters.get("area") or c.area == filters["area"])
        and (not filters.get("rule") or c.rule.id == filters["rule"])
    ]
    return all_columns, columns
