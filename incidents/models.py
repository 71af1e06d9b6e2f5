"""Incidents: severity policies, incidents, roles, the timeline and updates.

The rules (legal transitions, role rules, cadence) live in incidents/rules.py and
incidents/services.py; these are the facts.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from oncall.models import Page, Service, Team


class Severity(models.IntegerChoices):
    SEV1 = 1, "SEV-1"
    SEV2 = 2, "SEV-2"
    SEV3 = 3, "SEV-3"
    SEV4 = 4, "SEV-4"


class SeverityPolicy(models.Model):
    """What one severity level means for a team, and what the process asks at that level."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="severity_policies")
    level = models.PositiveSmallIntegerField(choices=Severity.choices)
    name = models.CharField(max_length=40, help_text="e.g. Critical")
    definition = models.TextField()
    examples = models.TextField(blank=True)
    update_every_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Internal update cadence; empty for none."
    )
    commander_required = models.BooleanField(default=False)
    commander_recommended = models.BooleanField(default=False)
    customer_notice_required = models.BooleanField(default=False)
    customer_notice_within_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(24 * 60)],
        help_text="A required public notice missing this long after declaration alerts the IC and comms lead.",
    )
    postmortem_required = models.BooleanField(default=False)
    postmortem_due_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Hours after resolution; or use business days."
    )
    postmortem_due_business_days = models.PositiveSmallIntegerField(null=True, blank=True)
    watch_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Time in monitoring before the incident may be resolved.",
    )

    class Meta:
        ordering = ["team", "level"]
        verbose_name_plural = "severity policies"
        constraints = [models.UniqueConstraint(fields=["team", "level"], name="severity_unique_level")]

    def __str__(self) -> str:
        return f"{self.team} · SEV-{self.level} {self.name}"


class IncidentCounter(models.Model):
    """One row holding the last incident number, taken under a row lock (INC-1, INC-2, …)."""

    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"last incident number {self.last_number}"


class Incident(models.Model):
    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MITIGATING = "mitigating", "Mitigating"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Source(models.TextChoices):
        MONITORING = "monitoring", "Monitoring alert"
        CUSTOMER = "customer", "Customer report"
        SUPPORT = "support", "Support ticket"
        INTERNAL = "internal", "Internal observation"
        SOCIAL = "social", "Social media"

    class Trend(models.TextChoices):
        IMPROVING = "improving", "Improving"
        STABLE = "stable", "Stable"
        WORSENING = "worsening", "Worsening"

    class Mitigation(models.TextChoices):
        ROLLBACK = "rollback", "Roll back the recent deploy or config change"
        SCALE = "scale", "Scale up or shed load"
        FAILOVER = "failover", "Fail over or break the circuit to the dependency"
        FEATURE_FLAG = "feature_flag", "Switch the feature flag off"
        INVESTIGATE = "investigate", "Keep investigating"

    number = models.PositiveIntegerField(unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="incidents")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="What is broken and who is affected.")
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.INVESTIGATING)
    detection_source = models.CharField(max_length=12, choices=Source.choices, default=Source.MONITORING)
    is_restricted = models.BooleanField(
        default=False, help_text="Security incidents: only the owning team and participants see it."
    )
    services = models.ManyToManyField(Service, blank=True, related_name="incidents")
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents")
    impact_trend = models.CharField(max_length=10, choices=Trend.choices, default=Trend.STABLE)
    triage = models.JSONField(default=dict, blank=True, help_text="Answers to the triage checklist.")
    mitigation_path = models.CharField(max_length=14, choices=Mitigation.choices, blank=True)
    resolution_checks = models.JSONField(default=dict, blank=True, help_text="The resolution criteria, ticked.")
    resolved_early_reason = models.CharField(max_length=300, blank=True)
    root_cause = models.CharField(max_length=300, blank=True, help_text="The initial, factual root cause.")
    fix = models.CharField(max_length=300, blank=True, help_text="What was done to restore service.")
    impact_started_at = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField()
    declared_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    monitoring_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Swept by the cadence job; empty once no update is due (resolved, or a severity without cadence).
    next_update_due_at = models.DateTimeField(null=True, blank=True)
    update_reminded_for = models.DateTimeField(
        null=True, blank=True, help_text="The due instant last reminded, so each missed update is reminded once."
    )
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-declared_at"]
        indexes = [
            models.Index(
                fields=["next_update_due_at"],
                name="incident_update_due",
                condition=Q(next_update_due_at__isnull=False),
            ),
            models.Index(fields=["team", "declared_at"], name="incident_team_declared"),
            # Lists are newest first: the first pages read a few index entries, not every incident.
            models.Index(fields=["declared_at"], name="incident_declared"),
            models.Index(fields=["status", "severity"], name="incident_status_severity"),
            # Every list counts the incidents its reader may see: with the visibility rule's
            # columns in one small index (on PostgreSQL), the count reads 4 MB instead of the table.
            models.Index(fields=["is_restricted", "team"], include=["id"], name="incident_visibility"),
            # Open incidents are a few hundred among a hundred thousand; their lists read only them.
            models.Index(
                fields=["-declared_at"],
                name="incident_open_declared",
                condition=~Q(status__in=["resolved", "closed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", kwargs={"number": self.number})

    @property
    def reference(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.RESOLVED, self.Status.CLOSED)


class RoleAssignment(models.Model):
    """Who held a role and when: the spans also count as work for comp time."""

    class Role(models.TextChoices):
        COMMANDER = "commander", "Incident commander"
        TECH_LEAD = "tech_lead", "Tech lead"
        COMMS_LEAD = "comms_lead", "Comms lead"
        PARTICIPANT = "participant", "Participant"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=12, choices=Role.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_roles")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "started_at"]
        constraints = [
            # One current commander, tech lead and comms lead; any number of participants.
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=Q(ended_at__isnull=True) & ~Q(role="participant"),
                name="role_one_current_holder",
            ),
            models.UniqueConstraint(
                fields=["incident", "user"],
                condition=Q(ended_at__isnull=True, role="participant"),
                name="role_one_current_participation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()} on INC-{self.incident.number}"


class TimelineEntry(models.Model):
    """Append-only: changes write entries automatically; people add notes; corrections point back."""

    class Kind(models.TextChoices):
        DECLARED = "declared", "Declared"
        STATUS = "status", "Status"
        SEVERITY = "severity", "Severity"
        ROLE = "role", "Role"
        NOTE = "note", "Note"
        UPDATE = "update", "Update"
        TRIAGE = "triage", "Triage"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        REMINDER = "reminder", "Reminder"
        CORRECTION = "correction", "Correction"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=14, choices=Kind.choices)
    happened_at = models.DateTimeField(help_text="When it happened, which may be before it was written down.")
    recorded_at = models.DateTimeField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")

    class Meta:
        ordering = ["happened_at", "pk"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["incident", "happened_at"], name="timeline_incident_at")]

    def __str__(self) -> str:
        return f"INC-{self.incident.number} {self.happened_at:%H:%M} {self.text[:40]}"


class IncidentUpdate(models.Model):
    """Internal update #n: status, what we know, what we do, the trend, and when the next comes."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    status = models.CharField(max_length=14, choices=Incident.Status.choices)
    known = models.TextField(help_text="What we know.")
    doing = models.TextField(help_text="What we are doing.")
    trend = models.CharField(max_length=10, choices=Incident.Trend.choices)
    eta = models.CharField(max_length=100, blank=True, help_text="Empty when no ETA is known.")
    next_update_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    posted_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "number"]
        constraints = [models.UniqueConstraint(fields=["incident", "number"], name="update_unique_number")]

    def __str__(self) -> str:
        return f"INC-{self.incident.number} update #{self.number}"
