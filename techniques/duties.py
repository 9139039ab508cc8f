"""The duties of technique owners, from the ownership RFC, as data in code.

Each duty applies to the production TOS, the research TOS or both, quotes the sentence
of the policy it comes from, and names the adherence rules that check it (an empty list
means no data can check it: owners self-assess it in the semi-annual review).
"""

from __future__ import annotations

from dataclasses import dataclass

from techniques.models import TOSLevel

BOTH: tuple[str, ...] = (TOSLevel.PRODUCTION, TOSLevel.RESEARCH)
PRODUCTION: tuple[str, ...] = (TOSLevel.PRODUCTION,)
RESEARCH: tuple[str, ...] = (TOSLevel.RESEARCH,)


@dataclass(frozen=True)
class Duty:
    id: str
    title: str
    applies_to: tuple[str, ...]
    source: str
    section: str
    rules: tuple[str, ...] = ()
    # Research TOS: applies only where the overview page opts in (field on Technique).
    research_opt_in: str = ""

    def applies(self, technique) -> bool:
        if technique.tos_level in self.applies_to:
            return True
        return bool(
            technique.tos_level == TOSLevel.RESEARCH
            and self.research_opt_in
            and getattr(technique, self.research_opt_in)
        )

    @property
    def self_assessed(self) -> bool:
        return not self.rules


DUTIES: tuple[Duty, ...] = (
    Duty(
        "owner-group",
        "Owned by a named group of 2+ maintainers",
        BOTH,
        "A group name is required, with the idea that a group with vested interest is "
        "needed to maintain a technique. The group of maintainers must also be 2+.",
        "Ownership",
        ("owner-group", "two-maintainers", "maintainers-active"),
    ),
    Duty(
        "github-label",
        "Has its own GitHub label",
        BOTH,
        "Each technique has its own Github label.",
        "Community engagement",
        ("technique-label",),
    ),
    Duty(
        "answer-questions",
        "Answer questions in issues",
        BOTH,
        "Answer questions and review pull requests (PRs) and issues, including ones in "
        "the TensorFlow Official Models integration",
        "Community engagement",
        ("questions-answered",),
    ),
    Duty(
        "review-prs",
        "Review pull requests",
        PRODUCTION,
        "Answer questions and review pull requests (PRs) and issues, including ones in "
        "the TensorFlow Official Models integration",
        "Community engagement",
        ("prs-reviewed",),
        research_opt_in="accepts_prs",
    ),
    Duty(
        "feature-requests",
        "Address feature requests",
        PRODUCTION,
        "Address feature requests (e.g. model coverage beyond what's explicitly listed "
        "in the overview page)",
        "Community engagement",
        research_opt_in="accepts_feature_requests",
    ),
    Duty(
        "release-notes",
        "Provide release notes",
        PRODUCTION,
        "Provide release notes",
        "Community engagement",
        ("release-notes",),
        research_opt_in="provides_release_notes",
    ),
    Duty(
        "unlabeled-triage",
        "Watch for unlabeled PRs and issues",
        PRODUCTION,
        "Watch out for unlabeled PRs and issues that are relevant to their technique",
        "Community engagement",
        ("unlabeled-triage",),
    ),
    Duty(
        "fix-supported-bugs",
        "Fix bugs on what the OWNERS claim support for",
        RESEARCH,
        "Address bugs on anything the OWNERS claim support for on the technique's overview page",
        "Community engagement",
    ),
    Duty(
        "triage-access",
        "Owners hold GitHub triage access",
        BOTH,
        "TFMOT enables OWNERS to handle PRs and issues by granting Github Triage access.",
        "Maintenance",
        ("maintainers-triage", "codeowners-drift"),
    ),
    Duty(
        "api-approval",
        "Public API changes approved by TFMOT",
        BOTH,
        "All public API changes must be approved by TFMOT through a process.",
        "Maintenance",
        ("api-review",),
    ),
    Duty(
        "semi-annual-review",
        "Semi-annual reviews",
        BOTH,
        "Semi-annual reviews on benefits and usage, major updates, and TOS adherence",
        "Maintenance",
        ("review-due",),
    ),
    Duty(
        "backwards-compatible",
        "Backwards-compatible public API until the next major release",
        PRODUCTION,
        "All public API changes must be backwards-compatible until the next major "
        "release (including changes that modify convergence behavior of previously "
        "supported models).",
        "Maintenance",
    ),
    Duty(
        "oss-ci",
        "Fix open source CI failures",
        BOTH,
        "Open source failures: error logs are visible and OWNERS fix them.",
        "Maintenance",
        ("ci-green",),
    ),
    Duty(
        "convergence-test",
        "Keep the convergence test passing with tf-nightly at TFMOT head",
        BOTH,
        "Maintaining the example and ensuring the test continues to pass with "
        "tf-nightly at TFMOT head is a part of owning the technique.",
        "Maintenance",
        (
            "convergence-test-exists",
            "convergence-green",
            "convergence-fresh",
            "benefits-delivered",
            "metric-regression",
        ),
    ),
    Duty(
        "training-speed-test",
        "Has a training speed test that keeps passing",
        PRODUCTION,
        "Whenever a convergence or training speed test fails (potentially days after "
        "integrations): TFMOT will isolate the problematic CL and do a rollback.",
        "Maintenance",
        ("training-speed-test",),
    ),
    Duty(
        "health-best-practices",
        "TensorFlow and project health best practices",
        PRODUCTION,
        "Adherence to TensorFlow and project health best practices (e.g. new TensorFlow "
        "major releases, Python compatibility). This includes comprehensive public API "
        "testing (see pruning as an example) within 3 months of initial launch.",
        "Maintenance",
        ("api-tests", "compat-matrix"),
    ),
    Duty(
        "minimal-health",
        "Minimal project health (reasonable binary size)",
        RESEARCH,
        "Minimal project health (e.g. reasonable binary size)",
        "Maintenance",
        ("binary-size",),
    ),
    Duty(
        "deprecation-owners",
        "Seek replacement owners before deprecating for lack of people",
        PRODUCTION,
        "If community interest is there and the reason for deprecation is due to lack of "
        "human resources, find suitable OWNERS to help or replace current OWNERS, with "
        "the help of TFMOT.",
        "Deprecation",
        ("deprecation-owners",),
    ),
)

DUTIES_BY_ID = {duty.id: duty for duty in DUTIES}


def duty_of(rule_id: str) -> Duty | None:
    """The duty an adherence rule checks (None for a rule outside every duty)."""
    return next((duty for duty in DUTIES if rule_id in duty.rules), None)


def duties_for(technique) -> list[Duty]:
    """The duties that apply to a technique under its TOS level and opt-ins."""
    return [duty for duty in DUTIES if duty.applies(technique)]


def duties_not_applicable(technique) -> list[Duty]:
    return [duty for duty in DUTIES if not duty.applies(technique)]
