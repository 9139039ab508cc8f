#!/usr/bin/env python
"""Time of the review Markdown renderer on inputs that are slow for backtracking parsers.

    .venv/bin/python bench/markdown_bench.py

For each input shape it prints the median render time (of 3) at 5,000, 10,000 and
20,000 characters (the longest review text) and the ratio of the last two: about 2 means
linear. No target is asserted: tests never time anything.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tfmot_portal.settings")

import django

django.setup()

from reviews.markup import render_markdown  # noqa: E402

SHAPES = {
    "[ repeated": "[",
    "![ repeated": "![",
    "[x]( repeated": "[x](",
    "*_ repeated": "*_",
    "[ and newline": "[\n",
    "- nested list": "- ",
    "> nested quote": "> ",
    "< repeated": "<",
}
SIZES = (5_000, 10_000, 20_000)


def median_ms(text: str) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        render_markdown(text)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    print(f"{'input':<18}" + "".join(f"{n:>12,}" for n in SIZES) + f"{'ratio':>8}")
    for label, unit in SHAPES.items():
        row = [median_ms(unit * (n // len(unit))) for n in SIZES]
        print(
            f"{label:<18}" + "".join(f"{ms:>10.1f}ms" for ms in row) + f"{row[-1] / row[-2]:>8.2f}"
        )


if __name__ == "__main__":
    main()
