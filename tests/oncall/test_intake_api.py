"""API: integrations (key shown only on create and rotate), alerts, alert quality; charlie gets 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from oncall.models import Alert, Integration, Page
from oncall.services.intake import integration_create
from tests.factories import AlertFactory, IntegrationFactory, ServiceFactory


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def integration(service_a, alice) -> tuple[Integration, str]:
    return integration_create(service=service_a, name="Alertmanager prod", kind="alertmanager", by=alice)


def detail(obj: Integration, action: str = "") -> str:
    return f"/api/v1/integrations/{obj.public_id}/" + (f"{action}/" if action else "")


@pytest.mark.django_db
def test_create_returns_the_key_once_and_lists_never_show_it(api, alice, service_a, django_assert_num_queries):
    api.force_authenticate(alice)
    response = api.post(
        "/api/v1/integrations/", {"service": service_a.slug, "name": "Grafana", "kind": "grafana"}, format="json"
    )
    assert response.status_code == 201, response.content
    key = response.json()["key"]
    assert key.startswith("fli_")
    assert response.json()["intake_url"].endswith(f"/api/v1/integrations/{response.json()['public_id']}/alerts/")

    IntegrationFactory(service=service_a)
    with django_assert_num_queries(2):
        listed = api.get("/api/v1/integrations/")
    assert listed.json()["count"] == 2
    one = api.get(f"/api/v1/integrations/{response.json()['public_id']}/")
    for text in (listed.content.decode(), one.content.decode()):
        assert key not in text and "key_digest" not in text and '"key"' not in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "kind": "nagios"}, "kind"),
        ({"name": "", "kind": "generic"}, "name"),
        ({"name": "x", "rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"name": "Alertmanager prod"}, "name"),
    ],
)
def test_create_with_bad_input_says_why_and_writes_nothing(api, alice, service_a, integration, data, field):
    api.force_authenticate(alice)
    response = api.post("/api/v1/integrations/", {"service": service_a.slug, **data}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Integration.objects.count() == 1


@pytest.mark.django_db
def test_member_may_read_but_not_create(api, bob, service_a, integration):
    api.force_authenticate(bob)
    assert api.get("/api/v1/integrations/").json()["count"] == 1
    response = api.post("/api/v1/integrations/", {"service": service_a.slug, "name": "x"}, format="json")
    assert response.status_code == 400
    assert "managers" in response.json()["detail"]
    obj, _ = integration
    assert api.post(detail(obj, "rotate-key")).status_code == 400
    assert Integration.objects.count() == 1


@pytest.mark.django_db
def test_rotate_disable_enable_update_and_delete(api, alice, integration):
    obj, old = integration
    api.force_authenticate(alice)
    rotated = api.post(detail(obj, "rotate-key"))
    assert rotated.status_code == 200 and rotated.json()["key"] not in (old, "")
    assert api.post(detail(obj, "disable")).json()["is_active"] is False
    assert api.post(detail(obj, "enable")).json()["is_active"] is True
    changed = api.patch(detail(obj), {"rate_limit_per_minute": 30}, format="json")
    assert changed.json()["rate_limit_per_minute"] == 30
    AlertFactory(integration=obj)
    refused = api.delete(detail(obj))
    assert refused.status_code == 409 and "Disable it instead" in refused.json()["detail"]
    Alert.objects.all().delete()
    assert api.delete(detail(obj)).status_code == 204
    assert not Integration.objects.exists()


@pytest.mark.django_db
def test_another_team_gets_404_on_every_endpoint(api, charlie, integration, service_a):
    obj, _ = integration
    alert = AlertFactory(integration=obj)
    api.force_authenticate(charlie)
    assert api.get("/api/v1/integrations/").json()["count"] == 0
    assert api.get("/api/v1/alerts/").json()["count"] == 0
    assert api.get(detail(obj)).status_code == 404
    for action in ("rotate-key", "disable", "enable"):
        assert api.post(detail(obj, action)).status_code == 404
    assert api.patch(detail(obj), {"name": "mine"}, format="json").status_code == 404
    assert api.delete(detail(obj)).status_code == 404
    assert api.get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    assert api.get(f"/api/v1/services/{service_a.slug}/alert-quality/").status_code == 404
    created = api.post("/api/v1/integrations/", {"service": service_a.slug, "name": "x"}, format="json")
    assert created.status_code == 404
    obj.refresh_from_db()
    assert (obj.name, obj.disabled_at, Integration.objects.count()) == ("Alertmanager prod", None, 1)


@pytest.mark.django_db
def test_every_endpoint_needs_authentication(api, integration, service_a):
    obj, _ = integration
    for url in (
        "/api/v1/integrations/",
        detail(obj),
        "/api/v1/alerts/",
        f"/api/v1/services/{service_a.slug}/alert-quality/",
    ):
        assert api.get(url).status_code in (401, 403), url
    assert api.post(detail(obj, "rotate-key")).status_code in (401, 403)


@pytest.mark.django_db
def test_alerts_list_filters_and_detail(api, bob, service_a, team_a, django_assert_num_queries):
    other = ServiceFactory(team=team_a, slug="ledger")
    open_alert = AlertFactory(integration=IntegrationFactory(service=service_a), title="Open one")
    AlertFactory(integration=IntegrationFactory(service=other), title="Done", status="resolved")
    api.force_authenticate(bob)
    with django_assert_num_queries(2):
        everything = api.get("/api/v1/alerts/").json()
    assert [a["title"] for a in everything["results"]] == ["Open one", "Done"]
    assert [a["title"] for a in api.get("/api/v1/alerts/?status=resolved").json()["results"]] == ["Done"]
    assert [a["title"] for a in api.get("/api/v1/alerts/?service=payments-api").json()["results"]] == ["Open one"]
    one = api.get(f"/api/v1/alerts/{open_alert.pk}/").json()
    assert one["service"] == "payments-api" and "source_payload" in one and one["page"] is None


@pytest.mark.django_db
def test_alert_quality_figures(api, bob, alice, service_a):
    now = timezone.now()
    integration = IntegrationFactory(service=service_a)
    noisy = [
        AlertFactory(integration=integration, title="Disk 80%", count=5, first_seen_at=now - dt.timedelta(days=d))
        for d in (1, 2, 9)
    ]
    acted = AlertFactory(integration=integration, title="Checkout down", first_seen_at=now - dt.timedelta(days=1))
    AlertFactory(integration=integration, title="Too old", first_seen_at=now - dt.timedelta(weeks=9))
    for alert, person_resolved in ((acted, True), (noisy[0], False)):
        Page.objects.create(
            alert=alert,
            service=service_a,
            team=service_a.team,
            created_at=alert.first_seen_at,
            status="resolved",
            acknowledged_at=alert.first_seen_at,
            acknowledged_by=alice,
            resolved_by=alice if person_resolved else None,
        )
    api.force_authenticate(bob)
    quality = api.get(f"/api/v1/services/{service_a.slug}/alert-quality/").json()
    assert (quality["alerts"], quality["acknowledged"], quality["acted_on"]) == (4, 2, 1)
    assert (quality["acknowledged_share"], quality["acted_on_share"]) == (0.5, 0.25)
    assert [w["alerts"] for w in quality["weeks"]] == [0, 0, 0, 0, 0, 0, 1, 3]
    top = quality["noisiest"][0]
    assert (top["title"], top["alerts"], top["repeats"], top["acted_on"], top["nobody_acts"]) == (
        "Disk 80%",
        3,
        15,
        0,
        True,
    )
