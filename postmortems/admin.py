from __future__ import annotations

from django.contrib import admin

from postmortems.models import ActionItem, ContributingFactor, Postmortem, PostmortemPolicy


@admin.register(PostmortemPolicy)
class PostmortemPolicyAdmin(admin.ModelAdmin):
    list_display = ["team", "due_kind", "due_hours", "due_business_days", "holiday_country", "escalate_after_hours"]


class FactorInline(admin.TabularInline):
    model = ContributingFactor
    extra = 0


class ItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    fields = ["title", "owner", "due_date", "priority", "status"]


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    list_display = ["incident", "team", "owner", "status", "due_at", "overdue_since"]
    list_filter = ["status", "team"]
    readonly_fields = ["incident", "team", "created_at", "published_at", "overdue_since"]
    inlines = [FactorInline, ItemInline]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "owner", "due_date", "priority", "status", "overdue_since"]
    list_filter = ["status", "priority", "kind", "team"]
    search_fields = ["title"]
