"""Pages for running incidents: dashboard, list, declare, the incident itself and its actions."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.inputs import small_int
from incidents import charts, messages, metrics, panels, selectors, services
from incidents.defaults import RESOLUTION_CHECKLIST, SEVERITY_QUESTIONS, TRIAGE_CHECKLIST
from incidents.forms import (
    DeclareForm,
    FilterForm,
    HelpForm,
    NoteForm,
    ResolveForm,
    RoleForm,
    SeverityForm,
    StatusForm,
    TriageForm,
    UpdateForm,
)
from incidents.models import Incident, RoleAssignment
from oncall.models import Page

PER_PAGE = 25
ACTIONS = {
    "status_form": "status",
    "severity_form": "severity",
    "role_form": "role",
    "note_form": "note",
    "update_form": "update",
    "help_form": "help",
    "triage_form": "triage",
    "resolve_form": "resolve",
}


def index(request: HttpRequest) -> HttpResponse:
    """The dashboard: what is burning, what I hold, which updates are late."""
    now = timezone.now()
    visible = selectors.incident_list_visible(user=request.user, filters=selectors.IncidentFilters(open_only=True))
    open_incidents = list(visible)
    context = {
        "open_incidents": open_incidents,
        "by_severity": {level: [i for i in open_incidents if i.severity == level] for level in range(1, 5)},
        "overdue": [i for i in open_incidents if i.next_update_due_at and i.next_update_due_at <= now],
        "my_roles": selectors.my_open_roles(user=request.user),
        "now": now,
    }
    return render(request, "incidents/index.html", context)


def _filters(form: FilterForm) -> selectors.IncidentFilters:
    data = form.cleaned_data if form.is_valid() else {}
    day = dt.timedelta(days=1)

    def start_of(date: dt.date | None, shift: dt.timedelta = dt.timedelta(0)) -> dt.datetime | None:
        return timezone.make_aware(dt.datetime.combine(date, dt.time())) + shift if date else None

    status = data.get("status") or ""
    return selectors.IncidentFilters(
        team=data.get("team") or "",
        severity=data.get("severity"),
        status="" if status == "open" else status,
        open_only=status == "open",
        service=data.get("service") or "",
        since=start_of(data.get("since")),
        until=start_of(data.get("until"), day),
        text=data.get("q") or "",
    )


def incident_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET or None)
    found = selectors.incident_list_visible(user=request.user, filters=_filters(form))
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "incidents/list.html", {"form": form, "page": page, "query": query.urlencode()})


def declare(request: HttpRequest) -> HttpResponse:
    page = _page_for(request)
    initial = _initial_from_page(page) if page else {}
    form = DeclareForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        for key, _question in SEVERITY_QUESTIONS:
            data.pop(key)
        data.pop("confirm_lower")
        try:
            incident = services.incident_declare(by=request.user, page=page, **data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            flash.success(request, f"Declared {incident.reference}. Post the first message below.")
            return redirect(incident)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "page_obj": page, "questions": SEVERITY_QUESTIONS}
    return render(request, "incidents/declare.html", context, status=status)


def _page_for(request: HttpRequest) -> Page | None:
    """The alert page an incident is declared from, if the person may see it."""
    raw = request.GET.get("page") or request.POST.get("from_page")
    if not raw:
        return None
    number = small_int(raw, digits=18)
    if number is None:
        raise Http404("No such page.")
    page = Page.objects.filter(pk=number, team__memberships__user=request.user).select_related("alert").first()
    if page is None:
        raise Http404("No such page.")
    return page


def _initial_from_page(page: Page) -> dict[str, Any]:
    return {
        "team": page.team_id,
        "title": page.alert.title,
        "summary": page.alert.details[:500],
        "services": [page.service_id],
        "detection_source": Incident.Source.MONITORING,
        "severity": 1 if page.alert.severity == "critical" else 2,
    }


def detail(request: HttpRequest, number: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, number=number)
    return render(request, "incidents/detail.html", _detail_context(request, incident))


def _detail_context(request: HttpRequest, incident: Incident, **forms: Form) -> dict[str, Any]:
    updates = list(incident.updates.select_related("posted_by").order_by("-number"))
    policy = services.severity_policies_for(incident.team)[incident.severity]
    defaults: dict[str, Form] = {
        "status_form": StatusForm(),
        "severity_form": SeverityForm(initial={"severity": incident.severity}),
        "role_form": RoleForm(incident=incident),
        "note_form": NoteForm(),
        "update_form": UpdateForm(initial={"trend": incident.impact_trend}),
        "help_form": HelpForm(),
        "triage_form": TriageForm(initial={**incident.triage, "mitigation_path": incident.mitigation_path}),
        "resolve_form": ResolveForm(initial={"root_cause": incident.root_cause, "fix": incident.fix}),
    }
    merged = {**defaults, **forms}
    for name, form in merged.items():
        form.helper.form_action = reverse(f"incidents:{ACTIONS[name]}", args=[incident.number])
    return {
        "incident": incident,
        "policy": policy,
        "can_act": selectors.can_act(user=request.user, incident=incident),
        "timeline": selectors.timeline(incident=incident),
        "updates": updates,
        "roles": incident.roles.select_related("user").order_by("started_at"),
        "triage": [(question, incident.triage.get(key, "")) for key, question in TRIAGE_CHECKLIST],
        "resolution": [(label, incident.resolution_checks.get(key)) for key, label in RESOLUTION_CHECKLIST],
        "panels": panels.render_panels(request, incident),
        "message_declared": messages.declared(incident) if incident.is_open else "",
        "message_update": messages.update(updates[0]) if updates else "",
        "message_resolved": messages.resolved(incident, policy) if incident.resolved_at else "",
        "now": timezone.now(),
        **merged,
    }


def _act(
    request: HttpRequest,
    number: int,
    form_class: type[Form],
    form_name: str,
    run: Callable[[Incident, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """Runs one action from the incident page; a refused one re-renders the page with the reason."""
    incident = selectors.incident_get_for_user(user=request.user, number=number)
    if not selectors.can_act(user=request.user, incident=incident):
        raise Http404("No such incident.")
    kwargs = {"incident": incident} if form_class is RoleForm else {}
    form = form_class(request.POST, **kwargs)
    if form.is_valid():
        try:
            result = run(incident, form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            for warning in result if isinstance(result, list) else []:
                flash.warning(request, warning)
            flash.success(request, done)
            return redirect(incident)
    incident.refresh_from_db()
    context = _detail_context(request, incident, **{form_name: form})
    return render(request, "incidents/detail.html", context, status=400)


@require_POST
def change_status(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        return services.incident_transition(
            incident=incident, status=data["status"], reason=data["reason"], by=request.user
        )

    return _act(request, number, StatusForm, "status_form", run, "Status changed.")


@require_POST
def change_severity(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        return services.incident_set_severity(
            incident=incident, severity=data["severity"], reason=data["reason"], by=request.user
        )

    return _act(request, number, SeverityForm, "severity_form", run, "Severity changed.")


@require_POST
def assign_role(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        return services.role_assign(incident=incident, role=data["role"], user=data["user"], by=request.user)

    return _act(request, number, RoleForm, "role_form", run, "Role assigned.")


@require_POST
def add_note(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        return services.note_add(incident=incident, text=data["text"], happened_at=data["happened_at"], by=request.user)

    return _act(request, number, NoteForm, "note_form", run, "Added to the timeline.")


@require_POST
def post_update(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        return services.update_post(incident=incident, by=request.user, **data)

    return _act(request, number, UpdateForm, "update_form", run, "Update posted to the team's channels.")


@require_POST
def ask_help(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        return services.help_request(incident=incident, need=data["need"], why=data["why"], by=request.user)

    return _act(request, number, HelpForm, "help_form", run, "Help request posted to the team's channels.")


@require_POST
def record_triage(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        answers = {key: data.get(key, "") for key, _q in TRIAGE_CHECKLIST}
        return services.triage_record(
            incident=incident, answers=answers, mitigation_path=data["mitigation_path"], by=request.user
        )

    return _act(request, number, TriageForm, "triage_form", run, "Triage saved.")


@require_POST
def resolve(request: HttpRequest, number: int) -> HttpResponse:
    def run(incident: Incident, data: dict[str, Any]) -> object:
        return services.incident_resolve(incident=incident, by=request.user, **data)

    return _act(request, number, ResolveForm, "resolve_form", run, "Resolved. The resolution message went out.")


def metrics_page(request: HttpRequest) -> HttpResponse:
    """MTTD/MTTA/MTTR per severity and month, counts over time, detection sources; CSV on request."""
    months = _months(request)
    since = timezone.now() - dt.timedelta(days=31 * months)
    team = request.GET.get("team", "")
    found = selectors.incident_list_visible(
        user=request.user, filters=selectors.IncidentFilters(team=team, since=since)
    )
    tables = metrics.summary(found)
    if request.GET.get("format") == "csv":
        return _metrics_csv(tables.by_month, tables.counts)
    context = {
        "months": months,
        "team": team,
        "by_severity": tables.by_severity,
        "by_month": tables.by_month,
        "counts": tables.counts,
        "chart": charts.stacked_bars(tables.counts),
        "sources": tables.sources,
        "monitor_share": metrics.monitor_share(tables.sources),
        "hours": [
            (RoleAssignment.Role(role).label, total) for role, total in metrics.person_hours_totals(found).items()
        ],
        "extra": metrics.extra_figures(found, history=selectors.incident_list_visible(user=request.user)),
    }
    return render(request, "incidents/metrics.html", context)


def _months(request: HttpRequest) -> int:
    raw = request.GET.get("months", "6")
    months = small_int(raw)
    return 6 if months is None else min(max(months, 1), 36)


def _metrics_csv(by_month: list[metrics.MeanTimes], counts: dict[dt.date, dict[int, int]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="incident-metrics.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["month", "incidents", "sev1", "sev2", "sev3", "sev4", "mttd_minutes", "mtta_minutes", "mttr_minutes"]
    )
    for row in by_month:
        month = row.key.date() if isinstance(row.key, dt.datetime) else row.key
        per_level = counts.get(month, {})
        writer.writerow(
            [
                month.strftime("%Y-%m"),
                row.count,
                *[per_level.get(level, 0) for level in range(1, 5)],
                *[_minutes(value) for value in (row.mttd, row.mtta, row.mttr)],
            ]
        )
    return response


def _minutes(value: dt.timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"
