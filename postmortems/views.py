"""Pages for postmortems, action items and the manager's overdue view."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.inputs import small_int
from incidents.selectors import incident_get_for_user
from oncall.models import Membership, User
from oncall.selectors import is_member
from postmortems import markdown, selectors, services
from postmortems.forms import ActionItemForm, FactorForm, ItemStatusForm, PostmortemForm, ReassignForm, TransitionForm
from postmortems.models import Postmortem


def index(request: HttpRequest) -> HttpResponse:
    postmortems = selectors.postmortem_list_visible(user=request.user)[:100]
    mine = selectors.action_items_for_user(user=request.user).filter(
        owner=request.user, status__in=["open", "in_progress"]
    )
    return render(request, "postmortems/index.html", {"postmortems": postmortems, "my_items": mine})


def _can_edit(request: HttpRequest, postmortem: Postmortem) -> bool:
    return Membership.objects.filter(team=postmortem.team_id, user=request.user).exists()


def detail(request: HttpRequest, number: int) -> HttpResponse:
    postmortem = selectors.postmortem_get_for_user(user=request.user, number=number)
    return render(request, "postmortems/detail.html", _context(request, postmortem))


ACTIONS = {
    "form": "postmortems:edit",
    "factor_form": "postmortems:factor",
    "item_form": "postmortems:item",
    "transition_form": "postmortems:transition",
}


def _context(request: HttpRequest, postmortem: Postmortem, **forms_: forms.Form) -> dict[str, Any]:
    team_people = User.objects.filter(memberships__team=postmortem.team).order_by("username")
    editable = _can_edit(request, postmortem) and postmortem.status != Postmortem.Status.PUBLISHED
    defaults = {
        "form": PostmortemForm(instance=postmortem, people=team_people),
        "factor_form": FactorForm(),
        "item_form": ActionItemForm(people=team_people),
        "transition_form": TransitionForm(people=team_people),
    }
    merged = {**defaults, **forms_}
    number = postmortem.incident.number
    for name, url in ACTIONS.items():
        merged[name].helper.form_action = reverse(url, args=[number])
    return {
        "postmortem": postmortem,
        "can_edit": _can_edit(request, postmortem),
        "editable": editable,
        "factors": postmortem.factors.all(),
        "items": postmortem.action_items.select_related("owner", "team"),
        "findings": services.blameless_findings(postmortem),
        "rendered": markdown.sections(postmortem),
        "facts": _facts(postmortem),
        **merged,
    }


def _facts(postmortem: Postmortem) -> list[tuple[dt.datetime, str]]:
    """The imported timeline with real instants, so templates show them in the reader's zone."""
    return [(dt.datetime.fromisoformat(fact["at"]), fact["text"]) for fact in postmortem.timeline]


def _acting(request: HttpRequest, number: int) -> Postmortem:
    return selectors.postmortem_get_for_member(user=request.user, number=number)


def _refused(request: HttpRequest, postmortem: Postmortem, name: str, form: forms.Form) -> HttpResponse:
    return render(request, "postmortems/detail.html", _context(request, postmortem, **{name: form}), status=400)


@require_POST
def create(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, number=number)
    if not is_member(user=request.user, team=incident.team_id):
        raise Http404("No such incident.")
    try:
        postmortem = services.postmortem_create(incident=incident, by=request.user)
    except DomainError as exc:
        flash.error(request, exc.message)
        return redirect(incident)
    return redirect(postmortem)


@require_POST
def edit(request: HttpRequest, number: int) -> HttpResponse:
    postmortem = _acting(request, number)
    people = User.objects.filter(memberships__team=postmortem.team)
    form = PostmortemForm(request.POST, instance=Postmortem.objects.get(pk=postmortem.pk), people=people)
    if form.is_valid():
        try:
            findings = services.postmortem_update(postmortem=postmortem, by=request.user, **form.changed_values())
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            for finding in findings:
                flash.warning(request, f"Blameless check: “{finding.text}”. {finding.reason}")
            flash.success(request, "Saved.")
            return redirect(postmortem)
    return _refused(request, postmortem, "form", form)


def _run(request: HttpRequest, number: int, form: forms.Form, name: str, run: Any, done: str) -> HttpResponse:
    postmortem = _acting(request, number)
    if form.is_valid():
        try:
            run(postmortem, form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            flash.success(request, done)
            return redirect(postmortem)
    return _refused(request, postmortem, name, form)


@require_POST
def add_factor(request: HttpRequest, number: int) -> HttpResponse:
    def run(postmortem: Postmortem, data: dict[str, Any]) -> None:
        services.factor_add(postmortem=postmortem, by=request.user, **data)

    return _run(request, number, FactorForm(request.POST), "factor_form", run, "Factor added.")


@require_POST
def add_item(request: HttpRequest, number: int) -> HttpResponse:
    people = User.objects.filter(memberships__team__postmortems__incident__number=number)

    def run(postmortem: Postmortem, data: dict[str, Any]) -> None:
        item = services.action_item_create(postmortem=postmortem, by=request.user, **data)
        if hint := services.vague_hint(item.title):
            flash.info(request, hint)

    return _run(request, number, ActionItemForm(request.POST, people=people), "item_form", run, "Action item added.")


@require_POST
def transition(request: HttpRequest, number: int) -> HttpResponse:
    people = User.objects.filter(memberships__team__postmortems__incident__number=number)

    def run(postmortem: Postmortem, data: dict[str, Any]) -> None:
        services.postmortem_transition(
            postmortem=postmortem, status=data["status"], reviewers=data["reviewers"], by=request.user
        )

    form = TransitionForm(request.POST, people=people)
    return _run(request, number, form, "transition_form", run, "Status changed.")


def download(request: HttpRequest, number: int) -> HttpResponse:
    postmortem = selectors.postmortem_get_for_user(user=request.user, number=number)
    text = render_to_string(
        "postmortems/document.md", {"postmortem": postmortem, "items": postmortem.action_items.all()}
    )
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="postmortem-{postmortem.incident.reference}.md"'
    return response


def print_view(request: HttpRequest, number: int) -> HttpResponse:
    postmortem = selectors.postmortem_get_for_user(user=request.user, number=number)
    context = {
        "postmortem": postmortem,
        "rendered": markdown.sections(postmortem),
        "items": postmortem.action_items.all(),
    }
    return render(request, "postmortems/print.html", context)


def action_items(request: HttpRequest) -> HttpResponse:
    params = request.GET
    found = selectors.action_items_filtered(user=request.user, params=params, now=timezone.now())
    managed = Membership.objects.filter(user=request.user, role=Membership.Role.MANAGER).values("team")
    context = {
        "items": found[:300],
        "params": params,
        "reassign_form": ReassignForm(people=User.objects.filter(memberships__team__in=managed).distinct()),
        "is_manager": managed.exists(),
    }
    return render(request, "postmortems/action_items.html", context)


@require_POST
def item_status(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.action_items_for_user(user=request.user).filter(pk=pk).first()
    if item is None:
        raise Http404("No such action item.")
    form = ItemStatusForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if data["status"] == "wont_do" and not data["reason"]:
            # The page has one text box: proof for "done", the reason for "won't do".
            data["reason"], data["evidence"] = data["evidence"], ""
        try:
            services.action_item_set_status(item=item, by=request.user, **data)
        except DomainError as exc:
            flash.error(request, exc.message)
        else:
            flash.success(request, "Action item updated.")
    else:
        flash.error(request, "Choose a status.")
    return redirect(f"{item.postmortem.get_absolute_url()}#items")


@require_POST
def reassign(request: HttpRequest) -> HttpResponse:
    ids = [n for i in request.POST.getlist("items") if (n := small_int(i, digits=18)) is not None]
    owner = User.objects.filter(username=request.POST.get("owner", "")).first()
    items = list(selectors.action_items_for_user(user=request.user).filter(pk__in=ids))
    if not items or owner is None:
        flash.error(request, "Choose action items and a new owner.")
        return redirect("postmortems:action-items")
    try:
        count = services.action_items_reassign(items=items, owner=owner, by=request.user)
    except DomainError as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, f"Reassigned {count} action items to {owner}.")
    return redirect("postmortems:action-items")


def overdue(request: HttpRequest) -> HttpResponse:
    """The manager's view: overdue postmortems and items of the teams they manage; CSV on request."""
    today = timezone.localdate()
    postmortems, items = selectors.overdue_for_manager(user=request.user, now=timezone.now())
    if team := request.GET.get("team"):
        postmortems, items = postmortems.filter(team__slug=team), items.filter(team__slug=team)
    if owner := request.GET.get("owner"):
        postmortems, items = postmortems.filter(owner__username=owner), items.filter(owner__username=owner)
    items = items.order_by(*ITEM_SORTS.get(request.GET.get("sort", ""), ITEM_SORTS["age"]))
    if request.GET.get("format") == "csv":
        return _overdue_csv(postmortems, items, today)
    context = {"postmortems": postmortems, "items": items, "today": today, "params": request.GET, "sorts": SORT_LABELS}
    return render(request, "postmortems/overdue.html", context)


SORT_LABELS = [("age", "Most overdue"), ("priority", "Priority"), ("owner", "Owner"), ("team", "Team")]
ITEM_SORTS = {
    "age": ("due_date", "priority"),
    "priority": ("priority", "due_date"),
    "owner": ("owner__username", "due_date"),
    "team": ("team__name", "due_date"),
}


def _overdue_csv(postmortems: Any, items: Any, today: Any) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="overdue.csv"'
    writer = csv.writer(response)
    writer.writerow(["kind", "team", "title", "owner", "due", "days_overdue", "priority", "link"])
    for p in postmortems:
        days = (today - p.due_at.date()).days
        writer.writerow(
            ["postmortem", p.team.slug, str(p), p.owner or "", p.due_at.date(), days, "", p.get_absolute_url()]
        )
    for i in items:
        days = (today - i.due_date).days
        link = f"{i.postmortem.get_absolute_url()}#items"
        writer.writerow(["action item", i.team.slug, i.title, i.owner or "", i.due_date, days, f"P{i.priority}", link])
    return response
