"""Integration pages on the service page, the key shown once, the team's alert list, alert quality."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from oncall.models import Alert, Integration, Page
from oncall.services.intake import integration_create
from tests.factories import AlertFactory, IntegrationFactory


@pytest.fixture
def integration(service_a, alice) -> tuple[Integration, str]:
    return integration_create(service=service_a, name="Alertmanager prod", kind="alertmanager", by=alice)


def service_url(service) -> str:
    return reverse("oncall:service-detail", args=[service.slug])


def write_urls(integration: Integration) -> list[str]:
    args = [integration.service.slug, integration.public_id]
    return [reverse(f"oncall:integration-{name}", args=args) for name in ("rotate", "disable", "enable", "delete")]


# --- create and the key shown once -------------------------------------------------------


@pytest.mark.django_db
def test_manager_creates_an_integration_and_sees_key_url_and_config_once(client, alice, service_a):
    client.force_login(alice)
    response = client.post(
        reverse("oncall:integration-create", args=[service_a.slug]),
        {"name": "Alertmanager prod", "kind": "alertmanager", "rate_limit_per_minute": 60},
    )
    assert response.status_code == 200
    integration = Integration.objects.get()
    key = response.context["key"]
    body = response.content.decode()
    assert key in body
    assert f"/api/v1/integrations/{integration.public_id}/alerts/" in body
    assert "webhook_configs" in body and "curl -X POST" in body
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert integration.rate_limit_per_minute == 60

    page = client.get(service_url(service_a)).content.decode()
    assert integration.key_prefix in page
    assert key not in page


@pytest.mark.django_db
def test_create_with_a_taken_name_says_so_and_writes_nothing(client, alice, service_a, integration):
    client.force_login(alice)
    response = client.post(
        reverse("oncall:integration-create", args=[service_a.slug]),
        {"name": "Alertmanager prod", "kind": "grafana", "rate_limit_per_minute": 60},
    )
    assert response.status_code == 200
    assert "already has an integration with that name" in response.content.decode()
    assert Integration.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "kind": "generic", "rate_limit_per_minute": 60},
        {"name": "x", "kind": "nagios", "rate_limit_per_minute": 60},
        {"name": "x", "kind": "generic", "rate_limit_per_minute": 0},
    ],
)
def test_create_with_bad_input_writes_nothing(client, alice, service_a, data):
    client.force_login(alice)
    response = client.post(reverse("oncall:integration-create", args=[service_a.slug]), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Integration.objects.exists()


@pytest.mark.django_db
def test_rotating_shows_a_new_key_and_the_old_one_stops_working(client, alice, integration):
    obj, old_key = integration
    client.force_login(alice)
    response = client.post(reverse("oncall:integration-rotate", args=[obj.service.slug, obj.public_id]))
    new_key = response.context["key"]
    assert new_key != old_key and new_key in response.content.decode()
    intake = reverse("integration-alerts", kwargs={"public_id": obj.public_id})
    body = b'{"version": "4", "alerts": []}'
    assert client.post(intake, body, "application/json", HTTP_AUTHORIZATION=f"Bearer {old_key}").status_code == 401
    assert client.post(intake, body, "application/json", HTTP_AUTHORIZATION=f"Bearer {new_key}").status_code == 400


@pytest.mark.django_db
def test_disable_then_enable(client, alice, integration):
    obj, _ = integration
    client.force_login(alice)
    _, disable, enable, _ = write_urls(obj)
    assert client.post(disable).status_code == 302
    obj.refresh_from_db()
    assert obj.disabled_at is not None
    client.post(enable)
    obj.refresh_from_db()
    assert obj.disabled_at is None


@pytest.mark.django_db
def test_delete_asks_first_and_refuses_when_alerts_exist(client, alice, integration):
    obj, _ = integration
    client.force_login(alice)
    delete = write_urls(obj)[3]
    assert "Delete" in client.get(delete).content.decode()
    AlertFactory(integration=obj)
    response = client.post(delete, follow=True)
    assert "Disable it instead" in response.content.decode()
    assert Integration.objects.filter(pk=obj.pk).exists()
    Alert.objects.all().delete()
    client.post(delete)
    assert not Integration.objects.filter(pk=obj.pk).exists()


# --- who may -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_member_sees_integrations_but_cannot_change_them(client, bob, integration):
    obj, _ = integration
    client.force_login(bob)
    page = client.get(service_url(obj.service)).content.decode()
    assert obj.name in page and "Rotate key" not in page
    assert client.get(reverse("oncall:integration-create", args=[obj.service.slug])).status_code == 403
    for url in write_urls(obj):
        assert client.post(url).status_code == 403
    obj.refresh_from_db()
    assert obj.disabled_at is None and obj.key_rotated_at is None


@pytest.mark.django_db
def test_another_team_gets_404_everywhere(client, charlie, integration, team_a):
    obj, _ = integration
    client.force_login(charlie)
    assert client.get(reverse("oncall:integration-create", args=[obj.service.slug])).status_code == 404
    for url in write_urls(obj):
        assert client.post(url).status_code == 404
    assert client.get(reverse("oncall:team-alerts", args=[team_a.slug])).status_code == 404
    assert Integration.objects.get().disabled_at is None


@pytest.mark.django_db
def test_an_integration_of_another_service_cannot_be_reached_through_this_one(client, alice, integration, team_a):
    from tests.factories import ServiceFactory

    obj, _ = integration
    other = ServiceFactory(team=team_a, slug="ledger")
    client.force_login(alice)
    url = reverse("oncall:integration-disable", args=[other.slug, obj.public_id])
    assert client.post(url).status_code == 403


@pytest.mark.django_db
def test_pages_need_a_login(client, integration, team_a):
    obj, _ = integration
    urls = [reverse("oncall:team-alerts", args=[team_a.slug]), reverse("oncall:integration-create", args=["x"])]
    for url in [*urls, *write_urls(obj)]:
        response = client.post(url) if "integrations/" in url and "new" not in url else client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


# --- the team's alerts -------------------------------------------------------------------


@pytest.mark.django_db
def test_team_alerts_list_open_first_and_filters(client, bob, service_a, team_a, django_assert_num_queries):
    from tests.factories import ServiceFactory

    other = ServiceFactory(team=team_a, slug="ledger", name="Ledger")
    now = timezone.now()
    AlertFactory(integration=IntegrationFactory(service=service_a), title="Old open", last_seen_at=now)
    AlertFactory(
        integration=IntegrationFactory(service=other),
        title="New resolved",
        status="resolved",
        last_seen_at=now + dt.timedelta(minutes=5),
    )
    AlertFactory(title="Elsewhere")  # another team's
    client.force_login(bob)
    url = reverse("oncall:team-alerts", args=[team_a.slug])

    with django_assert_num_queries(6):
        body = client.get(url).content.decode()
    assert body.index("Old open") < body.index("New resolved")
    assert "Elsewhere" not in body

    body = client.get(url, {"status": "open"}).content.decode()
    assert "Old open" in body and "New resolved" not in body
    body = client.get(url, {"service": "ledger"}).content.decode()
    assert "New resolved" in body and "Old open" not in body


# --- alert quality -----------------------------------------------------------------------


@pytest.mark.django_db
def test_service_page_shows_alert_quality_and_the_noisy_alert_hint(client, bob, alice, service_a):
    now = timezone.now()
    integration = IntegrationFactory(service=service_a)
    for n in range(4):
        AlertFactory(integration=integration, title="Disk 80%", first_seen_at=now - dt.timedelta(days=n * 3))
    acted = AlertFactory(integration=integration, title="Checkout down", first_seen_at=now - dt.timedelta(days=1))
    Page.objects.create(
        alert=acted,
        service=service_a,
        team=service_a.team,
        created_at=acted.first_seen_at,
        status="resolved",
        acknowledged_at=acted.first_seen_at,
        acknowledged_by=alice,
        resolved_by=alice,
        resolved_at=acted.first_seen_at,
    )
    client.force_login(bob)
    body = client.get(service_url(service_a)).content.decode()
    assert "Alert quality" in body
    assert '20%</div><div class="small text-body-secondary">acted on' in body
    assert "Disk 80% — 4 alerts" in body
    assert "nobody acts" in body and "delete the alert" in body


@pytest.mark.django_db
def test_admin_never_shows_the_key_or_its_digest(client, integration):
    from tests.factories import UserFactory

    obj, key = integration
    AlertFactory(integration=obj)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    pages = [
        reverse("admin:oncall_integration_changelist"),
        reverse("admin:oncall_integration_change", args=[obj.pk]),
        reverse("admin:oncall_alert_changelist"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert key not in body and obj.key_digest not in body, url
