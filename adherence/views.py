"""Adherence pages: the team's matrix, gap pages with actions, trend, badges, feed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.views.decorators.http import require_POST, require_safe

from adherence import engine
from adherence.forms import AcknowledgeForm, MatrixFilterForm, WaiveForm
from adherence.models import Gap, GapEvent
from adherence.permissions import can_acknowledge, can_see_internals, can_waive
from adherence.services import (
    adherence_matrix,
    gap_acknowledge,
    gap_trend,
    gap_waive,
    health_by_technique,
)
from techniques.cache import data_version, private_page, public_page
from techniques.models import OwnerGroup, Stage, Technique


@login_required
@require_safe
@private_page
def dashboard(request):
    form = MatrixFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    techniques = Technique.objects.select_related("owner_group").order_by("name")
    if filters.get("tos_level"):
        techniques = techniques.filter(tos_level=filters["tos_level"])
    if filters.get("owner_group"):
        techniques = techniques.filter(owner_group__slug=filters["owner_group"])
    if filters.get("stage"):
        techniques = techniques.filter(stage=filters["stage"])
    sort = filters.get("sort") or "name"
    if sort == "name":
        # Paginate in the database: only the page's techniques are evaluated and drawn.
        page: Page = Paginator(techniques, 50).get_page(request.GET.get("page"))
        rule_ids, rows = adherence_matrix(page.object_list, severity=filters.get("severity", ""))
    else:
        # Sorting by gaps needs every row; the sorted list is then paginated.
        rule_ids, all_rows = adherence_matrix(
            techniques, severity=filters.get("severity", ""), sort=sort
        )
        page = Paginator(all_rows, 50).get_page(request.GET.get("page"))
        rows = list(page.object_list)
    context = {
        "form": form,
        "rules": [engine.RULES[r] for r in rule_ids],
        "rows": rows,
        "groups": OwnerGroup.objects.order_by("name").only("slug", "name"),
        "stages": Stage.choices,
        "filters": filters,
        "page": page,
        "query": request.GET.urlencode().replace("page=", "_="),
    }
    return render(request, "adherence/dashboard.html", context)


@login_required
@require_safe
def gap_detail(request, pk):
    gap = get_object_or_404(
        Gap.objects.select_related("technique__owner_group", "acknowledged_by", "waived_by"), pk=pk
    )
    rule = engine.RULES.get(gap.rule_id)
    context = {
        "gap": gap,
        "rule": rule,
        "events": gap.events.select_related("by"),
        "internals": can_see_internals(request.user, gap),
        "may_acknowledge": can_acknowledge(request.user, gap) and gap.state == Gap.State.OPEN,
        "may_waive": can_waive(request.user) and gap.state != Gap.State.RESOLVED,
        "acknowledge_form": AcknowledgeForm(),
        "waive_form": WaiveForm(),
        "earlier": Gap.objects.filter(technique=gap.technique, rule_id=gap.rule_id).exclude(
            pk=gap.pk
        )[:10],
    }
    return render(request, "adherence/gap.html", context)


def _act(request, pk, form_class, action):
    gap = get_object_or_404(Gap.objects.select_related("technique__owner_group"), pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label or field.capitalize() if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}")
        return redirect(gap)
    try:
        action(gap, request.user, form.cleaned_data)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return redirect(gap)
    return redirect(gap)


@login_required
@require_POST
def acknowledge(request, pk):
    gap = get_object_or_404(Gap.objects.select_related("technique__owner_group"), pk=pk)
    if not can_acknowledge(request.user, gap):
        raise PermissionDenied(
            "Only the technique's owners or the TFMOT team can acknowledge a gap."
        )

    def act(gap, user, data):
        gap_acknowledge(gap, user, data["note"])
        messages.success(request, "Gap acknowledged.")

    return _act(request, pk, AcknowledgeForm, act)


@login_required
@require_POST
def waive(request, pk):
    if not can_waive(request.user):
        raise PermissionDenied("Only the TFMOT team can waive a gap.")

    def act(gap, user, data):
        gap_waive(gap, user, data["reason"], data["until"])
        messages.success(request, f"Gap waived until {data['until']:%Y-%m-%d}.")

    return _act(request, pk, WaiveForm, act)


@login_required
@require_safe
@private_page
def trend(request):
    technique = None
    if request.GET.get("technique"):
        technique = get_object_or_404(Technique, slug=request.GET["technique"])
    data = gap_trend(technique=technique)
    return render(
        request,
        "adherence/trend.html",
        {
            "trend": data,
            "chart": _chart(data["points"]),
            "technique": technique,
            "techniques": Technique.objects.order_by("name").only("slug", "name"),
        },
    )


def _chart(points, width=640, height=180) -> dict:
    """Coordinates for a server-rendered SVG line chart of (date, count) points."""
    top = max((count for _, count in points), default=0) or 1
    step = width / max(len(points) - 1, 1)
    coords = [
        (round(i * step, 1), round(height - count / top * (height - 10), 1))
        for i, (_, count) in enumerate(points)
    ]
    return {
        "width": width,
        "height": height,
        "max": top,
        "polyline": " ".join(f"{x},{y}" for x, y in coords),
        "first": points[0][0] if points else None,
        "last": points[-1][0] if points else None,
        "latest": points[-1][1] if points else 0,
    }


BADGE_COLOURS = {"healthy": "#2e7d32", "gaps": "#c62828", "unknown": "#6a737d"}


@require_safe
@public_page
def badge(request, slug):
    technique = get_object_or_404(Technique.objects.only("pk", "slug", "tos_level"), slug=slug)
    etag = f'"{slug}-{data_version(request)}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    health = health_by_technique([technique])[technique.pk]
    left = f"{technique.get_tos_level_display().lower()} TOS"
    right = health["label"]
    lw, rw = 7 * len(left) + 12, 7 * len(right) + 12
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + rw}" height="20" role="img" '
        f'aria-label="{escape(left)}: {escape(right)}"><title>{escape(left)}: {escape(right)}</title>'
        f'<rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{rw}" height="20" '
        f'fill="{BADGE_COLOURS[health["status"]]}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(left)}</text><text x="{lw + 6}" y="14">{escape(right)}</text></g></svg>'
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=300"
    response["ETag"] = etag
    return response


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
