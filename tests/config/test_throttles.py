"""API rate limits: per token, per signed-in person, and per integration for the alert intake."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from oncall.services.intake import integration_create
from oncall.services.teams import token_create

# 20 seconds into a minute: every 429 below must say 40 seconds.
T0 = dt.datetime(2027, 3, 1, 10, 0, 20, tzinfo=dt.UTC)
URL = "/api/v1/incidents/"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.FIRELINE_API_TOKEN_REQUESTS_PER_MINUTE = 3
    settings.FIRELINE_API_USER_REQUESTS_PER_MINUTE = 2


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def with_token(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_token_past_its_limit_gets_429_saying_how_long_to_wait(clock, alice):
    _, raw = token_create(user=alice, name="ci")
    client = with_token(raw)
    assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(URL)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert refused.json() == {"detail": "More than 3 requests this minute with this token; try again in 40 seconds."}


def test_each_token_and_the_persons_session_have_their_own_budget(clock, alice):
    _, first = token_create(user=alice, name="ci")
    _, second = token_create(user=alice, name="grafana")
    for _ in range(4):
        with_token(first).get(URL)
    assert with_token(first).get(URL).status_code == 429

    assert with_token(second).get(URL).status_code == 200
    assert signed_in(alice).get(URL).status_code == 200


def test_a_signed_in_person_past_the_limit_gets_429_and_others_do_not(clock, alice, bob):
    client = signed_in(alice)
    assert [client.get(URL).status_code for _ in range(2)] == [200, 200]

    refused = client.get(URL)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert refused.json()["detail"] == "More than 2 requests this minute from your account; try again in 40 seconds."
    assert signed_in(bob).get(URL).status_code == 200


def test_the_limit_starts_again_with_the_next_minute(clock, alice):
    client = signed_in(alice)
    for _ in range(3):
        client.get(URL)
    assert client.get(URL).status_code == 429

    clock.move_to(T0 + dt.timedelta(seconds=40))

    assert client.get(URL).status_code == 200


def test_requests_without_credentials_are_answered_401_and_not_counted(clock):
    client = Client()
    assert {client.get(URL).status_code for _ in range(5)} == {401}


def test_the_alert_intake_is_limited_per_integration_and_says_how_long_to_wait(clock, service_a, alice):
    noisy, noisy_key = integration_create(
        service=service_a, name="Noisy", kind="generic", by=alice, rate_limit_per_minute=2
    )
    quiet, quiet_key = integration_create(service=service_a, name="Quiet", kind="generic", by=alice)

    def post(integration, key):
        path = reverse("integration-alerts", kwargs={"public_id": integration.public_id})
        body = json.dumps({"title": "Disk full", "dedup_key": "disk"})
        return Client().post(path, body, "application/json", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert [post(noisy, noisy_key).status_code for _ in range(2)] == [202, 202]
    refused = post(noisy, noisy_key)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert refused.json() == {
        "detail": "More than 2 requests this minute for this integration; try again in 40 seconds."
    }
    assert post(quiet, quiet_key).status_code == 202
