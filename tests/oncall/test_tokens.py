import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.errors import DomainError
from oncall.models import ApiToken
from oncall.services import teams as services


def test_token_is_shown_once_and_stored_only_as_a_hash(client, bob):
    client.force_login(bob)
    response = client.post(reverse("oncall:profile"), {"name": "Alertmanager", "team": ""})
    raw = re.search(r'id="new-token">(fl_[^<]+)<', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=bob)
    stored = [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert all(raw not in value for value in stored)
    assert token.digest != raw and len(token.digest) == 64
    assert raw.encode() not in client.get(reverse("oncall:profile")).content


def test_bearer_token_authenticates_the_api_and_records_its_use(bob, service_a):
    token, raw = services.token_create(user=bob, name="terraform")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get("/api/v1/services/")
    assert response.status_code == 200
    assert response.json()["results"][0]["slug"] == service_a.slug
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_use_is_written_at_most_once_a_minute(bob, django_assert_num_queries):
    token, raw = services.token_create(user=bob, name="busy tool")
    now = timezone.now()
    services.token_authenticate(raw=raw, now=now)
    with django_assert_num_queries(1):
        assert services.token_authenticate(raw=raw, now=now + timedelta(seconds=30)) == token
    with django_assert_num_queries(2):
        services.token_authenticate(raw=raw, now=now + timedelta(minutes=2))


@pytest.mark.parametrize(
    "header",
    ["Bearer fl_not-a-real-token", "Bearer", "Bearer a b", "Token fl_nope", "Bearer ghp_somethingelse"],
)
def test_wrong_tokens_get_401(db, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    assert api.get("/api/v1/teams/").status_code == 401


def test_revoked_token_gets_401(client, bob):
    token, raw = services.token_create(user=bob, name="old")
    client.force_login(bob)
    client.post(reverse("oncall:token-revoke", args=[token.pk]))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/teams/").status_code == 401


def test_token_of_a_deactivated_user_gets_401(bob):
    _token, raw = services.token_create(user=bob, name="left the company")
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/teams/").status_code == 401


def test_revoking_twice_keeps_the_first_instant(bob):
    token, _raw = services.token_create(user=bob, name="x")
    first = timezone.now() - timedelta(hours=1)
    services.token_revoke(token=token, by=bob, now=first)
    services.token_revoke(token=token, by=bob, now=timezone.now())
    token.refresh_from_db()
    assert token.revoked_at == first


def test_outsider_cannot_revoke_someone_elses_token(client, bob, charlie):
    token, _raw = services.token_create(user=bob, name="x")
    client.force_login(charlie)
    assert client.post(reverse("oncall:token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(("name", "use_other_team"), [("   ", False), ("ok", True)])
def test_bad_token_requests_are_refused_and_write_nothing(bob, team_b, name, use_other_team):
    with pytest.raises(DomainError):
        services.token_create(user=bob, name=name, team=team_b if use_other_team else None)
    assert not ApiToken.objects.exists()


def test_token_form_offers_only_my_teams(client, bob, team_b):
    client.force_login(bob)
    response = client.post(reverse("oncall:profile"), {"name": "x", "team": team_b.pk})
    assert b"Select a valid choice" in response.content
    assert not ApiToken.objects.exists()
