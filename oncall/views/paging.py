"""Pages and escalation policies on the web: lists, a page with its log, one-click links, the editor."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import ConflictError, DomainError
from oncall import escalation as rules
from oncall import links, selectors
from oncall import selectors_paging as paging_selectors
from oncall.forms_paging import PageFilterForm, PolicyForm, ServicePolicyForm, StepFormSet, formset_steps, step_initial
from oncall.models import EscalationPolicy, Page, PageEvent, Team, User
from oncall.selectors_schedules import is_manager
from oncall.services import escalation_policies as policy_services
from oncall.services import paging as services
from oncall.services.escalation_policies import StepInput

PAGE_SIZE = 50
ACTIONS = {
    "acknowledge": (services.page_acknowledge, "Acknowledged: escalation stopped."),
    "resolve": (services.page_resolve, "Resolved."),
    "escalate": (services.page_escalate_now, "Escalated to the next step."),
}


# --- pages -----------------------------------------------------------------------------


@require_GET
def team_pages(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    form = PageFilterForm(request.GET or {"status": "open"}, team=team)
    status, service = "open", None
    if form.is_valid():
        status, service = form.cleaned_data["status"] or "open", form.cleaned_data["service"]
    pages = paging_selectors.page_list_for_user(user=request.user, team=team, status=status, service=service)
    stalled = paging_selectors.page_list_for_user(user=request.user, team=team, status="stalled")
    context = {
        "team": team,
        "form": form,
        "status": status,
        "page_obj": Paginator(pages, PAGE_SIZE).get_page(request.GET.get("page")),
        "stalled_count": stalled.count(),
    }
    return render(request, "oncall/paging/team_pages.html", context)


@require_GET
def page_detail(request: HttpRequest, pk: int) -> HttpResponse:
    page = paging_selectors.page_get_for_user(user=request.user, pk=pk)
    policy = rules.PolicySpec.from_dict(page.policy_snapshot)
    context = {
        "page": page,
        "alert": page.alert,
        "events": paging_selectors.page_events(page=page),
        "policy": policy,
        "steps": [(i, rules.describe_step(step)) for i, step in enumerate(policy.steps)],
        "next_step_index": page.step_index,
    }
    return render(request, "oncall/paging/page_detail.html", context)


@require_POST
def page_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    page = paging_selectors.page_get_for_user(user=request.user, pk=pk)
    if action not in ACTIONS:
        raise Http404("No such action.")
    service, done = ACTIONS[action]
    try:
        service(page=page, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("oncall:page-detail", pk=page.pk)


def _link_target(request: HttpRequest, token: str) -> tuple[links.PageLink, Page, User] | HttpResponse:
    try:
        link = links.page_link_read(token, now=timezone.now())
    except links.LinkInvalid as exc:
        raise Http404("No such link.") from exc
    except links.LinkExpired:
        return render(request, "oncall/paging/link_expired.html", status=400)
    user = User.objects.filter(pk=link.user_id, is_active=True).first()
    page = Page.objects.select_related("alert", "service", "team").filter(pk=link.page_id).first()
    # Only the person it was sent to: a link forwarded to a signed-in colleague does nothing.
    if user is None or page is None or (request.user.is_authenticated and request.user.pk != user.pk):
        raise Http404("No such link.")
    if not page.events.filter(kind=PageEvent.Kind.NOTIFIED, user=user).exists():
        raise Http404("No such link.")
    return link, page, user


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def page_link(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link from a page notification. GET asks; only the POST acts."""
    found = _link_target(request, token)
    if isinstance(found, HttpResponse):
        return found
    link, page, user = found
    context: dict[str, object] = {"page": page, "alert": page.alert, "person": user, "action": link.action}
    status = 200
    if request.method == "POST":
        service, done = ACTIONS[link.action]
        try:
            page = service(page=page, by=user)
        except DomainError as exc:
            context["error"] = exc.message
            status = 409 if isinstance(exc, ConflictError) else 400
        else:
            context["done"] = done
        context["page"] = page
    response = render(request, "oncall/paging/link_confirm.html", context, status=status)
    # The token is in the URL: keep it out of other sites' Referer headers and out of search
    # engines. Not "no-referrer": under it browsers send `Origin: null` with the page's own
    # POST, and Django's CSRF check refuses the Acknowledge button with a 403.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- escalation policies ---------------------------------------------------------------


@require_GET
def policy_list(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    policies = [
        (policy, [rules.describe_step(step) for step in services.policy_spec(policy=policy).steps])
        for policy in paging_selectors.team_escalation_policies(team=team)
    ]
    context = {
        "team": team,
        "policies": policies,
        "is_manager": is_manager(user=request.user, team=team),
        "default_name": services.DEFAULT_POLICY_NAME,
        "has_default": any(p.name == services.DEFAULT_POLICY_NAME for p, _ in policies),
    }
    return render(request, "oncall/paging/policy_list.html", context)


@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    """Create or change a policy and its steps on one page; a phone shows one card per step."""
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    policy = paging_selectors.team_escalation_policies(team=team).filter(pk=pk).first() if pk else None
    if pk and policy is None:
        raise Http404("No such escalation policy.")
    data = request.POST if request.method == "POST" else None
    form = PolicyForm(data, instance=policy, initial={"repeats": 1})
    initial = [step_initial(step) for step in policy.steps.all()] if policy else None
    formset = StepFormSet(data, initial=initial, form_kwargs={"team": team}, prefix="steps")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        saved = _save_policy(request, team, policy, form=form, steps=formset_steps(formset))
        if saved is not None:
            messages.success(request, f"Saved the escalation policy {saved.name}.")
            return redirect("oncall:policy-list", slug=team.slug)
    context = {"team": team, "policy": policy, "form": form, "formset": formset}
    return render(request, "oncall/paging/policy_form.html", context)


def _save_policy(
    request: HttpRequest, team: Team, policy: EscalationPolicy | None, *, form: PolicyForm, steps: list[StepInput]
) -> EscalationPolicy | None:
    fields = {k: form.cleaned_data[k] for k in ("name", "description", "repeats")}
    try:
        if policy is None:
            return policy_services.escalation_policy_create(team=team, by=request.user, steps=steps, **fields)
        return policy_services.escalation_policy_update(policy=policy, by=request.user, steps=steps, **fields)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@require_POST
def policy_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    policy = team.escalation_policies.filter(pk=pk).first()
    if policy is None:
        raise Http404("No such escalation policy.")
    try:
        policy_services.escalation_policy_delete(policy=policy, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted {policy.name}. Its services now page through the team's Default policy.")
    return redirect("oncall:policy-list", slug=team.slug)


@require_POST
def policy_default(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    if not is_manager(user=request.user, team=team):
        messages.error(request, f"Only managers of {team.name} can change its escalation policies.")
    else:
        policy = policy_services.escalation_policy_default(team=team, by=request.user)
        messages.success(request, f"The {policy.name} policy is ready; review its steps.")
    return redirect("oncall:policy-list", slug=team.slug)


@require_POST
def service_policy_set(request: HttpRequest, slug: str) -> HttpResponse:
    service = selectors.service_get_for_user(user=request.user, slug=slug)
    form = ServicePolicyForm(request.POST, service=service)
    if not form.is_valid():
        messages.error(request, "Choose one of the team's escalation policies.")
        return redirect(service)
    try:
        policy_services.service_escalation_policy_set(
            service=service, policy=form.cleaned_data["escalation_policy"], by=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{service.name} now pages through {service.escalation_policy or 'the Default'}.")
    return redirect(service)
