"""From a tool's HTTP post to bob's inbox, through a real Celery worker."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from oncall.models import Alert, EscalationPolicy, Layer, LayerParticipant, Notification, Page, Schedule
from oncall.models.notifications import Event
from oncall.services.intake import integration_create
from tests.oncall.intake_payloads import alertmanager, encoded
from tests.oncall.paging_fixtures import add_step


def wait_for_mail(count: int, timeout: float = 60.0) -> list[mail.EmailMessage]:
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return list(mail.outbox)


def bob_always_primary(team, bob) -> Layer:
    """A one-person primary layer started last week, so bob is on call whenever the test runs."""
    schedule = Schedule.objects.create(team=team, name="Payments", slug="payments-e2e", time_zone=team.time_zone)
    layer = Layer.objects.create(
        schedule=schedule,
        name="Primary",
        position=1,
        shift_unit=Layer.Unit.WEEKS,
        rotation_start_date=timezone.localdate() - dt.timedelta(days=7),
    )
    LayerParticipant.objects.create(layer=layer, user=bob, position=0)
    return layer


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_alert_posted_over_http_pages_bob_by_email_through_a_real_worker(client, team_a, service_a, alice, bob):
    policy = EscalationPolicy.objects.create(team=team_a, name="Payments standard", repeats=0)
    add_step(policy, ("layer", bob_always_primary(team_a, bob)), wait=5)
    service_a.escalation_policy = policy
    service_a.save(update_fields=["escalation_policy"])
    integration, key = integration_create(service=service_a, name="Alertmanager", kind="alertmanager", by=alice)
    path = reverse("integration-alerts", kwargs={"public_id": integration.public_id})

    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        response = client.post(path, encoded(alertmanager()), "application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 202, response.content
        [message] = wait_for_mail(1)

    assert message.to == [bob.email]
    assert "Checkout error rate above 5%" in message.subject
    assert "acknowledge" in message.body.lower()
    page = Page.objects.get(alert=Alert.objects.get())
    row = Notification.objects.get(event=Event.PAGE, recipient=bob)
    assert row.status == "sent"
    assert page.events.filter(kind="notified", user=bob).exists()
