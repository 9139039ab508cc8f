"""CI pages: the TestGrid-style grid, releases and the release gate."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from ci_status import selectors as ci_selectors
from convergence.models import ConvergenceTest, State
from convergence.permissions import can_see_internal
from convergence.presenters import visible_strip
from convergence.services import culprit_range_fetch, release_readiness
from techniques.cache import private_page
from techniques.models import Stage, Technique

STATE_ORDER = {State.FAILING: 0, State.FLAKY: 1, State.STALE: 2, State.NO_RUNS: 3, State.PASSING: 4}
SHA_CHARS = set("0123456789abcdef")


@login_required
@require_safe
@private_page
def grid(request):
    sort = request.GET.get("sort", "status")
    tests = ConvergenceTest.objects.select_related(
        "technique__owner_group", "last_good_run", "first_bad_run"
    ).prefetch_related("technique__owner_group__maintainers", "culprit_ranges")
    if sort == "status":
        # Failing first, then flaky, stale, no runs, passing: ordered in the database so
        # that only the page shown is built.
        rank = Case(
            *(When(state=s, then=Value(r)) for s, r in STATE_ORDER.items()), default=Value(9)
        )
        tests = tests.order_by(rank, "-flip_rate", "technique__name", "name")
    else:
        tests = tests.order_by("technique__name", "name")
    page = Paginator(tests, 25).get_page(request.GET.get("page"))
    rows = []
    for test in page.object_list:
        cells, internal_failure = visible_strip(
            test, can_see_internal(request.user, test.technique)
        )
        culprit = next(
            (
                c
                for c in test.culprit_ranges.all()
                if test.alert_open
                and test.last_good_run
                and test.first_bad_run
                and c.base_sha == test.last_good_run.tfmot_sha
                and c.head_sha == test.first_bad_run.tfmot_sha
            ),
            None,
        )
        rows.append(
            {"test": test, "cells": cells, "internal_failure": internal_failure, "culprit": culprit}
        )
    missing = (
        Technique.objects.filter(stage=Stage.LAUNCHED)
        .exclude(convergence_tests__isnull=False)
        .order_by("name")
    )
    return render(
        request,
        "convergence/grid.html",
        {"page": page, "rows": rows, "sort": sort, "missing": missing},
    )


@login_required
@require_POST
def culprit_refresh(request, pk):
    test = get_object_or_404(
        ConvergenceTest.objects.select_related("last_good_run", "first_bad_run"), pk=pk
    )
    if not request.user.is_staff and not test.technique.is_owned_by(request.user):
        raise PermissionDenied(
            "Only the TFMOT team or the technique's owners can look up a culprit range."
        )
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


@login_required
@require_safe
@private_page
def releases(request):
    sha, error = _sha_from(request)
    readiness = release_readiness(sha) if sha else None
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
        },
    )


@require_safe
def readiness_json(request):
    """For a release script: {"ready": bool, "blockers": [...]}; 400 without a valid SHA."""
    sha, error = _sha_from(request)
    if not sha:
        return JsonResponse({"error": error or "Pass ?sha=<commit>."}, status=400)
    readiness = release_readiness(sha)
    return JsonResponse(
        {
            "sha": sha,
            "ready": readiness.ready,
            "tests": readiness.tests,
            "blockers": readiness.blockers,
        }
    )
