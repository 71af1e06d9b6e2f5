"""Admin for integrations and alerts. The key digest is never shown; keys are rotated in the portal."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from oncall.models import Alert, Integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "service", "kind", "key_prefix", "rate_limit_per_minute", "last_alert_at", "disabled_at")
    list_filter = ("kind", "service__team")
    search_fields = ("name", "service__name", "service__slug", "public_id")
    list_select_related = ("service",)
    # The digest is not secret enough to leak a key, but nothing here needs it either.
    fields = (
        "public_id",
        "service",
        "name",
        "kind",
        "key_prefix",
        "rate_limit_per_minute",
        "created_by",
        "created_at",
        "key_rotated_at",
        "last_alert_at",
        "disabled_at",
    )
    readonly_fields = ("public_id", "key_prefix", "created_by", "created_at", "key_rotated_at", "last_alert_at")
    raw_id_fields = ("service",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key is shown once, at creation, which happens in the portal or the API.
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("title", "service", "severity", "status", "count", "first_seen_at", "last_seen_at")
    list_filter = ("status", "severity", "service__team")
    search_fields = ("title", "dedup_key", "service__slug")
    list_select_related = ("service",)
    date_hierarchy = "first_seen_at"
    readonly_fields = ("integration", "service", "dedup_key", "first_seen_at", "count", "source_payload")
    raw_id_fields = ("integration", "service")
