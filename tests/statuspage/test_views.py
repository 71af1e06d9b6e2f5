"""The comms lead's portal: from an incident to a public notice, its updates, components and maintenance."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services as incidents
from incidents.models import TimelineEntry
from statuspage import services
from statuspage.models import (
    Component,
    ComponentStatusInterval,
    Notice,
    NoticeUpdate,
    StatusPage,
)
from tests.statuspage.conftest import T0, get

NOW = T0 + dt.timedelta(minutes=2)  # 09:02 in London (GMT in November)
INTERNAL = "Pool exhausted on db-7 after deploy 4411"


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def incident(team_a, alice, bob, service_a, components):
    incident = incidents.incident_declare(
        team=team_a, title="Card payments fail", severity=1, by=alice, services=[service_a], summary=INTERNAL, now=T0
    )
    incidents.role_assign(incident=incident, role="comms_lead", user=bob, by=alice, now=T0)
    return incident


@pytest.fixture
def notice(page, components, incident, bob):
    return services.notice_create(
        page=page,
        title="Card payments failing",
        impact="critical",
        status="investigating",
        body="We are looking into failed card payments.",
        statuses={components["checkout"]: "major_outage"},
        incident=incident,
        by=bob,
        now=NOW,
    )


def from_incident_url(incident) -> str:
    return reverse("statuspage:from-incident", args=[incident.number])


def new_notice_url(page, **params: object) -> str:
    url = reverse("statuspage:notice-new", args=[page.public_id])
    return f"{url}?{urlencode(params)}" if params else url


def notice_url(notice: Notice) -> str:
    return reverse("statuspage:notice", args=[notice.public_id])


def page_url(page: StatusPage) -> str:
    return reverse("statuspage:page", args=[page.public_id])


def field(component: Component) -> str:
    return f"component_{component.public_id}"


def notice_data(components, **extra: str) -> dict[str, str]:
    return {
        "title": "Card payments failing",
        "impact": "critical",
        "status": "investigating",
        "body": "We are looking into failed card payments. Next update by 09:22 Europe/London.",
        field(components["checkout"]): "major_outage",
        field(components["payouts"]): "",
        field(components["api"]): "",
        **extra,
    }


def nothing_published(incident, components) -> None:
    assert not Notice.objects.exists()
    assert not NoticeUpdate.objects.exists()
    components["checkout"].refresh_from_db()
    assert components["checkout"].status == "operational"
    assert not incident.timeline.filter(kind=TimelineEntry.Kind.UPDATE).exists()


# --- from an incident to a first notice ----------------------------------------------------------


def test_customer_update_opens_the_new_notice_form_prefilled_from_the_incident(client, bob, page, components, incident):
    client.force_login(bob)
    response = client.get(from_incident_url(incident), follow=True)
    assert response.redirect_chain == [(new_notice_url(page, incident=incident.number), 302)]
    form = response.context["form"]
    assert form.initial["title"] == "Problems with Checkout"
    assert form.initial["impact"] == "critical"
    assert form.initial["status"] == "investigating"
    body = form.initial["body"]
    assert body.startswith("We are looking into a problem with Checkout.")
    assert "next update by 09:22 Europe/London" in body  # SEV-1 cadence: 20 minutes
    assert INTERNAL not in body
    assert form[field(components["checkout"])].initial == "major_outage"
    assert form[field(components["payouts"])].initial == form[field(components["api"])].initial == ""
    assert "the draft promises the next update by 09:22" in response.content.decode()


def test_the_identified_and_resolved_drafts_give_their_own_texts(client, bob, page, components, incident):
    client.force_login(bob)
    identified = client.get(new_notice_url(page, incident=incident.number, draft="identified")).context["form"]
    assert identified.initial["status"] == "identified"
    assert identified.initial["body"].startswith("We have found the cause and are rolling out a fix.")
    assert "next update by 09:22 Europe/London" in identified.initial["body"]
    resolved = client.get(new_notice_url(page, incident=incident.number, draft="resolved")).context["form"]
    assert resolved.initial["status"] == "investigating"  # a new notice starts open
    assert resolved.initial["body"].startswith("The problem with Checkout is fixed")
    assert "Between 09:00 and 09:02 Europe/London on 2 November" in resolved.initial["body"]
    assert INTERNAL not in identified.initial["body"] + resolved.initial["body"]


def test_preview_shows_the_notice_and_writes_nothing(client, bob, page, components, incident):
    client.force_login(bob)
    response = client.post(new_notice_url(page, incident=incident.number), notice_data(components, preview=""))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Preview, as customers will see it" in text
    assert "Card payments failing" in text and "Checkout → major outage" in text
    nothing_published(incident, components)


def test_publish_creates_the_notice_sets_components_notes_the_incident_and_updates_the_public_page(
    client, bob, page, components, incident, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(new_notice_url(page, incident=incident.number), notice_data(components, publish=""))
    notice = Notice.objects.get()
    assert response.status_code == 302 and response.url == notice_url(notice)
    assert (notice.incident, notice.status, notice.impact, notice.created_by) == (
        incident,
        "investigating",
        "critical",
        bob,
    )
    assert list(notice.components.all()) == [components["checkout"]]
    checkout = Component.objects.get(pk=components["checkout"].pk)
    assert (checkout.status, checkout.status_source, checkout.status_changed_at) == ("major_outage", "hand", NOW)
    entry = incident.timeline.get(kind=TimelineEntry.Kind.UPDATE)
    assert entry.data == {"notice": notice.public_id} and entry.author == bob
    assert entry.text.startswith("Customer update on Acme (investigating): We are looking into failed card payments.")
    public = get(client, "/").content.decode()
    assert "Card payments failing" in public and "Major Service Outage" in public


def test_once_published_the_customer_update_link_goes_to_the_open_notice(client, bob, incident, notice):
    client.force_login(bob)
    response = client.get(from_incident_url(incident))
    assert response.status_code == 302 and response.url == notice_url(notice)


def test_a_resolved_notice_no_longer_catches_the_customer_update_link(client, bob, page, incident, notice):
    services.notice_update(notice=notice, status="resolved", body="Fixed.", by=bob, now=NOW)
    client.force_login(bob)
    assert client.get(from_incident_url(incident)).url == new_notice_url(page, incident=incident.number)


def test_an_incident_of_a_team_with_two_pages_asks_where_to_publish(client, bob, team_a, page, components, incident):
    second = StatusPage.objects.create(name="Acme Partners", host="partners.status.localhost")
    second.teams.set([team_a])
    client.force_login(bob)
    response = client.get(from_incident_url(incident))
    assert response.status_code == 200
    assert [p.name for p in response.context["pages"]] == ["Acme", "Acme Partners"]
    chosen = client.get(from_incident_url(incident), {"page": second.public_id})
    assert chosen.url == new_notice_url(second, incident=incident.number)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("body", "", "This field is required."),
        ("title", "   ", "This field is required."),
        ("status", "closed", "Select a valid choice. closed is not one of the available choices."),
        ("status", "resolved", "Select a valid choice. resolved is not one of the available choices."),
        ("impact", "apocalyptic", "Select a valid choice. apocalyptic is not one of the available choices."),
        ("checkout", "on_fire", "Select a valid choice. on_fire is not one of the available choices."),
    ],
)
def test_a_bad_new_notice_shows_the_error_and_publishes_nothing(
    client, bob, page, components, incident, name, value, message
):
    client.force_login(bob)
    key = field(components["checkout"]) if name == "checkout" else name
    response = client.post(
        new_notice_url(page, incident=incident.number), notice_data(components, publish="", **{key: value})
    )
    assert response.status_code == 200
    assert response.context["form"].errors[key] == [message]
    assert message in response.content.decode()
    nothing_published(incident, components)


def test_a_notice_for_an_incident_of_a_team_that_does_not_publish_there_is_refused(
    client, bob, page, components, team_b, charlie, service_b
):
    elsewhere = incidents.incident_declare(team=team_b, title="Web down", severity=2, by=charlie, now=T0)
    client.force_login(bob)
    response = client.post(new_notice_url(page, incident=elsewhere.number), notice_data(components, publish=""))
    assert response.status_code == 200
    assert "This incident&#x27;s team does not publish on that page." in response.content.decode()
    nothing_published(elsewhere, components)


# --- updates on the notice page ------------------------------------------------------------------


def test_updates_move_the_notice_to_identified_then_resolved_with_checkout_operational(
    client, bob, components, incident, notice, clock
):
    client.force_login(bob)
    draft = client.get(notice_url(notice), {"draft": "identified"}).context["form"]
    assert draft.initial["status"] == "identified"
    assert draft.initial["body"].startswith("We have found the cause")

    clock.move_to(minutes(20))
    identified = client.post(
        notice_url(notice), {"status": "identified", "impact": "", "body": "We found the cause and are fixing it."}
    )
    assert identified.status_code == 302 and identified.url == notice_url(notice)
    notice.refresh_from_db()
    assert (notice.status, notice.impact) == ("identified", "critical")

    clock.move_to(minutes(45))
    resolved = client.post(
        notice_url(notice),
        {"status": "resolved", "body": "Card payments work again.", field(components["checkout"]): "operational"},
    )
    assert resolved.status_code == 302
    notice.refresh_from_db()
    assert (notice.status, notice.resolved_at) == ("resolved", minutes(45))
    components["checkout"].refresh_from_db()
    assert components["checkout"].status == "operational"
    assert list(notice.updates.values_list("status", flat=True)) == ["resolved", "identified", "investigating"]
    assert incident.timeline.filter(kind=TimelineEntry.Kind.UPDATE).count() == 3
    page_text = client.get(notice_url(notice)).content.decode()
    assert "Checkout: major outage → operational" in page_text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "identified", "body": ""}, "This field is required."),
        ({"status": "identified", "body": "   "}, "This field is required."),
        ({"status": "closed", "body": "Done."}, "Select a valid choice. closed is not one of the available choices."),
        ({"status": "completed", "body": "Done."}, "Select a valid choice. completed is not one of the available"),
        ({"status": "identified", "body": "Hm.", "impact": "huge"}, "Select a valid choice. huge is not one of"),
    ],
)
def test_a_bad_update_shows_the_error_and_writes_nothing(client, bob, incident, notice, data, message):
    client.force_login(bob)
    response = client.post(notice_url(notice), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    notice.refresh_from_db()
    assert notice.status == "investigating"
    assert notice.updates.count() == 1
    assert incident.timeline.filter(kind=TimelineEntry.Kind.UPDATE).count() == 1


def test_an_update_after_the_postmortem_is_refused_with_the_reason(client, bob, components, incident, notice):
    services.notice_update(notice=notice, status="resolved", body="Fixed.", by=bob, now=minutes(30))
    services.notice_update(notice=notice, status="postmortem", body="Our review is online.", by=bob, now=minutes(60))
    client.force_login(bob)
    response = client.post(
        notice_url(notice),
        {"status": "investigating", "body": "It is back.", field(components["checkout"]): "major_outage"},
    )
    assert response.status_code == 200
    assert "This notice is closed; publish a new one instead." in response.content.decode()
    notice.refresh_from_db()
    assert notice.status == "postmortem" and notice.updates.count() == 3
    components["checkout"].refresh_from_db()
    assert components["checkout"].status == "major_outage"  # untouched by the refused update
    assert incident.timeline.filter(kind=TimelineEntry.Kind.UPDATE).count() == 3


# --- the page: components, stale marks, status form, maintenance --------------------------------


def test_the_page_lists_components_and_marks_one_possibly_stale(client, bob, page, components, clock):
    services.notice_create(
        page=page,
        title="Slow checkout",
        impact="major",
        status="investigating",
        body="Checkout is slow.",
        statuses={components["checkout"]: "partial_outage"},
        by=bob,
        now=T0,
    )
    client.force_login(bob)
    clock.move_to(minutes(30))
    fresh = client.get(page_url(page))
    assert [(c.name, stale) for c, _form, stale in fresh.context["rows"]] == [
        ("Public API", False),
        ("Checkout", False),
        ("Payouts", False),
    ]
    assert "Possibly stale" not in fresh.content.decode()
    clock.move_to(minutes(61))
    later = client.get(page_url(page))
    assert [(c.name, stale) for c, _form, stale in later.context["rows"]] == [
        ("Public API", False),
        ("Checkout", True),
        ("Payouts", False),
    ]
    text = later.content.decode()
    assert text.count("Possibly stale:") == 1
    assert "Slow checkout" in text  # among the open notices


def _page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_for_one_and_for_five_notices_from_incidents(
    client, bob, alice, team_a, page, components, django_assert_num_queries
):
    def notice_from_a_new_incident(n: int) -> None:
        incident = incidents.incident_declare(team=team_a, title=f"Outage {n}", severity=2, by=alice, now=T0)
        services.notice_create(
            page=page,
            title=f"Outage {n}",
            impact="major",
            status="investigating",
            body="Looking into it.",
            statuses={components["payouts"]: "partial_outage"},
            incident=incident,
            by=bob,
            now=minutes(n),
        )

    notice_from_a_new_incident(1)
    client.force_login(bob)
    few = _page_queries(client, page_url(page))
    for n in range(2, 6):
        notice_from_a_new_incident(n)
    with django_assert_num_queries(few):
        response = client.get(page_url(page))
    assert len(response.context["open_notices"]) == 5


def test_the_component_status_form_sets_and_confirms_a_status(client, bob, page, components, clock):
    checkout = components["checkout"]
    url = reverse("statuspage:component-status", args=[page.public_id, checkout.public_id])
    client.force_login(bob)
    response = client.post(url, {f"{checkout.public_id}-status": "partial_outage"}, follow=True)
    assert response.redirect_chain == [(page_url(page), 302)]
    assert "Checkout set to partial outage." in response.content.decode()
    checkout.refresh_from_db()
    assert (checkout.status, checkout.status_changed_at) == ("partial_outage", NOW)
    clock.move_to(minutes(30))
    again = client.post(url, {f"{checkout.public_id}-status": "partial_outage"}, follow=True)
    assert "Checkout confirmed as partial outage." in again.content.decode()
    checkout.refresh_from_db()
    assert checkout.status_changed_at == minutes(30)
    assert ComponentStatusInterval.objects.filter(component=checkout).count() == 2


def test_the_component_status_form_rejects_a_bogus_status(client, bob, page, components):
    checkout = components["checkout"]
    url = reverse("statuspage:component-status", args=[page.public_id, checkout.public_id])
    client.force_login(bob)
    response = client.post(url, {f"{checkout.public_id}-status": "on_fire"}, follow=True)
    assert "Choose one of the listed statuses." in response.content.decode()
    checkout.refresh_from_db()
    assert (checkout.status, checkout.status_changed_at) == ("operational", T0)
    assert ComponentStatusInterval.objects.filter(component=checkout).count() == 1
    assert client.get(url).status_code == 405


def test_a_component_of_another_page_is_404_under_this_page(client, bob, page, components, team_b):
    other = StatusPage.objects.create(name="Web", host="web.status.localhost")
    other.teams.set([team_b])
    theirs = services.component_create(page=other, name="Website", now=T0)
    client.force_login(bob)
    url = reverse("statuspage:component-status", args=[page.public_id, theirs.public_id])
    assert client.post(url, {f"{theirs.public_id}-status": "major_outage"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "operational"


def maintenance_data(components, **extra: object) -> dict[str, object]:
    return {
        "title": "Database upgrade",
        "body": "Checkout may be slow for a few minutes.",
        "scheduled_for": "2027-06-10T22:00",
        "scheduled_until": "2027-06-10T23:30",
        "components": [components["checkout"].pk],
        **extra,
    }


def test_maintenance_times_are_read_in_the_page_zone(client, bob, page, components):
    bob.time_zone = "America/New_York"  # the reader's zone must not matter
    bob.save(update_fields=["time_zone"])
    client.force_login(bob)
    response = client.post(reverse("statuspage:maintenance-new", args=[page.public_id]), maintenance_data(components))
    notice = Notice.objects.get(kind="maintenance")
    assert response.status_code == 302 and response.url == notice_url(notice)
    # 22:00 in London on 10 June is British Summer Time, one hour ahead of UTC.
    assert notice.scheduled_for == dt.datetime(2027, 6, 10, 21, 0, tzinfo=dt.UTC)
    assert notice.scheduled_until == dt.datetime(2027, 6, 10, 22, 30, tzinfo=dt.UTC)
    assert (notice.status, list(notice.components.all())) == ("scheduled", [components["checkout"]])
    assert notice.updates.get().body == "Checkout may be slow for a few minutes."


def test_a_maintenance_time_missing_in_the_readers_zone_but_valid_in_the_pages_is_accepted(
    client, bob, page, components
):
    # 02:30 on 14 March 2027 does not exist in New York (clocks jump to 03:00); in London it is plain GMT.
    bob.time_zone = "America/New_York"
    bob.save(update_fields=["time_zone"])
    client.force_login(bob)
    data = maintenance_data(components, scheduled_for="2027-03-14T02:30", scheduled_until="2027-03-14T03:30")
    response = client.post(reverse("statuspage:maintenance-new", args=[page.public_id]), data)
    assert response.status_code == 302, response.context["form"].errors
    notice = Notice.objects.get(kind="maintenance")
    assert notice.scheduled_for == dt.datetime(2027, 3, 14, 2, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ({"scheduled_until": "2027-06-10T21:00"}, "The window must end after it starts."),
        ({"scheduled_until": "2027-06-10T22:00"}, "The window must end after it starts."),
        ({"scheduled_for": "2026-11-01T22:00", "scheduled_until": "2026-11-01T23:00"}, "That window is already over."),
        ({"scheduled_for": "next tuesday"}, "Enter a valid date/time."),
        ({"title": " "}, "This field is required."),
    ],
)
def test_a_bad_maintenance_shows_the_error_and_schedules_nothing(client, bob, page, components, times, message):
    client.force_login(bob)
    response = client.post(
        reverse("statuspage:maintenance-new", args=[page.public_id]), maintenance_data(components, **times)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Notice.objects.exists() and not NoticeUpdate.objects.exists()


# --- other teams -----------------------------------------------------------------------------------


def test_another_team_gets_404_on_every_portal_url_of_the_page(client, charlie, page, components, incident, notice):
    checkout = components["checkout"]
    client.force_login(charlie)
    for url in (
        page_url(page),
        new_notice_url(page),
        new_notice_url(page, incident=incident.number),
        reverse("statuspage:maintenance-new", args=[page.public_id]),
        notice_url(notice),
    ):
        assert client.get(url).status_code == 404, url
    writes = [
        (
            reverse("statuspage:component-status", args=[page.public_id, checkout.public_id]),
            {f"{checkout.public_id}-status": "operational"},
        ),
        (new_notice_url(page, incident=incident.number), notice_data(components, publish="")),
        (reverse("statuspage:maintenance-new", args=[page.public_id]), maintenance_data(components)),
        (notice_url(notice), {"status": "resolved", "body": "All good.", field(checkout): "operational"}),
    ]
    for url, data in writes:
        assert client.post(url, data).status_code == 404, url
    assert Notice.objects.get() == notice and notice.updates.count() == 1
    checkout.refresh_from_db()
    assert checkout.status == "major_outage"


def test_another_team_gets_404_on_the_customer_update_link_of_an_incident(client, charlie, page, components, incident):
    client.force_login(charlie)
    assert client.get(incident.get_absolute_url()).status_code == 200  # an open incident is visible to all
    assert client.get(from_incident_url(incident)).status_code == 404


def test_another_team_gets_404_on_the_customer_update_link_of_a_restricted_incident(
    client, charlie, alice, team_a, page, components
):
    secret = incidents.incident_declare(team=team_a, title="Leaked key", severity=1, by=alice, is_restricted=True)
    client.force_login(charlie)
    assert client.get(from_incident_url(secret)).status_code == 404


def test_the_index_lists_only_the_pages_of_ones_teams_in_constant_queries(
    client, bob, charlie, team_a, team_b, page, components, django_assert_num_queries
):
    web = StatusPage.objects.create(name="Web", host="web.status.localhost")
    web.teams.set([team_b])
    client.force_login(charlie)
    theirs = client.get(reverse("statuspage:index"))
    assert [p.name for p in theirs.context["pages"]] == ["Web"]
    assert "Acme" not in theirs.content.decode() and ">status.localhost<" not in theirs.content.decode()

    client.force_login(bob)
    few = _page_queries(client, reverse("statuspage:index"))
    for n in range(4):
        more = StatusPage.objects.create(name=f"Acme {n}", host=f"acme{n}.status.localhost")
        more.teams.set([team_a])
        services.component_create(page=more, name="Checkout", now=T0)
    with django_assert_num_queries(few):
        ours = client.get(reverse("statuspage:index"))
    assert [p.name for p in ours.context["pages"]] == ["Acme", "Acme 0", "Acme 1", "Acme 2", "Acme 3"]


# --- the incident page's Customers panel ------------------------------------------------------------


def test_the_incident_page_says_customers_have_not_been_told_once_the_sev1_is_past_its_minutes(
    client, bob, page, components, incident, clock, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    clock.move_to(minutes(5))
    early = client.get(incident.get_absolute_url()).content.decode()
    assert "Customers" in early and "Post customer update" in early
    assert "A public notice is required at this severity" in early
    assert "Customers have not been told" not in early

    clock.move_to(minutes(11))
    late = client.get(incident.get_absolute_url()).content.decode().replace("\xa0", " ")
    assert "Customers have not been told." in late
    assert "SEV-1 needs a public notice within 10 minutes of declaring" in late

    with django_capture_on_commit_callbacks(execute=True):
        client.post(new_notice_url(page, incident=incident.number), notice_data(components, publish=""))
    notice = Notice.objects.get()
    told = client.get(incident.get_absolute_url()).content.decode()
    assert "Customers have not been told" not in told
    assert notice_url(notice) in told and "Card payments failing</a> on Acme" in told
    assert "<strong>Investigating</strong>" in told
