from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import DomainError
from oncall import selectors
from oncall.forms import ApiTokenForm, ProfileForm, ServiceForm
from oncall.models import ApiToken
from oncall.services import teams as services


def home(request: HttpRequest) -> HttpResponse:
    teams = selectors.user_teams_with_services(user=request.user)
    return render(request, "oncall/home.html", {"teams": teams})


def team_list(request: HttpRequest) -> HttpResponse:
    teams = selectors.team_list_for_user(user=request.user)
    return render(request, "oncall/team_list.html", {"teams": teams})


def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    return render(
        request,
        "oncall/team_detail.html",
        {"team": team, "memberships": selectors.team_members(team=team), "services": team.services.order_by("name")},
    )


def service_list(request: HttpRequest) -> HttpResponse:
    services_qs = selectors.service_list_for_user(user=request.user).order_by("team__name", "name")
    return render(request, "oncall/service_list.html", {"services": services_qs})


def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    service = selectors.service_get_for_user(user=request.user, slug=slug)
    return render(request, "oncall/service_detail.html", {"service": service})


def _save_service(request: HttpRequest, form: ServiceForm) -> HttpResponse | None:
    """Runs the service-layer write for a valid form; puts rule violations on the form."""
    data = dict(form.cleaned_data)
    try:
        if form.instance.pk:
            service = services.service_update(service=form.instance, by=request.user, **data)
        else:
            service = services.service_create(
                team=data.pop("team"), name=data.pop("name"), slug=data.pop("slug"), by=request.user, **data
            )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None
    messages.success(request, f"Saved {service.name}.")
    return redirect(service)


@require_http_methods(["GET", "POST"])
def service_create(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST or None, user=request.user, initial={"team": request.GET.get("team")})
    if request.method == "POST" and form.is_valid():
        response = _save_service(request, form)
        if response:
            return response
    return render(request, "oncall/service_form.html", {"form": form, "service": None})


@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, slug: str) -> HttpResponse:
    service = selectors.service_get_for_user(user=request.user, slug=slug)
    # The form mutates its instance while validating; the service layer compares
    # against a fresh copy to know what changed.
    form = ServiceForm(request.POST or None, instance=service, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.instance = selectors.service_get_for_user(user=request.user, slug=slug)
        response = _save_service(request, form)
        if response:
            return response
    return render(request, "oncall/service_form.html", {"form": form, "service": service})


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    profile_form = ProfileForm(instance=user)
    token_form = ApiTokenForm(user=user)
    new_token = None
    if request.method == "POST" and "save_profile" in request.POST:
        profile_form = ProfileForm(request.POST, instance=user)
        if profile_form.is_valid():
            profile_form.save()
            messages.success(request, "Profile saved.")
            return redirect("oncall:profile")
    elif request.method == "POST":
        token_form = ApiTokenForm(request.POST, user=user)
        if token_form.is_valid():
            try:
                _token, new_token = services.token_create(
                    user=user, name=token_form.cleaned_data["name"], team=token_form.cleaned_data["team"]
                )
            except DomainError as exc:
                token_form.add_error(exc.field if exc.field in token_form.fields else None, exc.message)
            else:
                token_form = ApiTokenForm(user=user)
    tokens = user.api_tokens.select_related("team")
    context = {"profile_form": profile_form, "token_form": token_form, "tokens": tokens, "new_token": new_token}
    return render(request, "oncall/profile.html", context)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.token_revoke(token=token, by=request.user)
    messages.success(request, f"Revoked token “{token.name}”. Tools using it now get 401.")
    return redirect("oncall:profile")
