"""Forms of the comms lead's portal pages. They check shape; the services check the rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone

from statuspage import rules
from statuspage.models import Component, ComponentStatus, Impact, Notice, StatusPage

KEEP = ""
NOTICE_STATUSES = [(s, Notice.Status(s).label) for s in rules.INCIDENT_STATUSES]
MAINTENANCE_STATUSES = [(s, Notice.Status(s).label) for s in rules.MAINTENANCE_STATUSES if s != "scheduled"]


def _helper(*buttons: tuple[str, str]) -> FormHelper:
    helper = FormHelper()
    for name, label in buttons:
        helper.add_input(Submit(name, label, css_class="btn-primary" if name == "publish" else "btn-secondary"))
    return helper


class ComponentStatusesMixin:
    """One select per component of the page: keep it as it is, or set a status."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def add_component_fields(self, components: Iterable[Component], initial: dict[int, str] | None = None) -> None:
        self.components = list(components)
        for c in self.components:
            self.fields[f"component_{c.public_id}"] = forms.ChoiceField(
                label=c.name,
                choices=[(KEEP, f"Leave as is ({c.get_status_display().lower()})"), *ComponentStatus.choices],
                required=False,
                initial=(initial or {}).get(c.pk, KEEP),
            )

    def chosen_statuses(self) -> dict[Component, str]:
        return {
            c: self.cleaned_data[f"component_{c.public_id}"]
            for c in self.components
            if self.cleaned_data.get(f"component_{c.public_id}")
        }

    def component_fields(self) -> list[forms.BoundField]:
        return [self[f"component_{c.public_id}"] for c in self.components]  # type: ignore[index]


class NoticeForm(ComponentStatusesMixin, forms.Form):
    title = forms.CharField(max_length=200, help_text="What customers notice, in their words: “Card payments failing”.")
    impact = forms.ChoiceField(choices=[c for c in Impact.choices if c[0] != Impact.MAINTENANCE])
    status = forms.ChoiceField(choices=NOTICE_STATUSES[:3])
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), max_length=5000, help_text="No internal names, no blame, no guesses."
    )

    def __init__(self, *args: Any, page: StatusPage, initial_statuses: dict[int, str] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.add_component_fields(page.components.order_by("position", "name"), initial_statuses)
        self.helper = _helper(("preview", "Preview"), ("publish", "Publish"))
        self.helper.form_tag = False


class NoticeUpdateForm(ComponentStatusesMixin, forms.Form):
    status = forms.ChoiceField()
    impact = forms.ChoiceField(required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)

    def __init__(self, *args: Any, notice: Notice, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["status"].choices = MAINTENANCE_STATUSES if notice.is_maintenance else NOTICE_STATUSES
        self.fields["status"].initial = notice.status
        self.fields["impact"].choices = [(KEEP, f"Keep ({notice.get_impact_display().lower()})"), *Impact.choices]
        if notice.is_maintenance:
            del self.fields["impact"]
        else:
            self.add_component_fields(notice.page.components.order_by("position", "name"))
        self.helper = _helper(("publish", "Post update"))


class MaintenanceForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="What will happen and what customers notice.",
    )
    scheduled_for = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    scheduled_until = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.none(), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, page: StatusPage, **kw: Any):
        super().__init__(*args, **kw)
        self.page = page
        self.fields["components"].queryset = page.components.order_by("position", "name")
        zone = page.time_zone
        self.fields["scheduled_for"].help_text = f"In the page's zone, {zone}."
        self.fields["scheduled_until"].help_text = f"In the page's zone, {zone}."
        self.helper = _helper(("publish", "Schedule"))

    def full_clean(self) -> None:
        # The browser sends wall-clock time: read it in the page's zone, not the reader's.
        with timezone.override(ZoneInfo(self.page.time_zone)):
            super().full_clean()


class ComponentStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=ComponentStatus.choices, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )

    def __init__(self, *args: Any, component: Component, **kw: Any):
        super().__init__(*args, initial={"status": component.status}, **kw)
        self.fields["status"].label = f"Status of {component.name}"
