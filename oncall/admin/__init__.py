"""Admin registrations, one module per concept."""

from oncall.admin import comptime, intake, notifications, paging, schedules, teams

__all__ = ["comptime", "intake", "notifications", "paging", "schedules", "teams"]
