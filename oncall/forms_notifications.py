"""Forms of the notification pages. They check shape only; the rules live in the services."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms

from oncall.models import ContactMethod, TeamWebhook
from oncall.models.notifications import Event


class ContactMethodForm(forms.Form):
    kind = forms.ChoiceField(choices=ContactMethod.Kind.choices)
    address = forms.CharField(
        max_length=500, help_text="An email address, or the https URL of a Slack incoming webhook or your own endpoint."
    )
    label = forms.CharField(max_length=60, required=False, help_text="Optional, e.g. “work phone mail”.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout("kind", "address", "label", Submit("add_method", "Add contact method"))


class TeamWebhookForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.CharField(label="URL", max_length=500, help_text="https only.")
    format = forms.ChoiceField(choices=TeamWebhook.Format.choices, initial=TeamWebhook.Format.JSON)
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to send every event.",
    )
    is_enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            # A new webhook starts enabled; switching off is an edit.
            del self.fields["is_enabled"]
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save webhook" if editing else "Add webhook"))
