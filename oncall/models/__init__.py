"""The on-call app's tables, one module per concept."""

from oncall.models.comptime import CompTimeCover, CompTimeGrant, CompTimePolicy, CompTimeUse, Holiday, WorkLog
from oncall.models.notifications import ContactMethod, Notification, NotificationRule, TeamWebhook
from oncall.models.paging import Alert, EscalationPolicy, EscalationStep, Integration, Page, PageEvent, StepTarget
from oncall.models.schedules import Layer, LayerParticipant, Override, Schedule, SwapRequest
from oncall.models.teams import ApiToken, Membership, Service, Team, User

__all__ = [
    "Alert",
    "ApiToken",
    "CompTimeCover",
    "CompTimeGrant",
    "CompTimePolicy",
    "CompTimeUse",
    "ContactMethod",
    "EscalationPolicy",
    "EscalationStep",
    "Holiday",
    "Integration",
    "Layer",
    "LayerParticipant",
    "Membership",
    "Notification",
    "NotificationRule",
    "Override",
    "Page",
    "PageEvent",
    "Schedule",
    "Service",
    "StepTarget",
    "SwapRequest",
    "Team",
    "TeamWebhook",
    "User",
    "WorkLog",
]
