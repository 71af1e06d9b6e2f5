"""Admin for escalation policies and pages: steps inline, each page's log read-only, stalled pages first.

The admin index shows pages whose escalation stalled (templates/admin/fireline_index.html),
because an administrator opening the admin is the person who can restart beat.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from oncall.models import EscalationPolicy, EscalationStep, Page, PageEvent, StepTarget
from oncall.selectors_paging import stalled_pages

admin.site.index_template = "admin/fireline_index.html"


class StepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0
    fields = ("position", "wait_minutes", "only_critical", "window_start", "window_end", "weekdays")
    show_change_link = True  # targets are edited on the step's own page
    ordering = ["position"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "repeats", "updated_at")
    list_filter = ("team",)
    search_fields = ("name", "team__name")
    list_select_related = ("team",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [StepInline]


class TargetInline(admin.TabularInline):
    model = StepTarget
    extra = 1
    fields = ("kind", "layer", "user")
    autocomplete_fields = ["user"]


@admin.register(EscalationStep)
class EscalationStepAdmin(admin.ModelAdmin):
    list_display = ("__str__", "position", "wait_minutes", "only_critical", "window_start", "window_end")
    list_filter = ("policy__team", "only_critical")
    list_select_related = ("policy__team",)
    inlines = [TargetInline]


class StalledFilter(admin.SimpleListFilter):
    title = "escalation"
    parameter_name = "escalation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("stalled", "Stalled (auditor flagged)"), ("due", "Waiting for a next step"), ("ended", "Stopped")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Page]) -> QuerySet[Page]:
        if self.value() == "stalled":
            return queryset.filter(status=Page.Status.TRIGGERED, stalled_at__isnull=False)
        if self.value() == "due":
            return queryset.filter(status=Page.Status.TRIGGERED, next_step_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(next_step_at__isnull=True)
        return queryset


class PageEventInline(admin.TabularInline):
    """The page's log is append-only: shown, never edited here."""

    model = PageEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "user", "channel", "notification", "message")
    readonly_fields = fields
    ordering = ["at", "pk"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    """Pages change only through their services (acknowledge, resolve); here they are read."""

    list_display = ("__str__", "team", "service", "status", "created_at", "next_step_at", "stalled_at")
    list_filter = (StalledFilter, "status", "team")
    search_fields = ("alert__title", "service__name")
    list_select_related = ("alert", "team", "service")
    date_hierarchy = "created_at"
    inlines = [PageEventInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Page._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        count = stalled_pages().count()
        if count:
            messages.warning(
                request, f"{count} page(s) did not escalate on time. Check beat and the workers (/healthz)."
            )
        return super().changelist_view(request, extra_context)
