"""Reads of rule results and gaps for other apps (writes stay in services.py)."""

from __future__ import annotations

from datetime import datetime

from adherence.models import Gap, RuleResult
from techniques.models import Technique


def rules_have_run(technique: Technique) -> bool:
    return RuleResult.objects.filter(technique=technique).exists()


def rule_result(technique: Technique, rule_id: str) -> RuleResult | None:
    return RuleResult.objects.filter(technique=technique, rule_id=rule_id).first()


def unresolved_gaps(technique: Technique) -> list[Gap]:
    return list(Gap.objects.unresolved().filter(technique=technique).order_by("opened_at"))


def gaps_resolved_since(technique: Technique, start: datetime) -> int:
    return Gap.objects.filter(technique=technique, resolved_at__gte=start).count()
