"""Review pages: the queue of what needs the viewer's action, the owners' form
(pre-filled from the portal's results, autosave, preview), decisions, history."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from reviews.drafts import drafts
from reviews.forms import (
    DecideForm,
    PreviewForm,
    ReviewForm,
    ShepherdForm,
    SubmitForm,
    shepherds,
)
from reviews.models import Review, ReviewCycle
from reviews.permissions import (
    ASSIGN_SHEPHERD,
    DECIDE,
    EDIT,
    SUBMIT,
    VIEW,
    can_decide,
    can_edit,
)
from reviews.selectors import (
    VIEWS,
    disagreements,
    duty_evidence,
    queue_ordered,
    queue_reviews,
)
from reviews.services import (
    TEXT_FIELDS,
    Conflict,
    cycles_ensure,
    draft_problems,
    evidence_collect,
    rated_duties,
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
from tfmot_portal.forms import form_errors, run_service
from tfmot_portal.forms import submit as submit_form
from tfmot_portal.permissions import Permission, get_permitted_or_404

# Reviews per page of the queue (each row has the team's shepherd form): a screenful.
QUEUE_PAGE_SIZE = 25


def _reviews():
    return Review.objects.select_related(
        "cycle", "technique__owner_group", "shepherd", "submitted_by", "decided_by"
    ).prefetch_related("technique__owner_group__maintainers")


def _review_or_404(pk):
    return get_object_or_404(_reviews(), pk=pk)


def _permitted_review(request, permission: Permission, pk) -> Review:
    return get_permitted_or_404(request, permission, _reviews(), pk=pk)


@login_required
@require_safe
@private_page(reads=("reviews", "adherence"))
def queue(request):
    current = cycles_ensure()
    cycles = list(ReviewCycle.objects.all())
    view = request.GET.get("view") or ("cycle" if request.GET.get("cycle") else "action")
    if view not in VIEWS:
        view = "action"
    cycle = next((c for c in cycles if str(c.pk) == request.GET.get("cycle")), current)
    status = request.GET.get("status", "")
    mine = set(Technique.objects.owned_by(request.user).values_list("pk", flat=True))
    today = timezone.localdate()
    reviews = queue_ordered(
        queue_reviews(request.user, view, cycle, status),
        request.user,
        mine,
        overdue_only=bool(request.GET.get("overdue")),
        today=today,
    )
    page = Paginator(reviews, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [
        {"review": r, "mine": r.technique_id in mine, "overdue": r.days_overdue(today)}
        for r in page.object_list
    ]
    rows = page.object_list
    staff = shepherds().order_by("username")
    views = {k: v for k, v in VIEWS.items() if k != "decide" or request.user.is_staff}
    return render(
        request,
        "reviews/queue.html",
        {
            "view": view,
            "views": views,
            "cycle": cycle,
            "cycles": cycles,
            "rows": rows,
            "page": page,
            "status": status,
            "statuses": Review.Status.choices,
            "staff": list(staff) if request.user.is_staff else [],
            "overdue_only": bool(request.GET.get("overdue")),
        },
    )


@login_required
@require_POST
def assign_shepherd(request, pk):
    review = _permitted_review(request, ASSIGN_SHEPHERD, pk)
    form = ShepherdForm(request.POST)
    if not form.is_valid():
        # The form offers a list: anything else is a malformed request.
        return HttpResponseBadRequest(" ".join(form_errors(form)))
    shepherd = form.cleaned_data["shepherd"]
    run_service(
        request,
        lambda: review_assign_shepherd(review, request.user, shepherd),
        f"Shepherd of {review.technique.name}: {shepherd or 'nobody'}.",
    )
    return redirect(reverse("reviews:queue") + f"?cycle={review.cycle_id}")


def _review_context(review) -> dict:
    """The whole review as read: texts rendered, each duty with its assessment."""
    evidence = duty_evidence(review.technique)
    return {
        "review": review,
        "duties": [
            {
                "duty": d,
                "entry": review.self_assessment.get(d.id, {}),
                "evidence": evidence.get(d.id),
            }
            for d in duties_for(review.technique)
        ],
        "benefits": render_markdown(review.benefits_usage),
        "updates": render_markdown(review.major_updates),
        "notes": render_markdown(review.proposal_notes),
        "duty_evidence": evidence,
    }


@login_required
@require_safe
def detail(request, pk):
    review = _permitted_review(request, VIEW, pk)
    previous = (
        Review.objects.filter(technique=review.technique, cycle__due_date__lt=review.cycle.due_date)
        .order_by("-cycle__due_date")
        .first()
    )
    context = _review_context(review)
    context.update(
        {
            "evidence": review.evidence or evidence_collect(review.technique, review.cycle),
            "frozen": bool(review.evidence),
            "transitions": review.transitions.select_related("by"),
            "may_edit": can_edit(request.user, review),
            "may_decide": can_decide(request.user, review)
            and review.status == Review.Status.SUBMITTED,
            "decide_form": DecideForm(),
            "disagreements": disagreements(review, context["duty_evidence"]),
            "previous": previous,
            "diff": review_diff(review, previous),
            "history": Review.objects.filter(technique=review.technique).select_related("cycle"),
        }
    )
    return render(request, "reviews/detail.html", context)


@dataclass
class _EditState:
    """What the edit page reads: each duty's evidence (with the suggested ratings), the
    duties the owners rate, the period's evidence and the text drafts written from it."""

    evidence: dict
    suggestions: dict
    duties: list
    period: dict
    drafts: dict

    @classmethod
    def of(cls, review) -> _EditState:
        evidence = duty_evidence(review.technique)
        period = evidence_collect(review.technique, review.cycle)
        return cls(
            evidence,
            {k: e.suggestion for k, e in evidence.items()},
            rated_duties(review.technique, evidence),
            period,
            drafts(period),
        )

    def form(self, *args, **kwargs) -> ReviewForm:
        return ReviewForm(*args, duties=self.duties, suggestions=self.suggestions, **kwargs)


def _initial(review, state: _EditState) -> dict:
    # Empty text sections start from the draft the portal writes from its evidence.
    initial = {
        field: getattr(review, field) or state.drafts.get(field, "") for field in TEXT_FIELDS
    }
    initial["proposal_tos"] = review.proposal_tos
    initial["proposal_deprecate"] = review.proposal_deprecate
    initial["version"] = review.version
    for duty in state.duties:
        entry = review.self_assessment.get(duty.id) or {}
        # Pre-filled from the portal's results until the owners rate the duty.
        initial[f"rating-{duty.id}"] = entry.get("rating") or state.suggestions.get(duty.id, "")
        initial[f"note-{duty.id}"] = entry.get("note", "")
    return initial


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request, pk):
    review = _permitted_review(request, EDIT, pk)
    state = _EditState.of(review)
    if request.method != "POST":
        form = state.form(initial=_initial(review, state))
        return _edit_page(request, review, form, state)
    form = state.form(request.POST)
    if not form.is_valid():
        problems = {"__all__": form_errors(form)}
        messages.error(request, "Not saved: " + " ".join(problems["__all__"]))
        return _edit_page(request, review, form, state, problems, status=400)
    try:
        review = review_save_draft(review, request.user, form.draft(), form.loaded_version)
        return _after_save(request, review, form, state)
    except Conflict as error:
        messages.error(
            request,
            str(error)
            + " Both versions are shown: yours stays in the form; save again to keep it.",
        )
        mine = request.POST.copy()
        mine["version"] = str(error.theirs.version)
        form = state.form(mine)
        form.is_valid()
        return _edit_page(request, error.theirs, form, state, conflict=error, status=409)


def _after_save(request, review, form, state):
    """After the draft is saved: back to the form, or on to the preview (which submits)
    when no rating needs a note first."""
    if form.cleaned_data["action"] != "preview":
        messages.success(request, "Draft saved.")
        return redirect("reviews:edit", pk=review.pk)
    problems = {key: [text] for key, text in form.overrides().items()}
    if not problems:
        return redirect("reviews:review_preview", pk=review.pk)
    messages.error(request, "Draft saved. Some ratings need a note first.")
    return _edit_page(request, review, form, state, problems)


def _edit_page(request, review, form, state, problems=None, conflict=None, status=200):
    problems = problems or {}
    rows = [
        {
            "duty": duty,
            "rating": form[f"rating-{duty.id}"],
            "note": form[f"note-{duty.id}"],
            "evidence": state.evidence.get(duty.id),
            "problem": problems.get(f"assessment-{duty.id}"),
        }
        for duty in form.duties
    ]
    shown = form.shown()
    context = {
        "review": review,
        "form": form,
        "duties": rows,
        "not_applicable": [
            {"duty": duty, "evidence": state.evidence[duty.id]}
            for duty in duties_for(review.technique)
            if duty not in form.duties
        ],
        "problems": problems,
        "general_problems": problems.get("__all__", []),
        "conflict": conflict,
        "evidence": state.period,
        # A text section is marked as the portal's draft while it holds it word for word.
        "drafted": {
            field: bool(draft) and shown.get(field) == draft
            for field, draft in state.drafts.items()
        },
        "missing": draft_problems(review.technique, shown, state.evidence) if not problems else {},
    }
    return render(request, "reviews/edit.html", context, status=status)


@login_required
@require_safe
def review_preview(request, pk):
    """The whole review as the TFMOT team will read it, with the final Submit button."""
    review = _permitted_review(request, SUBMIT, pk)
    context = _review_context(review)
    context["problems"] = submission_problems(review, context["duty_evidence"])
    context["submit_form"] = SubmitForm(initial={"version": review.version})
    return render(request, "reviews/preview.html", context)


@login_required
@require_POST
def submit(request, pk):
    review = _permitted_review(request, SUBMIT, pk)
    form = SubmitForm(request.POST)
    if not form.is_valid() or form.cleaned_data["version"] != review.version:
        messages.error(
            request,
            "The review changed since this preview. Check it again before submitting.",
        )
        return redirect("reviews:review_preview", pk=review.pk)
    if run_service(
        request,
        lambda: review_submit(review, request.user),
        "Review submitted to the TFMOT team. Thank you!",
    ):
        return redirect(review)
    return redirect("reviews:edit", pk=review.pk)


@login_required
@require_POST
def autosave(request, pk):
    review = _review_or_404(pk)
    evidence = duty_evidence(review.technique)
    form = ReviewForm(request.POST, duties=rated_duties(review.technique, evidence))
    if not form.is_valid():
        return JsonResponse({"error": "Not saved: " + " ".join(form_errors(form))}, status=400)
    try:
        review = review_save_draft(review, request.user, form.draft(), form.loaded_version)
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
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": " ".join(form_errors(form))}, status=400)
    return JsonResponse({"html": render_markdown(form.cleaned_data["text"])})


@login_required
@require_POST
def decide(request, pk):
    review = _permitted_review(request, DECIDE, pk)
    form = DecideForm(request.POST)
    submit_form(
        request,
        form,
        # The form's fields are a decision and a comment per section; it reads them out.
        lambda **_: review_decide(
            review, request.user, accept=form.accept, comments=form.comments()
        ),
        lambda decided: (
            f"Review {decided.technique.name} ({decided.cycle}): "
            f"{decided.get_status_display().lower()}."
        ),
    )
    return redirect(review)
