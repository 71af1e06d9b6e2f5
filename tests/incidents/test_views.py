"""Incident pages: declare, act, see the timeline; restricted ones stay hidden."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Incident, TimelineEntry
from oncall.intake_formats import AlertItem
from oncall.models import Page
from oncall.services.intake import alert_ingest, integration_create

NOW = dt.datetime(2027, 1, 12, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def incident(team_a, alice, service_a):
    return services.incident_declare(team=team_a, title="Checkout fails", severity=2, by=alice, services=[service_a])


def declare_data(team, **extra):
    return {"team": team.pk, "title": "Search is slow", "severity": "3", "detection_source": "customer", **extra}


def test_every_incident_page_needs_sign_in(client, incident):
    for url in (reverse("incidents:index"), reverse("incidents:list"), incident.get_absolute_url()):
        assert client.get(url).status_code == 302


def test_member_declares_from_the_form(client, bob, team_a):
    client.force_login(bob)
    response = client.post(reverse("incidents:declare"), declare_data(team_a))
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == incident.get_absolute_url()
    assert (incident.severity, incident.detection_source, incident.declared_by) == (3, "customer", bob)


def test_a_yes_to_a_severity_question_asks_for_sev1_or_sev2(client, bob, team_a):
    client.force_login(bob)
    response = client.post(reverse("incidents:declare"), declare_data(team_a, customers_blocked="on"))
    assert response.status_code == 400
    assert "points to SEV-1 or SEV-2" in response.content.decode()
    assert not Incident.objects.exists()
    confirmed = declare_data(team_a, customers_blocked="on", confirm_lower="on")
    assert client.post(reverse("incidents:declare"), confirmed).status_code == 302


def test_declaring_for_another_team_is_refused(client, charlie, team_a):
    client.force_login(charlie)
    response = client.post(reverse("incidents:declare"), declare_data(team_a))
    assert response.status_code == 400
    assert not Incident.objects.exists()


def test_others_see_an_open_incident_but_cannot_act_on_it(client, charlie, incident):
    client.force_login(charlie)
    assert client.get(incident.get_absolute_url()).status_code == 200
    response = client.post(reverse("incidents:note", args=[incident.number]), {"text": "Hi"})
    assert response.status_code == 404
    assert not incident.timeline.filter(kind="note").exists()


def test_a_restricted_incident_is_404_for_other_teams(client, charlie, bob, team_a, alice):
    secret = services.incident_declare(team=team_a, title="Leaked key", severity=1, by=alice, is_restricted=True)
    client.force_login(charlie)
    assert client.get(secret.get_absolute_url()).status_code == 404
    assert secret.title not in client.get(reverse("incidents:list")).content.decode()
    client.force_login(bob)
    assert client.get(secret.get_absolute_url()).status_code == 200


def test_status_change_and_refusal_from_the_page(client, bob, incident):
    client.force_login(bob)
    ok = client.post(reverse("incidents:status", args=[incident.number]), {"status": "monitoring"})
    assert ok.status_code == 302
    refused = client.post(reverse("incidents:resolve", args=[incident.number]), {"checks": ["core_actions"]})
    assert refused.status_code == 400
    assert "Not yet confirmed" in refused.content.decode()
    incident.refresh_from_db()
    assert incident.status == "monitoring"


def test_update_form_posts_update_and_shows_the_message(client, bob, incident):
    client.force_login(bob)
    client.post(
        reverse("incidents:update", args=[incident.number]),
        {"known": "Pool exhausted", "doing": "Raising the pool", "trend": "improving", "eta": ""},
    )
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Known: Pool exhausted" in page
    assert "ETA: unknown; next update at" in page


def test_bad_note_shows_the_error_and_writes_nothing(client, bob, incident):
    client.force_login(bob)
    before = TimelineEntry.objects.count()
    response = client.post(reverse("incidents:note", args=[incident.number]), {"text": ""})
    assert response.status_code == 400
    assert TimelineEntry.objects.count() == before


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("incidents:list")).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_5_and_for_50_incidents(client, bob, team_a, alice, service_a):
    for n in range(5):
        services.incident_declare(team=team_a, title=f"Incident {n}", severity=3, by=alice, services=[service_a])
    client.force_login(bob)
    few = _list_queries(client)
    for n in range(45):
        services.incident_declare(team=team_a, title=f"More {n}", severity=2, by=alice, services=[service_a])
    assert _list_queries(client) == few


def test_dashboard_shows_overdue_updates(client, bob, team_a, alice):
    late = services.incident_declare(
        team=team_a, title="Late", severity=1, by=alice, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    client.force_login(bob)
    response = client.get(reverse("incidents:index"))
    assert late in response.context["overdue"]


def test_metrics_page_and_csv(client, bob, incident):
    client.force_login(bob)
    assert client.get(reverse("incidents:metrics")).status_code == 200
    csv = client.get(reverse("incidents:metrics"), {"format": "csv"}).content.decode()
    assert csv.splitlines()[0].startswith("month,incidents,sev1")
    assert ",1,0,1,0,0," in csv.splitlines()[1]


def test_one_click_from_an_alert_page_declares_an_incident_linked_to_it(client, alice, bob, service_a):
    integration, _key = integration_create(service=service_a, name="Prometheus", kind="alertmanager", by=alice)
    alert_ingest(
        integration=integration,
        items=[AlertItem(dedup_key="cpu", title="Payments API 5xx above 3%", severity="critical")],
        now=timezone.now(),
    )
    page = Page.objects.get()
    client.force_login(bob)
    form = client.get(reverse("incidents:declare"), {"page": page.pk})
    assert form.context["form"].initial["title"] == "Payments API 5xx above 3%"
    assert form.context["form"].initial["severity"] == 1
    data = {"from_page": page.pk, **declare_data(service_a.team, severity="1", title="Payments API 5xx above 3%")}
    response = client.post(reverse("incidents:declare"), data)
    incident = Incident.objects.get()
    assert response.status_code == 302 and incident.page == page
    assert incident.reference in client.get(reverse("oncall:page-detail", args=[page.pk])).content.decode()


def test_declaring_from_another_teams_page_is_404(client, charlie, alice, service_a):
    integration, _key = integration_create(service=service_a, name="Prometheus", kind="alertmanager", by=alice)
    alert_ingest(integration=integration, items=[AlertItem(dedup_key="x", title="Down")], now=timezone.now())
    client.force_login(charlie)
    assert client.get(reverse("incidents:declare"), {"page": Page.objects.get().pk}).status_code == 404
