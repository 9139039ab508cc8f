"""Templates compare a state with a string ({% if gap.state == "waived" %}), which a
template cannot take from the model's enum; a renamed or misspelt value would make the
branch silently dead. Every such comparison must name a value the field's choices have."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from django.apps import apps
from django.conf import settings

from adherence.selectors import Shown

# `.status == 'pass'`, `.stage != "launched"`: a field of an object against a literal.
COMPARISON = re.compile(r"\.(\w+) (?:==|!=) ['\"](\w+)['\"]")


def _choices_by_field_name() -> dict[str, set[str]]:
    """Every value the project's models allow in a field of that name, plus what a matrix
    cell or a duty's rule line shows (``status``)."""
    values: dict[str, set[str]] = defaultdict(set)
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.choices:
                values[field.name] |= {str(value) for value, _ in field.flatchoices}
    values["status"] |= {str(s) for s in Shown}
    return values


def _comparisons(text: str) -> list[tuple[str, str]]:
    return COMPARISON.findall(text)


def test_the_scan_finds_a_misspelt_state():
    values = _choices_by_field_name()
    found = _comparisons("{% if gap.state == \"waivd\" %}{% if r.status == 'accepted' %}")
    assert [(a, v) for a, v in found if v not in values[a]] == [("state", "waivd")]


def test_templates_compare_a_field_only_with_values_its_choices_have():
    values = _choices_by_field_name()
    wrong, checked = [], 0
    for path in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        for attribute, literal in _comparisons(path.read_text()):
            if attribute in values:
                checked += 1
                if literal not in values[attribute]:
                    wrong.append(f"{path.name}: .{attribute} == '{literal}'")
    assert checked > 20  # the scan reads the templates' comparisons
    assert wrong == []
