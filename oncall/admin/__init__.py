"""Admin registrations, one module per concept."""

from oncall.admin import notifications, schedules, teams

__all__ = ["notifications", "schedules", "teams"]
