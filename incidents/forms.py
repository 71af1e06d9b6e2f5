"""Forms for running an incident. They check shape; the services check the rules."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from incidents.defaults import RESOLUTION_CHECKLIST, SEVERITY_QUESTIONS, TRIAGE_CHECKLIST
from incidents.models import Incident, RoleAssignment, Severity
from oncall.models import Service, Team, User


def _helper(label: str, name: str = "submit") -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit(name, label))
    return helper


class DeclareForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    title = forms.CharField(max_length=200, help_text="What is broken, in a few words: “Checkout returns 500s”.")
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Who is affected and how."
    )
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int, widget=forms.RadioSelect)
    confirm_lower = forms.BooleanField(
        required=False, label="I answered yes above and still choose SEV-3 or SEV-4, on purpose."
    )
    services = forms.ModelMultipleChoiceField(queryset=Service.objects.none(), required=False)
    detection_source = forms.ChoiceField(choices=Incident.Source.choices, initial=Incident.Source.MONITORING)
    impact_started_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="When customers started to feel it, if known (your time zone).",
    )
    is_restricted = forms.BooleanField(
        required=False, label="Restricted (security): only the team and role holders see it"
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(memberships__user=user).order_by("name")
        self.fields["team"].queryset = teams
        self.fields["services"].queryset = Service.objects.filter(team__in=teams).select_related("team")
        for key, question in SEVERITY_QUESTIONS:
            self.fields[key] = forms.BooleanField(required=False, label=question)
        self.order_fields(["team", "title", "summary", *[k for k, _q in SEVERITY_QUESTIONS], "severity"])
        self.helper = _helper("Declare incident", "declare")
        # The page wraps the form to carry the alert page it comes from.
        self.helper.form_tag = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        yes = [question for key, question in SEVERITY_QUESTIONS if data.get(key)]
        if yes and data.get("severity", 1) > 2 and not data.get("confirm_lower"):
            self.add_error(
                "severity",
                f"You answered yes to “{yes[0]}”: that points to SEV-1 or SEV-2. "
                "Over-classify now and downgrade later, or confirm the lower level below.",
            )
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Choose…"), *[c for c in Incident.Status.choices if c[0] != "resolved"]],
        help_text="To resolve, use Resolve below: it records the criteria.",
    )
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper("Change status")


class SeverityForm(forms.Form):
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int)
    reason = forms.CharField(max_length=300, required=False, help_text="Why, for the timeline.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shares the incident page with StatusForm and ResolveForm, which also have a
        # "reason": own ids, so each label names its own field.
        kwargs.setdefault("auto_id", "severity_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper("Change severity")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=RoleAssignment.Role.choices)
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Person")

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(memberships__team=incident.team).order_by("username")
        self.helper = _helper("Assign")


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What happened")
    happened_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="When it happened (your time zone); empty for now.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper("Add to timeline")


class UpdateForm(forms.Form):
    known = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What we know")
    doing = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What we are doing")
    trend = forms.ChoiceField(choices=Incident.Trend.choices, label="Customer impact")
    eta = forms.CharField(max_length=100, required=False, label="ETA", help_text="Leave empty if unknown.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper("Post update")


class HelpForm(forms.Form):
    need = forms.CharField(max_length=200, label="What we need", help_text="e.g. a database expert")
    why = forms.CharField(max_length=300, label="Why", help_text="The symptom and what we think it is.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper("Ask for help")


class TriageForm(forms.Form):
    mitigation_path = forms.ChoiceField(
        choices=[("", "Not chosen yet"), *Incident.Mitigation.choices], required=False, label="Mitigation path"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, question in TRIAGE_CHECKLIST:
            self.fields[key] = forms.CharField(max_length=500, required=False, label=question)
        self.order_fields([*[k for k, _q in TRIAGE_CHECKLIST], "mitigation_path"])
        self.helper = _helper("Save triage")

    def answers(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key, "") for key, _q in TRIAGE_CHECKLIST}


class ResolveForm(forms.Form):
    checks = forms.MultipleChoiceField(
        choices=RESOLUTION_CHECKLIST, widget=forms.CheckboxSelectMultiple, required=False, label="Confirmed"
    )
    root_cause = forms.CharField(max_length=300, required=False, label="Root cause (first look)")
    fix = forms.CharField(max_length=300, required=False, label="Fix applied")
    reason = forms.CharField(
        max_length=300,
        required=False,
        label="Reason to resolve now",
        help_text="Needed before the watch period ends or with criteria unconfirmed.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "resolve_%s")  # see SeverityForm
        super().__init__(*args, **kwargs)
        self.helper = _helper("Resolve")


class FilterForm(forms.Form):
    team = forms.CharField(required=False)
    severity = forms.TypedChoiceField(
        choices=[("", "Any"), *Severity.choices], coerce=int, required=False, empty_value=None
    )
    status = forms.ChoiceField(choices=[("", "Any"), ("open", "Open"), *Incident.Status.choices], required=False)
    service = forms.CharField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(required=False, label="Text")
