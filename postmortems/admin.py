from __future__ import annotations

from django.contrib import admin

from postmortems.models import NEXT_SWEEP, ActionItem, ContributingFactor, Postmortem, PostmortemPolicy

# Edits here bypass the services; whatever the sweeper reads makes it look again.
SWEPT_FIELDS = {"owner", "due_at", "due_date", "status"}


def _rearm(obj, form) -> None:  # type: ignore[no-untyped-def]
    if SWEPT_FIELDS & set(form.changed_data):
        obj.next_check_at = NEXT_SWEEP


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

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        _rearm(obj, form)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:  # type: ignore[no-untyped-def]
        for inline_form in formset.forms:
            if inline_form.has_changed() and isinstance(inline_form.instance, ActionItem):
                _rearm(inline_form.instance, inline_form)
        super().save_formset(request, form, formset, change)


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "owner", "due_date", "priority", "status", "overdue_since"]
    list_filter = ["status", "priority", "kind", "team"]
    search_fields = ["title"]

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        _rearm(obj, form)
        super().save_model(request, obj, form, change)
