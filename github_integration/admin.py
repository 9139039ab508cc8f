from django.contrib import admin

from github_integration.models import BootstrapProposal, GapIssue, TeamSync


@admin.register(TeamSync)
class TeamSyncAdmin(admin.ModelAdmin):
    list_display = ("group", "team", "synced_at", "error")
    readonly_fields = ("etag", "members", "synced_at", "error")


@admin.register(BootstrapProposal)
class BootstrapProposalAdmin(admin.ModelAdmin):
    list_display = ("repository", "kind", "key", "state", "decided_by", "decided_at")
    list_filter = ("repository", "kind", "state")
    search_fields = ("key",)


@admin.register(GapIssue)
class GapIssueAdmin(admin.ModelAdmin):
    list_display = ("gap", "repository", "number", "state", "synced_at", "error")
    list_filter = ("state",)
    readonly_fields = ("marker", "claimed_at", "body_hash")
