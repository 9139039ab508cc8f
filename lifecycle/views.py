"""Lifecycle pages: the public pipeline, a technique's lifecycle page (steps, launch,
deprecation, TOS changes), the call for owners, and GitHub ownership drift."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from lifecycle.models import (
    ContributionStep,
    Deprecation,
    OwnerInterest,
    OwnershipCheck,
    TOSChangeRequest,
)
from lifecycle.services import (
    deprecation_start,
    interest_moderate,
    interest_submit,
    open_required_steps,
    step_update,
    tos_change_decide,
    tos_change_request,
)
from techniques.models import Stage, Technique
from techniques.services import codeowners_text, technique_save


def _errors(request, error: ValidationError) -> None:
    for text in error.messages:
        messages.error(request, text)


@require_safe
def pipeline(request):
    techniques = list(
        Technique.objects.filter(stage__in=[Stage.PROPOSED, Stage.IN_DEVELOPMENT])
        .select_related("owner_group")
        .prefetch_related("contribution_steps")
        .order_by("stage", "name")
    )
    rows = []
    for technique in techniques:
        steps = sorted(technique.contribution_steps.all(), key=lambda s: s.order)
        done = sum(1 for s in steps if s.is_closed)
        blockers = [s for s in steps if s.required and not s.is_closed]
        rows.append({"technique": technique, "steps": steps, "done": done, "blockers": blockers})
    return render(request, "lifecycle/pipeline.html", {"rows": rows})


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
@require_safe
def technique_lifecycle(request, slug):
    technique = get_object_or_404(Technique.objects.select_related("owner_group"), slug=slug)
    is_owner = technique.is_owned_by(request.user)
    if not (request.user.is_staff or is_owner):
        raise PermissionDenied(
            "The lifecycle page is for the technique's owners and the TFMOT team."
        )
    steps = sorted(technique.contribution_steps.all(), key=lambda s: s.order)
    context = {
        "technique": technique,
        "steps": steps,
        "states": ContributionStep.State.choices,
        "open_steps": open_required_steps(technique) if steps else [],
        "deprecation": Deprecation.objects.filter(technique=technique)
        .prefetch_related("interests__user")
        .first(),
        "reasons": Deprecation.Reason.choices,
        "others": Technique.objects.exclude(pk=technique.pk).order_by("name").only("pk", "name"),
        "tos_requests": technique.tos_requests.select_related("requested_by", "decided_by"),
        "check": OwnershipCheck.objects.filter(technique=technique).first(),
        "codeowners": codeowners_text() if request.user.is_staff else "",
        "is_owner": is_owner,
    }
    return render(request, "lifecycle/technique.html", context)


@login_required
@require_POST
def step_save(request, pk):
    step = get_object_or_404(
        ContributionStep.objects.select_related("technique__owner_group"), pk=pk
    )
    try:
        step_update(
            step,
            request.user,
            request.POST.get("state", ""),
            request.POST.get("link", "").strip(),
            _date(request.POST.get("done_on", "")),
            request.POST.get("note", "")[:500],
        )
        messages.success(request, f"Step updated: {step.get_step_display()}.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("lifecycle:technique", slug=step.technique.slug)


@login_required
@require_POST
def launch(request, slug):
    technique = get_object_or_404(Technique, slug=slug)
    if not request.user.is_staff:
        raise PermissionDenied("Only the TFMOT team marks a technique launched.")
    technique.stage = Stage.LAUNCHED
    technique.launch_date = (
        technique.launch_date or _date(request.POST.get("launch_date", "")) or date.today()
    )
    try:
        technique_save(
            technique,
            user=request.user,
            note="Launched",
            override=request.POST.get("override", "").strip(),
        )
        messages.success(request, f"{technique.name} is launched.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("lifecycle:technique", slug=slug)


@login_required
@require_POST
def deprecate(request, slug):
    technique = get_object_or_404(Technique.objects.select_related("owner_group"), slug=slug)
    replacement = Technique.objects.filter(pk=request.POST.get("replacement") or None).first()  # type: ignore[misc]  # None matches none
    try:
        deprecation_start(
            technique,
            request.user,
            request.POST.get("reason", ""),
            _date(request.POST.get("planned_on", "")),
            replacement,
            request.POST.get("explanation", "")[:5000],
            request.POST.get("call_for_owners") == "on",
        )
        messages.success(request, "Deprecation started; the technique page shows the banner.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("lifecycle:technique", slug=slug)


@login_required
@require_POST
def offer_help(request, slug):
    deprecation = get_object_or_404(
        Deprecation.objects.select_related("technique"), technique__slug=slug
    )
    try:
        interest_submit(deprecation, request.user, request.POST.get("message", ""))
        messages.success(
            request, "Thank you! The TFMOT team will review your offer before it is listed."
        )
    except ValidationError as error:
        _errors(request, error)
    return redirect(deprecation.technique)


@login_required
@require_POST
def moderate(request, pk):
    interest = get_object_or_404(
        OwnerInterest.objects.select_related("deprecation__technique"), pk=pk
    )
    interest_moderate(interest, request.user, approve=request.POST.get("decision") == "approve")
    messages.success(
        request, f"Offer from {interest.user} {interest.get_status_display().lower()}."
    )
    return redirect("lifecycle:technique", slug=interest.deprecation.technique.slug)


@login_required
@require_POST
def tos_request(request, slug):
    technique = get_object_or_404(Technique.objects.select_related("owner_group"), slug=slug)
    try:
        tos_change_request(
            technique,
            request.user,
            request.POST.get("to_level", ""),
            request.POST.get("justification", ""),
        )
        messages.success(request, "TOS change requested; the TFMOT team will decide.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("lifecycle:technique", slug=slug)


@login_required
@require_POST
def tos_decide(request, pk):
    change = get_object_or_404(
        TOSChangeRequest.objects.select_related("technique__owner_group"), pk=pk
    )
    try:
        tos_change_decide(
            change,
            request.user,
            approve=request.POST.get("decision") == "approve",
            note=request.POST.get("note", ""),
        )
        messages.success(request, f"TOS change {change.get_status_display().lower()}.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("lifecycle:technique", slug=change.technique.slug)


@login_required
@require_safe
def ownership(request):
    if not request.user.is_staff:
        raise PermissionDenied("GitHub ownership drift is for the TFMOT team.")
    checks = OwnershipCheck.objects.select_related("technique").order_by("technique__name")
    return render(
        request, "lifecycle/ownership.html", {"checks": checks, "codeowners": codeowners_text()}
    )


@login_required
@require_POST
def ownership_check_now(request):
    if not request.user.is_staff:
        raise PermissionDenied("Only the TFMOT team runs the ownership check.")
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
