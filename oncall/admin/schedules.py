from django.contrib import admin

from oncall.models import Layer, LayerParticipant, Override, Schedule, SwapRequest


class LayerInline(admin.TabularInline):
    model = Layer
    extra = 0
    fields = ("position", "name", "shift_length", "shift_unit", "rotation_start_date", "handoff_time")
    show_change_link = True


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "team", "time_zone", "created_at")
    list_filter = ("team", "time_zone")
    search_fields = ("name", "slug", "team__name")
    list_select_related = ("team",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("feed_secret", "created_at")
    inlines = [LayerInline]


class ParticipantInline(admin.TabularInline):
    model = LayerParticipant
    extra = 1
    autocomplete_fields = ["user"]
    ordering = ["position"]


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "position", "shift_length", "shift_unit", "rotation_start_date", "handoff_time")
    list_filter = ("schedule__team", "shift_unit")
    search_fields = ("name", "schedule__name")
    list_select_related = ("schedule__team",)
    inlines = [ParticipantInline]


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ("user", "layer", "start_at", "end_at", "reason", "created_by")
    list_filter = ("layer__schedule__team",)
    search_fields = ("user__username", "reason", "layer__schedule__name")
    list_select_related = ("user", "layer__schedule__team", "created_by")
    autocomplete_fields = ["user", "created_by"]
    date_hierarchy = "start_at"


@admin.register(SwapRequest)
class SwapRequestAdmin(admin.ModelAdmin):
    list_display = ("requester", "layer", "start_at", "end_at", "status", "taken_by")
    list_filter = ("status", "layer__schedule__team")
    search_fields = ("requester__username", "note")
    list_select_related = ("requester", "taken_by", "layer__schedule__team")
    readonly_fields = ("override", "decided_at", "created_at")
