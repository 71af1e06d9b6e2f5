from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone

from oncall.models import ApiToken, Membership, Service, Team, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Fireline", {"fields": ("time_zone",)}))
    list_display = ("username", "email", "first_name", "last_name", "time_zone", "is_staff")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "time_zone", "created_at")
    list_filter = ("time_zone",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "joined_at")
    list_filter = ("role", "team")
    search_fields = ("user__username", "user__email", "team__name")
    autocomplete_fields = ["user", "team"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "team", "tier", "runbook_updated_at")
    list_filter = ("tier", "team")
    search_fields = ("name", "slug", "description")
    list_select_related = ("team",)
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ["team"]
    readonly_fields = ("runbook_updated_at", "runbook_updated_by", "created_at")
    fieldsets = (
        (None, {"fields": ("team", "name", "slug", "description", "tier")}),
        ("First 15 minutes runbook", {"fields": (*Service.RUNBOOK_FIELDS, "runbook_updated_at", "runbook_updated_by")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owners on the profile page; here they can only be seen and revoked."""

    list_display = ("name", "prefix", "user", "team", "created_at", "last_used_at", "revoked_at")
    list_filter = ("team",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "team", "name", "prefix", "created_at", "last_used_at")
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):  # type: ignore[no-untyped-def]
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).")
