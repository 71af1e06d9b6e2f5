"""Forms of the comp-time pages. They check shape; the rules live in oncall.services.comptime."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.urls import reverse

from oncall.forms import WallClockField
from oncall.models import CompTimeGrant, CompTimePolicy, Team, User
from oncall.schedule import local_to_utc

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
HOURS_FIELD = {"max_digits": 4, "decimal_places": 1, "min_value": Decimal("0.5"), "max_value": Decimal("24")}


def _members(team: Team) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=User.objects.filter(memberships__team=team).order_by("username"))


class WorkLogForm(forms.Form):
    """After-hours work entered by hand, in the team's local wall-clock time."""

    start = WallClockField()
    end = WallClockField()
    note = forms.CharField(max_length=300, help_text="What the work was, e.g. “restarted the payouts worker”.")

    def __init__(self, *args: Any, teams: list[Team], action: str, members_of: Team | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.teams = {t.pk: t for t in teams}
        if members_of is not None:
            # A manager's form on the team page: the team is fixed, the person is chosen.
            self.fields["user"] = _members(members_of)
            self.fields["user"].label = "Who worked"
            self.fixed_team = members_of
        else:
            self.fields["team"] = forms.TypedChoiceField(
                choices=[(t.pk, f"{t.name} ({t.time_zone})") for t in teams], coerce=int
            )
            self.fixed_team = teams[0] if len(teams) == 1 else None
        zones = ", ".join(sorted({t.time_zone for t in teams}))
        self.fields["start"].help_text = f"Local time of the team ({zones})."
        self.order_fields(["user", "team", "start", "end", "note"])
        self.helper = FormHelper()
        self.helper.form_action = action
        self.helper.add_input(Submit("log", "Log work"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        team = self.fixed_team if "team" not in self.fields else self.teams.get(data.get("team", 0))
        data["team"] = team
        if team is None:
            return data
        for name in ("start", "end"):
            if data.get(name) is not None:
                data[f"{name}_at"] = local_to_utc(data[name], team.time_zone)
        return data


class GrantDecisionForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(CompTimeGrant.Status.APPROVED, "Approve"), (CompTimeGrant.Status.DECLINED, "Decline")]
    )
    hours = forms.DecimalField(required=False, **HOURS_FIELD, help_text="Leave as proposed, or adjust.")
    cover_user = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label="Cover")
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, grant: CompTimeGrant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grant = grant
        self.fields["cover_user"].queryset = (
            User.objects.filter(memberships__team=grant.team).exclude(pk=grant.user_id).order_by("username")
        )
        self.fields["cover_user"].empty_label = "As proposed"
        self.initial.setdefault("hours", grant.hours)


class CompTimeUseForm(forms.Form):
    taken_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Taken on")
    hours = forms.DecimalField(**HOURS_FIELD)
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"] = _members(team)
        self.fields["user"].label = "Who"
        self.order_fields(["user", "taken_on", "hours", "note"])
        self.helper = FormHelper()
        self.helper.form_action = reverse("oncall:comp-time-use-create", args=[team.slug])
        self.helper.add_input(Submit("record", "Record time taken"))


class PolicyForm(forms.ModelForm):
    class Meta:
        model = CompTimePolicy
        fields = [
            "night_start",
            "night_end",
            "count_weekends",
            "count_holidays",
            "threshold_minutes",
            "grant_kind",
            "grant_hours",
        ]
        widgets = {
            "night_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "night_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {"threshold_minutes": "Worked more than (minutes)", "grant_kind": "Grant", "grant_hours": "Hours"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(*self.Meta.fields, Submit("save", "Save policy"))


class HolidayForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(max_length=100)

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse("oncall:comp-time-holiday-add", args=[team.slug])
        self.helper.add_input(Submit("add", "Add holiday"))


def parse_month(value: str | None, default: dt.date) -> dt.date:
    """`2026-11` → 2026-11-01; ValueError with a reason for anything else."""
    if not value:
        return default.replace(day=1)
    match = MONTH_RE.match(value)
    # Up to 2999: the report reads the months around the one asked for, and year 10000 does not exist.
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2999:
        raise ValueError(f"“{value}” is not a month; write it as YYYY-MM, e.g. 2026-11.")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)
