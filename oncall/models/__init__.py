"""The on-call app's tables, one module per concept."""

from oncall.models.notifications import ContactMethod, Notification, NotificationRule, TeamWebhook
from oncall.models.schedules import Layer, LayerParticipant, Override, Schedule, SwapRequest
from oncall.models.teams import ApiToken, Membership, Service, Team, User

__all__ = [
    "ApiToken",
    "ContactMethod",
    "Layer",
    "LayerParticipant",
    "Membership",
    "Notification",
    "NotificationRule",
    "Override",
    "Schedule",
    "Service",
    "SwapRequest",
    "Team",
    "TeamWebhook",
    "User",
]
