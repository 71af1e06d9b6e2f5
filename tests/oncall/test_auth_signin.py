"""Sign-in throttling: failed sign-ins per username and per address answer 429 past the limit."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.contrib.auth.signals import user_login_failed
from django.test import Client

from oncall.auth import client_ip, signin_attempt, signin_password_wrong, signin_wait_seconds
from tests.factories import PASSWORD

# The start of a 15-minute window (windows are aligned to the epoch).
T0 = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
LOGIN = "/accounts/login/"
HOME = "10.0.0.7"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture(autouse=True)
def _limits(settings):
    # Every attempt checks a password: a fast hasher keeps the module quick (PBKDF2 takes ~1 s here).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FIRELINE_SIGNIN_FAILURES_PER_USERNAME = 3
    settings.FIRELINE_SIGNIN_FAILURES_PER_IP = 5
    settings.FIRELINE_SIGNIN_WINDOW_SECONDS = 15 * 60


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def sign_in(username: str, password: str, *, ip: str = HOME, path: str = LOGIN):
    client = Client(REMOTE_ADDR=ip)
    return client, client.post(path, {"username": username, "password": password})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_past_the_limit_even_the_right_password_gets_429_with_the_wait_and_nothing_changes(clock, alice):
    for _ in range(3):
        _, response = sign_in("alice", "wrong")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    failures: list[str] = []

    def record(sender, credentials, **kwargs):
        failures.append(credentials["username"])

    last_login = alice.last_login
    user_login_failed.connect(record)
    try:
        client, refused = sign_in("alice", PASSWORD)
    finally:
        user_login_failed.disconnect(record)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "900"
    text = refused.content.decode()
    assert "Too many failed sign-ins for this username or from your address. Try again in 15 minutes" in text
    assert not signed_in(client)
    alice.refresh_from_db()
    assert alice.last_login == last_login
    assert failures == []  # the password was not even checked
    # A refused attempt is not another failure: the wait does not grow.
    assert signin_wait_seconds(username="alice", ip=HOME, now=T0 + dt.timedelta(minutes=14)) == 60


def test_another_person_signs_in_from_the_same_address_while_one_username_is_blocked(clock, alice, bob):
    for _ in range(3):
        sign_in("alice", "wrong")
    assert sign_in("alice", PASSWORD)[1].status_code == 429

    client, response = sign_in("bob", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_usernames_count_whatever_their_case_and_whether_or_not_they_exist(clock, alice):
    for username in ("Alice", "ALICE", "alice "):
        sign_in(username, "wrong")
    assert sign_in("alice", PASSWORD)[1].status_code == 429
    for _ in range(3):
        sign_in("nobody-by-that-name", "guess", ip="10.0.0.8")
    assert sign_in("nobody-by-that-name", "guess", ip="10.0.0.9")[1].status_code == 429


def test_one_address_trying_many_usernames_is_blocked_for_everyone_there(clock, alice, bob):
    for n in range(5):
        sign_in(f"guess{n}", "wrong")

    assert sign_in("bob", PASSWORD)[1].status_code == 429
    client, elsewhere = sign_in("bob", PASSWORD, ip="192.0.2.10")
    assert elsewhere.status_code == 302 and signed_in(client)


def test_the_block_ends_with_the_window(clock, alice):
    for _ in range(3):
        sign_in("alice", "wrong")
    assert sign_in("alice", PASSWORD)[1].status_code == 429

    clock.move_to(T0 + dt.timedelta(minutes=15))

    client, response = sign_in("alice", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_a_successful_sign_in_clears_the_usernames_failures(clock, alice):
    for _ in range(2):
        sign_in("alice", "wrong")
    assert sign_in("alice", PASSWORD)[1].status_code == 302
    for _ in range(2):
        assert sign_in("alice", "wrong")[1].status_code == 200
    assert sign_in("alice", PASSWORD)[1].status_code == 302


def test_the_admin_sign_in_is_throttled_too(clock, alice):
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    for _ in range(3):
        assert sign_in("alice", "wrong", path="/admin/login/")[1].status_code == 200

    client, refused = sign_in("alice", PASSWORD, path="/admin/login/")

    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    assert not signed_in(client)


def test_a_non_staff_persons_right_password_on_the_admin_form_is_not_a_failure(clock, bob):
    for _ in range(4):
        assert sign_in("bob", PASSWORD, path="/admin/login/")[1].status_code == 200
    assert signin_wait_seconds(username="bob", ip=HOME, now=T0) == 0


def test_failures_are_counted_in_the_shared_window_not_per_request(alice):
    for _ in range(3):
        assert signin_attempt(username="alice", ip=HOME, now=T0) == 0
        signin_password_wrong(ip=HOME, now=T0)
    assert signin_wait_seconds(username="alice", ip=HOME, now=T0 + dt.timedelta(minutes=5)) == 600
    assert signin_wait_seconds(username="alice", ip=HOME, now=T0 + dt.timedelta(minutes=15)) == 0


def test_the_client_address_trusts_x_forwarded_for_only_with_proxies_configured(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.NUM_PROXIES = 0
    assert client_ip(request) == "10.1.1.1"
    settings.NUM_PROXIES = 1
    assert client_ip(request) == "203.0.113.9"


def test_a_burst_of_attempts_gets_exactly_the_limit_of_password_checks(alice):
    # Fifty attempts in flight at once: each is counted before its password is checked.
    with ThreadPoolExecutor(max_workers=10) as pool:
        waits = list(pool.map(lambda _: signin_attempt(username="alice", ip=HOME, now=T0), range(50)))

    assert waits.count(0) == 3
    assert all(wait == 900 for wait in waits if wait)


def test_retrying_while_blocked_does_not_use_up_the_addresss_allowance(clock, alice, bob):
    for _ in range(3):
        sign_in("alice", "wrong")
    for _ in range(5):
        assert sign_in("alice", PASSWORD)[1].status_code == 429

    client, response = sign_in("bob", PASSWORD)
    assert response.status_code == 302 and signed_in(client)
    # Three failures from this address so far: two more guesses block it.
    for n in range(2):
        assert sign_in(f"guess{n}", "wrong")[1].status_code == 200
    assert sign_in("bob", PASSWORD)[1].status_code == 429
