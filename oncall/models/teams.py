from __future__ import annotations

import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "Use lowercase letters, digits and single hyphens, e.g. payments-api.",
)


def new_feed_secret() -> str:
    return secrets.token_urlsafe(24)


RESERVED_SLUGS = frozenset({"new", "edit", "api", "admin"})


def validate_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(f"“{value}” is reserved; choose another slug.")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone, e.g. Europe/Berlin.")


class User(AbstractUser):
    """A person. Custom from day one so contact details can be added without pain."""

    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Your own zone, for showing times to you.",
    )
    # Secret part of the URL of this person's shifts calendar feed; rotatable.
    feed_secret = models.CharField(max_length=64, default=new_feed_secret, unique=True)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class TeamQuerySet(models.QuerySet["Team"]):
    def for_user(self, user: User) -> TeamQuerySet:
        return self.filter(memberships__user=user)


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator, validate_not_reserved])
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA zone in which the team's handoffs, nights and business days are counted.",
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("oncall:team-detail", kwargs={"slug": self.slug})


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        MANAGER = "manager", "Manager"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"

    @property
    def is_manager(self) -> bool:
        return self.role == self.Role.MANAGER


class ServiceQuerySet(models.QuerySet["Service"]):
    def for_user(self, user: User) -> ServiceQuerySet:
        return self.filter(team__memberships__user=user)


class Service(models.Model):
    """Something a team runs and gets paged for, with its first-15-minutes runbook."""

    class Tier(models.TextChoices):
        CRITICAL = "tier1", "Tier 1 — critical, customer-facing"
        IMPORTANT = "tier2", "Tier 2 — important, degraded experience"
        SUPPORTING = "tier3", "Tier 3 — internal or supporting"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=100)
    # Unique across the installation: services are named in alerts and URLs without their team.
    slug = models.SlugField(max_length=60, unique=True, validators=[slug_validator, validate_not_reserved])
    description = models.TextField(blank=True)
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.IMPORTANT)

    # The "first 15 minutes" runbook: what a responder needs before thinking.
    runbook_dashboards = models.TextField(
        "Dashboards", blank=True, help_text="Where to look first: links to dashboards and what good looks like."
    )
    runbook_logs = models.TextField("Logs", blank=True, help_text="Where the logs are and useful queries.")
    runbook_dependencies = models.TextField(
        "Dependencies to check",
        blank=True,
        help_text="Databases, caches, queues and third parties this service needs, and how to check each.",
    )
    runbook_rollback = models.TextField(
        "How to roll back", blank=True, help_text="Steps or command to return to the last good release."
    )
    runbook_failover = models.TextField(
        "How to fail over", blank=True, help_text="Switching region, replica or degraded mode."
    )
    runbook_contacts = models.TextField(
        "Who to call", blank=True, help_text="People and teams to pull in, and how to reach them."
    )
    escalation_policy = models.ForeignKey(
        "oncall.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="services",
        help_text="Who gets paged, in what order, when this service alerts.",
    )
    runbook_updated_at = models.DateTimeField(null=True, blank=True)
    runbook_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ServiceQuerySet.as_manager()

    RUNBOOK_FIELDS = (
        "runbook_dashboards",
        "runbook_logs",
        "runbook_dependencies",
        "runbook_rollback",
        "runbook_failover",
        "runbook_contacts",
    )

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="service_unique_name_per_team"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("oncall:service-detail", kwargs={"slug": self.slug})

    @property
    def runbook_sections(self) -> list[tuple[str, str]]:
        return [(self._meta.get_field(f).verbose_name, getattr(self, f)) for f in self.RUNBOOK_FIELDS]

    @property
    def runbook_missing(self) -> list[str]:
        """Names of the runbook sections still empty, so the gap is visible before 3 AM."""
        return [str(label) for label, text in self.runbook_sections if not text.strip()]


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for tools. Only its SHA-256 digest is stored; the token is shown once.

    A token acts as its user; a team-scoped token reaches only that team's data,
    and only while its user is still a member of it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Limit the token to one team. Empty: all of the user's teams.",
    )
    name = models.CharField(max_length=100, help_text="What uses this token, e.g. “Alertmanager prod”.")
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a token.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
