"""The rule catalog (adherence/rules.toml) is the one home of what a rule is called, where
it applies and what it says; the engine refuses a mismatch and the docs are drawn from it."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from adherence import engine
from adherence.catalog import BEGIN, DOCUMENT, END


def test_every_catalog_entry_has_a_check_and_every_check_an_entry():
    assert set(engine.CATALOG) == set(engine.RULES)


def test_the_engine_refuses_a_check_without_an_entry_and_an_entry_missing_a_field(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="no-such-rule"):
        engine.register_rule("no-such-rule")(lambda technique, facts: engine.Result.passed(""))
    entry = {k: v for k, v in engine.CATALOG["owner-group"].items() if k != "fix"}
    monkeypatch.setitem(engine.CATALOG, "owner-group", {**entry, "sevrity": "high"})
    with pytest.raises(ImproperlyConfigured, match=r"missing \['fix'\], unknown \['sevrity'\]"):
        engine.Rule.from_catalog("owner-group", engine.RULES["owner-group"].check)


def test_the_documents_catalog_is_drawn_from_the_rules(monkeypatch):
    call_command("rule_catalog", "--check")  # docs/policy/rules.md is current
    text = DOCUMENT.read_text()
    catalog = text[text.index(BEGIN) : text.index(END)]
    for rule in engine.RULES.values():
        assert f"| `{rule.id}` |" in catalog and rule.fix in catalog and rule.source in catalog
        assert f"| {rule.binding_stages} |" in catalog  # the Binds column
    changed = dataclasses.replace(engine.RULES["ci-green"], fix="Something else.")
    monkeypatch.setitem(engine.RULES, "ci-green", changed)
    with pytest.raises(CommandError, match="out of date"):
        call_command("rule_catalog", "--check")
