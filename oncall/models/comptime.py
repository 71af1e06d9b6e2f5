"""After-hours comp time: each team's policy, the work that counts, and what it earned."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from oncall import comptime as rules
from oncall.models.paging import Page
from oncall.models.schedules import Layer, Override
from oncall.models.teams import Team


class CompTimePolicy(models.Model):
    """The team's after-hours rule; defaults from the playbook: night work over an hour → morning off."""

    class Grant(models.TextChoices):
        MORNING_OFF = "morning_off", "Next morning off"
        HOURS = "hours", "Hours banked"

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="comp_time_policy")
    night_start = models.TimeField(default=datetime.time(22, 0))
    night_end = models.TimeField(default=datetime.time(7, 0))
    count_weekends = models.BooleanField(default=True, help_text="Work on Saturday and Sunday counts as after hours.")
    count_holidays = models.BooleanField(default=True, help_text="Work on the team's holidays counts as after hours.")
    threshold_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MaxValueValidator(24 * 60)], help_text="Worked more than this earns comp time."
    )
    grant_kind = models.CharField(max_length=12, choices=Grant.choices, default=Grant.MORNING_OFF)
    grant_hours = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=Decimal("4.0"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("24"))],
        help_text="Hours granted; a morning off is expressed in hours.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "comp time policies"

    def __str__(self) -> str:
        return f"Comp time policy of {self.team}"

    @classmethod
    def of(cls, team: Team) -> CompTimePolicy:
        """The team's policy, or the defaults (unsaved) when nobody has written one yet."""
        policy = cls.objects.filter(team=team).first() or cls(team=team)
        policy.team = team  # the caller's instance: reading it again would cost a query
        return policy

    def night_rule(self, *, holidays: Iterable[datetime.date], time_zone: str) -> rules.NightRule:
        """The policy as plain values for the rules in oncall/comptime.py."""
        return rules.NightRule(
            time_zone=time_zone,
            night_start=self.night_start,
            night_end=self.night_end,
            count_weekends=self.count_weekends,
            count_holidays=self.count_holidays,
            holidays=frozenset(holidays),
        )

    def team_night_rule(self) -> rules.NightRule:
        """The rule with the team's own holidays and time zone (one query for the holidays)."""
        team = self.team
        return self.night_rule(holidays=team.holidays.values_list("date", flat=True), time_zone=team.time_zone)


class Holiday(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["team", "date"]
        constraints = [models.UniqueConstraint(fields=["team", "date"], name="holiday_unique_date")]

    def __str__(self) -> str:
        return f"{self.name} ({self.date})"


class WorkLog(models.Model):
    """A span someone worked for the team: from a page, an incident role, or entered by hand."""

    class Source(models.TextChoices):
        PAGE = "page", "Page"
        INCIDENT = "incident", "Incident role"
        MANUAL = "manual", "Entered by hand"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="work_logs")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="work_logs")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_logs")
    # Who recorded a span from elsewhere and what, e.g. "incident:42:commander", so a retry records it once.
    reference = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_at"]
        indexes = [
            models.Index(fields=["team", "end_at"], name="worklog_team_end"),
            # The comp-time sweep reads the spans of the last days across all teams.
            models.Index(fields=["end_at"], name="worklog_end"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="worklog_ends_after_start"),
            models.UniqueConstraint(
                fields=["user", "reference"], condition=~Q(reference=""), name="worklog_unique_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} worked {self.start_at:%Y-%m-%d %H:%M} to {self.end_at:%H:%M} ({self.source})"


class CompTimeGrant(models.Model):
    """What one night of after-hours work earned one person; granted at most once per night."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for the manager"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comp_time_grants")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="comp_time_grants")
    night_of = models.DateField(help_text="Local date on which the night began.")
    worked_minutes = models.PositiveIntegerField()
    hours = models.DecimalField(max_digits=4, decimal_places=1)
    kind = models.CharField(max_length=12, choices=CompTimePolicy.Grant.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-night_of"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team", "night_of"], name="grant_once_per_night"),
        ]

    def __str__(self) -> str:
        return f"{self.hours} h for {self.user}, night of {self.night_of}"


class CompTimeCover(models.Model):
    """A proposed cover for one of the person's shifts on the morning after a granted night.

    One row per shift piece (a person may hold two layers, or hand over mid-morning);
    the override is created when the manager approves the grant.
    """

    grant = models.ForeignKey(CompTimeGrant, on_delete=models.CASCADE, related_name="covers")
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    # The fairest teammate when proposed (least after-hours load); None when nobody else can.
    proposed_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override = models.ForeignKey(Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["grant", "start_at", "layer"]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="cover_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"Cover of {self.layer} from {self.start_at:%Y-%m-%d %H:%M} for grant {self.grant_id}"


class CompTimeUse(models.Model):
    """Comp time taken: subtracts from the person's balance."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comp_time_uses")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="comp_time_uses")
    taken_on = models.DateField()
    hours = models.DecimalField(
        max_digits=4, decimal_places=1, validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("24"))]
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_on"]

    def __str__(self) -> str:
        return f"{self.user} took {self.hours} h on {self.taken_on}"
