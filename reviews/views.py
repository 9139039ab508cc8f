"""Review pages: the team's queue, the owners' form (autosave, preview), decisions, history."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from reviews.models import Review, ReviewCycle
from reviews.permissions import can_decide, can_edit, can_view
from reviews.services import (
    SECTIONS,
    TEXT_FIELDS,
    Conflict,
    cycles_ensure,
    evidence_collect,
    render_markdown,
    review_assign_shepherd,
    review_decide,
    review_diff,
    review_save_draft,
    review_submit,
    submission_problems,
)
from techniques.cache import private_page
from techniques.duties import duties_for
from techniques.models import Technique

MAX_PREVIEW = 20_000


def _review_or_404(pk):
    return get_object_or_404(
        Review.objects.select_related(
            "cycle", "technique__owner_group", "shepherd", "submitted_by", "decided_by"
        ).prefetch_related("technique__owner_group__maintainers"),
        pk=pk,
    )


@login_required
@require_safe
@private_page
def queue(request):
    current = cycles_ensure()
    cycles = list(ReviewCycle.objects.all())
    cycle = next((c for c in cycles if str(c.pk) == request.GET.get("cycle")), current)
    reviews = Review.objects.filter(cycle=cycle).select_related(
        "technique__owner_group", "shepherd", "cycle"
    )
    status = request.GET.get("status", "")
    if status in Review.Status.values:
        reviews = reviews.filter(status=status)
    mine = set(Technique.objects.owned_by(request.user).values_list("pk", flat=True))
    today = timezone.localdate()
    rows: list[dict[str, Any]] = [
        {"review": r, "mine": r.technique_id in mine, "overdue": r.days_overdue(today)}
        for r in reviews
    ]
    if request.GET.get("overdue"):
        rows = [row for row in rows if row["overdue"]]
    rows.sort(key=lambda row: (not row["mine"], -row["overdue"], row["review"].technique.name))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    staff = (
        get_user_model().objects.filter(is_staff=True).order_by("username")
        if request.user.is_staff
        else []
    )
    return render(
        request,
        "reviews/queue.html",
        {
            "cycle": cycle,
            "cycles": cycles,
            "rows": page.object_list,
            "page": page,
            "status": status,
            "statuses": Review.Status.choices,
            "staff": staff,
            "overdue_only": bool(request.GET.get("overdue")),
        },
    )


@login_required
@require_POST
def assign_shepherd(request, pk):
    review = _review_or_404(pk)
    shepherd = get_user_model().objects.filter(pk=request.POST.get("shepherd") or None).first()  # type: ignore[misc]  # None matches no user
    try:
        review_assign_shepherd(review, request.user, shepherd)
        messages.success(request, f"Shepherd of {review.technique.name}: {shepherd or 'nobody'}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(f"/reviews/?cycle={review.cycle_id}")


@login_required
@require_safe
def detail(request, pk):
    review = _review_or_404(pk)
    if not can_view(request.user, review):
        raise PermissionDenied(
            "Reviews in progress are for the technique's owners and the TFMOT team."
        )
    previous = (
        Review.objects.filter(technique=review.technique, cycle__due_date__lt=review.cycle.due_date)
        .order_by("-cycle__due_date")
        .first()
    )
    duties = [(d, review.self_assessment.get(d.id, {})) for d in duties_for(review.technique)]
    context = {
        "review": review,
        "duties": duties,
        "benefits": render_markdown(review.benefits_usage),
        "updates": render_markdown(review.major_updates),
        "notes": render_markdown(review.proposal_notes),
        "evidence": review.evidence or evidence_collect(review.technique, review.cycle),
        "frozen": bool(review.evidence),
        "transitions": review.transitions.select_related("by"),
        "may_edit": can_edit(request.user, review),
        "may_decide": can_decide(request.user, review) and review.status == Review.Status.SUBMITTED,
        "sections": SECTIONS,
        "previous": previous,
        "diff": review_diff(review, previous),
        "history": Review.objects.filter(technique=review.technique).select_related("cycle"),
    }
    return render(request, "reviews/detail.html", context)


def _form_data(post) -> dict:
    data = {field: post.get(field, "") for field in TEXT_FIELDS}
    data["proposal_tos"] = post.get("proposal_tos", "")
    data["proposal_deprecate"] = post.get("proposal_deprecate") == "on"
    data["self_assessment"] = {
        key[len("rating-") :]: {
            "rating": post.get(key, ""),
            "note": post.get("note-" + key[len("rating-") :], ""),
        }
        for key in post
        if key.startswith("rating-")
    }
    return data


def _version(post) -> int:
    try:
        return int(post.get("version", "0"))
    except ValueError:
        return 0


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request, pk):
    review = _review_or_404(pk)
    if not can_edit(request.user, review):
        raise PermissionDenied(
            "Only the technique's owners can edit this review, and only while it is a draft or returned for changes."
        )
    conflict = None
    problems = {}
    if request.method == "POST":
        data = _form_data(request.POST)
        try:
            review = review_save_draft(review, request.user, data, _version(request.POST))
            if request.POST.get("action") == "submit":
                review_submit(review, request.user)
                messages.success(request, "Review submitted to the TFMOT team. Thank you!")
                return redirect(review)
            messages.success(request, "Draft saved.")
            return redirect("reviews:edit", pk=review.pk)
        except Conflict as error:
            conflict = error
            review = error.theirs
            messages.error(
                request,
                str(error)
                + " Both versions are shown: yours stays in the form; save again to keep it.",
            )
        except ValidationError as error:
            problems = (
                error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            )
            messages.error(request, "Not submitted: some parts are missing. They are marked below.")
            review.refresh_from_db()
    source = conflict.mine if conflict else None
    duties = []
    for duty in duties_for(review.technique):
        entry = (
            (source or {}).get("self_assessment", {}).get(duty.id)
            if source
            else review.self_assessment.get(duty.id, {})
        )
        duties.append(
            {"duty": duty, "entry": entry or {}, "problem": problems.get(f"assessment-{duty.id}")}
        )
    values = {
        field: (source[field] if source else getattr(review, field))
        for field in (*TEXT_FIELDS, "proposal_tos", "proposal_deprecate")
    }
    context = {
        "review": review,
        "values": values,
        "duties": duties,
        "problems": problems,
        "conflict": conflict,
        "evidence": evidence_collect(review.technique, review.cycle),
        "ratings": Review.Rating.choices,
        "missing": submission_problems(review) if not problems else {},
    }
    return render(request, "reviews/edit.html", context, status=409 if conflict else 200)


@login_required
@require_POST
def autosave(request, pk):
    review = _review_or_404(pk)
    try:
        review = review_save_draft(
            review, request.user, _form_data(request.POST), _version(request.POST)
        )
    except PermissionDenied as error:
        return JsonResponse({"error": str(error)}, status=403)
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    except Conflict as error:
        theirs = {field: getattr(error.theirs, field) for field in TEXT_FIELDS}
        return JsonResponse(
            {
                "error": str(error)
                + " Reload to see both versions; your text is still in the form.",
                "theirs": theirs,
                "version": error.theirs.version,
            },
            status=409,
        )
    return JsonResponse(
        {
            "version": review.version,
            "saved_at": timezone.localtime(review.updated_at).strftime("%H:%M:%S"),
        }
    )


@login_required
@require_POST
def preview(request):
    text = request.POST.get("text", "")
    if len(text) > MAX_PREVIEW:
        return JsonResponse({"error": f"Keep this under {MAX_PREVIEW} characters."}, status=400)
    return JsonResponse({"html": render_markdown(text)})


@login_required
@require_POST
def decide(request, pk):
    review = _review_or_404(pk)
    comments = {section: request.POST.get(f"comment-{section}", "") for section in SECTIONS}
    try:
        review_decide(
            review, request.user, accept=request.POST.get("decision") == "accept", comments=comments
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(review)
    messages.success(
        request,
        f"Review {review.technique.name} ({review.cycle}): {Review.objects.get(pk=review.pk).get_status_display().lower()}.",
    )
    return redirect(review)
