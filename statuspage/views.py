"""The comms lead's pages in the portal: pages, components, notices, maintenance, and the incident flow."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.hosts import status_url
from config.inputs import small_int
from incidents import selectors as incident_selectors
from incidents.models import Incident
from statuspage import messages, selectors, services, watch
from statuspage.forms import ComponentStatusForm, MaintenanceForm, NoticeForm, NoticeUpdateForm
from statuspage.models import Component, ComponentStatus, Notice


def index(request: HttpRequest) -> HttpResponse:
    pages = selectors.pages_for_user(user=request.user).prefetch_related("components")
    return render(request, "statuspage/index.html", {"pages": pages})


def page_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    page = selectors.page_get_for_user(user=request.user, public_id=public_id)
    now = timezone.now()
    components = list(page.components.select_related("group").order_by("position", "name"))
    notices = selectors.with_incident_visibility(selectors.notices_with_updates().filter(page=page), user=request.user)
    notices = list(notices.order_by("-started_at")[:30])
    stale = {c.pk for c in watch.stale_components(page=page, now=now)}
    context = {
        "page": page,
        "public_url": status_url("/", host=page.host),
        "rows": [(c, ComponentStatusForm(component=c, prefix=c.public_id), c.pk in stale) for c in components],
        "open_notices": [n for n in notices if n.status not in {"resolved", "postmortem", "completed", "scheduled"}],
        "upcoming": [n for n in notices if n.status == "scheduled"],
        "recent": [n for n in notices if n.status in {"resolved", "postmortem", "completed"}][:10],
        "subscribers": page.subscribers.filter(confirmed_at__isnull=False).count(),
    }
    return render(request, "statuspage/page.html", context)


@require_POST
def component_status(request: HttpRequest, public_id: str, component_id: str) -> HttpResponse:
    page = selectors.page_get_for_user(user=request.user, public_id=public_id)
    component = Component.objects.filter(page=page, public_id=component_id).first()
    if component is None:
        raise Http404("No such component.")
    form = ComponentStatusForm(request.POST, component=component, prefix=component.public_id)
    if not form.is_valid():
        flash.error(request, "Choose one of the listed statuses.")
        return redirect("statuspage:page", public_id=page.public_id)
    try:
        changed = services.component_set_status(
            component=component, status=form.cleaned_data["status"], by=request.user
        )
    except DomainError as exc:
        flash.error(request, exc.message)
    else:
        word = "set to" if changed else "confirmed as"
        flash.success(request, f"{component.name} {word} {ComponentStatus(form.cleaned_data['status']).label.lower()}.")
    return redirect("statuspage:page", public_id=page.public_id)


# --- new notices, from scratch or from an incident --------------------------------------------


def _incident_for(request: HttpRequest) -> Incident | None:
    number = request.GET.get("incident") or request.POST.get("incident")
    if not number:
        return None
    if (found := small_int(number, digits=18)) is None:
        raise Http404("No such incident.")
    return incident_selectors.incident_get_for_user(user=request.user, number=found)


def notice_new(request: HttpRequest, public_id: str) -> HttpResponse:
    page = selectors.page_get_for_user(user=request.user, public_id=public_id)
    incident = _incident_for(request)
    now = timezone.now()
    prefill = (
        messages.incident_prefill(page, incident, request.GET.get("draft", "investigating"), now) if incident else {}
    )
    form = NoticeForm(
        request.POST or None,
        page=page,
        initial=prefill.get("initial"),
        initial_statuses=prefill.get("statuses"),
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        if "publish" in request.POST:
            try:
                notice = services.notice_create(
                    page=page,
                    title=form.cleaned_data["title"],
                    impact=form.cleaned_data["impact"],
                    status=form.cleaned_data["status"],
                    body=form.cleaned_data["body"],
                    statuses=form.chosen_statuses(),
                    incident=incident,
                    by=request.user,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                flash.success(request, f"Published “{notice.title}” on {page.name}.")
                return redirect("statuspage:notice", public_id=notice.public_id)
        else:
            preview = form.cleaned_data
    context = {
        "page": page,
        "form": form,
        "incident": incident,
        "preview": preview,
        "preview_statuses": [(c, ComponentStatus(s).label) for c, s in form.chosen_statuses().items()]
        if preview
        else [],
        "drafts": prefill.get("drafts", {}),
        "next_at": prefill.get("next_at"),
    }
    return render(request, "statuspage/notice_new.html", context)


def from_incident(request: HttpRequest, number: int) -> HttpResponse:
    """ "Post customer update" on an incident: its open notice if it has one, else a new notice."""
    incident = incident_selectors.incident_get_for_user(user=request.user, number=number)
    if not incident_selectors.can_act(user=request.user, incident=incident):
        raise Http404("No such incident.")
    pages = list(selectors.pages_for_user(user=request.user).filter(teams=incident.team))
    if not pages:
        flash.error(request, f"{incident.team} publishes on no status page; ask an administrator to add one.")
        return redirect(incident.get_absolute_url())
    open_notice = (
        incident.public_notices.filter(status__in=["investigating", "identified", "monitoring"])
        .order_by("-started_at")
        .first()
    )
    if open_notice is not None:
        return redirect("statuspage:notice", public_id=open_notice.public_id)
    chosen = next((p for p in pages if p.public_id == request.GET.get("page")), None)
    if chosen is None and len(pages) > 1:
        return render(request, "statuspage/choose_page.html", {"incident": incident, "pages": pages})
    page = chosen or pages[0]
    return redirect(f"{reverse('statuspage:notice-new', args=[page.public_id])}?incident={incident.number}")


# --- one notice --------------------------------------------------------------------------------


def notice_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    notice = selectors.notice_get_for_user(user=request.user, public_id=public_id)
    form = NoticeUpdateForm(request.POST or None, notice=notice, initial=_update_initial(request, notice))
    if request.method == "POST" and form.is_valid():
        try:
            _post_update(notice, form, request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            flash.success(request, "Update published.")
            return redirect("statuspage:notice", public_id=notice.public_id)
    context = {
        "notice": notice,
        "form": form,
        "updates": notice.updates.select_related("created_by"),
        "public_url": messages.notice_url(notice),
        "drafts": _drafts_for(notice),
    }
    return render(request, "statuspage/notice.html", context)


def _drafts_for(notice: Notice) -> dict[str, str]:
    # Drafts follow the incident's severity: none from an incident the reader may not see.
    if notice.incident is None or not notice.incident_visible:
        return {}
    return messages.incident_prefill(notice.page, notice.incident, "identified", timezone.now())["drafts"]


def _update_initial(request: HttpRequest, notice: Notice) -> dict[str, str]:
    draft = request.GET.get("draft")
    drafts = _drafts_for(notice) if draft else {}
    if draft in drafts:
        return {"status": draft, "body": drafts[draft]}
    return {}


def _post_update(notice: Notice, form: NoticeUpdateForm, request: HttpRequest) -> None:
    data = form.cleaned_data
    if notice.is_maintenance:
        services.maintenance_transition(notice=notice, status=data["status"], body=data["body"], by=request.user)
        return
    services.notice_update(
        notice=notice,
        status=data["status"],
        body=data["body"],
        statuses=form.chosen_statuses(),
        impact=data.get("impact") or None,
        by=request.user,
    )


def maintenance_new(request: HttpRequest, public_id: str) -> HttpResponse:
    page = selectors.page_get_for_user(user=request.user, public_id=public_id)
    form = MaintenanceForm(request.POST or None, page=page)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = services.maintenance_schedule(
                page=page,
                title=data["title"],
                body=data["body"],
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                components=list(data["components"]),
                by=request.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            flash.success(request, f"Scheduled “{notice.title}”.")
            return redirect("statuspage:notice", public_id=notice.public_id)
    return render(request, "statuspage/maintenance_new.html", {"page": page, "form": form})
