"""Reads of convergence tests for other apps (writes stay in services.py)."""

from __future__ import annotations

from convergence.models import ConvergenceTest
from techniques.models import Technique


def tests_with_targets(technique: Technique) -> list[ConvergenceTest]:
    """The technique's convergence tests, their targets prefetched."""
    return list(ConvergenceTest.objects.filter(technique=technique).prefetch_related("targets"))
