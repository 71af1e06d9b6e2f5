import pytest
from rest_framework.test import APIClient

from oncall.models import Service
from oncall.services import teams as services


@pytest.fixture
def api():
    return APIClient()


def bearer(api: APIClient, raw: str) -> APIClient:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def test_api_needs_authentication(api, db):
    response = api.get("/api/v1/services/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_schema_and_docs_are_served_without_external_assets(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/services/{slug}/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn." not in html and "unpkg" not in html


def test_team_list_is_scoped_to_my_teams(api, bob, team_a, team_b):
    api.force_authenticate(bob)
    response = api.get("/api/v1/teams/")
    assert [t["slug"] for t in response.json()["results"]] == ["payments"]
    assert api.get(f"/api/v1/teams/{team_b.slug}/").status_code == 404


def test_service_list_query_count_is_flat(api, bob, team_a, django_assert_max_num_queries):
    for i in range(10):
        Service.objects.create(team=team_a, name=f"S{i}", slug=f"s-{i}")
    api.force_authenticate(bob)
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/services/")
    assert response.json()["count"] == 10


def test_member_creates_a_service_through_the_api(api, bob, team_a):
    api.force_authenticate(bob)
    response = api.post(
        "/api/v1/services/",
        {"team": "payments", "name": "Ledger", "slug": "ledger", "tier": "tier2", "runbook_logs": "loki"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["runbook_updated_by"] == "bob"
    assert Service.objects.get(slug="ledger").team == team_a


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"team": "payments", "name": "X", "slug": "Bad Slug"}, "slug"),
        ({"team": "payments", "name": "X", "slug": "payments-api"}, "slug"),
        ({"team": "payments", "name": "", "slug": "x"}, "name"),
        ({"team": "payments", "name": "X", "slug": "x", "tier": "platinum"}, "tier"),
        ({"team": "web", "name": "X", "slug": "x"}, "team"),
        ({"team": "nope", "name": "X", "slug": "x"}, "team"),
    ],
)
def test_bad_service_payload_gets_400_with_the_field_and_writes_nothing(api, bob, team_b, service_a, payload, field):
    api.force_authenticate(bob)
    before = Service.objects.count()
    response = api.post("/api/v1/services/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Service.objects.count() == before


def test_malformed_json_gets_400(api, bob):
    api.force_authenticate(bob)
    response = api.post("/api/v1/services/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_member_updates_the_runbook_through_the_api(api, bob, service_a):
    api.force_authenticate(bob)
    response = api.patch(f"/api/v1/services/{service_a.slug}/", {"runbook_failover": "flip the flag"}, format="json")
    assert response.status_code == 200
    service_a.refresh_from_db()
    assert service_a.runbook_failover == "flip the flag"
    assert service_a.runbook_updated_by == bob


def test_team_and_slug_cannot_be_changed_by_update(api, bob, service_a, team_b):
    api.force_authenticate(bob)
    api.patch(f"/api/v1/services/{service_a.slug}/", {"team": "web", "slug": "moved"}, format="json")
    service_a.refresh_from_db()
    assert (service_a.team.slug, service_a.slug) == ("payments", "payments-api")


@pytest.mark.parametrize("method", ["get", "patch", "put"])
def test_outsider_gets_404_for_another_teams_service_in_the_api(api, charlie, service_a, method):
    api.force_authenticate(charlie)
    response = getattr(api, method)(f"/api/v1/services/{service_a.slug}/", {"name": "Pwned"}, format="json")
    assert response.status_code == 404
    service_a.refresh_from_db()
    assert service_a.name == "Payments API"


def test_outsider_does_not_see_another_teams_services_in_lists(api, charlie, service_a, service_b):
    api.force_authenticate(charlie)
    slugs = [s["slug"] for s in api.get("/api/v1/services/").json()["results"]]
    assert slugs == [service_b.slug]


def test_team_scoped_token_reaches_only_its_team(api, team_a, team_b, service_a, service_b, bob):
    services.membership_set(team=team_b, user=bob)
    _token, raw = services.token_create(user=bob, name="ci", team=team_b)
    bearer(api, raw)
    slugs = [s["slug"] for s in api.get("/api/v1/services/").json()["results"]]
    assert slugs == [service_b.slug]
    assert api.get(f"/api/v1/services/{service_a.slug}/").status_code == 404
