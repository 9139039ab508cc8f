"""What a gap page tells the people responsible: the duty behind a rule and how to fix it."""

from __future__ import annotations

from django.urls import reverse

from techniques.duties import DUTIES, Duty

HOW_TO_FIX = {
    "owner-group": "Name the group that maintains the technique in the registry (admin: Techniques).",
    "two-maintainers": "Add a second active maintainer to the owner group, or find one with the TFMOT team's help.",
    "maintainers-active": "Ask the inactive maintainers whether they still maintain the technique; move those who do not to emeritus.",
    "technique-label": "Create the technique's own label on GitHub and record it in the registry.",
    "questions-answered": "Answer the waiting issues listed below; a first reply from a maintainer stops the clock.",
    "prs-reviewed": "Review the waiting pull requests listed below (a review or a comment from a maintainer counts).",
    "release-notes": "Add the technique's changes to the next release's notes.",
    "unlabeled-triage": "Label the items below with the technique's label (or another technique's) so that they reach their owners.",
    "maintainers-triage": "Ask the TFMOT team to grant the maintainers GitHub Triage access.",
    "codeowners-drift": "Replace the repository's CODEOWNERS with the one the portal generates (linked below).",
    "api-review": "Get TFMOT's approval on the public API change (a review from the TFMOT team on the PR).",
    "review-due": "Fill in and submit the semi-annual review; it is pre-filled with the portal's evidence.",
    "ci-green": "Open the failing CI run, fix the failure on the default branch, or revert the change that broke it.",
    "convergence-test-exists": "Register a convergence test on a real TF Model Garden task (not MNIST) for the technique.",
    "convergence-green": "Open the test's row in the CI grid: the culprit range names the commits between the last good and the first bad run; fix or revert the likely culprit.",
    "convergence-fresh": "Check why the test stopped running (CI schedule, runner, token) and run it again.",
    "benefits-delivered": "Find why the documented benefit regressed (the CI grid's culprit range), fix it, or correct the documented figure.",
    "training-speed-test": "Add a training speed test for the technique, or fix the failing one.",
    "api-tests": "Add comprehensive public API tests (pruning's are the example) and record the date they were confirmed.",
    "compat-matrix": "Add the newest TensorFlow and the supported Python versions to the CI matrix.",
    "binary-size": "Reduce what the technique adds to the package size.",
    "deprecation-owners": "Before deprecating for lack of people, seek replacement owners with the TFMOT team's help (call for owners on the technique page).",
}

# Rules whose evidence lives on the CI grid (the test's row shows runs and the culprit).
CI_RULES = {"convergence-green", "convergence-fresh", "benefits-delivered", "training-speed-test"}


def duty_of(rule_id: str) -> Duty | None:
    return next((duty for duty in DUTIES if rule_id in duty.rules), None)


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
