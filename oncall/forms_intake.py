"""Forms for integrations and the team's alert list. They check shape; the services check the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from oncall.models import Alert, Integration, Service, Team
from oncall.services.intake import DEFAULT_RATE_LIMIT_PER_MINUTE

STATUS_FILTERS = [("", "All"), *Alert.Status.choices]


class IntegrationForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What sends here, e.g. “Alertmanager prod”.")
    kind = forms.ChoiceField(choices=Integration.Kind.choices, initial=Integration.Kind.ALERTMANAGER)
    rate_limit_per_minute = forms.IntegerField(
        min_value=1,
        max_value=100_000,
        initial=DEFAULT_RATE_LIMIT_PER_MINUTE,
        label="Requests per minute",
        help_text="Posts beyond this in one minute get 429 and are not stored.",
    )


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False, to_field_name="slug")

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = team.services.order_by("name")
        self.fields["service"].empty_label = "All services"
