"""Administrators set pages up here; notices and component statuses change in the portal.

Every save re-publishes the page, so the public snapshot never lags the configuration.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.utils import timezone

from statuspage import publishing, snapshots
from statuspage.models import (
    Component,
    ComponentGroup,
    ComponentStatusInterval,
    Notice,
    NoticeUpdate,
    StatusPage,
    Subscriber,
)


class PublishingAdmin(admin.ModelAdmin):
    def page_of(self, obj):  # type: ignore[no-untyped-def]
        return obj if isinstance(obj, StatusPage) else obj.page

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        publishing.publish_on_commit(self.page_of(obj))

    def delete_model(self, request, obj) -> None:  # type: ignore[no-untyped-def]
        page = self.page_of(obj)
        super().delete_model(request, obj)
        if not isinstance(obj, StatusPage):
            publishing.publish_on_commit(page)


class GroupInline(admin.TabularInline):
    model = ComponentGroup
    extra = 0
    fields = ["name", "description", "position"]


@admin.register(StatusPage)
class StatusPageAdmin(PublishingAdmin):
    list_display = ["name", "host", "time_zone", "public_id"]
    filter_horizontal = ["teams"]
    inlines = [GroupInline]
    readonly_fields = ["public_id"]

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        old_host = StatusPage.objects.filter(pk=obj.pk).values_list("host", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        if old_host and old_host != obj.host:
            transaction.on_commit(lambda: snapshots.forget(old_host))

    def delete_model(self, request, obj) -> None:  # type: ignore[no-untyped-def]
        host = obj.host
        super().delete_model(request, obj)
        transaction.on_commit(lambda: snapshots.forget(host))

    def save_related(self, request, form, formsets, change) -> None:  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        publishing.publish_on_commit(form.instance)


@admin.register(Component)
class ComponentAdmin(PublishingAdmin):
    list_display = ["name", "page", "group", "status", "position"]
    list_filter = ["page", "status"]
    filter_horizontal = ["services"]
    readonly_fields = ["public_id", "status", "status_source", "status_changed_at", "created_at", "updated_at"]
    fields = ["page", "group", "name", "description", "position", "services", "only_show_if_degraded", *readonly_fields]

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        now = timezone.now()
        if not change:
            obj.status_changed_at = obj.created_at = now
        obj.updated_at = now
        super().save_model(request, obj, form, change)
        if not change:
            ComponentStatusInterval.objects.create(component=obj, status=obj.status, started_at=now)


class UpdateInline(admin.TabularInline):
    model = NoticeUpdate
    extra = 0
    fields = ["created_at", "status", "body", "created_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notice)
class NoticeAdmin(PublishingAdmin):
    """Fix a typo in a title here; publish updates from the portal, where subscribers hear of them."""

    list_display = ["title", "page", "kind", "status", "impact", "started_at"]
    list_filter = ["page", "kind", "status"]
    search_fields = ["title"]
    fields = ["page", "kind", "title", "impact", "status", "incident", "scheduled_for", "scheduled_until", "started_at"]
    readonly_fields = ["page", "kind", "status", "incident", "scheduled_for", "scheduled_until", "started_at"]
    inlines = [UpdateInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "page", "confirmed_at", "created_at"]
    list_filter = ["page"]
    search_fields = ["email"]
    readonly_fields = ["created_at", "confirmed_at"]
