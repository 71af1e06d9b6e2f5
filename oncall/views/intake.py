"""Integrations on a service's page (create, rotate, disable, enable, delete) and the team's alerts.

A new or rotated key is rendered in the response to the POST that made it and never
again: no redirect carries it, and the response is marked not to be cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import DomainError
from oncall import selectors
from oncall import selectors_intake as intake_selectors
from oncall.forms_intake import AlertFilterForm, IntegrationForm
from oncall.models import Integration, Service, User
from oncall.selectors_schedules import is_manager
from oncall.services import intake as services

PAGE_SIZE = 50


def _service_for_manager(request: HttpRequest, slug: str) -> Service:
    """The service (404 for outsiders), if the user manages its team (403 for members)."""
    service = selectors.service_get_for_user(user=request.user, slug=slug)
    if not is_manager(user=request.user, team=service.team):
        raise PermissionDenied("Only managers of the team can change integrations.")
    return service


def _integration_for_manager(request: HttpRequest, slug: str, public_id: str) -> Integration:
    integration = intake_selectors.integration_get_for_user(user=request.user, public_id=public_id)
    if integration.service.slug != slug:
        raise PermissionDenied("That integration belongs to another service.")
    if not is_manager(user=request.user, team=integration.service.team):
        raise PermissionDenied("Only managers of the team can change integrations.")
    return integration


def _render_key(request: HttpRequest, integration: Integration, key: str, *, rotated: bool) -> HttpResponse:
    intake_url = request.build_absolute_uri(reverse("integration-alerts", kwargs={"public_id": integration.public_id}))
    context = {"integration": integration, "service": integration.service, "key": key, "intake_url": intake_url}
    return render(request, "oncall/intake/integration_key.html", context | {"rotated": rotated})


@never_cache
@require_http_methods(["GET", "POST"])
def integration_create(request: HttpRequest, slug: str) -> HttpResponse:
    service = _service_for_manager(request, slug)
    form = IntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            integration, key = services.integration_create(service=service, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _render_key(request, integration, key, rotated=False)
    return render(request, "oncall/intake/integration_form.html", {"service": service, "form": form})


@never_cache
@require_POST
def integration_rotate(request: HttpRequest, slug: str, public_id: str) -> HttpResponse:
    integration = _integration_for_manager(request, slug, public_id)
    try:
        integration, key = services.integration_rotate_key(integration=integration, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("oncall:service-detail", slug=slug)
    return _render_key(request, integration, key, rotated=True)


@require_POST
def integration_switch(request: HttpRequest, slug: str, public_id: str, state: str) -> HttpResponse:
    integration = _integration_for_manager(request, slug, public_id)
    by: User = request.user
    try:
        if state == "disable":
            services.integration_disable(integration=integration, by=by)
            messages.success(request, f"{integration.name} is disabled: its posts now get 410 and page nobody.")
        else:
            services.integration_enable(integration=integration, by=by)
            messages.success(request, f"{integration.name} takes alerts again.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("oncall:service-detail", slug=slug)


@require_http_methods(["GET", "POST"])
def integration_delete(request: HttpRequest, slug: str, public_id: str) -> HttpResponse:
    integration = _integration_for_manager(request, slug, public_id)
    if request.method == "POST":
        try:
            services.integration_delete(integration=integration, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Deleted {integration.name}.")
        return redirect("oncall:service-detail", slug=slug)
    return render(request, "oncall/intake/integration_delete.html", {"integration": integration})


@require_GET
def team_alerts(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    form = AlertFilterForm(request.GET or None, team=team)
    status, service = "", None
    if form.is_valid():
        status, service = form.cleaned_data["status"], form.cleaned_data["service"]
    alerts = intake_selectors.alert_list_for_team(team=team, status=status, service=service.slug if service else None)
    context = {
        "team": team,
        "form": form,
        "status": status,
        "service": service,
        "page_obj": Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page")),
    }
    return render(request, "oncall/intake/team_alerts.html", context)
