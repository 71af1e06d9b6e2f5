"""Admin for the outbox and its destinations: see attempts and errors, retry by hand."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from oncall.models import ContactMethod, Notification, NotificationRule, TeamWebhook
from oncall.services import notifications as services


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "address", "label", "disabled_at", "created_at")
    list_filter = ("kind", ("disabled_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "address", "label")
    list_select_related = ("user",)
    autocomplete_fields = ["user"]
    readonly_fields = ("created_at",)


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ("user", "event", "contact_method")
    list_filter = ("event",)
    search_fields = ("user__username", "contact_method__address")
    list_select_related = ("user", "contact_method")
    autocomplete_fields = ["user", "contact_method"]


@admin.register(TeamWebhook)
class TeamWebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "format", "url", "disabled_at")
    list_filter = ("format", "team", ("disabled_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "url", "team__name")
    list_select_related = ("team",)
    autocomplete_fields = ["team"]
    # The secret is shown to the manager once, on creation; the admin does not reveal it.
    exclude = ("secret",)
    readonly_fields = ("created_at",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox. Rows are written by services only; here they are read and retried."""

    list_display = ("dedup_key", "event", "recipient", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    list_filter = ("status", "event")
    search_fields = ("dedup_key", "recipient__username", "subject")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry now (failed or pending rows)", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        changed = services.notification_retry(notifications=queryset)
        self.message_user(request, f"{changed} notification(s) queued for delivery now.", messages.SUCCESS)
