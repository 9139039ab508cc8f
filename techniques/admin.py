from django.contrib import admin

from techniques.forms import TechniqueAdminForm
from techniques.models import Maintainer, OwnerGroup, Technique, TechniqueChange
from techniques.services import maintainers_record_change, technique_save


class MaintainerInline(admin.TabularInline):
    model = Maintainer
    extra = 1
    fields = ["github_login", "name", "email", "is_direct_assignee", "status", "last_activity_at"]
    fields += ["github_id", "from_github_team"]
    readonly_fields = ["last_activity_at", "github_id", "from_github_team"]


@admin.register(OwnerGroup)
class OwnerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "mailing_list", "github_team", "contact_policy"]
    search_fields = ["name", "mailing_list", "maintainers__github_login"]
    list_filter = ["contact_policy"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MaintainerInline]

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        described = [
            f"{'updated' if m.pk else 'added'} @{m.github_login} ({m.status})" for m in instances
        ]
        described += [f"removed @{m.github_login}" for m in formset.deleted_objects]
        super().save_formset(request, form, formset, change)
        if described and change:
            maintainers_record_change(form.instance, "; ".join(described), user=request.user)


@admin.register(Maintainer)
class MaintainerAdmin(admin.ModelAdmin):
    list_display = [
        "github_login",
        "name",
        "group",
        "is_direct_assignee",
        "status",
        "last_activity_at",
    ]
    list_filter = ["status", "is_direct_assignee", "group"]
    search_fields = ["github_login", "name", "email"]
    list_select_related = ["group"]


class TechniqueChangeInline(admin.TabularInline):
    model = TechniqueChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ("changed_at", "field", "before", "after", "note", "changed_by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Technique)
class TechniqueAdmin(admin.ModelAdmin):
    form = TechniqueAdminForm
    list_display = ["name", "slug", "tos_level", "stage", "owner_group", "launch_date"]
    list_filter = ["tos_level", "stage", "category", "owner_group"]
    search_fields = ["name", "slug", "public_api"]
    list_select_related = ["owner_group"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TechniqueChangeInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "category", "summary", "public_api", "module_path"]}),
        (
            "Ownership and terms of service",
            {
                "fields": [
                    "owner_group",
                    "tos_level",
                    "tos_rationale",
                    "stage",
                    "launch_date",
                    "launch_release",
                ]
            },
        ),
        ("GitHub", {"fields": ["github_labels", "path_globs", "gap_issues"]}),
        (
            "Overview page",
            {
                "fields": [
                    "overview_url",
                    "support_scope",
                    "accepts_feature_requests",
                    "accepts_prs",
                    "provides_release_notes",
                    "api_tests_confirmed_on",
                ]
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        technique_save(obj, user=request.user, note="Edited in the admin")


@admin.register(TechniqueChange)
class TechniqueChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "technique", "field", "before", "after", "changed_by"]
    list_filter = ["field"]
    search_fields = ["technique__slug", "before", "after", "note"]
    list_select_related = ["technique", "changed_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
