"""Postmortems, their contributing factors and action items, and each team's deadline policy."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from oncall.models import Team
from postmortems import deadlines

# `next_check_at` of a row the deadline sweeper should look at on its next run: new rows, and
# rows whose due date or status changed. Any past instant would do; a constant one keeps the
# default the same in every migration and for rows made with the ORM.
NEXT_SWEEP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class PostmortemPolicy(models.Model):
    """When a team's postmortems are due and how its deadlines are enforced."""

    class DueKind(models.TextChoices):
        HOURS = "hours", "Hours after resolution"
        BUSINESS_DAYS = "business_days", "Business days after resolution"

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="postmortem_policy")
    due_kind = models.CharField(max_length=14, choices=DueKind.choices, default=DueKind.HOURS)
    due_hours = models.PositiveSmallIntegerField(default=48, validators=[MinValueValidator(1)])
    due_business_days = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text="ISO country code whose public holidays are not business days, e.g. DE."
    )
    holiday_subdivision = models.CharField(max_length=10, blank=True, help_text="State or region, e.g. BY.")
    remind_before_hours = models.PositiveSmallIntegerField(default=24)
    escalate_after_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Hours past the due time before the team's managers are told."
    )
    item_remind_days_before = models.PositiveSmallIntegerField(default=3)
    item_escalate_after_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days past an action item's due date before its team's managers are told."
    )

    class Meta:
        verbose_name_plural = "postmortem policies"

    def __str__(self) -> str:
        return f"Postmortem policy of {self.team}"


class Postmortem(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="postmortem")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="postmortems")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    due_at = models.DateTimeField()
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="postmortems_to_review")
    review_at = models.DateTimeField(null=True, blank=True, help_text="When the review meeting is.")
    summary = models.TextField(blank=True, help_text="What happened, in a few sentences (Markdown).")
    users_affected_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    peak_error_rate_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    latency_impact = models.CharField(max_length=200, blank=True)
    features_affected = models.CharField(max_length=300, blank=True)
    business_impact = models.CharField(max_length=300, blank=True)
    timeline = models.JSONField(default=list, blank=True, help_text="Facts imported from the incident: {at, text}.")
    root_cause = models.TextField(blank=True, help_text="One statement of the root cause (Markdown).")
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    overdue_since = models.DateTimeField(null=True, blank=True)
    # When the deadline sweeper next has something to do here (remind, mark overdue, escalate);
    # empty once nothing is left. The sweeper claims rows by it, so a run reads only what is due
    # now, and postmortems it already escalated no longer hold the ones behind them back.
    next_check_at = models.DateTimeField(null=True, blank=True, default=NEXT_SWEEP, editable=False)
    # Earlier postmortems on a shared service with a shared contributing factor whose action
    # items were still open: the same cause came back before its fixes were done.
    repeat_of = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="repeated_by")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The deadline sweeper: unpublished postmortems by due time.
            models.Index(fields=["due_at"], name="postmortem_due", condition=~Q(status="published")),
            models.Index(
                fields=["next_check_at"],
                name="postmortem_next_check",
                condition=~Q(status="published") & Q(next_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Postmortem of {self.incident.reference}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:detail", kwargs={"number": self.incident.number})


class ContributingFactor(models.Model):
    class Kind(models.TextChoices):
        MISSING_ALERT = "missing_alert", "Missing or late alert"
        POOR_RUNBOOK = "poor_runbook", "Runbook missing or unclear"
        RISKY_DEPLOY = "risky_deploy", "Risky deployment or config change"
        NO_CIRCUIT_BREAKER = "no_circuit_breaker", "No circuit breaker or fallback"
        NO_LOAD_TEST = "no_load_test", "No load test"
        UNCLEAR_OWNERSHIP = "unclear_ownership", "Unclear ownership"
        INADEQUATE_ROLLBACK = "inadequate_rollback", "Inadequate rollback"
        OTHER = "other", "Other"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="factors")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["postmortem", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()


class ActionItem(models.Model):
    class Priority(models.IntegerChoices):
        P1 = 1, "P1 (urgent)"
        P2 = 2, "P2 (high)"
        P3 = 3, "P3 (normal)"
        P4 = 4, "P4 (low)"

    class Kind(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        DETECT = "detect", "Detect sooner"
        MITIGATE = "mitigate", "Reduce blast radius / mitigate"
        PROCESS = "process", "Process"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done (verified)"
        WONT_DO = "wont_do", "Won't do"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="action_items")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="action_items")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    due_date = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P2)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PREVENT)
    verification = models.TextField(blank=True, help_text="How we will know it worked.")
    expected_impact = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    wont_do_reason = models.CharField(max_length=300, blank=True)
    evidence = models.TextField(blank=True, help_text="Proof it works: a link, a test, a drill.")
    done_at = models.DateTimeField(null=True, blank=True)
    overdue_since = models.DateTimeField(null=True, blank=True)
    # As on Postmortem: the start of the next local day on which a reminder, the overdue mark or
    # the escalation is due; empty once escalated, or while the item has no due date.
    next_check_at = models.DateTimeField(null=True, blank=True, default=NEXT_SWEEP, editable=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_date", "priority", "pk"]
        indexes = [
            models.Index(fields=["due_date"], name="action_item_due", condition=Q(status__in=["open", "in_progress"])),
            models.Index(
                fields=["next_check_at"],
                name="action_item_next_check",
                condition=Q(status__in=["open", "in_progress"]) & Q(next_check_at__isnull=False),
            ),
            models.Index(fields=["owner", "status"], name="action_item_owner"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.IN_PROGRESS)

    @property
    def is_overdue(self) -> bool:
        """As of now, by the team's date (postmortems.deadlines.item_is_overdue); lists load the team."""
        return deadlines.item_is_overdue(
            due_date=self.due_date, is_open=self.is_open, time_zone=self.team.time_zone, now=timezone.now()
        )

    @property
    def missing(self) -> list[str]:
        """What an item needs before anyone can be held to it."""
        gaps = [name for name, value in (("owner", self.owner_id), ("due date", self.due_date)) if not value]
        if not self.verification.strip():
            gaps.append("how we verify")
        return gaps
