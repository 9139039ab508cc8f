"""The rule engine: rules are small pure functions of a technique and preloaded facts.

Every app that owns data registers
- fact loaders: ``@register_facts("name")`` on ``loader(techniques, now) -> dict[technique_id, value]``,
  which load what the rules need for *all* techniques in a fixed number of queries;
- rules: ``@register_rule("rule-id")`` on ``check(technique, facts) -> Result``, where
  ``facts`` is a ``Facts`` giving ``facts["name"]`` for that technique and ``facts.now``.
  What a rule is called, where it applies, its severity, policy sentence and fix are the
  rule's entry in the catalog, ``adherence/rules.toml``.

Apps register in ``<app>/rules.py``, imported by ``AppConfig.ready()``. Whether a rule
applies under a technique's TOS level, and whether it binds yet in the technique's
lifecycle stage, is decided here, once, so a rule never reports a pass or a gap where
the policy does not ask for anything yet (N/A, with the reason).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from techniques.duties import BOTH as BOTH
from techniques.duties import PRODUCTION as PRODUCTION
from techniques.duties import RESEARCH as RESEARCH
from techniques.models import Stage, Technique, TOSLevel


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    NA = "na"  # not applicable by TOS, stage or opt-in


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass
class Result:
    status: Status
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)  # [{"title", "url"}]
    # When the violation began (failing results only), derived from the evidence: the
    # oldest waiting item's creation plus the allowed wait, the first bad run of the
    # current failing streak, a review's due date... Never before the duty began.
    since: datetime | None = None
    # A failure whose evidence holds no date of its own (a label missing on GitHub: the
    # portal cannot know since when) counts from the evaluation that first found it, the
    # opening of its gap: the services set ``since`` so. Never a date the portal cannot back.
    first_seen: bool = False

    @classmethod
    def passed(cls, summary: str, **evidence: Any) -> Result:
        return cls(Status.PASS, summary, evidence)

    @classmethod
    def failed(
        cls,
        summary: str,
        links: list[dict[str, str]] | None = None,
        since: datetime | None = None,
        first_seen: bool = False,
        **evidence: Any,
    ) -> Result:
        return cls(Status.FAIL, summary, evidence, links or [], since, first_seen)

    @classmethod
    def not_applicable(cls, summary: str) -> Result:
        return cls(Status.NA, summary)


Check = Callable[[Any, "Facts"], "Result"]
# The lifecycle, in order; a rule binds from one of its stages on. The contribution
# process runs while a technique is proposed or in development, and ends at launch.
STAGE_ORDER: tuple[str, ...] = tuple(Stage.values)
STAGE_WORDS: dict[str, str] = {
    Stage.PROPOSED: "the proposal",
    Stage.IN_DEVELOPMENT: "development",
    Stage.LAUNCHED: "launch",
    Stage.DEPRECATING: "deprecation",
    Stage.DEPRECATED: "deprecated",
}
CATALOG_PATH = Path(__file__).with_name("rules.toml")
with CATALOG_PATH.open("rb") as catalog_file:
    CATALOG: dict[str, dict[str, Any]] = tomllib.load(catalog_file)


@dataclass(frozen=True)
class Rule:
    """A rule: its check, and its entry in the catalog (``adherence/rules.toml``), where
    every field without a default is required."""

    id: str
    check: Callable[[Any, Facts], Result]
    title: str
    applies_to: tuple[str, ...]
    severity: Severity
    source: str  # the policy sentence
    fix: str  # what the owners do to meet the duty (health page, gap pages and issues)
    fails_when: str
    # The lifecycle stage from which the rule binds (the policy's duties begin at launch;
    # the contribution process's own rules from the proposal), and the stage at which it
    # stops binding (empty: it binds in every later stage).
    binds_from: str
    binds_until: str = ""
    # Research TOS: the rule applies where the technique opted in (Technique field name).
    research_opt_in: str = ""
    # A fix for some failures: {evidence key: fix}; the first key the failure's evidence
    # holds gives its fix, else ``fix`` (``fix_for``).
    fix_when: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_catalog(cls, rule_id: str, check: Check) -> Rule:
        """The rule ``rule_id`` as the catalog describes it, judged by ``check``."""
        entry = dict(CATALOG.get(rule_id) or {})
        described = [f for f in fields(cls) if f.name not in ("id", "check")]
        required = {
            f.name for f in described if f.default is MISSING and f.default_factory is MISSING
        }
        missing = required - set(entry)
        unknown = set(entry) - {f.name for f in described}
        if missing or unknown:
            raise ImproperlyConfigured(
                f"Rule {rule_id!r} in {CATALOG_PATH.name}: missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}."
            )
        applies_to = tuple(entry.pop("applies_to"))
        stages = {entry["binds_from"], entry.get("binds_until") or entry["binds_from"]}
        if not set(applies_to) <= set(TOSLevel.values) or not stages <= set(STAGE_ORDER):
            raise ImproperlyConfigured(f"Rule {rule_id!r}: unknown TOS level or stage.")
        severity = Severity(entry.pop("severity"))
        return cls(id=rule_id, check=check, applies_to=applies_to, severity=severity, **entry)

    def binds_in(self, stage: str) -> bool:
        """Whether the rule binds a technique in ``stage``: from ``binds_from`` on, and
        before ``binds_until``."""
        position = STAGE_ORDER.index(stage)
        end = STAGE_ORDER.index(self.binds_until) if self.binds_until else len(STAGE_ORDER)
        return STAGE_ORDER.index(self.binds_from) <= position < end

    @property
    def binding_stages(self) -> str:
        """When the rule binds, in words: "from launch", "from launch until deprecated"."""
        words = f"from {STAGE_WORDS[self.binds_from]}"
        until = Stage(self.binds_until).label.lower() if self.binds_until else ""
        return words + (f" until {until}" if until else "")

    def fix_for(self, evidence: dict[str, Any] | None) -> str:
        """What the owners do about one failure, following its evidence: a technique with
        a failing test is told to mend it, one with no test to register one."""
        for key, fix in self.fix_when.items():
            if (evidence or {}).get(key):
                return fix
        return self.fix

    def applicability(self, technique: Any) -> Result | None:
        """None when the rule applies, else the N/A result saying why."""
        level = technique.tos_level
        opted_in = (
            level == TOSLevel.RESEARCH
            and self.research_opt_in
            and getattr(technique, self.research_opt_in)
        )
        if level not in self.applies_to and not opted_in:
            return Result.not_applicable(f"Not part of the {level} terms of service.")
        if not self.binds_in(technique.stage):
            return Result.not_applicable(
                f"Binds {self.binding_stages}; the technique is "
                f"{Stage(technique.stage).label.lower()}."
            )
        return None


class Facts:
    """The facts loaded for one technique, plus the evaluation time."""

    def __init__(self, by_name: dict[str, dict[int, Any]], technique_id: int, now: datetime):
        self._by_name = by_name
        self._technique_id = technique_id
        self.now = now
        # When the rule's duty began (set per rule by evaluate()): the policy's start, or
        # for a rule of one TOS level the day the technique took that level, if later.
        # Evidence from before does not count.
        self.duty_start = policy_start()

    def counts_from(self, since: datetime) -> datetime:
        """The moment a wait starts counting for this rule: never before its duty began."""
        return max(since, self.duty_start)

    def since_start(self, technique: Technique) -> datetime:
        """When a "must exist" duty began: the launch (or registration), or the TOS start."""
        return self.counts_from(existence_start(technique))

    def __getitem__(self, name: str) -> Any:
        return self._by_name[name].get(self._technique_id)

    def get(self, name: str, default: Any = None) -> Any:
        value = self._by_name.get(name, {}).get(self._technique_id)
        return default if value is None else value


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of a day."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def policy_start() -> datetime:
    """When the ownership policy took effect (``settings.ADHERENCE_POLICY_START``)."""
    return day_start(settings.ADHERENCE_POLICY_START)


def existence_start(technique: Technique) -> datetime:
    """Since when the technique's standing duties apply: its launch, else its registration."""
    if technique.launch_date:
        return day_start(technique.launch_date)
    created: datetime = technique.created_at
    return created


RULES: dict[str, Rule] = {}
FactLoader = Callable[[list[Any], datetime], dict[int, Any]]
FACT_LOADERS: dict[str, FactLoader] = {}


def register_rule(rule_id: str) -> Callable[[Check], Check]:
    """Register ``check`` as the catalog's rule ``rule_id``."""

    def decorator(check: Check) -> Check:
        RULES[rule_id] = Rule.from_catalog(rule_id, check)
        return check

    return decorator


def register_fact_rule(
    rule_id: str, fact: str, missing: Callable[[Any], str | None]
) -> Callable[[Check], Check]:
    """``register_rule`` for a rule that judges one fact, with "no data, not applicable"
    written once: while ``missing(value of the fact)`` gives a reason (the data to judge
    is not there yet), the rule answers N/A with it, and the check runs only otherwise."""

    def decorator(check: Check) -> Check:
        def judged(technique: Any, facts: Facts) -> Result:
            reason = missing(facts.get(fact))
            if reason is not None:
                return Result.not_applicable(reason)
            return check(technique, facts)

        register_rule(rule_id)(judged)
        return check

    return decorator


def register_facts(name: str) -> Callable[[FactLoader], FactLoader]:
    def decorator(loader: FactLoader) -> FactLoader:
        FACT_LOADERS[name] = loader
        return loader

    return decorator


def load_facts(techniques: list[Any], now: datetime) -> dict[str, dict[int, Any]]:
    return {name: loader(techniques, now) for name, loader in FACT_LOADERS.items()}


def evaluate(
    techniques: Iterable[Any], now: datetime | None = None, rule_ids: Iterable[str] | None = None
) -> dict[tuple[int, str], Result]:
    """Evaluate rules for techniques: a fixed number of queries, whatever their count."""
    now = now or timezone.now()
    techniques = list(techniques)
    by_name = load_facts(techniques, now)
    rules = [RULES[r] for r in rule_ids] if rule_ids else list(RULES.values())
    results: dict[tuple[int, str], Result] = {}
    tos_since = by_name.get("tos_since", {})
    policy = policy_start()
    for technique in techniques:
        facts = Facts(by_name, technique.pk, now)
        level_since = tos_since.get(technique.pk)
        launch = day_start(technique.launch_date) if technique.launch_date else policy
        for rule in rules:
            # A rule of one TOS level only starts counting when the technique took it,
            # and a rule that binds from launch when the technique launched.
            facts.duty_start = policy
            if len(rule.applies_to) == 1 and level_since is not None:
                facts.duty_start = max(policy, level_since)
            if rule.binds_from == Stage.LAUNCHED:
                facts.duty_start = max(facts.duty_start, launch)
            result = rule.applicability(technique) or rule.check(technique, facts)
            if result.since is not None:  # no failure dates from before its duty
                result.since = max(result.since, facts.duty_start)
            results[(technique.pk, rule.id)] = result
    return results
