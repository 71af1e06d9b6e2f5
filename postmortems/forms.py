"""Forms for postmortems and action items. Shape only; the services hold the rules."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.db.models import QuerySet

from oncall.models import User
from postmortems.models import ActionItem, ContributingFactor, Postmortem


def _helper(label: str) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label))
    return helper


class PostmortemForm(forms.ModelForm):
    class Meta:
        model = Postmortem
        fields = [
            "owner", "review_at", "summary", "users_affected_percent", "peak_error_rate_percent", "latency_impact",
            "features_affected", "business_impact", "root_cause", "went_well", "went_badly",
        ]  # fmt: skip
        widgets = {
            "review_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            **{
                name: forms.Textarea(attrs={"rows": 3}) for name in ("summary", "root_cause", "went_well", "went_badly")
            },
        }

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people
        self.fields["root_cause"].help_text = "One statement about the system, not a person."
        self.helper = _helper("Save")

    def changed_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class FactorForm(forms.ModelForm):
    class Meta:
        model = ContributingFactor
        fields = ["kind", "description"]
        widgets = {"description": forms.TextInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shares the postmortem page with ActionItemForm (both have "kind"): own ids, so
        # each label names its own field.
        kwargs.setdefault("auto_id", "factor_%s")
        super().__init__(*args, **kwargs)
        self.helper = _helper("Add factor")


class ActionItemForm(forms.ModelForm):
    class Meta:
        model = ActionItem
        fields = ["title", "owner", "due_date", "priority", "kind", "verification", "expected_impact"]
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"}), "verification": forms.TextInput()}

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "item_%s")  # "owner" is also PostmortemForm's; see FactorForm
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people.distinct()
        self.helper = _helper("Add action item")


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=Postmortem.Status.choices)
    reviewers = forms.ModelMultipleChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = people.distinct()
        self.helper = _helper("Change status")


class ItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItem.Status.choices)
    evidence = forms.CharField(required=False, max_length=2000)
    reason = forms.CharField(required=False, max_length=300)


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.none(), to_field_name="username")

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people
