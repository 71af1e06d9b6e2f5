from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.urls import reverse
from django.utils import timezone

from oncall.models import ApiToken, Layer, Schedule, Service, Team, User
from oncall.schedule import local_to_utc


class ServiceForm(forms.ModelForm):
    """Add or edit a service and its runbook. Saving goes through oncall.services."""

    class Meta:
        model = Service
        fields = ["team", "name", "slug", "description", "tier", *Service.RUNBOOK_FIELDS]
        widgets = {f: forms.Textarea(attrs={"rows": 3}) for f in ["description", *Service.RUNBOOK_FIELDS]}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(memberships__user=user)
        if self.instance.pk:
            # The owning team and the slug are identities other systems refer to.
            del self.fields["team"]
            del self.fields["slug"]
        identity = [f for f in ("team", "name", "slug", "tier", "description") if f in self.fields]
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset("Service", *identity),
            Fieldset("First 15 minutes runbook", *Service.RUNBOOK_FIELDS),
            Submit("save", "Save service"),
        )


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "team"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(memberships__user=user)
        self.fields["team"].empty_label = "All my teams"
        self.helper = FormHelper()
        self.helper.layout = Layout("name", "team", Submit("create", "Create token"))


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save_profile", "Save profile"))


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = ["name", "slug", "time_zone", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Create schedule"))


class UsernameListField(forms.CharField):
    """Rotation order as usernames, comma- or line-separated; a person may appear twice."""

    def __init__(self, *, team: Team, **kwargs: Any) -> None:
        self.team = team
        super().__init__(**kwargs)

    def clean(self, value: str) -> list[User]:
        names = [n.strip() for n in super().clean(value).replace("\n", ",").split(",") if n.strip()]
        members = {u.username: u for u in User.objects.filter(memberships__team=self.team)}
        unknown = [n for n in names if n not in members]
        if unknown:
            raise forms.ValidationError(f"Not members of {self.team.name}: {', '.join(unknown)}.")
        return [members[n] for n in names]


class LayerForm(forms.ModelForm):
    class Meta:
        model = Layer
        fields = ["name", "shift_length", "shift_unit", "rotation_start_date", "handoff_time"]
        widgets = {
            "rotation_start_date": forms.DateInput(attrs={"type": "date"}),
            "handoff_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {"shift_length": "Each shift lasts", "shift_unit": "Unit"}

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = ", ".join(User.objects.filter(memberships__team=team).values_list("username", flat=True))
        self.fields["participants"] = UsernameListField(
            team=team,
            required=False,
            label="Rotation order",
            help_text=f"Usernames in order, separated by commas. Members: {members}.",
            widget=forms.TextInput(),
        )
        if self.instance.pk:
            self.initial["participants"] = ", ".join(p.user.username for p in self.instance.participants.all())
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "name",
            "participants",
            "shift_length",
            "shift_unit",
            "rotation_start_date",
            "handoff_time",
            Submit("preview", "Preview the change", css_class="btn-outline-primary me-2"),
            Submit("save", "Save layer"),
        )


class WallClockField(forms.DateTimeField):
    """A naive local date and time: the form, not the reader's zone, decides where it is."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})

    def to_python(self, value: Any) -> dt.datetime | None:
        # Read in UTC, which has no gaps or repeats, so a time that does not exist in the
        # reader's own zone is not refused before the schedule's zone rule applies.
        with timezone.override(dt.UTC):
            result = super().to_python(value)
        return result.replace(tzinfo=None) if result else None


class IntervalForm(forms.Form):
    """An interval entered as local wall-clock times in the schedule's zone."""

    start = WallClockField()
    end = WallClockField()

    def __init__(self, *args: Any, schedule: Schedule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule = schedule
        self.fields["layer"] = forms.ModelChoiceField(queryset=schedule.layers.order_by("position"))
        # The page already names the schedule; the choice is only the role.
        self.fields["layer"].label_from_instance = lambda layer: layer.name
        self.order_fields(["layer", "start", "end"])
        tz = schedule.time_zone
        self.fields["start"].help_text = f"Local time in {tz}."
        self.fields["end"].help_text = f"Local time in {tz}."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("start", "end"):
            if data.get(name) is not None:
                # The browser sends wall-clock time; read it in the schedule's zone by the DST rule.
                data[f"{name}_at"] = local_to_utc(data[name], self.schedule.time_zone)
        if data.get("start_at") and data.get("end_at") and data["end_at"] <= data["start_at"]:
            self.add_error("end", "The end must be after the start.")
        return data


class OverrideForm(IntervalForm):
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, schedule: Schedule, user: User, can_choose: bool, **kwargs: Any) -> None:
        super().__init__(*args, schedule=schedule, **kwargs)
        people = User.objects.filter(memberships__team=schedule.team).order_by("username")
        self.fields["user"] = forms.ModelChoiceField(
            queryset=people if can_choose else people.filter(pk=user.pk), initial=user.pk, label="Who covers"
        )
        self.order_fields(["layer", "user", "start", "end", "reason"])
        self.helper = FormHelper()
        self.helper.form_action = reverse("oncall:override-create", args=[schedule.slug])
        self.helper.add_input(Submit("override", "Add override"))


class SwapRequestForm(IntervalForm):
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, schedule: Schedule, user: User, can_choose: bool, **kwargs: Any) -> None:
        super().__init__(*args, schedule=schedule, **kwargs)
        people = User.objects.filter(memberships__team=schedule.team).order_by("username")
        self.fields["requester"] = forms.ModelChoiceField(
            queryset=people if can_choose else people.filter(pk=user.pk), initial=user.pk, label="Who needs cover"
        )
        self.order_fields(["layer", "requester", "start", "end", "note"])
        self.helper = FormHelper()
        self.helper.form_action = reverse("oncall:swap-create", args=[schedule.slug])
        self.helper.add_input(Submit("swap", "Ask for cover"))
