"""The tools' door: POST /api/v1/integrations/<public_id>/alerts/ with the integration's key."""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from oncall.models import Alert, Integration, Page, PageEvent
from oncall.services.intake import integration_create, integration_disable
from tests.oncall.intake_payloads import alertmanager, encoded, generic, grafana


@pytest.fixture
def am(service_a, alice) -> tuple[Integration, str]:
    return integration_create(service=service_a, name="Alertmanager prod", kind="alertmanager", by=alice)


def url(integration: Integration, **query: str) -> str:
    path = reverse("integration-alerts", kwargs={"public_id": integration.public_id})
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def post(client, integration: Integration, body: object, key: str | None = None, **extra: str):
    data = body if isinstance(body, bytes) else encoded(body)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(url(integration), data=data, content_type="application/json", **headers, **extra)


def nothing_stored(integration: Integration) -> bool:
    integration.refresh_from_db()
    return not Alert.objects.exists() and not Page.objects.exists() and integration.last_alert_at is None


# --- the three formats -----------------------------------------------------------------


@pytest.mark.django_db
def test_alertmanager_alert_is_created_deduplicated_and_resolved(client, am):
    integration, key = am
    first = post(client, integration, alertmanager(), key)
    assert first.status_code == 202, first.content
    assert first.json()["created"] == 1
    alert = Alert.objects.get()
    assert (alert.dedup_key, alert.severity, alert.count, alert.status) == ("c8a5f3d2e1b04a97", "critical", 1, "open")
    assert alert.service == integration.service
    assert Page.objects.get().alert == alert

    again = post(client, integration, alertmanager(), key)
    assert again.json() == {"created": 0, "repeated": 1, "resolved": 0, "ignored": 0, "alerts": [alert.pk]}
    alert.refresh_from_db()
    assert alert.count == 2
    assert Page.objects.count() == 1  # nobody paged again
    assert PageEvent.objects.filter(kind=PageEvent.Kind.ALERT_REPEATED).count() == 1

    resolved = post(client, integration, alertmanager("resolved"), key)
    assert resolved.json()["resolved"] == 1
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by_tool) == ("resolved", True)
    assert Page.objects.get().status == Page.Status.RESOLVED


@pytest.mark.django_db
def test_an_alert_firing_again_after_its_resolve_opens_a_new_alert_and_page(client, am):
    integration, key = am
    post(client, integration, alertmanager(), key)
    post(client, integration, alertmanager("resolved"), key)
    post(client, integration, alertmanager(), key)
    assert Alert.objects.filter(status="open").count() == 1
    assert Alert.objects.count() == 2
    assert Page.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "firing", "resolved"),
    [("grafana", grafana(), grafana("resolved")), ("generic", generic(), generic("resolve"))],
)
def test_grafana_and_generic_alerts_are_created_deduplicated_and_resolved(
    client, service_a, alice, kind, firing, resolved
):
    integration, key = integration_create(service=service_a, name=kind, kind=kind, by=alice)
    assert post(client, integration, firing, key).json()["created"] == 1
    assert post(client, integration, firing, key).json()["repeated"] == 1
    assert post(client, integration, resolved, key).json()["resolved"] == 1
    alert = Alert.objects.get()
    assert (alert.count, alert.status) == (2, "resolved")
    assert Page.objects.count() == 1


@pytest.mark.django_db
def test_a_resolve_for_an_unknown_key_is_ignored_and_counted(client, am):
    integration, key = am
    response = post(client, integration, alertmanager("resolved"), key)
    assert response.status_code == 202
    assert response.json()["ignored"] == 1
    assert not Alert.objects.exists()


# --- keys --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_wrong_key_is_401_and_nothing_is_stored(client, am):
    integration, key = am
    response = post(client, integration, alertmanager(), key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert nothing_stored(integration)


@pytest.mark.django_db
def test_missing_key_is_401_and_nothing_is_stored(client, am):
    integration, _ = am
    assert post(client, integration, alertmanager()).status_code == 401
    assert nothing_stored(integration)


@pytest.mark.django_db
def test_another_integrations_key_is_401(client, am, service_a, alice):
    integration, _ = am
    _, other_key = integration_create(service=service_a, name="Other", kind="alertmanager", by=alice)
    assert post(client, integration, alertmanager(), other_key).status_code == 401
    assert nothing_stored(integration)


@pytest.mark.django_db
def test_unknown_integration_is_404_and_nothing_is_stored(client, am):
    integration, key = am
    response = client.post(
        "/api/v1/integrations/00000000-0000-0000-0000-000000000000/alerts/",
        data=encoded(alertmanager()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 404
    assert client.post("/api/v1/integrations/not-a-uuid/alerts/", b"{}", "application/json").status_code == 404
    assert nothing_stored(integration)


@pytest.mark.django_db
def test_key_may_come_in_the_x_fireline_key_header_or_the_query(client, am):
    integration, key = am
    by_header = client.post(
        url(integration), data=encoded(alertmanager()), content_type="application/json", HTTP_X_FIRELINE_KEY=key
    )
    by_query = client.post(url(integration, key=key), data=encoded(alertmanager()), content_type="application/json")
    assert (by_header.status_code, by_query.status_code) == (202, 202)
    assert Alert.objects.get().count == 2


@pytest.mark.django_db
def test_a_users_api_token_does_not_open_the_door(client, am, alice):
    from oncall.services.teams import token_create

    integration, _ = am
    _, token = token_create(user=alice, name="cli")
    assert post(client, integration, alertmanager(), token).status_code == 401
    assert nothing_stored(integration)


@pytest.mark.django_db
def test_disabled_integration_is_410_and_nothing_is_stored(client, am, alice):
    integration, key = am
    integration_disable(integration=integration, by=alice)
    response = post(client, integration, alertmanager(), key)
    assert response.status_code == 410
    assert "disabled" in response.json()["detail"]
    assert not Alert.objects.exists()


# --- bodies ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_body_over_the_limit_is_413_before_parsing(client, am, settings):
    settings.FIRELINE_ALERT_MAX_BYTES = 200
    integration, key = am
    response = post(client, integration, b"{" + b" " * 300, key)  # not even JSON: never parsed
    assert response.status_code == 413
    assert "200 bytes" in response.json()["detail"]
    assert nothing_stored(integration)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (encoded({"version": "4", "alerts": [{"labels": {}}]}), "alerts[0].status is missing"),
        (encoded({"hello": "world"}), "alerts is missing"),
    ],
)
def test_malformed_body_is_400_with_the_reason_and_nothing_is_stored(client, am, body, reason):
    integration, key = am
    response = post(client, integration, body, key)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert nothing_stored(integration)


# --- limits ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_over_the_limit_is_429_with_retry_after_and_nothing_stored(client, service_a, alice):
    integration, key = integration_create(
        service=service_a, name="Chatty", kind="generic", by=alice, rate_limit_per_minute=2
    )
    assert post(client, integration, generic(dedup_key="a"), key).status_code == 202
    assert post(client, integration, generic(dedup_key="b"), key).status_code == 202
    refused = post(client, integration, generic(dedup_key="c"), key)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert sorted(Alert.objects.values_list("dedup_key", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_refusals_before_the_key_check_do_not_use_up_the_limit(client, service_a, alice):
    integration, key = integration_create(
        service=service_a, name="Tight", kind="generic", by=alice, rate_limit_per_minute=1
    )
    for _ in range(3):
        assert post(client, integration, generic(), "fli_wrong").status_code == 401
    assert post(client, integration, generic(), key).status_code == 202


# --- secrecy -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_keys_never_reach_the_logs(client, am, caplog):
    integration, key = am
    caplog.set_level(logging.DEBUG)
    post(client, integration, alertmanager(), key)
    post(client, integration, alertmanager(), key + "x")
    client.post(url(integration, key=key + "y"), data=b"{", content_type="application/json")
    client.post(url(integration, key=key), data=b"{", content_type="application/json")
    assert caplog.records  # the intake does log; just never the key
    assert key not in caplog.text
    assert key[:20] not in caplog.text


@pytest.mark.django_db
def test_the_stored_digest_is_not_the_key(am):
    integration, key = am
    integration.refresh_from_db()
    assert key.startswith("fli_") and len(key) > 40
    assert integration.key_digest != key and key not in integration.key_digest
    assert integration.key_prefix == key[:10]
    assert json.dumps(integration.alerts.count()) == "0"
