from django.contrib import admin

from ci_status.models import (
    CIRun,
    Comment,
    Issue,
    Label,
    Release,
    Repository,
    SyncCursor,
    SyncRun,
    WebhookDelivery,
)


class SyncCursorInline(admin.TabularInline):
    model = SyncCursor
    extra = 0
    readonly_fields = ["resource", "url", "etag", "since", "last_status", "requests", "synced_at"]


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["full_name", "default_branch", "last_synced_at", "lock_until"]
    search_fields = ["full_name"]
    inlines = [SyncCursorInline]


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ["number", "kind", "title", "state", "author", "created_at", "first_response_at"]
    list_filter = ["kind", "state", "repository"]
    search_fields = ["title", "author", "=number"]
    list_select_related = ["repository"]
    show_full_result_count = False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["issue_number", "kind", "author", "author_association", "state", "created_at"]
    list_filter = ["kind", "author_is_bot"]
    search_fields = ["author", "=issue_number"]
    show_full_result_count = False


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "description"]
    search_fields = ["name"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["tag", "repository", "published_at", "prerelease"]
    search_fields = ["tag", "notes"]


@admin.register(CIRun)
class CIRunAdmin(admin.ModelAdmin):
    list_display = [
        "run_id",
        "attempt",
        "workflow",
        "branch",
        "event",
        "status",
        "conclusion",
        "created_at",
    ]
    list_filter = ["provider", "status", "conclusion", "event"]
    search_fields = ["workflow", "head_sha", "=run_id"]
    show_full_result_count = False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "repository",
        "resource",
        "trigger",
        "status",
        "started_at",
        "requests",
        "not_modified",
        "rows_written",
        "rate_limit_remaining",
    ]
    list_filter = ["status", "trigger"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "event", "action", "received_at", "rows_written"]
    list_filter = ["event"]
    search_fields = ["=delivery_id"]
