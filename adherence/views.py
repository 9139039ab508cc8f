"""Adherence pages: the team's matrix, gap pages with actions, trend, badges, feed."""

from __future__ import annotations

from functools import partial

from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.views.decorators.http import require_POST, require_safe

from adherence import engine
from adherence.charts import Series, lines_chart
from adherence.forms import (
    AcknowledgeForm,
    CampaignForm,
    MatrixFilterForm,
    RemediationForm,
    WaiveForm,
    WaiverDecideForm,
    WaiverRequestForm,
)
from adherence.gap_panels import gap_panels
from adherence.guidance import evidence_pages
from adherence.health import AGE_STEPS, LEVELS, MEANING, WEIGHT
from adherence.matrix import area_spans, matrix_columns
from adherence.models import Campaign, Gap, GapEvent, WaiverRequest
from adherence.permissions import (
    ACKNOWLEDGE,
    DECIDE_WAIVER,
    PLAN,
    REQUEST_WAIVER,
    SEE_WAIVER_REQUESTS,
    WAIVE,
    can_acknowledge,
    can_see_internals,
    can_waive,
)
from adherence.selectors import (
    adherence_matrix,
    campaign_burndown,
    campaign_items,
    campaigns_progress,
    gap_close_times,
    matrix_techniques,
    pending_waiver_requests,
    rule_failing_gaps,
    rule_history,
)
from adherence.services import (
    campaign_create,
    gap_acknowledge,
    gap_waive,
    remediation_set,
    waiver_request_decide,
    waiver_request_submit,
)
from adherence.trend import line_chart, open_gaps_per_week
from techniques.cache import data_version, private_page, public_page
from techniques.duties import duty_of
from techniques.models import HealthLevel, OwnerGroup, Stage, Technique
from techniques.selectors import maintainer_labels
from tfmot_portal.forms import read_filters, submit
from tfmot_portal.permissions import Permission, get_permitted_or_404

# Techniques per page of the matrix (22 rule columns each): a screenful.
MATRIX_PAGE_SIZE = 25
ITEMS_PAGE_SIZE = 25


@login_required
@require_safe
@private_page(reads=("adherence",))
def dashboard(request):
    form, filters = read_filters(MatrixFilterForm, request.GET)
    techniques = matrix_techniques(filters, request.user)
    sort = filters.get("sort") or "name"
    severity = filters.get("severity", "")
    if sort == "name" and not filters.get("failing"):
        # Paginate in the database: only the page's techniques are evaluated and drawn.
        page: Page = Paginator(techniques, MATRIX_PAGE_SIZE).get_page(request.GET.get("page"))
        rule_ids, rows = adherence_matrix(page.object_list, severity=severity)
    else:
        # Sorting by health or keeping failing rows needs every row; then paginated.
        rule_ids, all_rows = adherence_matrix(techniques, severity=severity, sort=sort)
        if filters.get("failing"):
            all_rows = [row for row in all_rows if row.open_gaps]
        page = Paginator(all_rows, MATRIX_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
    all_columns, columns = matrix_columns(rule_ids, filters)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    for row in rows:
        row.shown = [row.cells[index[c.rule.id]] for c in columns]
    context = {
        "form": form,
        "columns": columns,
        "all_columns": all_columns,
        "areas": area_spans(columns),
        "all_areas": [area for area, _, _ in area_spans(all_columns)],
        "rows": rows,
        "groups": OwnerGroup.objects.order_by("name").values_list("slug", "name", named=True),
        "stages": Stage.choices,
        "filters": filters,
        "page": page,
    }
    return render(request, "adherence/dashboard.html", context)


def _gap_page(request, pk, status: int = 200, **forms):
    """The gap page; after a refused acknowledgement or waiver, with the refused form as
    it was filled in (and a 400), so nothing typed is lost."""
    gap = get_object_or_404(
        Gap.objects.select_related(
            "technique__owner_group", "acknowledged_by", "waived_by", "remediation__assignee"
        )
        .with_due()
        .prefetch_related("technique__owner_group__maintainers"),
        pk=pk,
    )
    rule = engine.RULES.get(gap.rule_id)
    group = gap.technique.owner_group
    maintainers = [m for m in group.maintainers.all() if m.is_active] if group else []
    context = {
        "gap": gap,
        "rule": rule,
        "fix": rule.fix_for(gap.evidence) if rule else "",
        "duty": duty_of(gap.rule_id),
        "evidence_pages": evidence_pages(gap),
        "panels": gap_panels(request, gap),
        "group": group,
        "assignees": [m for m in maintainers if m.is_direct_assignee],
        "maintainers": maintainers,
        "events": gap.events.select_related("by"),
        "internals": can_see_internals(request.user, gap),
        "may_acknowledge": can_acknowledge(request.user, gap) and gap.state == Gap.State.OPEN,
        "may_waive": can_waive(request.user)
        and gap.state not in (Gap.State.RESOLVED, Gap.State.WAIVED),
        "acknowledge_form": forms.get("acknowledge_form") or AcknowledgeForm(),
        "waive_form": forms.get("waive_form") or WaiveForm(),
        "remediation": getattr(gap, "remediation", None),
        "may_plan": PLAN.may(request.user, gap) and gap.state != Gap.State.RESOLVED,
        "remediation_form": forms.get("remediation_form") or RemediationForm.of(gap),
        "waiver_request": gap.waiver_requests.filter(status=WaiverRequest.Status.PENDING)
        .select_related("requested_by")
        .first(),
        "may_request_waiver": REQUEST_WAIVER.may(request.user, gap) and gap.counts,
        "waiver_request_form": forms.get("waiver_request_form") or WaiverRequestForm(),
        "today": timezone.localdate(),
        "earlier": Gap.objects.filter(technique=gap.technique, rule_id=gap.rule_id).exclude(
            pk=gap.pk
        )[:10],
    }
    return render(request, "adherence/gap.html", context, status=status)


@login_required
@require_safe
def gap_detail(request, pk):
    return _gap_page(request, pk)


def _gap_action(request, pk, permission: Permission, service, done, **form):
    """Run a gap's state change (``service``) from the one form it is given by its page
    name: back to the gap page, or that page with the form as it was sent and a 400."""
    gaps = Gap.objects.select_related("technique__owner_group")
    gap = get_permitted_or_404(request, permission, gaps, pk=pk)
    (bound,) = form.values()
    if submit(request, bound, partial(service, gap, request.user), done):
        return redirect(gap)
    return _gap_page(request, pk, status=400, **form)


@login_required
@require_POST
def acknowledge(request, pk):
    form = AcknowledgeForm(request.POST)
    done = "Gap acknowledged."
    return _gap_action(request, pk, ACKNOWLEDGE, gap_acknowledge, done, acknowledge_form=form)


@login_required
@require_POST
def waive(request, pk):
    form = WaiveForm(request.POST)
    done = "Gap waived until {0.waived_until:%Y-%m-%d}.".format
    return _gap_action(request, pk, WAIVE, gap_waive, done, waive_form=form)


@login_required
@require_POST
def remediation(request, pk):
    gap = get_permitted_or_404(request, PLAN, Gap.objects.select_related("technique"), pk=pk)
    form = RemediationForm.of(gap, request.POST)
    done = "Due {0.due_on:%Y-%m-%d}, assigned to @{0.assignee.github_login}.".format
    return _gap_action(request, pk, PLAN, remediation_set, done, remediation_form=form)


@login_required
@require_POST
def waiver_request(request, pk):
    form = WaiverRequestForm(request.POST)
    done = "Waiver requested; the TFMOT team will decide."
    return _gap_action(
        request, pk, REQUEST_WAIVER, waiver_request_submit, done, waiver_request_form=form
    )


def _waiver_queue(request, status: int = 200, refused: dict | None = None):
    refused = refused or {}
    page = Paginator(pending_waiver_requests(), ITEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        (
            r,
            refused.get(r.pk) or WaiverDecideForm.of(r),
            DECIDE_WAIVER.may(request.user, r),
        )
        for r in page.object_list
    ]
    context = {"rows": rows, "page": page}
    return render(request, "adherence/waiver_requests.html", context, status=status)


@login_required
@require_safe
def waiver_requests(request):
    """The team's queue of owners' waiver requests, oldest first, each decided here."""
    SEE_WAIVER_REQUESTS.check(request.user)
    return _waiver_queue(request)


@login_required
@require_POST
def waiver_decide(request, pk):
    requests = WaiverRequest.objects.select_related("gap__technique__owner_group")
    waiver = get_permitted_or_404(request, DECIDE_WAIVER, requests, pk=pk)
    form = WaiverDecideForm.of(waiver, request.POST)
    done = "Waiver request {0.status}.".format
    if submit(request, form, partial(waiver_request_decide, waiver, request.user), done):
        return redirect("adherence:waiver_requests")
    return _waiver_queue(request, status=400, refused={waiver.pk: form})


def _campaigns_page(request, form=None, status: int = 200):
    campaigns = Campaign.objects.order_by("-due_on", "-pk")
    page = Paginator(campaigns, ITEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": campaigns_progress(page.object_list),
        "form": form or CampaignForm(),
        "may_plan": PLAN.may(request.user, None),
        "rules": engine.RULES,
    }
    return render(request, "adherence/campaigns.html", context, status=status)


@login_required
@require_safe
def campaigns(request):
    """Remediation campaigns: a rule across techniques, due by a date, with progress."""
    return _campaigns_page(request)


@login_required
@require_POST
def campaign_new(request):
    PLAN.check(request.user)
    form = CampaignForm(request.POST)
    started = "Campaign started: {0.title}.".format
    created: list = []

    def create(**data):
        created.append(campaign_create(request.user, **data))
        return created[-1]

    if submit(request, form, create, started):
        return redirect(created[-1])
    return _campaigns_page(request, form=form, status=400)


@login_required
@require_safe
def campaign_detail(request, pk):
    campaign = get_object_or_404(Campaign.objects.select_related("created_by"), pk=pk)
    points = campaign_burndown(campaign)
    chart = lines_chart(
        [at for at, _, _ in points],
        [
            Series("Open", [o for _, o, _ in points], "#b94700"),
            Series("Done", [d for _, _, d in points], "#2e7d32", "6 3"),
        ],
    )
    page = Paginator(campaign_items(campaign), ITEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    groups = {g.technique.owner_group_id for g in items if g.technique.owner_group_id}
    stars = maintainer_labels(sorted(groups))
    for gap in items:
        labels = stars.get(gap.technique.owner_group_id, [])
        gap.stars = [label.rstrip("*") for label in labels if label.endswith("*")]
    context = {
        "campaign": campaign,
        "rule": engine.RULES.get(campaign.rule_id),
        "chart": chart,
        "open": points[-1][1] if points else 0,
        "done": points[-1][2] if points else 0,
        "items": items,
        "page": page,
        "today": timezone.localdate(),
    }
    return render(request, "adherence/campaign.html", context)


@require_safe
@public_page(reads=("adherence",))
def rule_detail(request, rule_id):
    """Public: one rule, its policy sentence and fix, and how many techniques met it over
    time; signed-in people also see the failing techniques with due dates."""
    rule = engine.RULES.get(rule_id)
    if rule is None:
        raise Http404("No rule with this id.")
    history = rule_history(rule_id)
    points = history["points"]
    chart = lines_chart(
        [at for at, _, _ in points],
        [
            Series("Met", [m for _, m, _ in points], "#2e7d32"),
            Series("Not met", [f for _, _, f in points], "#b94700", "6 3"),
        ],
    )
    page = None
    if request.user.is_authenticated:
        page = Paginator(rule_failing_gaps(rule_id), ITEMS_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    context = {
        "rule": rule,
        "duty": duty_of(rule_id),
        "weight": WEIGHT[rule.severity],
        "history": history,
        "chart": chart,
        "met": points[-1][1] if points else 0,
        "page": page,
        "campaigns": Campaign.objects.filter(rule_id=rule_id).order_by("due_on")[:20],
        "today": timezone.localdate(),
    }
    return render(request, "adherence/rule.html", context)


@login_required
@require_safe
@private_page(reads=("adherence",))
def trend(request):
    technique = None
    if request.GET.get("technique"):
        technique = get_object_or_404(Technique, slug=request.GET["technique"])
    data = gap_close_times(technique=technique)
    points = open_gaps_per_week(technique=technique)
    return render(
        request,
        "adherence/trend.html",
        {
            "trend": data,
            "points": points,
            "chart": line_chart(points),
            "technique": technique,
            "techniques": Technique.objects.order_by("name").values_list(
                "slug", "name", named=True
            ),
        },
    )


BADGE_COLOURS = {
    HealthLevel.HEALTHY: "#2e7d32",
    HealthLevel.MINOR: "#7a6a00",
    HealthLevel.ATTENTION: "#b35c00",
    HealthLevel.TROUBLE: "#c62828",
    HealthLevel.UNKNOWN: "#6a737d",
}


@require_safe
@public_page(registry_only=True)  # a technique's TOS level and stored health only
def badge(request, slug):
    technique = get_object_or_404(
        Technique.objects.only("pk", "slug", "tos_level", "health_level", "health_points"),
        slug=slug,
    )
    etag = f'"{slug}-{data_version(request, registry_only=True)}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    left = f"{technique.get_tos_level_display().lower()} TOS"
    right = technique.get_health_level_display().lower()
    if technique.health_points:
        right += f" ({technique.health_points} pts)"
    lw, rw = 7 * len(left) + 12, 7 * len(right) + 12
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + rw}" height="20" role="img" '
        f'aria-label="{escape(left)}: {escape(right)}"><title>{escape(left)}: {escape(right)}</title>'
        f'<rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{rw}" height="20" '
        f'fill="{BADGE_COLOURS[HealthLevel(technique.health_level)]}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(left)}</text><text x="{lw + 6}" y="14">{escape(right)}</text></g></svg>'
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=300"
    response["ETag"] = etag
    return response


@require_safe
@public_page
def health(request):
    """Public: how a technique's health is computed, and every rule with how to fix it."""
    rules = sorted(engine.RULES.values(), key=lambda r: (-WEIGHT[r.severity], r.title.lower()))
    levels = [
        {"level": HealthLevel.HEALTHY, "from": 0, "meaning": MEANING[HealthLevel.HEALTHY]}
    ] + [
        {"level": level, "from": at_least, "meaning": MEANING[level]}
        for at_least, level in reversed(LEVELS)
    ]
    context = {
        "rules": [{"rule": r, "weight": WEIGHT[r.severity]} for r in rules],
        "levels": levels,
        "ages": sorted(AGE_STEPS),
        "weights": [(str(sev), w) for sev, w in WEIGHT.items()],
        "policy_start": engine.policy_start(),
    }
    return render(request, "adherence/health.html", context)


class GapFeed(Feed):
    """Public Atom feed of gap changes: technique, duty check, what happened; no notes."""

    feed_type = Atom1Feed
    title = "tfmot-portal: adherence gap changes"
    link = "/adherence/"
    subtitle = "Gaps opened, resolved, acknowledged and waived for TFMOT techniques."

    def items(self):
        return (
            GapEvent.objects.select_related("gap__technique")
            .exclude(kind=GapEvent.Kind.EVIDENCE)
            .order_by("-at", "-id")[:50]
        )

    def item_title(self, event):
        rule = engine.RULES.get(event.gap.rule_id)
        return f"{event.gap.technique.name}: {rule.title if rule else event.gap.rule_id} — {event.get_kind_display().lower()}"

    def item_description(self, event):
        return event.summary or event.gap.summary

    def item_link(self, event):
        return event.gap.technique.get_absolute_url() + f"#gap-event-{event.pk}"

    def item_pubdate(self, event):
        return event.at
