"""CI pages: the TestGrid-style grid, releases and the release gate."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from ci_status import selectors as ci_selectors
from convergence.bisection import budget
from convergence.bisection_services import revert_open
from convergence.forms import BisectionFilterForm, GridFilterForm
from convergence.models import Bisection, BisectionStep, ConvergenceRun, ConvergenceTest
from convergence.permissions import FIND_CULPRIT, OPEN_REVERT
from convergence.selectors import (
    bisection_page,
    bisections_visible,
    change_points_recent,
    grid_page,
    grid_rows,
    newest_tested_commit,
    run_page,
)
from convergence.services import culprit_range_fetch, release_readiness
from techniques.cache import private_page, public_page
from techniques.models import OwnerGroup, Stage, Technique
from tfmot_portal.forms import read_filters, run_service
from tfmot_portal.permissions import get_permitted_or_404

SHA_CHARS = set("0123456789abcdef")


@require_safe
@public_page(reads=("convergence",))
@private_page(reads=("convergence",))
def grid(request):
    """Public: every test's runs aligned by date and commit; internal results per viewer."""
    form, filters = read_filters(GridFilterForm, request.GET)
    page, tests = grid_page(filters, request.user, request.GET.get("page"))
    columns, rows = grid_rows(tests, request.user)
    missing = (
        Technique.objects.filter(stage=Stage.LAUNCHED)
        .exclude(convergence_tests__isnull=False)
        .order_by("name")
    )
    return render(
        request,
        "convergence/grid.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "columns": columns,
            "rows": rows,
            "change_points": change_points_recent(filters, request.user),
            "missing": missing,
            "groups": OwnerGroup.objects.order_by("name").values_list("slug", "name", named=True),
            "techniques": Technique.objects.order_by("name").values_list(
                "slug", "name", named=True
            ),
            "may_refresh": request.user.is_authenticated,
            "query": request.GET.urlencode().replace("page=", "_="),
        },
    )


@require_safe
@public_page(reads=("convergence",))
@private_page(reads=("convergence",))
def run_detail(request, pk):
    """Public: one run, as far as the viewer may see it (an internal run is a 404 to
    those who may not see internal results): outcome, commit, versions, its log and
    each metric against its documented target."""
    run = get_object_or_404(
        ConvergenceRun.objects.visible_to(request.user).select_related("test__technique"), pk=pk
    )
    return render(request, "convergence/run.html", run_page(run))


@login_required
@require_POST
def culprit_refresh(request, pk):
    tests = ConvergenceTest.objects.select_related("last_good_run", "first_bad_run")
    test = get_permitted_or_404(request, FIND_CULPRIT, tests, pk=pk)
    culprit = culprit_range_fetch(test)
    if culprit is None:
        messages.error(request, "This test has no open alert with known SHAs.")
    elif culprit.error:
        messages.error(request, f"GitHub's compare API failed: {culprit.error}")
    else:
        messages.success(
            request,
            f"{len(culprit.commits)} commits, {len(culprit.pull_requests)} merged PRs in the range.",
        )
    return redirect("convergence:grid")


def _sha_from(request) -> tuple[str, str]:
    sha = request.GET.get("sha", "").strip().lower()
    if not sha:
        return "", ""
    if not (7 <= len(sha) <= 40) or not set(sha) <= SHA_CHARS:
        return "", "Give a commit SHA: 7 to 40 hexadecimal characters."
    return sha, ""


@require_safe
@public_page(reads=("convergence", "ci_status"))
@private_page(reads=("convergence", "ci_status"))
def releases(request):
    """Releases, and whether a commit is releasable: the one asked for, else the head of
    the default branch as the sync knows it."""
    sha, error = _sha_from(request)
    head = ci_selectors.default_branch_head()
    if not sha and not error and head is not None:
        sha = head.sha
    readiness = release_readiness(sha, request.user) if sha else None
    release_page = Paginator(ci_selectors.releases_newest_first(), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "convergence/releases.html",
        {
            "releases": release_page,
            "sha": request.GET.get("sha", ""),
            "error": error,
            "readiness": readiness,
            "head": head,
            "tested": newest_tested_commit(request.user),
            "at_head": head is not None
            and readiness is not None
            and head.sha.startswith(readiness.sha),
        },
    )


@require_safe
def readiness_json(request):
    """For a release script: {"ready": bool, "blockers": [...]}; 400 without a valid SHA."""
    sha, error = _sha_from(request)
    if not sha:
        return JsonResponse({"error": error or "Pass ?sha=<commit>."}, status=400)
    readiness = release_readiness(sha, request.user)
    return JsonResponse(
        {
            "sha": sha,
            "ready": readiness.ready,
            "tests": readiness.tests,
            "blockers": readiness.blockers,
        }
    )


@require_safe
@public_page(reads=("convergence",))
@private_page(reads=("convergence",))
def bisections(request):
    """Every bisection, newest first: the test, its range, its state and its revert."""
    form, filters = read_filters(BisectionFilterForm, request.GET)
    page = bisection_page(request.user, request.GET.get("page"), filters.get("state") or "")
    return render(request, "convergence/bisections.html", {"form": form, "page": page})


@require_safe
def bisection(request, pk):
    """One bisection: the range, each run and its outcome, the culprit and why, the
    verification, the revert. Internal ones only for those who may see internal runs."""
    found = get_object_or_404(
        bisections_visible(request.user).prefetch_related("steps", "reverts"), pk=pk
    )
    steps = list(found.steps.all())
    by_sha: dict[str, list[BisectionStep]] = {}
    for step in steps:
        by_sha.setdefault(step.sha, []).append(step)
    commits = [{**commit, "steps": by_sha.get(commit["sha"], [])} for commit in found.commits]
    revert = max(found.reverts.all(), key=lambda r: r.created_at, default=None)
    return render(
        request,
        "convergence/bisection.html",
        {
            "bisection": found,
            "commits": commits,
            "verification": [s for s in steps if s.purpose == BisectionStep.Purpose.VERIFY],
            "revert": revert,
            "budget": budget(len(found.commits)),
            "may_revert": OPEN_REVERT.may(request.user, found)
            and found.state == Bisection.State.VERIFIED
            and found.culprit_pr
            and (revert is None or revert.state == revert.State.FAILED),
        },
    )


@login_required
@require_POST
def bisection_revert(request, pk):
    """Staff: open the revert of the verified culprit PR (a draft, through GitHub)."""
    found = get_permitted_or_404(request, OPEN_REVERT, bisections_visible(request.user), pk=pk)
    run_service(
        request,
        lambda: revert_open(found, request.user),
        lambda revert: f"Draft revert #{revert.number} opened: {revert.url}",
    )
    return redirect(found.get_absolute_url())
