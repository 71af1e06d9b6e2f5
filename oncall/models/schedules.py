"""Schedules: who is on call when. The rules live in oncall/schedule.py; these are the facts."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from oncall.models.teams import Team, new_feed_secret, slug_validator, validate_not_reserved, validate_time_zone


class Schedule(models.Model):
    """A team's on-call schedule, in its own time zone, with one or more layers."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100)
    # Unique across the installation, like service slugs: schedules are named in URLs and the API alone.
    slug = models.SlugField(max_length=60, unique=True, validators=[slug_validator, validate_not_reserved])
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="IANA zone in which handoff times are kept, e.g. Europe/Berlin.",
    )
    description = models.TextField(blank=True)
    # Secret part of the iCalendar feed URL; rotating it cuts off every old subscription.
    feed_secret = models.CharField(max_length=64, default=new_feed_secret, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name"]

    def __str__(self) -> str:
        return f"{self.team} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("oncall:schedule-detail", kwargs={"slug": self.slug})


class Layer(models.Model):
    """One role in a schedule (primary, secondary, …), rotating through its participants.

    Handoffs happen at the schedule's local wall-clock time: the first shift starts on
    `rotation_start_date` at `handoff_time`, and each next one `shift_length`
    `shift_unit`s of local calendar time later.
    """

    class Unit(models.TextChoices):
        HOURS = "hours", "hours"
        DAYS = "days", "days"
        WEEKS = "weeks", "weeks"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=60, help_text="The role, e.g. Primary or Secondary.")
    position = models.PositiveSmallIntegerField(default=1, help_text="1 for primary, 2 for secondary, …")
    shift_length = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    shift_unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.WEEKS)
    # Local wall-clock values, deliberately not an instant: "Monday 09:00 in the schedule's zone".
    rotation_start_date = models.DateField(
        help_text="Local date of the first handoff; weekly rotations hand off on this weekday."
    )
    handoff_time = models.TimeField(default=datetime.time(9, 0), help_text="Local time of each handoff.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "position"], name="layer_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} · {self.name}"


class LayerParticipant(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["layer", "position"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "position"], name="participant_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.user} #{self.position} on {self.layer}"


class Override(models.Model):
    """Someone covers a layer for an interval, on top of the rotation."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", help_text="Who is on call instead."
    )
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_at"]
        indexes = [models.Index(fields=["layer", "end_at"], name="override_layer_end")]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="override_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.user} covers {self.layer} {self.start_at:%Y-%m-%d %H:%M} to {self.end_at:%Y-%m-%d %H:%M}"


class SwapRequest(models.Model):
    """A person asks for cover; a teammate takes it and it becomes an override."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        TAKEN = "taken", "Taken"
        CANCELLED = "cancelled", "Cancelled"

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="swap_requests")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", help_text="Who needs cover."
    )
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override = models.OneToOneField(Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="swap")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_at"]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="swap_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.requester} asks cover on {self.layer} from {self.start_at:%Y-%m-%d %H:%M}"
