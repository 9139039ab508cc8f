"""Drafts of a review's text sections, written from the evidence the portal holds
(``services.evidence_collect``): benefit figures against their documented targets and
the GitHub figures for "Benefits and usage", the period's releases and merged pull
requests for "Major updates". Owners start from the draft and edit it; quoted text
(titles, names) goes through ``techniques.text.inert``, as in all Markdown the portal
writes."""

from __future__ import annotations

from techniques.text import inert


def _code(name: str) -> str:
    """A registered name (a test, a metric) as a code span, read as typed."""
    return f"`{name}`" if "`" not in name and "\n" not in name else inert(name)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _figure(value, unit: str) -> str:
    return "no run yet" if value is None else f"{value:g}{unit}"


def _target_line(test: str, target: dict) -> str:
    unit = target.get("unit") or ""
    comparator = target.get("comparator") or "at least"
    tolerance = target.get("tolerance") or 0
    documented = f"{comparator} {target['documented']:g}{unit}"
    if tolerance:
        documented += f", tolerance {tolerance:g}"
    latest = target.get("latest")
    verdict = "" if latest is None else ": misses it" if target.get("regressed") else ": meets it"
    return (
        f"- {_code(test)}, {_code(target['metric'])}: {_figure(latest, unit)} "
        f"against the documented {documented}{verdict}."
    )


def _benefits(evidence: dict) -> list[str]:
    convergence = evidence.get("convergence") or {}
    if not convergence.get("available"):
        return ["No convergence test measures the documented benefits yet."]
    lines = [
        f"{_target_line(test['test'], target)}"
        for test in convergence.get("tests", [])
        for target in test.get("targets", [])
    ]
    if not lines:
        return ["The convergence tests document no benefit target yet."]
    return ["Documented benefits against their targets (latest convergence runs):", "", *lines]


def _usage(evidence: dict) -> str:
    community = evidence.get("community") or {}
    merged = (evidence.get("merged_prs") or {}).get("count")
    parts = []
    if community.get("available"):
        parts.append(
            f"{_count(community.get('open_issues', 0), 'open issue')} and "
            f"{_count(community.get('open_prs', 0), 'open pull request')}"
        )
        if community.get("median_response_days") is not None:
            parts.append(f"a median first response of {community['median_response_days']} days")
    if merged is not None:
        parts.append(f"{_count(merged, 'pull request')} merged in the period")
    github = f"On GitHub: {', '.join(parts)}." if parts else "No GitHub figures synced yet."
    return f"Usage: the portal holds no download or adoption figures (add yours). {github}"


def benefits_draft(evidence: dict) -> str:
    return "\n".join([*_benefits(evidence), "", _usage(evidence)])


def _releases(evidence: dict) -> str:
    releases = evidence.get("releases") or {}
    if not releases.get("available"):
        return "Releases: none synced from GitHub yet."
    listed = releases.get("listed") or [{"tag": t} for t in releases.get("tags", [])]
    if not listed:
        return "Releases in the period: none."
    names = ", ".join(
        _code(r["tag"]) + (f" ({r['published']})" if r.get("published") else "") for r in listed
    )
    return f"Releases in the period: {names}."


def updates_draft(evidence: dict) -> str:
    lines = [_releases(evidence), ""]
    merged = evidence.get("merged_prs") or {}
    listed = merged.get("listed") or []
    if not listed:
        lines.append("No pull request of the technique was merged in the period.")
        return "\n".join(lines)
    lines += [f"Pull requests merged in the period ({merged.get('count', len(listed))}):", ""]
    for pr in listed:
        number = f"[#{pr['number']}]({pr['url']})" if pr.get("url") else f"#{pr['number']}"
        lines.append(f"- {number} {inert(pr['title'])} (merged {pr['merged']})")
    if merged.get("count", 0) > len(listed):
        lines.append(f"- and {merged['count'] - len(listed)} more")
    return "\n".join(lines)


def drafts(evidence: dict) -> dict[str, str]:
    """{field: draft} for the sections drafted from evidence."""
    return {"benefits_usage": benefits_draft(evidence), "major_updates": updates_draft(evidence)}
