from __future__ import annotations

from django.contrib import admin

from incidents.models import Incident, IncidentUpdate, RoleAssignment, SeverityPolicy, TimelineEntry


@admin.register(SeverityPolicy)
class SeverityPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "team", "level", "name", "update_every_minutes", "commander_required", "customer_notice_required",
        "customer_notice_within_minutes", "postmortem_required", "watch_minutes",
    ]  # fmt: skip
    list_filter = ["team", "level"]
    ordering = ["team__name", "level"]


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    readonly_fields = ["role", "user", "started_at", "ended_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TimelineInline(admin.TabularInline):
    """Read-only: the timeline is append-only, corrections are new entries made in the portal."""

    model = TimelineEntry
    fk_name = "incident"
    extra = 0
    fields = ["happened_at", "kind", "author", "text"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "team", "severity", "status", "declared_at", "next_update_due_at"]
    list_filter = ["severity", "status", "team", "detection_source", "is_restricted"]
    search_fields = ["title", "summary", "number"]
    date_hierarchy = "declared_at"
    readonly_fields = [
        "number", "team", "severity", "status", "declared_at", "acknowledged_at", "mitigated_at",
        "monitoring_since", "resolved_at", "closed_at", "next_update_due_at", "declared_by", "page",
    ]  # fmt: skip
    inlines = [RoleInline, TimelineInline]

    def has_add_permission(self, request) -> bool:
        # Declaring goes through the portal or the API, where the rules and the timeline live.
        return False


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(admin.ModelAdmin):
    list_display = ["incident", "number", "status", "trend", "posted_by", "posted_at"]
    readonly_fields = ["incident", "number", "status", "posted_by", "posted_at", "next_update_at"]
