"""Lifecycle pages: the public pipeline, a technique's lifecycle page (steps, launch,
deprecation, TOS changes), the call for owners, and GitHub ownership drift."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from lifecycle.forms import (
    DeprecateForm,
    LaunchForm,
    ModerateForm,
    OfferHelpForm,
    StepForm,
    TOSDecideForm,
    TOSRequestForm,
)
from lifecycle.permissions import (
    CHECK_OWNERSHIP,
    DECIDE_TOS,
    DEPRECATE,
    LAUNCH,
    MODERATE,
    REQUEST_TOS,
    SEE_LIFECYCLE,
    SEE_OWNERSHIP,
    SEE_TOS_REQUESTS,
    UPDATE_STEP,
)
from lifecycle.selectors import (
    decided_tos_requests,
    deprecations_with_technique,
    lifecycle_page,
    lifecycle_techniques,
    offers_with_deprecation,
    ownership_checks,
    pending_tos_requests,
    pipeline_rows,
    pipeline_techniques,
    steps_with_technique,
    tos_requests_with_technique,
    tos_row,
)
from lifecycle.services import (
    deprecation_start,
    interest_moderate,
    interest_submit,
    step_update,
    technique_launch,
    tos_change_decide,
    tos_change_request,
)
from techniques.models import Technique, TOSLevel
from tfmot_portal.forms import submit
from tfmot_portal.permissions import Permission, get_permitted_or_404

OWNERSHIP_PAGE_SIZE = 25
TOS_REQUESTS_PAGE_SIZE = 25
PIPELINE_PAGE_SIZE = 10


@require_safe
def pipeline(request):
    techniques = pipeline_techniques()
    page = Paginator(techniques, PIPELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = pipeline_rows(page.object_list)
    return render(request, "lifecycle/pipeline.html", {"rows": rows, "page": page})


def _page(request, technique: Technique, status: int = 200, refused: dict | None = None):
    """The technique's lifecycle page; after a refused POST, with that form (``refused``:
    its name on the page, the form) as it was filled in, so nothing typed is lost."""
    refused = refused or {}
    context = lifecycle_page(technique, request.user)
    context["steps"] = [
        (step, refused.get(f"step-{step.pk}") or StepForm.of(step)) for step in context["steps"]
    ]
    context["tos_requests"] = [
        (row, refused.get(f"tos-{row.change.pk}") or TOSDecideForm.of(row.change))
        for row in context["tos_requests"]
    ]
    other_level = (
        TOSLevel.PRODUCTION if technique.tos_level == TOSLevel.RESEARCH else TOSLevel.RESEARCH
    )
    context |= {
        "launch_form": refused.get("launch_form") or LaunchForm(),
        "tos_form": refused.get("tos_form") or TOSRequestForm(initial={"to_level": other_level}),
        "deprecate_form": refused.get("deprecate_form") or DeprecateForm(technique=technique),
    }
    return render(request, "lifecycle/technique.html", context, status=status)


def _after(request, done: bool, technique: Technique, name: str = "", form=None):
    """Back to the lifecycle page; when the form or the service refused, that page with
    the errors, the refused form (its ``name`` on the page) as it was sent and a 400."""
    if done:
        return redirect("lifecycle:technique", slug=technique.slug)
    return _page(request, technique, status=400, refused={name: form} if form else None)


def _act(request, technique: Technique, service, done: str, **form):
    """Run ``service(technique, user, **cleaned data)`` from the one form given by its
    page name, then ``_after``: a refused form comes back as it was sent."""
    ((name, bound),) = form.items()
    ok = submit(request, bound, partial(service, technique, request.user), done)
    return _after(request, ok, technique, name, bound)


def _technique(request, permission: Permission, slug) -> Technique:
    """The technique of this slug, when the user holds ``permission`` on it."""
    return get_permitted_or_404(request, permission, lifecycle_techniques(), slug=slug)


@login_required
@require_safe
def technique_lifecycle(request, slug):
    return _page(request, _technique(request, SEE_LIFECYCLE, slug))


@login_required
@require_POST
def step_save(request, pk):
    step = get_permitted_or_404(request, UPDATE_STEP, steps_with_technique(), pk=pk)
    form = StepForm.of(step, request.POST)
    updated = f"Step updated: {step.get_step_display()}."
    done = submit(request, form, partial(step_update, step, request.user), updated)
    return _after(request, done, step.technique, f"step-{step.pk}", form)


@login_required
@require_POST
def launch(request, slug):
    technique = _technique(request, LAUNCH, slug)
    form = LaunchForm(request.POST)
    launched = f"{technique.name} is launched."
    return _act(request, technique, technique_launch, launched, launch_form=form)


@login_required
@require_POST
def deprecate(request, slug):
    technique = _technique(request, DEPRECATE, slug)
    started = "Deprecation started; the technique page shows the banner."
    form = DeprecateForm(request.POST, technique=technique)
    return _act(request, technique, deprecation_start, started, deprecate_form=form)


@login_required
@require_POST
def offer_help(request, slug):
    deprecation = get_object_or_404(deprecations_with_technique(), technique__slug=slug)
    form = OfferHelpForm(request.POST)
    thanks = "Thank you! The TFMOT team will review your offer before it is listed."
    if submit(request, form, partial(interest_submit, deprecation, request.user), thanks):
        return redirect(deprecation.technique)
    # Refused: the offer as it was typed, to correct and send again.
    context = {"technique": deprecation.technique, "form": form}
    return render(request, "lifecycle/offer_help.html", context, status=400)


@login_required
@require_POST
def moderate(request, pk):
    interest = get_permitted_or_404(request, MODERATE, offers_with_deprecation(), pk=pk)
    done = submit(
        request,
        ModerateForm(request.POST),
        partial(interest_moderate, interest, request.user),
        lambda offer: f"Offer from {offer.user} {offer.get_status_display().lower()}.",
    )
    return _after(request, done, interest.deprecation.technique)


@login_required
@require_POST
def tos_request(request, slug):
    technique = _technique(request, REQUEST_TOS, slug)
    requested = "TOS change requested; the TFMOT team will decide."
    return _act(
        request, technique, tos_change_request, requested, tos_form=TOSRequestForm(request.POST)
    )


@login_required
@require_POST
def tos_decide(request, pk):
    change = get_permitted_or_404(request, DECIDE_TOS, tos_requests_with_technique(), pk=pk)
    form = TOSDecideForm.of(change, request.POST)
    done = submit(
        request,
        form,
        partial(tos_change_decide, change, request.user),
        lambda decided: f"TOS change {decided.get_status_display().lower()}.",
    )
    if done and request.POST.get("back") == "queue":
        return redirect("lifecycle:tos_requests")
    return _after(request, done, change.technique, f"tos-{change.pk}", form)


@login_required
@require_safe
def tos_requests(request):
    """The team's queue: pending TOS changes (decided here), then the decided ones."""
    SEE_TOS_REQUESTS.check(request.user)
    pending = [
        (tos_row(request.user, change), TOSDecideForm.of(change))
        for change in pending_tos_requests()[:100]
    ]
    page = Paginator(decided_tos_requests(), TOS_REQUESTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"pending": pending, "page": page, "decided": page.object_list}
    return render(request, "lifecycle/tos_requests.html", context)


@login_required
@require_safe
def ownership(request):
    SEE_OWNERSHIP.check(request.user)
    # A page of checks; the corrected CODEOWNERS (every technique) is a download.
    page = Paginator(ownership_checks(), OWNERSHIP_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "lifecycle/ownership.html", {"checks": page.object_list, "page": page})


@login_required
@require_POST
def ownership_check_now(request):
    CHECK_OWNERSHIP.check(request.user)
    from kombu.exceptions import OperationalError

    from lifecycle.tasks import check_ownership

    try:
        check_ownership.delay()
        messages.success(
            request, "Ownership check queued; results appear here when the worker is done."
        )
    except (OperationalError, ConnectionError, OSError):
        messages.error(request, "The task queue is unavailable right now; try again later.")
    return redirect("lifecycle:ownership")
