from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from oncall.models import ContactMethod, Notification, NotificationRule, TeamWebhook
from oncall.models.notifications import Event
from oncall.services import teams as team_services
from oncall.services.notifications import notify_user
from tests.factories import ContactMethodFactory, NotificationRuleFactory, TeamWebhookFactory

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/v1/contact-methods/", "/api/v1/notification-rules/", "/api/v1/notifications/", "/api/v1/team-webhooks/"],
)
def test_every_endpoint_needs_authentication(api, path):
    assert api.get(path).status_code == 401
    assert api.post(path, {}, format="json").status_code == 401


def test_schema_documents_the_notification_endpoints(client, db):
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for path in ("/api/v1/contact-methods/{id}/", "/api/v1/notification-rules/{event}/", "/api/v1/notifications/"):
        assert path in paths
    assert "/api/v1/team-webhooks/{id}/" in paths


# --- contact methods -------------------------------------------------------------------


def test_contact_method_crud_on_my_own(api, bob):
    api.force_authenticate(bob)
    created = api.post(
        "/api/v1/contact-methods/", {"kind": "webhook", "address": "https://tool.example.com/bob"}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["kind"], body["is_active"], len(body["signing_secret"])) == ("webhook", True, 64)
    url = f"/api/v1/contact-methods/{body['id']}/"

    assert api.patch(url, {"label": "Tool", "kind": "email"}, format="json").json()["kind"] == "webhook"
    assert api.get(url).json()["label"] == "Tool"
    assert [m["id"] for m in api.get("/api/v1/contact-methods/").json()["results"]] == [body["id"]]
    assert api.delete(url).status_code == 204
    assert not ContactMethod.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "email", "address": "nope"}, "address"),
        ({"kind": "slack", "address": "http://hooks.slack.com/x"}, "address"),
        ({"kind": "pigeon", "address": "roof"}, "kind"),
        ({"kind": "email"}, "address"),
    ],
)
def test_a_bad_contact_method_is_400_with_the_field_and_writes_nothing(api, bob, data, field):
    api.force_authenticate(bob)
    response = api.post("/api/v1/contact-methods/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ContactMethod.objects.exists()


def test_a_duplicate_contact_method_is_400(api, bob):
    ContactMethodFactory(user=bob, address="bob@example.org")
    api.force_authenticate(bob)
    response = api.post("/api/v1/contact-methods/", {"kind": "email", "address": "bob@example.org"}, format="json")
    assert response.status_code == 400
    assert "already have" in response.json()["address"][0]


def test_someone_elses_contact_method_is_404(api, alice, bob):
    hers = ContactMethodFactory(user=alice)
    api.force_authenticate(bob)
    url = f"/api/v1/contact-methods/{hers.pk}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"label": "mine"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert ContactMethod.objects.get(pk=hers.pk).label == ""


# --- rules -----------------------------------------------------------------------------


def test_rules_list_every_event_and_say_which_fall_back_to_the_account_email(api, bob):
    method = ContactMethodFactory(user=bob)
    NotificationRuleFactory(contact_method=method, event=Event.SWAP_TAKEN)
    api.force_authenticate(bob)
    rules = {r["event"]: r for r in api.get("/api/v1/notification-rules/").json()}
    assert set(rules) == set(Event.values)
    assert rules["swap_taken"] == {"event": "swap_taken", "contact_methods": [method.pk], "uses_account_email": False}
    assert rules["shift_reminder"]["uses_account_email"] is True


def test_putting_a_rule_replaces_its_methods(api, bob):
    a, b = ContactMethodFactory(user=bob), ContactMethodFactory(user=bob)
    NotificationRuleFactory(contact_method=a, event=Event.SHIFT_START)
    api.force_authenticate(bob)
    response = api.put("/api/v1/notification-rules/shift_start/", {"contact_methods": [b.pk]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["contact_methods"] == [b.pk]
    assert api.get("/api/v1/notification-rules/shift_start/").json()["contact_methods"] == [b.pk]


def test_a_rule_with_someone_elses_or_a_disabled_method_is_400_and_writes_nothing(api, alice, bob):
    hers, dead = ContactMethodFactory(user=alice), ContactMethodFactory(user=bob, disabled_at=NOW)
    api.force_authenticate(bob)
    for method in (hers, dead):
        response = api.put("/api/v1/notification-rules/shift_start/", {"contact_methods": [method.pk]}, format="json")
        assert response.status_code == 400
        assert "contact_methods" in response.json()
    assert api.put("/api/v1/notification-rules/shift_start/", {}, format="json").status_code == 400
    assert not NotificationRule.objects.exists()


def test_an_unknown_event_is_404(api, bob):
    api.force_authenticate(bob)
    assert api.get("/api/v1/notification-rules/lunch/").status_code == 404
    assert api.put("/api/v1/notification-rules/lunch/", {"contact_methods": []}, format="json").status_code == 404


# --- notifications ---------------------------------------------------------------------


def test_notifications_are_my_own_read_only_and_filter_by_status(api, alice, bob):
    [mine] = notify_user(user=bob, event=Event.SWAP_TAKEN, dedup_key="a", subject="Mine", body="b", now=NOW)
    [sent] = notify_user(user=bob, event=Event.SWAP_TAKEN, dedup_key="b", subject="Sent", body="b", now=NOW)
    Notification.objects.filter(pk=sent.pk).update(status="sent")
    [hers] = notify_user(user=alice, event=Event.SWAP_TAKEN, dedup_key="c", subject="Hers", body="b", now=NOW)
    api.force_authenticate(bob)

    listed = api.get("/api/v1/notifications/").json()
    assert {n["subject"] for n in listed["results"]} == {"Mine", "Sent"}
    pending = api.get("/api/v1/notifications/", {"status": "pending"}).json()["results"]
    assert [(n["id"], n["status"], n["attempts"], n["last_error"]) for n in pending] == [(mine.pk, "pending", 0, "")]
    assert api.get(f"/api/v1/notifications/{hers.pk}/").status_code == 404
    assert api.delete(f"/api/v1/notifications/{mine.pk}/").status_code == 405
    assert api.post("/api/v1/notifications/", {}, format="json").status_code == 405


# --- team webhooks ---------------------------------------------------------------------


def test_a_manager_creates_a_webhook_and_sees_the_secret_only_then(api, alice, team_a):
    api.force_authenticate(alice)
    response = api.post(
        "/api/v1/team-webhooks/",
        {"team": "payments", "name": "Ops", "url": "https://ops.example.com/hook", "events": ["swap_taken"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    hook = TeamWebhook.objects.get()
    assert body["secret"] == hook.secret
    assert (body["format"], body["events"], body["is_enabled"]) == ("json", ["swap_taken"], True)
    detail = api.get(f"/api/v1/team-webhooks/{hook.pk}/").json()
    assert "secret" not in detail


def test_a_manager_switches_a_webhook_off_and_removes_it(api, alice, team_a):
    hook = TeamWebhookFactory(team=team_a)
    api.force_authenticate(alice)
    url = f"/api/v1/team-webhooks/{hook.pk}/"
    response = api.patch(url, {"is_enabled": False, "team": "web"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["is_enabled"], response.json()["team"]) == (False, "payments")
    assert api.delete(url).status_code == 204
    assert not TeamWebhook.objects.exists()


def test_members_read_webhooks_but_cannot_write_them(api, bob, team_a):
    hook = TeamWebhookFactory(team=team_a, name="Ops")
    api.force_authenticate(bob)
    assert [h["name"] for h in api.get("/api/v1/team-webhooks/").json()["results"]] == ["Ops"]
    url = f"/api/v1/team-webhooks/{hook.pk}/"
    assert api.patch(url, {"name": "Mine"}, format="json").status_code == 400
    assert api.delete(url).status_code == 400
    created = api.post(
        "/api/v1/team-webhooks/", {"team": "payments", "name": "X", "url": "https://x.example.com"}, format="json"
    )
    assert created.status_code == 400
    assert "Only managers" in created.json()["detail"]
    assert list(TeamWebhook.objects.values_list("name", flat=True)) == ["Ops"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "http://ops.example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"events": ["lunch"]}, "events"),
        ({"format": "xml"}, "format"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_webhook_is_400_with_the_field_and_writes_nothing(api, alice, team_a, data, field):
    api.force_authenticate(alice)
    payload = {"team": "payments", "name": "Ops", "url": "https://ops.example.com/hook"} | data
    response = api.post("/api/v1/team-webhooks/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not TeamWebhook.objects.exists()


def test_another_teams_user_gets_404_on_team_a_webhooks(api, alice, charlie, team_a):
    hook = TeamWebhookFactory(team=team_a)
    api.force_authenticate(charlie)
    url = f"/api/v1/team-webhooks/{hook.pk}/"
    assert api.get("/api/v1/team-webhooks/").json()["results"] == []
    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "pwned"}, format="json").status_code == 404
    assert (
        api.put(url, {"team": "payments", "name": "p", "url": "https://x.example.com"}, format="json").status_code
        == 404
    )
    assert api.delete(url).status_code == 404
    created = api.post(
        "/api/v1/team-webhooks/", {"team": "payments", "name": "X", "url": "https://x.example.com"}, format="json"
    )
    assert created.status_code == 400
    assert "team" in created.json()
    assert list(TeamWebhook.objects.all()) == [hook]


def test_a_team_scoped_token_sees_only_that_teams_webhooks(api, alice, team_a, team_b):
    team_services.membership_set(team=team_b, user=alice)
    TeamWebhookFactory(team=team_a, name="A hook")
    TeamWebhookFactory(team=team_b, name="B hook")
    _token, raw = team_services.token_create(user=alice, name="ci", team=team_b)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [h["name"] for h in api.get("/api/v1/team-webhooks/").json()["results"]] == ["B hook"]


def test_webhook_list_query_count_is_flat(api, alice, team_a, django_assert_max_num_queries):
    TeamWebhookFactory.create_batch(10, team=team_a)
    api.force_authenticate(alice)
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/team-webhooks/")
    assert response.json()["count"] == 10


def test_bad_updates_are_400_and_change_nothing(api, alice, team_a):
    method = ContactMethodFactory(user=alice, address="alice.pager@example.com")
    hook = TeamWebhookFactory(team=team_a, url="https://ops.example.com/hook")
    api.force_authenticate(alice)

    response = api.patch(f"/api/v1/contact-methods/{method.pk}/", {"address": "nope"}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["address"])
    response = api.patch(f"/api/v1/team-webhooks/{hook.pk}/", {"url": "http://ops.example.com/x"}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["url"])
    response = api.patch(f"/api/v1/team-webhooks/{hook.pk}/", {"events": ["lunch"]}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["events"])

    method.refresh_from_db()
    hook.refresh_from_db()
    assert (method.address, hook.url, hook.events) == ("alice.pager@example.com", "https://ops.example.com/hook", [])


@pytest.mark.parametrize("path", ["/api/v1/contact-methods/", "/api/v1/notification-rules/"])
def test_a_team_scoped_token_cannot_read_or_change_its_owners_personal_settings(api, bob, team_a, path):
    method = ContactMethodFactory(user=bob, kind="sms", address="+15555550100")
    _token, raw = team_services.token_create(user=bob, name="Alertmanager", team=team_a)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    listed = api.get(path)
    changed = api.patch(f"/api/v1/contact-methods/{method.pk}/", {"address": "+15555550199"}, format="json")

    assert listed.status_code == 403
    assert "team-scoped token" in listed.json()["detail"]
    assert changed.status_code == 403
    method.refresh_from_db()
    assert method.address == "+15555550100"
    _personal, personal_raw = team_services.token_create(user=bob, name="My laptop")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {personal_raw}")
    assert api.get(path).status_code == 200
