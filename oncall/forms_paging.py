"""Forms for pages and escalation policies. They check shape; the services check the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from oncall.escalation import WEEKDAY_NAMES
from oncall.models import EscalationPolicy, EscalationStep, Layer, Service, StepTarget, Team, User
from oncall.selectors_paging import PAGE_STATUS_FILTERS
from oncall.services.escalation_policies import MAX_STEPS, StepInput, TargetInput


class PageFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s, s.capitalize()) for s in PAGE_STATUS_FILTERS], required=False, initial="open"
    )
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False, to_field_name="slug")

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = team.services.order_by("name")
        self.fields["service"].empty_label = "All services"


class PolicyForm(forms.ModelForm):
    class Meta:
        model = EscalationPolicy
        fields = ["name", "description", "repeats"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"repeats": "Repeat all steps"}
        help_texts = {"repeats": "Times to start again from step 1 when nobody acknowledged (0-9)."}

    def validate_unique(self) -> None:
        # The service says it in words ("already has a policy named …"); the team is not a form field.
        pass


def _people(team: Team) -> QuerySet[User]:
    return (
        User.objects.filter(Q(memberships__team=team) | Q(is_staff=True), is_active=True)
        .distinct()
        .order_by("username")
    )


class StepForm(forms.Form):
    """One step, flat: a phone shows it as one short card of fields."""

    wait_minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=5, label="Then wait (minutes)")
    layers = forms.ModelMultipleChoiceField(
        queryset=Layer.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Page whoever is on call on",
    )
    people = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label="Page these people"
    )
    managers = forms.BooleanField(required=False, label="Page the team's managers")
    only_critical = forms.BooleanField(required=False, label="Only for critical alerts")
    window_start = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="Only from (local)"
    )
    window_end = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="until (local)"
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=[(str(i), name[:3]) for i, name in enumerate(WEEKDAY_NAMES)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only on",
        help_text="None ticked: every day.",
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["layers"].queryset = (
            Layer.objects.filter(schedule__team=team).select_related("schedule").order_by("schedule__name", "position")
        )
        self.fields["layers"].label_from_instance = lambda layer: f"{layer.schedule.name} > {layer.name}"
        self.fields["people"].queryset = _people(team)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # A blank extra form is allowed to stay blank; every other kept step must page someone.
        if (not self.empty_permitted or self.has_changed()) and not data.get("DELETE"):
            if not (data.get("layers") or data.get("people") or data.get("managers")):
                raise forms.ValidationError("Choose whom this step pages.")
            if (data.get("window_start") is None) != (data.get("window_end") is None):
                raise forms.ValidationError("Give both ends of the time window, or neither.")
        return data

    def to_input(self) -> StepInput:
        data = self.cleaned_data
        targets = [TargetInput(kind=StepTarget.Kind.LAYER, layer=layer) for layer in data["layers"]]
        targets += [TargetInput(kind=StepTarget.Kind.USER, user=user) for user in data["people"]]
        if data["managers"]:
            targets.append(TargetInput(kind=StepTarget.Kind.MANAGERS))
        return StepInput(
            wait_minutes=data["wait_minutes"],
            targets=targets,
            only_critical=data["only_critical"],
            window_start=data["window_start"],
            window_end=data["window_end"],
            weekdays=list(data["weekdays"]),
        )


StepFormSet = forms.formset_factory(StepForm, extra=1, can_delete=True, can_order=True, max_num=MAX_STEPS)


def step_initial(step: EscalationStep) -> dict[str, Any]:
    targets = list(step.targets.all())
    return {
        "wait_minutes": step.wait_minutes,
        "layers": [t.layer_id for t in targets if t.kind == StepTarget.Kind.LAYER],
        "people": [t.user_id for t in targets if t.kind == StepTarget.Kind.USER],
        "managers": any(t.kind == StepTarget.Kind.MANAGERS for t in targets),
        "only_critical": step.only_critical,
        "window_start": step.window_start,
        "window_end": step.window_end,
        "weekdays": [str(d) for d in step.weekdays],
        "ORDER": step.position,
    }


def formset_steps(formset: forms.BaseFormSet) -> list[StepInput]:
    """The kept steps in the order the manager gave (ORDER, then as listed), blank extra forms left out."""
    return [form.to_input() for form in formset.ordered_forms]


class ServicePolicyForm(forms.Form):
    escalation_policy = forms.ModelChoiceField(
        queryset=EscalationPolicy.objects.none(), required=False, empty_label="The team's Default policy"
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["escalation_policy"].queryset = service.team.escalation_policies.order_by("name")
