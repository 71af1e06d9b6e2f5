"""The notification outbox and where notifications go.

A Notification row is written in the transaction that causes it and delivered
afterwards; its dedup key makes every producer idempotent.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from oncall.models.teams import Team


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Event(models.TextChoices):
    """What a notification is about. Later apps add their events here."""

    SHIFT_REMINDER = "shift_reminder", "Upcoming on-call shift"
    SHIFT_START = "shift_start", "On-call shift starts"
    SWAP_REQUESTED = "swap_requested", "A teammate asks for cover"
    SWAP_TAKEN = "swap_taken", "Your cover request was taken"
    CONTACT_DISABLED = "contact_disabled", "A contact method was disabled"
    PAGE = "page", "You are paged"
    PAGE_ACKNOWLEDGED = "page_acknowledged", "A page you got was acknowledged"
    PAGE_STALLED = "page_stalled", "Escalation stalled (administrators)"
    COMP_TIME = "comp_time", "Comp time granted or decided"
    INCIDENT_DECLARED = "incident_declared", "An incident was declared"
    INCIDENT_UPDATE = "incident_update", "An incident update was posted"
    INCIDENT_HELP = "incident_help", "An incident asks for help"
    INCIDENT_RESOLVED = "incident_resolved", "An incident was resolved"
    INCIDENT_UPDATE_DUE = "incident_update_due", "An incident update is overdue (commander and comms lead)"
    POSTMORTEM_ASSIGNED = "postmortem_assigned", "You own a postmortem"
    POSTMORTEM_DUE = "postmortem_due", "A postmortem you own is due soon"
    POSTMORTEM_OVERDUE = "postmortem_overdue", "A postmortem is overdue"
    ACTION_ITEM_DUE = "action_item_due", "An action item you own is due"
    ACTION_ITEM_OVERDUE = "action_item_overdue", "An action item is overdue"
    MANAGER_DIGEST = "manager_digest", "Weekly digest of overdue postmortems and action items (managers)"
    CUSTOMER_NOTICE_MISSING = "customer_notice_missing", "A serious incident has no public notice yet"
    COMPONENT_STALE = "component_stale", "A status page component may be stale"
    STATUS_SUBSCRIPTION = "status_subscription", "Status page subscribers (confirmations and notices)"


class ContactMethod(models.Model):
    """One way to reach a person."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack incoming webhook"
        WEBHOOK = "webhook", "Webhook (JSON)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    address = models.CharField(max_length=500, help_text="An email address or an https URL.")
    label = models.CharField(max_length=60, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "kind", "address"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "address"], name="contact_unique_address"),
        ]

    def __str__(self) -> str:
        return self.label or f"{self.get_kind_display()}: {self.address}"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class NotificationRule(models.Model):
    """This person wants this event on this contact method."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules")
    event = models.CharField(max_length=32, choices=Event.choices)
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event", "contact_method"], name="rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.event} → {self.contact_method}"


class TeamWebhook(models.Model):
    """A team's outgoing webhook (a chat channel or a tool), signed with HMAC-SHA256."""

    class Format(models.TextChoices):
        SLACK = "slack", 'Slack-compatible ({"text": …})'
        JSON = "json", "Generic JSON"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSON)
    secret = models.CharField(max_length=64, default=new_webhook_secret)
    events = models.JSONField(default=list, blank=True, help_text="Event names to send; empty sends all.")
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.team} · {self.name}"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class Notification(models.Model):
    """One message to one destination: a contact method or a team webhook."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    dedup_key = models.CharField(max_length=200, unique=True)
    event = models.CharField(max_length=32, choices=Event.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    contact_method = models.ForeignKey(
        ContactMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    webhook = models.ForeignKey(
        TeamWebhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    # A bare address with no account behind it: status page subscribers.
    email_address = models.EmailField(blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweeper's scan: only rows still to deliver, by due instant.
            models.Index(fields=["next_attempt_at"], name="notification_due", condition=Q(status="pending")),
            models.Index(fields=["claimed_at"], name="notification_claimed", condition=Q(status="sending")),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact_method__isnull=True) | Q(webhook__isnull=True),
                name="notification_one_destination",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.contact_method or self.webhook} ({self.status})"
