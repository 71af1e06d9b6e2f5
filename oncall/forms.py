from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms

from oncall.models import ApiToken, Service, Team, User


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
