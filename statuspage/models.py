"""Status pages: what customers see, kept apart from internal incident records.

A notice (Statuspage calls it an incident) is written for customers; it may point at an
internal incident, but its text is never copied from internal notes. Scheduled maintenance
is a notice of kind "maintenance", as in Statuspage's API, so both share updates, pages
and feeds.
"""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from incidents.models import Incident
from oncall.models import Service, Team
from oncall.models.teams import validate_time_zone

PUBLIC_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_public_id() -> str:
    """Statuspage-style opaque id (12 lowercase letters and digits): no counts leak to customers."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(12))


host_validator = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$",
    "A host name in lowercase, without scheme or port (e.g. status.example.com).",
)
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour as #rrggbb.")


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    DEGRADED = "degraded_performance", "Degraded performance"
    PARTIAL = "partial_outage", "Partial outage"
    MAJOR = "major_outage", "Major outage"
    MAINTENANCE = "under_maintenance", "Under maintenance"


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"
    MAINTENANCE = "maintenance", "Maintenance"


class StatusPage(models.Model):
    """One public page on the status subdomain; the teams listed may publish on it."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=100)
    host = models.CharField(
        max_length=200,
        unique=True,
        validators=[host_validator],
        help_text="The status host itself or one of its subdomains, e.g. status.example.com.",
    )
    teams = models.ManyToManyField(Team, related_name="status_pages", help_text="Teams that may publish here.")
    logo_url = models.URLField(blank=True)
    brand_colour = models.CharField(max_length=7, default="#1f5fbf", validators=[colour_validator])
    support_url = models.URLField(blank=True, help_text="Where customers can ask for help.")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    stale_component_minutes = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="Flag a component set by hand and untouched this long while a notice is open.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ComponentGroup(models.Model):
    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["page", "position", "name"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A part of the product as customers name it, standing for one or more internal services."""

    class Source(models.TextChoices):
        HAND = "hand", "Set by a person"
        MAINTENANCE = "maintenance", "Set by scheduled maintenance"

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="components")
    group = models.ForeignKey(
        ComponentGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="components"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    services = models.ManyToManyField(Service, blank=True, related_name="status_components")
    status = models.CharField(max_length=20, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL)
    status_source = models.CharField(max_length=12, choices=Source.choices, default=Source.HAND)
    status_changed_at = models.DateTimeField()
    # The status_changed_at that was flagged as possibly stale, so each stale spell is flagged once.
    stale_flagged_for = models.DateTimeField(null=True, blank=True)
    only_show_if_degraded = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["page", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["page", "name"], name="component_unique_name")]

    def __str__(self) -> str:
        return self.name


class ComponentStatusInterval(models.Model):
    """A component held one status from started_at until ended_at (open while current)."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="intervals")
    status = models.CharField(max_length=20, choices=ComponentStatus.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["component", "started_at"]
        indexes = [models.Index(fields=["component", "started_at"], name="interval_component_start")]
        constraints = [
            models.UniqueConstraint(
                fields=["component"], condition=Q(ended_at__isnull=True), name="interval_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.status} from {self.started_at:%Y-%m-%d %H:%M}"


class Notice(models.Model):
    """A public incident or a scheduled maintenance, with its updates."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", "Incident"
        MAINTENANCE = "maintenance", "Scheduled maintenance"

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"
        POSTMORTEM = "postmortem", "Postmortem"
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        VERIFYING = "verifying", "Verifying"
        COMPLETED = "completed", "Completed"

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCIDENT)
    title = models.CharField(max_length=200)
    impact = models.CharField(max_length=12, choices=Impact.choices, default=Impact.MINOR)
    status = models.CharField(max_length=14, choices=Status.choices)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="public_notices"
    )
    components = models.ManyToManyField(Component, blank=True, related_name="notices")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["page", "-started_at"], name="notice_page_started"),
            # The maintenance beat's two scans: windows to open, windows to close.
            models.Index(fields=["scheduled_for"], name="notice_maintenance_due", condition=Q(status="scheduled")),
            models.Index(fields=["scheduled_until"], name="notice_maintenance_end", condition=Q(status="in_progress")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="incident") | (Q(scheduled_for__isnull=False) & Q(scheduled_until__isnull=False)),
                name="notice_maintenance_has_window",
            ),
            models.CheckConstraint(
                condition=Q(scheduled_until__isnull=True) | Q(scheduled_until__gt=models.F("scheduled_for")),
                name="notice_window_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_maintenance(self) -> bool:
        return self.kind == self.Kind.MAINTENANCE


class NoticeUpdate(models.Model):
    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=14, choices=Notice.Status.choices)
    body = models.TextField()
    # [{"code": component public id, "name", "old_status", "new_status"}], as Statuspage reports them.
    affected_components = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    # Set once every subscriber's mail for this update is in the outbox. Until then the
    # update itself is the record that they are owed one (statuspage.services.subscribers_notify).
    subscribers_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["notice", "-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="notice_update_fanout_due",
                condition=Q(subscribers_notified_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.notice}: {self.status}"


class Subscriber(models.Model):
    """An email address that asked for notices; it counts only once the address confirmed."""

    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="subscribers")
    email = models.EmailField()
    components = models.ManyToManyField(
        Component, blank=True, related_name="subscribers", help_text="Empty: every component."
    )
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["page", "email"]
        constraints = [models.UniqueConstraint(fields=["page", "email"], name="subscriber_unique_email")]

    def __str__(self) -> str:
        return self.email


class PublishedSnapshot(models.Model):
    """The last rendering of a page's public documents, kept so a cold cache refills without rendering."""

    page = models.OneToOneField(StatusPage, on_delete=models.CASCADE, related_name="snapshot")
    host = models.CharField(max_length=200, unique=True)
    version = models.CharField(max_length=32)
    bundle = models.BinaryField()
    published_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.host} @ {self.published_at:%Y-%m-%d %H:%M:%S}"


class NoticeGuardFlag(models.Model):
    """An open SEV-1/2 incident went past its policy's minutes with no public notice: flagged once."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="notice_guard_flag")
    flagged_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.incident} flagged {self.flagged_at:%Y-%m-%d %H:%M}"
