"""The postmortem section of the incident page: its postmortem, and open fixes of earlier ones."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident
from incidents.selectors import incident_list_visible
from postmortems.models import ActionItem, Postmortem
from postmortems.services import earlier_with_open_items


def postmortem_panel(request: HttpRequest, incident: Incident) -> SafeString:
    # Only earlier incidents this reader may see: a restricted one's fixes, and the fact that
    # this incident repeats it, stay hidden.
    visible = incident_list_visible(user=request.user).order_by().values("pk")
    repeats = Postmortem.objects.filter(incident__in=visible).select_related("incident")
    postmortem = (
        Postmortem.objects.filter(incident=incident).prefetch_related(Prefetch("repeat_of", queryset=repeats)).first()
    )
    earlier = list(earlier_with_open_items(incident).filter(incident__in=visible)[:5])
    open_items = ActionItem.objects.filter(postmortem__in=earlier, status__in=["open", "in_progress"]).select_related(
        "owner", "postmortem__incident"
    )
    context = {"incident": incident, "postmortem": postmortem, "earlier": earlier, "open_items": open_items}
    # render_to_string escapes everything it is given; the result is our own template's HTML.
    return mark_safe(render_to_string("postmortems/_incident_panel.html", context, request=request))  # noqa: S308
