from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control

from convergence.models import (
    BenefitTarget,
    ChangePoint,
    CIToken,
    ConvergenceRun,
    ConvergenceTest,
    CulpritRange,
    MetricDirection,
)


class BenefitTargetInline(admin.TabularInline):
    model = BenefitTarget
    extra = 0
    fields = [
        "metric",
        "comparator",
        "documented_value",
        "tolerance",
        "unit",
        "doc_url",
        "latest_value",
        "regressed",
    ]
    readonly_fields = ["latest_value", "regressed"]


class MetricDirectionInline(admin.TabularInline):
    """Which way a metric without a benefit target improves, so that its shifts can be
    judged regressions (a target's comparator decides for its own metric)."""

    model = MetricDirection
    extra = 0
    fields = ["metric", "better"]
    verbose_name = "metric direction"


@admin.register(ConvergenceTest)
class ConvergenceTestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "model_family", "task", "location", "cadence_hours", "state"]
    list_filter = ["state", "kind", "location", "technique"]
    search_fields = ["name", "technique__slug", "model_family", "task"]
    readonly_fields = [
        "state",
        "state_since",
        "alert_open",
        "flip_rate",
        "benefit_regressed",
        "last_run",
        "last_good_run",
        "first_bad_run",
    ]
    exclude = ["recent"]
    inlines = [BenefitTargetInline, MetricDirectionInline]


@admin.register(ConvergenceRun)
class ConvergenceRunAdmin(admin.ModelAdmin):
    list_display = [
        "test",
        "started_at",
        "outcome",
        "tfmot_sha",
        "tf_version",
        "source",
        "internal",
    ]
    list_filter = ["outcome", "source", "internal"]
    search_fields = ["tfmot_sha", "test__name", "test__technique__slug"]
    list_select_related = ["test__technique"]
    date_hierarchy = "started_at"


@admin.register(ChangePoint)
class ChangePointAdmin(admin.ModelAdmin):
    """Found by ``convergence.changepoints`` on ingestion: read-only."""

    list_display = [
        "test",
        "metric",
        "sha",
        "run_started_at",
        "change_percent",
        "significance",
        "regression",
        "resolved_at",
        "internal",
    ]
    list_filter = ["regression", "internal", "metric"]
    list_select_related = ["test__technique"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CulpritRange)
class CulpritRangeAdmin(admin.ModelAdmin):
    list_display = ["test", "base_sha", "head_sha", "fetched_at", "error"]


@admin.register(CIToken)
class CITokenAdmin(admin.ModelAdmin):
    """Tokens are created here; the clear token is shown once, in the response to the add
    form itself (never in a cookie or the session), then only its hash is kept. Scope and
    name stay editable; the token itself is revoked, never edited."""

    list_display = [
        "name",
        "prefix",
        "all_techniques",
        "may_upload_internal",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    fields = ["name", "may_upload_internal", "all_techniques", "groups", "techniques"]
    filter_horizontal = ["groups", "techniques"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj._clear_token = obj.set_new_secret()  # for response_add only
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        response = TemplateResponse(
            request,
            "admin/convergence/citoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "token": obj,
                "clear": obj._clear_token,
                "title": "CI token created",
            },
        )
        add_never_cache_headers(response)
        patch_cache_control(response, no_store=True)
        return response

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:  # one save each, so the audit trail records every revocation
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        messages.success(request, f"{len(tokens)} token(s) revoked.")
