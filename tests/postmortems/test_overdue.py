"""One definition of overdue: open, and the due date has passed in the item's team's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from incidents import services as incidents
from postmortems import selectors, services
from postmortems.models import ActionItem

# 03:00 UTC on 2 March: still 1 March in New York (team A), already 2 March in London (team B).
NOW = dt.datetime(2027, 3, 2, 3, 0, tzinfo=dt.UTC)
DUE = dt.date(2027, 3, 1)

pytestmark = pytest.mark.django_db


def _item(team, by, title, *, due=DUE, status="open"):
    incident = incidents.incident_declare(team=team, title="Checkout failing", severity=2, by=by, now=NOW)
    incidents.incident_resolve(incident=incident, by=by, reason="Rolled back", now=NOW)
    postmortem = services.postmortem_create(incident=incident, now=NOW)
    item = services.action_item_create(postmortem=postmortem, by=by, title=title, owner=by, due_date=due)
    ActionItem.objects.filter(pk=item.pk).update(status=status)
    return ActionItem.objects.select_related("team").get(pk=item.pk)


def test_an_item_is_overdue_once_its_due_date_has_passed_where_its_team_works(team_a, team_b, alice, charlie):
    new_york = _item(team_a, alice, "Alert on the pool")
    london = _item(team_b, charlie, "Cache the tokens")
    done = _item(team_b, charlie, "Rotate the key", status="done")

    overdue = set(selectors.overdue_items(ActionItem.objects.all(), now=NOW).values_list("title", flat=True))

    assert overdue == {"Cache the tokens"}
    with time_machine.travel(NOW, tick=False):
        assert (new_york.is_overdue, london.is_overdue, done.is_overdue) == (False, True, False)
    a_day_later = set(
        selectors.overdue_items(ActionItem.objects.all(), now=NOW + dt.timedelta(days=1)).values_list(
            "title", flat=True
        )
    )
    assert a_day_later == {"Cache the tokens", "Alert on the pool"}


def test_the_list_filter_and_the_api_flag_agree(team_b, charlie):
    _item(team_b, charlie, "Cache the tokens")
    _item(team_b, charlie, "Not yet", due=dt.date(2027, 3, 9))
    client = APIClient()
    client.force_authenticate(charlie)
    with time_machine.travel(NOW, tick=False):
        listed = client.get("/api/v1/action-items/", {"overdue": "true"}).json()["results"]
        every = client.get("/api/v1/action-items/").json()["results"]
    assert [i["title"] for i in listed] == ["Cache the tokens"]
    assert {i["title"]: i["is_overdue"] for i in every} == {"Cache the tokens": True, "Not yet": False}
