"""Pages for a person's contact methods, notification rules and notifications, and team webhooks."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import DomainError
from oncall import selectors
from oncall import selectors_notifications as notes
from oncall.forms_notifications import ContactMethodForm, TeamWebhookForm
from oncall.models import Team
from oncall.models.notifications import Event
from oncall.services import notifications as services


def _form_error(form: forms.Form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ContactMethodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            method = services.contact_method_create(user=user, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Added {method}. Tick the events it should receive below.")
            return redirect("oncall:notification-settings")
    methods = list(notes.contact_methods_for_user(user=user))
    context = {
        "form": form,
        "methods": [(m, notes.signing_secret(m)) for m in methods],
        "grid": notes.rule_grid(user=user, methods=methods),
        "active_methods": [m for m in methods if m.is_active],
        "notifications": notes.notifications_for_user(user=user)[: notes.RECENT_NOTIFICATIONS],
        "teams": selectors.team_list_for_user(user=user),
    }
    return render(request, "oncall/notifications/settings.html", context)


@require_POST
def contact_method_delete(request: HttpRequest, pk: int) -> HttpResponse:
    method = notes.contact_method_get_for_user(user=request.user, pk=pk)
    services.contact_method_delete(contact_method=method, by=request.user)
    messages.success(request, f"Removed {method}.")
    return redirect("oncall:notification-settings")


@require_POST
def notification_rules_save(request: HttpRequest) -> HttpResponse:
    """Saves the whole grid at once: one bad cell and nothing changes."""
    user = request.user
    methods = {str(m.pk): m for m in notes.contact_methods_for_user(user=user)}
    try:
        with transaction.atomic():
            for event in Event.values:
                chosen = request.POST.getlist(f"event-{event}")
                unknown = [pk for pk in chosen if pk not in methods]
                if unknown:
                    raise DomainError("That contact method is not yours, or no longer exists; reload the page.")
                services.notification_rule_set(user=user, event=event, contact_methods=[methods[pk] for pk in chosen])
    except DomainError as exc:
        messages.error(request, f"Nothing was saved: {exc.message}")
    else:
        messages.success(request, "Saved which events reach you where.")
    return redirect("oncall:notification-settings")


def _team_for_webhooks(request: HttpRequest, slug: str, *, write: bool) -> tuple[Team, bool]:
    """The team (404 unless the user belongs to it) and whether they manage it (403 to write otherwise)."""
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    manages = selectors.is_manager(user=request.user, team=team)
    if write and not manages:
        raise PermissionDenied(f"Only managers of {team.name} can change its webhooks.")
    return team, manages


@require_http_methods(["GET", "POST"])
def team_webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    team, is_manager = _team_for_webhooks(request, slug, write=request.method == "POST")
    form = TeamWebhookForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = services.team_webhook_create(team=team, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            # Rendered, not redirected: the secret is shown this once and never again.
            form = TeamWebhookForm()
    context = {
        "team": team,
        "is_manager": is_manager,
        "form": form,
        "created": created,
        "webhooks": team.webhooks.order_by("name"),
    }
    return render(request, "oncall/notifications/team_webhooks.html", context)


@require_http_methods(["GET", "POST"])
def team_webhook_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team, _ = _team_for_webhooks(request, slug, write=True)
    webhook = notes.team_webhook_get(team=team, pk=pk)
    initial = {f: getattr(webhook, f) for f in ("name", "url", "format", "events")} | {"is_enabled": webhook.is_active}
    form = TeamWebhookForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_webhook_update(webhook=webhook, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Saved webhook {webhook.name}.")
            return redirect("oncall:team-webhooks", slug=team.slug)
    context = {"team": team, "webhook": webhook, "form": form}
    return render(request, "oncall/notifications/team_webhook_form.html", context)


@require_POST
def team_webhook_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team, _ = _team_for_webhooks(request, slug, write=True)
    webhook = notes.team_webhook_get(team=team, pk=pk)
    services.team_webhook_delete(webhook=webhook, by=request.user)
    messages.success(request, f"Removed webhook {webhook.name}.")
    return redirect("oncall:team-webhooks", slug=team.slug)
