from datetime import UTC, datetime

import pytest
from django.urls import reverse

from oncall.models import ContactMethod, Notification, NotificationRule, TeamWebhook
from oncall.models.notifications import Event
from oncall.services.notifications import notify_user
from tests.factories import ContactMethodFactory, NotificationRuleFactory, TeamWebhookFactory

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SETTINGS = reverse("oncall:notification-settings")


def webhooks_url(team):
    return reverse("oncall:team-webhooks", args=[team.slug])


PAGES = [
    ("oncall:notification-settings", []),
    ("oncall:notification-rules", []),
    ("oncall:contact-method-delete", [1]),
    ("oncall:team-webhooks", ["payments"]),
    ("oncall:team-webhook-edit", ["payments", 1]),
    ("oncall:team-webhook-delete", ["payments", 1]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "args"), PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_notification_page_requires_sign_in(client, name, args, method):
    url = reverse(name, args=args)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


# --- a person's settings ---------------------------------------------------------------


def test_settings_page_shows_methods_disabled_reasons_the_grid_and_recent_notifications(client, bob):
    email = ContactMethodFactory(user=bob, address="bob.pager@example.com", label="Pager mail")
    ContactMethodFactory(
        user=bob, kind="slack", address="https://hooks.slack.com/x", disabled_at=NOW, disabled_reason="HTTP 410: gone"
    )
    NotificationRuleFactory(contact_method=email, event=Event.SWAP_TAKEN)
    [row] = notify_user(user=bob, event=Event.SWAP_TAKEN, dedup_key="swap:1", subject="Cover taken", body="b", now=NOW)
    Notification.objects.filter(pk=row.pk).update(status="pending", attempts=2, last_error="Webhook answered HTTP 503")
    client.force_login(bob)

    response = client.get(SETTINGS)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Pager mail" in html and "bob.pager@example.com" in html
    assert "Disabled" in html and "HTTP 410: gone" in html
    assert f'name="event-swap_taken" value="{email.pk}"' in html
    assert f'id="r-swap_taken-{email.pk}" checked' in html
    assert "Cover taken" in html and "HTTP 503" in html
    assert "Signing secret" in html  # for the slack method only
    assert f'href="{webhooks_url(bob.memberships.get().team)}"' in html


def test_settings_page_query_count_does_not_grow_with_notifications(client, bob, django_assert_max_num_queries):
    ContactMethodFactory.create_batch(3, user=bob)
    for i in range(30):
        notify_user(user=bob, event=Event.SHIFT_REMINDER, dedup_key=f"k{i}", subject="s", body="b", now=NOW)
    client.force_login(bob)
    with django_assert_max_num_queries(10):
        response = client.get(SETTINGS)
    assert response.content.count(b"Pending") == 30


def test_the_user_menu_links_to_the_notification_settings(client, bob):
    client.force_login(bob)
    assert f'href="{SETTINGS}"'.encode() in client.get(reverse("oncall:home")).content


def test_adding_a_contact_method(client, bob):
    client.force_login(bob)
    response = client.post(SETTINGS, {"kind": "email", "address": "bob.pager@example.com", "label": "Pager"})
    assert response.status_code == 302
    assert ContactMethod.objects.get(user=bob).label == "Pager"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "email", "address": "bob-at-example"}, "Enter a valid email address."),
        ({"kind": "slack", "address": "http://hooks.slack.com/x"}, "Use an https:// URL"),
        ({"kind": "fax", "address": "+1 555"}, "Select a valid choice"),
        ({"kind": "webhook", "address": ""}, "This field is required"),
    ],
)
def test_adding_a_bad_contact_method_shows_the_error_and_writes_nothing(client, bob, data, message):
    client.force_login(bob)
    response = client.post(SETTINGS, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ContactMethod.objects.exists()


def test_removing_my_method_and_not_someone_elses(client, alice, bob):
    mine, hers = ContactMethodFactory(user=bob), ContactMethodFactory(user=alice)
    client.force_login(bob)
    assert client.post(reverse("oncall:contact-method-delete", args=[hers.pk])).status_code == 404
    assert client.post(reverse("oncall:contact-method-delete", args=[mine.pk])).status_code == 302
    assert list(ContactMethod.objects.all()) == [hers]


def test_saving_the_grid_routes_events(client, bob):
    a, b = ContactMethodFactory(user=bob), ContactMethodFactory(user=bob)
    NotificationRuleFactory(contact_method=a, event=Event.SWAP_TAKEN)
    client.force_login(bob)
    response = client.post(
        reverse("oncall:notification-rules"), {"event-shift_reminder": [a.pk, b.pk], "event-shift_start": [b.pk]}
    )
    assert response.status_code == 302
    routes = set(NotificationRule.objects.values_list("event", "contact_method"))
    assert routes == {("shift_reminder", a.pk), ("shift_reminder", b.pk), ("shift_start", b.pk)}


def test_a_grid_with_someone_elses_method_saves_nothing(client, alice, bob):
    mine, hers = ContactMethodFactory(user=bob), ContactMethodFactory(user=alice)
    NotificationRuleFactory(contact_method=mine, event=Event.SWAP_TAKEN)
    client.force_login(bob)
    response = client.post(
        reverse("oncall:notification-rules"),
        {"event-shift_reminder": [mine.pk], "event-swap_taken": [hers.pk]},
        follow=True,
    )
    assert "Nothing was saved" in response.content.decode()
    assert list(NotificationRule.objects.values_list("event", "contact_method")) == [("swap_taken", mine.pk)]


def test_a_grid_with_a_disabled_method_saves_nothing(client, bob):
    dead = ContactMethodFactory(user=bob, disabled_at=NOW)
    client.force_login(bob)
    response = client.post(reverse("oncall:notification-rules"), {"event-shift_reminder": [dead.pk]}, follow=True)
    assert "is disabled" in response.content.decode()
    assert not NotificationRule.objects.exists()


# --- team webhooks ---------------------------------------------------------------------


def test_a_manager_adds_a_webhook_and_sees_its_secret_once(client, alice, team_a):
    client.force_login(alice)
    response = client.post(
        webhooks_url(team_a),
        {"name": "Incidents channel", "url": "https://hooks.slack.com/services/T/B/X", "format": "slack"},
    )
    hook = TeamWebhook.objects.get(team=team_a)
    assert response.status_code == 200
    assert hook.secret in response.content.decode()
    assert (hook.name, hook.format, hook.events) == ("Incidents channel", "slack", [])
    assert hook.secret not in client.get(webhooks_url(team_a)).content.decode()


def test_a_bad_webhook_shows_the_error_and_writes_nothing(client, alice, team_a):
    client.force_login(alice)
    response = client.post(webhooks_url(team_a), {"name": "Tool", "url": "http://tool.example.com/x", "format": "json"})
    assert response.status_code == 200
    assert "Use an https:// URL" in response.content.decode()
    assert not TeamWebhook.objects.exists()


def test_a_member_sees_webhooks_but_cannot_change_them(client, bob, team_a):
    hook = TeamWebhookFactory(team=team_a, name="Ops chat")
    client.force_login(bob)
    page = client.get(webhooks_url(team_a)).content.decode()
    assert "Ops chat" in page
    assert "Add a webhook" not in page
    assert hook.secret not in page
    assert (
        client.post(webhooks_url(team_a), {"name": "x", "url": "https://x.example.com", "format": "json"}).status_code
        == 403
    )
    assert client.get(reverse("oncall:team-webhook-edit", args=[team_a.slug, hook.pk])).status_code == 403
    assert client.post(reverse("oncall:team-webhook-delete", args=[team_a.slug, hook.pk])).status_code == 403
    assert list(TeamWebhook.objects.all()) == [hook]


def test_a_manager_edits_and_switches_off_a_webhook(client, alice, team_a):
    hook = TeamWebhookFactory(team=team_a)
    client.force_login(alice)
    url = reverse("oncall:team-webhook-edit", args=[team_a.slug, hook.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"name": "Renamed", "url": hook.url, "format": "json", "events": ["swap_taken", "swap_requested"]}
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.events, hook.is_active) == ("Renamed", ["swap_requested", "swap_taken"], False)


def test_editing_with_bad_events_writes_nothing(client, alice, team_a):
    hook = TeamWebhookFactory(team=team_a, name="Before")
    client.force_login(alice)
    response = client.post(
        reverse("oncall:team-webhook-edit", args=[team_a.slug, hook.pk]),
        {"name": "After", "url": hook.url, "format": "json", "events": ["lunch"], "is_enabled": "on"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    hook.refresh_from_db()
    assert hook.name == "Before"


def test_a_manager_removes_a_webhook(client, alice, team_a):
    hook = TeamWebhookFactory(team=team_a)
    client.force_login(alice)
    assert client.post(reverse("oncall:team-webhook-delete", args=[team_a.slug, hook.pk])).status_code == 302
    assert not TeamWebhook.objects.exists()


def test_another_teams_user_gets_404_on_every_webhook_page(client, alice, charlie, team_a):
    hook = TeamWebhookFactory(team=team_a)
    client.force_login(charlie)
    edit = reverse("oncall:team-webhook-edit", args=[team_a.slug, hook.pk])
    delete = reverse("oncall:team-webhook-delete", args=[team_a.slug, hook.pk])
    assert client.get(webhooks_url(team_a)).status_code == 404
    assert (
        client.post(webhooks_url(team_a), {"name": "x", "url": "https://x.example.com", "format": "json"}).status_code
        == 404
    )
    assert client.get(edit).status_code == 404
    assert client.post(edit, {"name": "x", "url": "https://x.example.com", "format": "json"}).status_code == 404
    assert client.post(delete).status_code == 404
    assert TeamWebhook.objects.get().name == hook.name


def test_a_webhook_of_another_team_is_404_under_my_teams_url(client, alice, team_a, team_b):
    theirs = TeamWebhookFactory(team=team_b)
    client.force_login(alice)
    assert client.get(reverse("oncall:team-webhook-edit", args=[team_a.slug, theirs.pk])).status_code == 404
    assert client.post(reverse("oncall:team-webhook-delete", args=[team_a.slug, theirs.pk])).status_code == 404


# --- admin -----------------------------------------------------------------------------


def test_admin_lists_the_outbox_and_retries_failed_rows(admin_client, bob, django_capture_on_commit_callbacks):
    [row] = notify_user(user=bob, event=Event.SHIFT_REMINDER, dedup_key="k", subject="s", body="b", now=NOW)
    Notification.objects.filter(pk=row.pk).update(status="failed", last_error="Gave up: HTTP 503")
    changelist = reverse("admin:oncall_notification_changelist")
    page = admin_client.get(changelist, {"q": "k:email"})
    assert page.status_code == 200
    assert "Gave up: HTTP 503" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(changelist, {"action": "retry_now", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.status == "pending"
    assert len(callbacks) == 1
    assert admin_client.get(reverse("admin:oncall_notification_change", args=[row.pk])).status_code == 200
    for model in ("contactmethod", "notificationrule", "teamwebhook"):
        assert admin_client.get(reverse(f"admin:oncall_{model}_changelist")).status_code == 200
