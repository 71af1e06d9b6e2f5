"""Status page writes: component intervals, notices, maintenance windows and subscriptions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail

from config.errors import ConflictError, DomainError
from incidents.models import TimelineEntry
from incidents.services import incident_declare
from oncall.models import Notification
from oncall.services.notifications import notification_deliver
from statuspage import services
from statuspage.models import ComponentStatusInterval, Notice, NoticeUpdate, Subscriber
from tests.statuspage.conftest import T0, get

MIN = dt.timedelta(minutes=1)


def _intervals(component):
    return list(
        ComponentStatusInterval.objects.filter(component=component)
        .order_by("started_at")
        .values_list("status", "started_at", "ended_at")
    )


def _deliver_all():
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(notification_id=pk)


# --- components -------------------------------------------------------------------------------


def test_a_status_change_closes_one_interval_and_opens_the_next(components, bob):
    checkout = components["checkout"]
    assert services.component_set_status(component=checkout, status="partial_outage", by=bob, now=T0 + 10 * MIN)
    assert services.component_set_status(component=checkout, status="operational", by=bob, now=T0 + 40 * MIN)
    assert _intervals(checkout) == [
        ("operational", T0, T0 + 10 * MIN),
        ("partial_outage", T0 + 10 * MIN, T0 + 40 * MIN),
        ("operational", T0 + 40 * MIN, None),
    ]


def test_setting_the_same_status_confirms_it_without_a_new_interval(components, bob):
    checkout = components["checkout"]
    services.component_set_status(component=checkout, status="partial_outage", by=bob, now=T0 + MIN)
    changed = services.component_set_status(component=checkout, status="partial_outage", by=bob, now=T0 + 30 * MIN)
    checkout.refresh_from_db()
    assert changed is False
    assert checkout.status_changed_at == T0 + 30 * MIN
    assert len(_intervals(checkout)) == 2


def test_an_unknown_status_is_refused_and_nothing_changes(components, bob):
    with pytest.raises(DomainError, match="not a component status"):
        services.component_set_status(component=components["api"], status="on_fire", by=bob, now=T0 + MIN)
    components["api"].refresh_from_db()
    assert components["api"].status == "operational"
    assert len(_intervals(components["api"])) == 1


def test_someone_outside_the_page_teams_cannot_set_a_status(components, charlie):
    with pytest.raises(DomainError, match="Only members"):
        services.component_set_status(component=components["api"], status="major_outage", by=charlie)
    components["api"].refresh_from_db()
    assert components["api"].status == "operational"


def test_a_duplicate_component_name_is_refused(page, components):
    with pytest.raises(DomainError, match="already has a component"):
        services.component_create(page=page, name="Checkout")


# --- notices ----------------------------------------------------------------------------------


def _open(page, components, bob, **extra):
    fields = {
        "page": page,
        "title": "Card payments failing",
        "impact": "major",
        "status": "investigating",
        "body": "We are looking into failed payments.",
        "by": bob,
        "statuses": {components["checkout"]: "partial_outage"},
        "now": T0 + 5 * MIN,
    }
    return services.notice_create(**{**fields, **extra})


def test_a_notice_records_its_first_update_and_the_component_change(page, components, bob):
    notice = _open(page, components, bob)
    update = notice.updates.get()
    assert update.status == "investigating"
    assert update.affected_components == [
        {
            "code": components["checkout"].public_id,
            "name": "Checkout",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    assert list(notice.components.all()) == [components["checkout"]]


def test_resolving_stamps_the_time_and_reopening_clears_it(page, components, bob):
    notice = _open(page, components, bob)
    services.notice_update(notice=notice, status="monitoring", body="Fix is out.", by=bob, now=T0 + 20 * MIN)
    services.notice_update(notice=notice, status="resolved", body="All good.", by=bob, now=T0 + 50 * MIN)
    notice.refresh_from_db()
    assert (notice.monitoring_at, notice.resolved_at) == (T0 + 20 * MIN, T0 + 50 * MIN)
    services.notice_update(notice=notice, status="identified", body="It is back.", by=bob, now=T0 + 60 * MIN)
    notice.refresh_from_db()
    assert notice.resolved_at is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "  "}, "title"),
        ({"body": ""}, "message customers will read"),
        ({"body": "x" * 5001}, "under 5000"),
        ({"impact": "apocalyptic"}, "not an impact"),
        ({"status": "resolved"}, "starts open"),
        ({"status": "in_progress"}, "not a status of an incident"),
    ],
)
def test_a_bad_notice_is_refused_and_nothing_is_written(page, components, bob, change, message):
    with pytest.raises(DomainError, match=message):
        _open(page, components, bob, **change)
    assert not Notice.objects.exists()
    assert not NoticeUpdate.objects.exists()
    components["checkout"].refresh_from_db()
    assert components["checkout"].status == "operational"


def test_a_component_of_another_page_is_refused(page, components, bob, team_a):
    from statuspage.models import StatusPage

    other = StatusPage.objects.create(name="Other", host="other.status.localhost")
    other.teams.set([team_a])
    foreign = services.component_create(page=other, name="Elsewhere")
    with pytest.raises(DomainError, match="Not components of Acme"):
        _open(page, components, bob, statuses={foreign: "major_outage"})
    foreign.refresh_from_db()
    assert foreign.status == "operational"
    assert not Notice.objects.filter(page=page).exists()


def test_a_closed_notice_takes_no_more_updates(page, components, bob):
    notice = _open(page, components, bob)
    services.notice_update(notice=notice, status="resolved", body="Fixed.", by=bob, now=T0 + 30 * MIN)
    services.notice_update(notice=notice, status="postmortem", body="Review published.", by=bob, now=T0 + 90 * MIN)
    with pytest.raises(ConflictError, match="closed"):
        services.notice_update(notice=notice, status="investigating", body="Again?", by=bob, now=T0 + 99 * MIN)
    assert notice.updates.count() == 3


def test_a_notice_linked_to_an_incident_writes_to_its_timeline(page, components, bob, team_a, service_a):
    incident = incident_declare(team=team_a, title="Checkout 500s", severity=1, by=bob, services=[service_a], now=T0)
    _open(page, components, bob, incident=incident)
    entry = TimelineEntry.objects.filter(incident=incident, kind="update").get()
    assert "Customer update on Acme" in entry.text
    assert "We are looking into failed payments." in entry.text


def test_an_incident_of_a_team_not_on_the_page_cannot_be_linked(page, components, bob, team_b, charlie):
    incident = incident_declare(team=team_b, title="Web down", severity=2, by=charlie, now=T0)
    with pytest.raises(DomainError, match="does not publish on that page"):
        _open(page, components, bob, incident=incident)
    assert not Notice.objects.exists()


# --- maintenance ------------------------------------------------------------------------------


def _maintenance(page, components, bob, start=T0 + dt.timedelta(days=2)):
    return services.maintenance_schedule(
        page=page,
        title="Database upgrade",
        body="The API may be slow for a few minutes.",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
        components=[components["api"]],
        by=bob,
        now=T0,
    )


def test_the_beat_starts_and_completes_a_window_once(page, components, bob):
    notice = _maintenance(page, components, bob)
    start = notice.scheduled_for
    assert services.run_maintenance_windows(now=start - MIN) == 0
    assert services.run_maintenance_windows(now=start) == 1
    assert services.run_maintenance_windows(now=start + MIN) == 0
    components["api"].refresh_from_db()
    assert (components["api"].status, components["api"].status_source) == ("under_maintenance", "maintenance")
    assert services.run_maintenance_windows(now=start + dt.timedelta(hours=1)) == 1
    assert services.run_maintenance_windows(now=start + dt.timedelta(hours=2)) == 0
    notice.refresh_from_db()
    components["api"].refresh_from_db()
    assert notice.status == "completed"
    assert components["api"].status == "operational"
    assert [u.status for u in notice.updates.order_by("created_at")] == ["scheduled", "in_progress", "completed"]


def test_completing_a_window_leaves_a_component_someone_marked_broken(page, components, bob):
    notice = _maintenance(page, components, bob)
    services.run_maintenance_windows(now=notice.scheduled_for)
    services.component_set_status(
        component=components["api"], status="major_outage", by=bob, now=notice.scheduled_for + MIN
    )
    services.run_maintenance_windows(now=notice.scheduled_until)
    components["api"].refresh_from_db()
    assert components["api"].status == "major_outage"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (T0 + 2 * MIN, T0 + MIN, "end after it starts"),
        (T0 - 2 * dt.timedelta(hours=2), T0 - dt.timedelta(hours=1), "already over"),
    ],
)
def test_a_bad_window_is_refused(page, components, bob, start, end, message):
    with pytest.raises(DomainError, match=message):
        services.maintenance_schedule(
            page=page, title="X", body="Y", scheduled_for=start, scheduled_until=end, components=[], by=bob, now=T0
        )
    assert not Notice.objects.exists()


def test_upcoming_maintenance_shows_ahead_of_time(client, page, components, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notice = _maintenance(page, components, bob, start=dt.datetime(2030, 1, 5, 2, tzinfo=dt.UTC))
    upcoming = get(client, "/api/v2/scheduled-maintenances/upcoming.json").json()["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == [notice.public_id]
    assert "Database upgrade" in get(client, "/").content.decode()


# --- subscriptions ------------------------------------------------------------------------------


def _link(body: str, path: str) -> str:
    match = re.search(rf"https?://[^\s]+{path}/[^\s]+", body)
    assert match, body
    return match.group(0)


def test_double_opt_in_and_unsubscribe_end_to_end(
    client, page, components, bob, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post("/subscribe", {"email": "Dee@Example.COM"}, HTTP_HOST="status.localhost")
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    _deliver_all()
    (confirm_mail,) = mail.outbox
    assert confirm_mail.to == ["Dee@example.com"]
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is None

    # Not yet confirmed: no notice reaches the address.
    _open(page, components, bob)
    assert services.run_subscriber_updates(now=T0 + 6 * MIN) == 1  # the worker's job, a minute on
    _deliver_all()
    assert len(mail.outbox) == 1

    confirm_path = _link(confirm_mail.body, "/subscribe/confirm").split("localhost", 1)[1].lstrip(":0123456789")
    # Opening the link only asks (mail scanners open links); the POST confirms.
    assert "Confirm" in client.get(confirm_path, HTTP_HOST="status.localhost").content.decode()
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    assert client.post(confirm_path, HTTP_HOST="status.localhost").status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is not None

    notice = Notice.objects.get()
    services.notice_update(notice=notice, status="resolved", body="Payments work again.", by=bob, now=T0 + 40 * MIN)
    # The worker writes subscribers' mail after commit; here the beat's sweep does, a minute on.
    assert services.run_subscriber_updates(now=T0 + 40 * MIN) == 0
    assert services.run_subscriber_updates(now=T0 + 41 * MIN) == 1
    _deliver_all()
    update_mail = mail.outbox[-1]
    assert "Payments work again." in update_mail.body
    assert update_mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = _link(update_mail.body, "/unsubscribe")
    path = unsubscribe_url.split("localhost", 1)[1].lstrip(":0123456789")
    # Opening the link only asks (mail scanners open links); the POST unsubscribes.
    assert "Unsubscribe" in client.get(path, HTTP_HOST="status.localhost").content.decode()
    assert Subscriber.objects.exists()
    assert client.post(path, HTTP_HOST="status.localhost").status_code == 200
    assert not Subscriber.objects.exists()


def test_subscribers_to_other_components_are_not_told(page, components, bob, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = T0
    for email, chosen in [
        ("all@example.com", []),
        ("api@example.com", [components["api"]]),
        ("pay@example.com", [components["checkout"]]),
    ]:
        services.subscription_request(page=page, email=email, components=chosen, now=now)
    Subscriber.objects.update(confirmed_at=now)
    notice = _open(page, components, bob)
    services.subscribers_notify(update_id=notice.updates.get().pk)
    told = set(
        Notification.objects.filter(dedup_key__startswith="status:update:").values_list("email_address", flat=True)
    )
    assert told == {"all@example.com", "pay@example.com"}


def test_one_confirmation_a_day_whatever_is_asked(page):
    for _ in range(3):
        services.subscription_request(page=page, email="dee@example.com", now=T0)
    services.subscription_request(page=page, email="dee@example.com", now=T0 + dt.timedelta(days=1))
    assert Notification.objects.filter(event="status_subscription").count() == 2


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "x" * 300 + "@example.com"])
def test_a_bad_address_gets_a_clear_error_and_nothing_is_written(client, page, email):
    response = client.post("/subscribe", {"email": email}, HTTP_HOST="status.localhost")
    assert response.status_code == 400
    assert "valid email" in response.content.decode()
    assert not Subscriber.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("token", ["garbage", "eyJzIjoxfQ:1tYx:bad"])
def test_a_forged_link_is_refused(client, page, token):
    assert client.post(f"/subscribe/confirm/{token}", HTTP_HOST="status.localhost").status_code == 400
    assert client.post(f"/unsubscribe/{token}", HTTP_HOST="status.localhost").status_code == 400


def test_a_confirmation_link_expires(page):
    services.subscription_request(page=page, email="dee@example.com", now=T0)
    token = re.search(r"/subscribe/confirm/(\S+)", Notification.objects.get().body).group(1)
    import time_machine

    with (
        time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=4)),
        pytest.raises(DomainError, match="expired"),
    ):
        services.subscription_confirm(token=token)


def test_subscribing_sets_no_cookie_and_needs_no_csrf_token(page):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/subscribe", {"email": "dee@example.com"}, HTTP_HOST="status.localhost")
    assert response.status_code == 200
    assert not response.cookies


def test_a_component_under_two_overlapping_windows_stays_in_maintenance_until_the_last_ends(page, components, bob):
    first = _maintenance(page, components, bob)
    second = services.maintenance_schedule(
        page=page,
        title="Network work",
        body="Brief blips.",
        scheduled_for=first.scheduled_for + dt.timedelta(minutes=30),
        scheduled_until=first.scheduled_until + dt.timedelta(hours=1),
        components=[components["api"]],
        by=bob,
        now=T0,
    )
    services.run_maintenance_windows(now=second.scheduled_for)
    services.run_maintenance_windows(now=first.scheduled_until)
    components["api"].refresh_from_db()
    assert components["api"].status == "under_maintenance"
    services.run_maintenance_windows(now=second.scheduled_until)
    components["api"].refresh_from_db()
    assert components["api"].status == "operational"


def test_a_window_left_verifying_completes_at_its_end(page, components, bob):
    notice = _maintenance(page, components, bob)
    services.run_maintenance_windows(now=notice.scheduled_for)
    services.maintenance_transition(
        notice=notice, status="verifying", body="Checking.", by=bob, now=notice.scheduled_for + MIN
    )
    assert services.run_maintenance_windows(now=notice.scheduled_until) == 1
    notice.refresh_from_db()
    components["api"].refresh_from_db()
    assert (notice.status, components["api"].status) == ("completed", "operational")
