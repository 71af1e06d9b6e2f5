"""Postmortem pages, the action item list and the manager's overdue view."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import services as incidents
from oncall.models import Membership
from postmortems import services
from postmortems.models import ActionItem, Postmortem
from tests.factories import MembershipFactory, TeamFactory, UserFactory


@pytest.fixture
def postmortem(team_a, alice):
    incident = incidents.incident_declare(team=team_a, title="Payments down", severity=1, by=alice)
    incidents.incident_resolve(incident=incident, by=alice, reason="Fixed")
    return services.postmortem_create(incident=incident)


def _overdue_items(postmortem, owner, count, by):
    past = timezone.localdate() - dt.timedelta(days=5)
    for n in range(count):
        services.action_item_create(
            postmortem=postmortem, by=by, title=f"Fix thing number {n}", owner=owner, due_date=past
        )


def test_pages_need_sign_in(client, postmortem):
    for url in (reverse("postmortems:index"), postmortem.get_absolute_url(), reverse("postmortems:overdue")):
        assert client.get(url).status_code == 302


def test_member_edits_and_gets_blameless_warnings_without_a_block(client, bob, postmortem):
    client.force_login(bob)
    response = client.post(
        reverse("postmortems:edit", args=[postmortem.incident.number]),
        {"owner": postmortem.owner_id, "summary": "s", "root_cause": "Human error: Bob should have checked."},
        follow=True,
    )
    postmortem.refresh_from_db()
    assert postmortem.root_cause.startswith("Human error")
    text = response.content.decode()
    assert "Blameless check" in text and "human error" in text


def test_another_teams_member_cannot_edit_a_postmortem(client, charlie, postmortem):
    client.force_login(charlie)
    response = client.post(reverse("postmortems:edit", args=[postmortem.incident.number]), {"summary": "mine"})
    assert response.status_code == 404
    postmortem.refresh_from_db()
    assert postmortem.summary != "mine"


def test_a_restricted_incidents_postmortem_is_404_for_other_teams(client, charlie, team_a, alice):
    incident = incidents.incident_declare(team=team_a, title="Breach", severity=1, by=alice, is_restricted=True)
    incidents.incident_resolve(incident=incident, by=alice, reason="Contained")
    postmortem = services.postmortem_create(incident=incident)
    client.force_login(charlie)
    assert client.get(postmortem.get_absolute_url()).status_code == 404
    assert client.get(reverse("postmortems:download", args=[incident.number])).status_code == 404


def test_bad_action_item_shows_the_error_and_writes_nothing(client, bob, postmortem):
    client.force_login(bob)
    response = client.post(reverse("postmortems:item", args=[postmortem.incident.number]), {"title": "", "priority": 2})
    assert response.status_code == 400
    assert not ActionItem.objects.exists()


def test_markdown_download_and_print(client, bob, postmortem):
    services.action_item_create(postmortem=postmortem, by=bob, title="Alert on pool use over 80%", owner=bob)
    client.force_login(bob)
    text = client.get(reverse("postmortems:download", args=[postmortem.incident.number])).content.decode()
    assert text.startswith(f"# Postmortem: {postmortem.incident.reference}")
    assert "| Alert on pool use over 80% | Bob" in text
    assert client.get(reverse("postmortems:print", args=[postmortem.incident.number])).status_code == 200


def test_markdown_is_rendered_without_scripts(client, bob, postmortem):
    services.postmortem_update(postmortem=postmortem, by=bob, summary="**Bold** <script>alert(1)</script>")
    client.force_login(bob)
    page = client.get(postmortem.get_absolute_url()).content.decode()
    assert "<strong>Bold</strong>" in page and "<script>alert(1)" not in page


def test_a_manager_sees_exactly_their_teams_overdue_items(client, alice, bob, postmortem, team_b, charlie):
    _overdue_items(postmortem, bob, 2, alice)
    wendy = UserFactory(username="wendy")
    MembershipFactory(user=wendy, team=team_b, role=Membership.Role.MANAGER)
    web = incidents.incident_declare(team=team_b, title="Web down", severity=2, by=charlie)
    incidents.incident_resolve(incident=web, by=charlie, reason="Fixed")
    _overdue_items(services.postmortem_create(incident=web), charlie, 1, charlie)
    client.force_login(alice)
    assert {i.team.slug for i in client.get(reverse("postmortems:overdue")).context["items"]} == {"payments"}
    csv = client.get(reverse("postmortems:overdue"), {"format": "csv"}).content.decode().splitlines()
    assert len(csv) == 3 and all("payments" in row for row in csv[1:])
    client.force_login(bob)  # a member, not a manager
    assert list(client.get(reverse("postmortems:overdue")).context["items"]) == []


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url_name", ["postmortems:overdue", "postmortems:action-items"])
def test_lists_cost_the_same_queries_for_few_and_many(client, alice, bob, postmortem, url_name):
    _overdue_items(postmortem, bob, 3, alice)
    client.force_login(alice)
    few = _queries(client, reverse(url_name))
    _overdue_items(postmortem, bob, 30, alice)
    other = TeamFactory(slug="other")
    MembershipFactory(user=alice, team=other, role=Membership.Role.MANAGER)
    assert _queries(client, reverse(url_name)) == few


def test_bulk_reassignment_from_the_list(client, alice, bob, postmortem):
    _overdue_items(postmortem, alice, 2, alice)
    ids = list(ActionItem.objects.values_list("pk", flat=True))
    client.force_login(alice)
    client.post(reverse("postmortems:reassign"), {"items": ids, "owner": "bob"})
    assert set(ActionItem.objects.values_list("owner__username", flat=True)) == {"bob"}
    client.force_login(bob)
    client.post(reverse("postmortems:reassign"), {"items": ids, "owner": "alice"})
    assert set(ActionItem.objects.values_list("owner__username", flat=True)) == {"bob"}


def test_closing_an_item_needs_evidence(client, bob, postmortem):
    item = services.action_item_create(postmortem=postmortem, by=bob, title="Add the canary check", owner=bob)
    client.force_login(bob)
    client.post(reverse("postmortems:item-status", args=[item.pk]), {"status": "done", "evidence": ""})
    item.refresh_from_db()
    assert item.status == "open"
    client.post(
        reverse("postmortems:item-status", args=[item.pk]), {"status": "wont_do", "evidence": "Service retired"}
    )
    item.refresh_from_db()
    assert (item.status, item.wont_do_reason) == ("wont_do", "Service retired")


def test_open_a_postmortem_on_demand(client, bob, team_a, alice):
    incident = incidents.incident_declare(team=team_a, title="Minor", severity=4, by=alice)
    client.force_login(bob)
    client.post(reverse("postmortems:create", args=[incident.number]))
    assert Postmortem.objects.filter(incident=incident).exists()


def test_a_repeat_incident_shows_the_open_fixes_and_both_are_flagged(client, alice, bob, team_a, service_a, postmortem):
    postmortem.incident.services.add(service_a)
    services.factor_add(postmortem=postmortem, kind="missing_alert", description="No pool alert", by=alice)
    services.action_item_create(postmortem=postmortem, by=alice, title="Alert on DB pool above 80%", owner=bob)
    again = incidents.incident_declare(
        team=team_a, title="Pool exhausted again", severity=2, by=alice, services=[service_a]
    )
    client.force_login(bob)
    page = client.get(again.get_absolute_url()).content.decode()
    assert "Earlier incidents on this service still have open fixes" in page and "Alert on DB pool above 80%" in page
    incidents.incident_resolve(incident=again, by=alice, reason="Fixed")
    second = services.postmortem_create(incident=again)
    services.factor_add(postmortem=second, kind="missing_alert", description="Still no pool alert", by=alice)
    assert list(second.repeat_of.all()) == [postmortem]
    assert list(postmortem.repeated_by.all()) == [second]
    assert "repeat" in client.get(again.get_absolute_url()).content.decode()


def test_no_repeat_without_a_shared_factor(alice, team_a, service_a, postmortem):
    postmortem.incident.services.add(service_a)
    services.factor_add(postmortem=postmortem, kind="missing_alert", description="", by=alice)
    services.action_item_create(postmortem=postmortem, by=alice, title="Alert on DB pool above 80%")
    again = incidents.incident_declare(team=team_a, title="Bad deploy", severity=2, by=alice, services=[service_a])
    incidents.incident_resolve(incident=again, by=alice, reason="Fixed")
    second = services.postmortem_create(incident=again)
    services.factor_add(postmortem=second, kind="risky_deploy", description="", by=alice)
    assert not second.repeat_of.exists()


def test_the_overdue_view_filters_and_sorts(client, alice, bob, postmortem):
    past = timezone.localdate() - dt.timedelta(days=3)
    services.action_item_create(
        postmortem=postmortem, by=alice, title="Low one here", owner=bob, due_date=past, priority=4
    )
    services.action_item_create(
        postmortem=postmortem, by=alice, title="Urgent one here", owner=alice, due_date=past, priority=1
    )
    client.force_login(alice)
    by_priority = client.get(reverse("postmortems:overdue"), {"sort": "priority"}).context["items"]
    assert [i.title for i in by_priority] == ["Urgent one here", "Low one here"]
    only_bob = client.get(reverse("postmortems:overdue"), {"owner": "bob"}).context["items"]
    assert [i.title for i in only_bob] == ["Low one here"]


def test_the_timeline_is_shown_in_the_readers_zone(client, bob, postmortem):
    bob.time_zone = "Asia/Tokyo"
    bob.save(update_fields=["time_zone"])
    declared = postmortem.incident.declared_at.astimezone(ZoneInfo("Asia/Tokyo"))
    client.force_login(bob)
    page = client.get(postmortem.get_absolute_url()).content.decode()
    assert f"{declared:%H:%M}</time> Declared as SEV-1" in page


def test_open_fixes_of_a_restricted_earlier_incident_stay_hidden_from_other_teams(
    client, alice, charlie, team_a, service_a
):
    secret = incidents.incident_declare(
        team=team_a, title="Key leaked", severity=1, by=alice, services=[service_a], is_restricted=True
    )
    incidents.incident_resolve(incident=secret, by=alice, reason="Rotated")
    earlier = services.postmortem_create(incident=secret)
    services.action_item_create(postmortem=earlier, by=alice, title="Rotate keys automatically every week")
    again = incidents.incident_declare(team=team_a, title="Payments slow", severity=3, by=alice, services=[service_a])
    client.force_login(charlie)
    assert "Rotate keys automatically" not in client.get(again.get_absolute_url()).content.decode()
    client.force_login(alice)
    assert "Rotate keys automatically" in client.get(again.get_absolute_url()).content.decode()
