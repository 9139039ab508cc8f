"""What a gap page shows besides the rule: the portal pages that hold its evidence."""

from __future__ import annotations

from django.urls import reverse

# Rules whose evidence lives on the CI grid (the test's row shows runs and the culprit).
CI_RULES = {"convergence-green", "convergence-fresh", "benefits-delivered", "training-speed-test"}


def evidence_pages(gap) -> list[dict[str, str]]:
    """Portal pages that show the gap's evidence, besides the gap's own links."""
    slug = gap.technique.slug
    pages = []
    if gap.rule_id in CI_RULES or gap.rule_id == "convergence-test-exists":
        pages.append(
            {
                "title": "The technique's rows in the CI grid (runs, culprit range)",
                "url": reverse("convergence:grid") + f"?technique={slug}",
            }
        )
    if gap.rule_id == "review-due":
        pages.append(
            {"title": "The technique's reviews", "url": reverse("reviews:queue") + "?view=mine"}
        )
    if gap.rule_id in {"maintainers-triage", "codeowners-drift"}:
        pages.append({"title": "OWNERS and CODEOWNERS", "url": reverse("techniques:owners")})
    pages.append({"title": "The technique's public page", "url": gap.technique.get_absolute_url()})
    return pages
