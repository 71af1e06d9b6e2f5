"""Paging: integrations that receive alerts, escalation policies, and the pages they drive.

An alert from a tool opens a Page; the page carries a frozen copy of the service's
escalation policy and a `next_step_at` instant that the escalation sweeper claims.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from oncall.models.notifications import Notification
from oncall.models.schedules import Layer
from oncall.models.teams import Service, Team


class Integration(models.Model):
    """Where one tool posts alerts for one service. The key is stored only as a digest."""

    class Kind(models.TextChoices):
        GENERIC = "generic", "Generic JSON"
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GRAFANA = "grafana", "Grafana"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=100, help_text="What sends here, e.g. “Alertmanager prod”.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERIC)
    key_prefix = models.CharField(max_length=16, help_text="The first characters of the key, to recognise it.")
    key_digest = models.CharField(max_length=64)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=120, validators=[MinValueValidator(1), MaxValueValidator(100_000)]
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    last_alert_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="integration_unique_name_per_service"),
        ]

    def __str__(self) -> str:
        return f"{self.service} · {self.name}"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class EscalationPolicy(models.Model):
    """Ordered steps that page people until someone acknowledges."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="escalation_policies")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    repeats = models.PositiveSmallIntegerField(
        default=1,
        validators=[MaxValueValidator(9)],
        help_text="After the last step, start again from the first this many more times.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="policy_unique_name_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.team} · {self.name}"


class EscalationStep(models.Model):
    """Notify the targets, then wait `wait_minutes` for an acknowledgement before the next step.

    A step may apply only in a local-time window (team zone; wraps past midnight when
    the end is before the start), on some weekdays, or only for critical alerts.
    """

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    wait_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    only_critical = models.BooleanField(
        default=False, help_text="Only for critical alerts (SEV-1), e.g. management and executives."
    )
    window_start = models.TimeField(null=True, blank=True, help_text="Local time from which the step applies.")
    window_end = models.TimeField(null=True, blank=True, help_text="Local time until which the step applies.")
    weekdays = models.JSONField(default=list, blank=True, help_text="0 = Monday … 6 = Sunday; empty = every day.")

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="step_unique_position"),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(window_start__isnull=False, window_end__isnull=False),
                name="step_window_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} · step {self.position}"


class StepTarget(models.Model):
    class Kind(models.TextChoices):
        LAYER = "layer", "Whoever is on call on a schedule layer"
        USER = "user", "A person"
        MANAGERS = "managers", "The team's managers"

    step = models.ForeignKey(EscalationStep, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    layer = models.ForeignKey(Layer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="layer", layer__isnull=False, user__isnull=True)
                | Q(kind="user", user__isnull=False, layer__isnull=True)
                | Q(kind="managers", user__isnull=True, layer__isnull=True),
                name="target_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.LAYER:
            return f"on call: {self.layer}"
        if self.kind == self.Kind.USER:
            return str(self.user)
        return "team managers"


class Alert(models.Model):
    """A problem reported by a tool. Repeats with the same dedup key update the open alert."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"
        INFO = "info", "Info"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="alerts")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="alerts")
    dedup_key = models.CharField(max_length=255)
    title = models.CharField(max_length=300)
    details = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    links = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    source_payload = models.JSONField(default=dict, blank=True, help_text="The last payload item, as received.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    count = models.PositiveIntegerField(default=1, help_text="How many times the tool sent it while open.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_tool = models.BooleanField(default=False)
    # When a repeat was last written to the page's log (at most once a minute): read with the
    # repeat itself, so most repeats of a storm never look at the page.
    repeat_logged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen_at"]
        constraints = [
            # The database's word on deduplication: one open alert per key and integration.
            models.UniqueConstraint(
                fields=["integration", "dedup_key"], condition=Q(status="open"), name="alert_one_open_per_key"
            ),
        ]
        indexes = [models.Index(fields=["service", "first_seen_at"], name="alert_service_seen")]

    def __str__(self) -> str:
        return self.title


class Page(models.Model):
    """One alert paging people along a frozen copy of the escalation policy."""

    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, related_name="page")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="pages")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="pages")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.TRIGGERED)
    # Frozen when the page starts, so editing the policy changes nothing already under way.
    policy_snapshot = models.JSONField(default=dict)
    step_index = models.PositiveSmallIntegerField(default=0, help_text="The next step to run.")
    round_index = models.PositiveSmallIntegerField(default=0, help_text="How many times all steps have run.")
    next_step_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stalled_at = models.DateTimeField(
        null=True, blank=True, help_text="Set by the auditor when a due step did not run."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_step_at"], name="page_due", condition=Q(status="triggered")),
            models.Index(fields=["team", "created_at"], name="page_team_created"),
        ]

    def __str__(self) -> str:
        return f"Page #{self.pk}: {self.alert}"


class PageEvent(models.Model):
    """The page's own log, append-only: whom it notified, on what, and who acted."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        NOTIFIED = "notified", "Notified"
        NOBODY = "nobody", "Nobody to notify"
        ESCALATED = "escalated", "Escalated"
        REPEATED = "repeated", "Policy repeated"
        EXHAUSTED = "exhausted", "Policy exhausted"
        ALERT_REPEATED = "alert_repeated", "Alert received again"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        STALLED = "stalled", "Escalation stalled"

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="page_events"
    )
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["page", "at"], name="page_event_page_at")]

    def __str__(self) -> str:
        return f"{self.page_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"
