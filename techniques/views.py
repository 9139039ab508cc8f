"""Public pages of the registry (anonymous read-only) and "My techniques"."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from techniques.cache import private_page, public_page
from techniques.forms import AuditFilterForm
from techniques.landing import landing_reads, landing_sections
from techniques.models import Technique
from techniques.panels import technique_panels
from techniques.permissions import SEE_AUDIT
from techniques.selectors import (
    audit_changes,
    audit_entries,
    group_page,
    groups_page,
    home_page,
    search,
    technique_page,
)
from techniques.services import (
    codeowners_text,
    owners_markdown,
    owners_rows,
    owners_techniques,
)
from tfmot_portal.forms import read_filters

OWNERS_PAGE_SIZE = 30


@public_page(registry_only=True)
@require_safe
def home(request):
    # Health is stored on each technique by the adherence evaluation: read, never computed.
    # Paginated in the database, production TOS first: a page builds only its rows.
    sort = "health" if request.GET.get("sort") == "health" else "name"
    page = home_page(sort, request.GET.get("page"))
    return render(request, "techniques/home.html", {**page, "sort": sort})


@public_page(technique="slug")  # its own panels: writes about other techniques leave it
@require_safe
def technique_detail(request, slug):
    context = technique_page(slug, request.user)
    if context is None:
        raise Http404("No technique with this name.")
    context["panels"] = technique_panels(request, context["technique"])
    return render(request, "techniques/detail.html", context)


@public_page(registry_only=True)
@require_safe
def technique_docstring(request, slug):
    technique = get_object_or_404(Technique.objects.select_related("owner_group"), slug=slug)
    return HttpResponse(
        technique.docstring_header() + "\n", content_type="text/plain; charset=utf-8"
    )


@public_page(registry_only=True)
@require_safe
def owners(request):
    # Paginated in the database: a page builds only its rows (the downloads have all).
    page = Paginator(owners_techniques(), OWNERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "techniques/owners.html", {"rows": owners_rows(page.object_list), "page": page}
    )


@public_page(registry_only=True)
@require_safe
def owners_md(request):
    response = HttpResponse(
        owners_markdown(owners_rows()), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="OWNERS.md"'
    return response


@public_page(registry_only=True)
@require_safe
def codeowners(request):
    response = HttpResponse(codeowners_text(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="CODEOWNERS"'
    return response


@public_page(registry_only=True)
@require_safe
def groups(request):
    page = groups_page(request.GET.get("page"))
    return render(request, "techniques/groups.html", {"groups": page.object_list, "page": page})


@public_page(registry_only=True)
@require_safe
def group_detail(request, slug):
    context = group_page(slug)
    if context is None:
        raise Http404("No owner group with this name.")
    return render(request, "techniques/group.html", context)


@public_page(registry_only=True)
@require_safe
def search_page(request):
    return render(request, "techniques/search.html", {"results": search(request.GET.get("q", ""))})


def _landing_reads(request) -> tuple[str, ...]:
    return landing_reads(["owner", "staff"] if request.user.is_staff else ["owner"])


@login_required
@require_safe
@private_page(reads=_landing_reads)  # the apps of its sections: a GitHub comment leaves it
def landing(request):
    """A signed-in person's start: what needs their action, then their techniques."""
    owned = list(Technique.objects.owned_by(request.user).for_pages().order_by("name"))
    context = {
        "owned": owned,
        "staff_sections": landing_sections(request.user, owned, "staff")
        if request.user.is_staff
        else [],
        "owner_sections": landing_sections(request.user, owned, "owner"),
    }
    return render(request, "techniques/landing.html", context)


@require_safe
def my_techniques(request):
    """The former "My techniques" address: the landing page lists them now."""
    return redirect("techniques:landing", permanent=True)


@login_required
@require_safe
def audit_trail(request):
    """Staff: the latest audited changes (who, when, before, after), in words."""
    SEE_AUDIT.check(request.user)
    form, filters = read_filters(AuditFilterForm, request.GET)
    page = Paginator(audit_entries(**filters), 25).get_page(request.GET.get("page"))
    context = {"page": page, "rows": audit_changes(page.object_list), "form": form}
    return render(request, "techniques/audit.html", context)
