"""Comp-time pages: my balance and work, the team's grants and policy, the manager's load report.

Out-of-team requests answer 404 (the selectors); a member asking for a manager's
page (the load report, the policy editor) gets 403 with the reason, since the team
itself is no secret to them.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import DomainError
from config.inputs import small_int
from oncall import charts_comptime as charts
from oncall import selectors
from oncall import selectors_comptime as comp
from oncall.forms_comptime import (
    CompTimeUseForm,
    GrantDecisionForm,
    HolidayForm,
    PolicyForm,
    WorkLogForm,
    parse_month,
)
from oncall.models import CompTimeGrant, Team, User
from oncall.selectors_schedules import is_manager
from oncall.services import comptime as services

RECENT = dt.timedelta(days=60)
LIST_LIMIT = 100
REPORT_MONTHS = 6
MAX_CSV_MONTHS = 24


def _report(request: HttpRequest, form: Any, exc: DomainError) -> None:
    """A rule's refusal: beside its field when the form has it, else at the top of the page."""
    if exc.field in form.fields:
        form.add_error(exc.field, exc.message)
    else:
        messages.error(request, exc.message)


# --- my comp time --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def my_comp_time(request: HttpRequest) -> HttpResponse:
    """The person's balance per team, their grants and time taken, and a form to log work."""
    teams = list(selectors.team_list_for_user(user=request.user))
    form = WorkLogForm(request.POST or None, teams=teams, action=reverse("oncall:my-comp-time")) if teams else None
    if request.method == "POST":
        if form is None:
            raise Http404("You belong to no team.")
        if form.is_valid() and _log_work(request, form, user=request.user):
            messages.success(request, "Logged. Work after hours counts toward comp time once the night is over.")
            return redirect("oncall:my-comp-time")
    since = timezone.now() - RECENT
    sections = [
        {
            "team": team,
            "zone": ZoneInfo(team.time_zone),
            "balance": comp.comp_time_balance(team=team, user=request.user),
            "grants": list(comp.team_grants(team=team, user=request.user)[:LIST_LIMIT]),
            "uses": list(comp.team_uses(team=team, user=request.user)[:LIST_LIMIT]),
        }
        for team in teams
    ]
    logs = comp.work_log_list_for_user(user=request.user).filter(user=request.user, end_at__gte=since)
    context = {"sections": sections, "form": form, "logs": logs.order_by("-start_at")[:LIST_LIMIT]}
    status = 400 if form is not None and form.is_bound else 200
    return render(request, "oncall/comptime/my.html", context, status=status)


def _log_work(request: HttpRequest, form: WorkLogForm, *, user: User) -> bool:
    data = form.cleaned_data
    try:
        services.work_log_create(
            user=data.get("user", user),
            team=data["team"],
            start_at=data["start_at"],
            end_at=data["end_at"],
            note=data["note"],
            by=request.user,
        )
    except DomainError as exc:
        _report(request, form, exc)
        return False
    return True


@require_POST
def work_log_delete(request: HttpRequest, pk: int) -> HttpResponse:
    log = comp.work_log_get_for_user(user=request.user, pk=pk)
    try:
        services.work_log_delete(log=log, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Removed the work log.")
    if log.user_id == request.user.pk:
        return redirect("oncall:my-comp-time")
    return redirect("oncall:team-comp-time", slug=log.team.slug)


# --- the team's comp time ------------------------------------------------------------------


@require_GET
def team_comp_time(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    return _render_team(request, team)


def _render_team(request: HttpRequest, team: Team, *, status: int = 200, **forms: Any) -> HttpResponse:
    """Managers see and decide everybody's; members see their own."""
    manager = is_manager(user=request.user, team=team)
    person = None if manager else request.user
    grants = list(comp.team_grants(team=team, user=person)[:LIST_LIMIT])
    members = [m.user for m in selectors.team_members(team=team)]
    if person is not None:
        members = [request.user]
    balances = comp.comp_time_balances(team=team, user_ids=[m.pk for m in members])
    logs = comp.work_log_list_for_user(user=request.user).filter(team=team, end_at__gte=timezone.now() - RECENT)
    context: dict[str, Any] = {
        "team": team,
        "zone": ZoneInfo(team.time_zone),
        "is_manager": manager,
        "policy": comp.policy_of(team=team),
        "holidays": comp.team_holidays(team=team),
        "grants": [(g, _decision_form(g, forms) if manager else None) for g in grants],
        "balances": [(m, balances.get(m.pk, comp.Balance())) for m in members],
        # One list for every decision form's cover choice, instead of a query per form.
        "teammates": members,
        "uses": comp.team_uses(team=team, user=person)[:LIST_LIMIT],
        "logs": logs.order_by("-start_at")[:LIST_LIMIT],
    }
    if manager:
        action = reverse("oncall:comp-time-work-log-create", args=[team.slug])
        context["use_form"] = forms.get("use_form") or CompTimeUseForm(team=team)
        context["holiday_form"] = forms.get("holiday_form") or HolidayForm(team=team)
        context["log_form"] = forms.get("log_form") or WorkLogForm(teams=[team], action=action, members_of=team)
    return render(request, "oncall/comptime/team.html", context, status=status)


def _decision_form(grant: CompTimeGrant, forms: dict[str, Any]) -> GrantDecisionForm | None:
    if grant.status != CompTimeGrant.Status.PROPOSED:
        return None
    bound = forms.get("decision_form")
    if bound is not None and bound.grant.pk == grant.pk:
        return bound
    return GrantDecisionForm(grant=grant, prefix=f"g{grant.pk}")


def _team_post(request: HttpRequest, slug: str) -> Team:
    return selectors.team_get_for_user(user=request.user, slug=slug)


@require_POST
def grant_decide(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_post(request, slug)
    grant = comp.grant_get_for_user(user=request.user, pk=pk)
    if grant.team_id != team.pk:
        raise Http404("No such comp-time grant.")
    form = GrantDecisionForm(request.POST, grant=grant, prefix=f"g{grant.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            grant = services.comp_time_grant_decide(
                grant=grant,
                by=request.user,
                status=data["status"],
                hours=data["hours"],
                note=data["note"],
                cover_user=data["cover_user"],
            )
        except DomainError as exc:
            _report(request, form, exc)
        else:
            messages.success(request, f"{grant.get_status_display()}: {grant.hours} h for {grant.user}.")
            return redirect("oncall:team-comp-time", slug=team.slug)
    return _render_team(request, team, status=400, decision_form=form)


@require_POST
def use_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_post(request, slug)
    form = CompTimeUseForm(request.POST, team=team)
    if form.is_valid():
        data = form.cleaned_data
        try:
            use = services.comp_time_use_create(team=team, by=request.user, **data)
        except DomainError as exc:
            _report(request, form, exc)
        else:
            messages.success(request, f"Recorded {use.hours} h taken by {use.user} on {use.taken_on:%d %b}.")
            return redirect("oncall:team-comp-time", slug=team.slug)
    return _render_team(request, team, status=400, use_form=form)


@require_POST
def team_work_log_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_post(request, slug)
    action = reverse("oncall:comp-time-work-log-create", args=[team.slug])
    form = WorkLogForm(request.POST, teams=[team], action=action, members_of=team)
    if form.is_valid() and _log_work(request, form, user=request.user):
        messages.success(request, f"Logged work for {form.cleaned_data['user']}.")
        return redirect("oncall:team-comp-time", slug=team.slug)
    return _render_team(request, team, status=400, log_form=form)


@require_POST
def holiday_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_post(request, slug)
    form = HolidayForm(request.POST, team=team)
    if form.is_valid():
        try:
            holiday = services.holiday_add(team=team, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            _report(request, form, exc)
        else:
            messages.success(request, f"Added {holiday.name} on {holiday.date:%d %b %Y}.")
            return redirect("oncall:team-comp-time", slug=team.slug)
    return _render_team(request, team, status=400, holiday_form=form)


@require_POST
def holiday_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_post(request, slug)
    holiday = comp.team_holidays(team=team).filter(pk=pk).first()
    if holiday is None:
        raise Http404("No such holiday.")
    try:
        services.holiday_remove(holiday=holiday, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed {holiday.name}.")
    return redirect("oncall:team-comp-time", slug=team.slug)


def _require_manager(request: HttpRequest, team: Team, what: str) -> None:
    if not is_manager(user=request.user, team=team):
        raise PermissionDenied(f"Only managers of {team.name} {what}.")


@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, slug: str) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    _require_manager(request, team, "can change its comp-time policy")
    form = PolicyForm(request.POST or None, instance=comp.policy_of(team=team))
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in PolicyForm.Meta.fields}
        try:
            services.comp_time_policy_update(team=team, by=request.user, **changes)
        except DomainError as exc:
            _report(request, form, exc)
        else:
            messages.success(request, "Saved the comp-time policy. It applies to nights not yet granted.")
            return redirect("oncall:team-comp-time", slug=team.slug)
    status = 400 if form.is_bound else 200
    return render(request, "oncall/comptime/policy_form.html", {"team": team, "form": form}, status=status)


# --- the load report -----------------------------------------------------------------------

CSV_COLUMNS = [
    "month",
    "team",
    "username",
    "name",
    "shifts",
    "hours_on_call",
    "pages",
    "night_pages",
    "hours_worked_after_hours",
    "comp_hours_granted",
    "comp_hours_pending",
    "comp_hours_taken",
]


@require_GET
def load_report(request: HttpRequest, slug: str) -> HttpResponse:
    """Per person and month: shifts, on-call hours, pages, night pages, after-hours work, comp time."""
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    _require_manager(request, team, "see its load report")
    now = timezone.now()
    this_month = now.astimezone(ZoneInfo(team.time_zone)).date().replace(day=1)
    try:
        month = parse_month(request.GET.get("month"), this_month)
        months = _months_param(request.GET.get("months"), csv=request.GET.get("format") == "csv")
    except ValueError as exc:
        context = {"team": team, "error": str(exc), "month": this_month}
        return render(request, "oncall/comptime/load.html", context, status=400)
    report = comp.load_report(team=team, last_month=month, months=months, now=now)
    if request.GET.get("format") == "csv":
        return _csv(report, team, month)
    return render(request, "oncall/comptime/load.html", _load_context(report, team, month))


def _months_param(value: str | None, *, csv: bool) -> int:
    if value is None:
        return 1 if csv else REPORT_MONTHS
    count = small_int(value)
    if count is None or not 1 <= count <= MAX_CSV_MONTHS:
        raise ValueError(f"“{value[:20]}” months: ask for 1 to {MAX_CSV_MONTHS}.")
    return count


def _load_context(report: comp.LoadReport, team: Team, month: dt.date) -> dict[str, Any]:
    labels = [f"{m:%b}" for m in report.months]
    rows = [(p, report.person_rows(p)) for p in report.people]
    top_hours = max((r.after_hours_hours for _p, person in rows for r in person), default=0)
    top_pages = max((r.night_pages for _p, person in rows for r in person), default=0)
    people = [
        {
            "user": person,
            "current": months[-1],
            "months": months,
            "work_chart": charts.mini_bars(
                [r.after_hours_hours for r in months], labels, top=top_hours, unit="h", name="After-hours work"
            ),
            "pages_chart": charts.mini_bars(
                [float(r.night_pages) for r in months], labels, top=top_pages, unit="pages", name="Night pages"
            ),
        }
        for person, months in rows
    ]
    return {
        "team": team,
        "month": month,
        "previous": comp.add_months(month, -1),
        "next": comp.add_months(month, 1),
        "people": people,
        "months": report.months,
    }


def _csv(report: comp.LoadReport, team: Team, month: dt.date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    first = report.months[0]
    name = f"{team.slug}-load-{first:%Y-%m}" + (f"-to-{month:%Y-%m}" if first != month else "")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for m in report.months:
        for row in report.month_rows(m):
            writer.writerow(
                [
                    f"{m:%Y-%m}",
                    team.slug,
                    _cell(row.user.username),
                    _cell(row.user.get_full_name()),
                    row.shifts,
                    f"{row.on_call_hours:.1f}",
                    row.pages,
                    row.night_pages,
                    f"{row.after_hours_hours:.1f}",
                    f"{row.comp_granted:.1f}",
                    f"{row.comp_pending:.1f}",
                    f"{row.comp_taken:.1f}",
                ]
            )
    return response


def _cell(text: str) -> str:
    # A name starting with = + - @ would run as a formula in the spreadsheet payroll opens it in.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
