"""Admin for comp time: policies, holidays, work spans, grants (decided through the service) and time taken."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.errors import DomainError
from oncall.models import CompTimeCover, CompTimeGrant, CompTimePolicy, CompTimeUse, Holiday, WorkLog
from oncall.services.comptime import comp_time_grant_decide


@admin.register(CompTimePolicy)
class CompTimePolicyAdmin(admin.ModelAdmin):
    list_display = (
        "team",
        "night_start",
        "night_end",
        "count_weekends",
        "count_holidays",
        "threshold_minutes",
        "grant_kind",
        "grant_hours",
    )
    list_select_related = ("team",)
    readonly_fields = ("updated_at",)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "team")
    list_filter = ("team",)
    search_fields = ("name",)
    list_select_related = ("team",)
    date_hierarchy = "date"


@admin.register(WorkLog)
class WorkLogAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "start_at", "end_at", "source", "reference", "note")
    list_filter = ("source", "team")
    search_fields = ("user__username", "note", "reference")
    list_select_related = ("user", "team")
    autocomplete_fields = ["user"]
    raw_id_fields = ("page",)
    readonly_fields = ("created_by", "created_at")
    date_hierarchy = "start_at"


class CoverInline(admin.TabularInline):
    model = CompTimeCover
    extra = 0
    fields = ("layer", "start_at", "end_at", "proposed_user", "override")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: CompTimeGrant | None = None) -> bool:
        return False


@admin.register(CompTimeGrant)
class CompTimeGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "night_of", "worked_minutes", "hours", "kind", "status", "decided_by")
    list_filter = ("status", "kind", "team")
    search_fields = ("user__username", "note")
    list_select_related = ("user", "team", "decided_by")
    date_hierarchy = "night_of"
    readonly_fields = ("status", "decided_by", "decided_at", "created_at", "worked_minutes")
    inlines = [CoverInline]
    actions = ["approve", "decline"]

    def _decide(self, request: HttpRequest, queryset: QuerySet[CompTimeGrant], status: str) -> None:
        done = 0
        for grant in queryset:
            try:
                comp_time_grant_decide(grant=grant, by=request.user, status=status)
            except DomainError as exc:
                self.message_user(request, f"{grant}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{status.capitalize()} {done} grant(s).", messages.SUCCESS)

    @admin.action(description="Approve as proposed (managers of the team)")
    def approve(self, request: HttpRequest, queryset: QuerySet[CompTimeGrant]) -> None:
        self._decide(request, queryset, CompTimeGrant.Status.APPROVED)

    @admin.action(description="Decline (managers of the team)")
    def decline(self, request: HttpRequest, queryset: QuerySet[CompTimeGrant]) -> None:
        self._decide(request, queryset, CompTimeGrant.Status.DECLINED)


@admin.register(CompTimeUse)
class CompTimeUseAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "taken_on", "hours", "note", "created_by")
    list_filter = ("team",)
    search_fields = ("user__username", "note")
    list_select_related = ("user", "team", "created_by")
    autocomplete_fields = ["user"]
    readonly_fields = ("created_by", "created_at")
    date_hierarchy = "taken_on"
