"""The demo's technique pages agree with the rules: an issue shown waiting past the
threshold for a maintainer's answer on a technique's page <=> questions-answered fails
for it; a PR shown waiting past the threshold for review <=> prs-reviewed fails (where
the rules bind: from launch)."""

import os
import re

import pytest
from django.core.management import call_command

from adherence import engine
from adherence.models import RuleResult
from techniques.models import Technique

pytestmark = pytest.mark.django_db


def shown(page: str, name: str) -> int:
    match = re.search(rf'data-overdue-{name}="(\d+)"', page)
    assert match, "the community panel shows its overdue figures"
    return int(match.group(1))


def test_technique_pages_agree_with_the_community_rules(client, demo_github, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    results = {
        (r.technique.slug, r.rule_id): r
        for r in RuleResult.objects.select_related("technique").filter(
            rule_id__in=["questions-answered", "prs-reviewed"]
        )
    }
    failing = {"issues": 0, "prs": 0}
    for technique in Technique.objects.order_by("slug"):
        page = client.get(technique.get_absolute_url()).content.decode()
        for name, rule in (("issues", "questions-answered"), ("prs", "prs-reviewed")):
            result = results.get((technique.slug, rule))
            if not engine.RULES[rule].binds_in(technique.stage):
                continue  # before launch the page shows the figures; the duty binds later
            fails = bool(result and result.status == "fail")
            assert (shown(page, name) > 0) == fails, (technique.slug, rule, result)
            if fails:
                numbers = [
                    i["number"] for i in result.evidence[name if name == "issues" else "pulls"]
                ]
                assert all(f"#{n} " in page for n in numbers[:5]), (technique.slug, numbers)
                assert result.since is not None
            failing[name] += fails
    # The demo shows both situations, so the equivalence is not vacuous.
    assert failing["issues"] and failing["prs"]
