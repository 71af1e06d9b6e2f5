import re

import pytest
from django.urls import reverse

from oncall.models import Service
from tests.factories import PASSWORD, ServiceFactory

PORTAL_PAGES = [
    ("oncall:home", {}),
    ("oncall:team-list", {}),
    ("oncall:service-list", {}),
    ("oncall:service-create", {}),
    ("oncall:profile", {}),
    ("incidents:index", {}),
    ("postmortems:index", {}),
    ("statuspage:index", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs"), PORTAL_PAGES)
def test_portal_pages_require_sign_in(client, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(("name", "kwargs"), PORTAL_PAGES)
def test_portal_pages_render_for_a_member(client, bob, service_a, name, kwargs):
    client.force_login(bob)
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert b'href="/static/bootstrap/css/bootstrap.min.css"' in response.content


def test_sign_in_with_password_lands_on_the_dashboard_with_my_teams(client, bob, service_a, team_b):
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("oncall:home")
    assert b"Payments API" in response.content
    assert team_b.name.encode() not in response.content


def test_wrong_password_shows_an_error_and_signs_nobody_in(client, bob):
    response = client.post(reverse("login"), {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_dashboard_has_a_helpful_empty_state_for_someone_on_no_team(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("newbie", password=PASSWORD))
    response = client.get(reverse("oncall:home"))
    assert b"You are not on a team yet" in response.content


def test_dashboard_query_count_does_not_grow_with_services(client, bob, team_a, django_assert_max_num_queries):
    ServiceFactory.create_batch(8, team=team_a)
    client.force_login(bob)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("oncall:home"))
    assert response.content.count(b"/services/") >= 8


def test_member_edits_the_runbook_and_is_recorded_as_its_author(client, bob, service_a):
    client.force_login(bob)
    response = client.post(
        reverse("oncall:service-edit", args=[service_a.slug]),
        {"name": "Payments API", "tier": "tier1", "runbook_rollback": "helm rollback payments-api"},
    )
    assert response.status_code == 302
    service_a.refresh_from_db()
    assert service_a.runbook_rollback == "helm rollback payments-api"
    assert service_a.runbook_updated_by == bob
    assert service_a.runbook_updated_at is not None


def test_edit_with_an_empty_name_shows_the_field_error_and_writes_nothing(client, bob, service_a):
    client.force_login(bob)
    response = client.post(
        reverse("oncall:service-edit", args=[service_a.slug]),
        {"name": "", "tier": "tier1", "runbook_rollback": "changed"},
    )
    assert response.status_code == 200
    assert b"This field is required" in response.content
    service_a.refresh_from_db()
    assert service_a.name == "Payments API"
    assert service_a.runbook_rollback == ""


def test_member_adds_a_service_to_their_team(client, bob, team_a):
    client.force_login(bob)
    response = client.post(
        reverse("oncall:service-create"),
        {"team": team_a.pk, "name": "Ledger", "slug": "ledger", "tier": "tier2", "runbook_logs": "kubectl logs"},
    )
    assert response.status_code == 302
    service = Service.objects.get(slug="ledger")
    assert service.team == team_a
    assert service.runbook_updated_by == bob


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Ledger", "slug": "Payments-API", "tier": "tier2"}, b"lowercase letters"),
        ({"name": "Ledger", "slug": "payments-api", "tier": "tier2"}, b"already exists"),
        ({"name": "Ledger", "slug": "new", "tier": "tier2"}, b"reserved"),
        ({"name": "Ledger", "slug": "ledger", "tier": "tier9"}, b"Select a valid choice"),
    ],
)
def test_bad_service_input_shows_a_clear_error_and_writes_nothing(client, bob, team_a, service_a, data, message):
    client.force_login(bob)
    before = Service.objects.count()
    response = client.post(reverse("oncall:service-create"), {"team": team_a.pk, **data})
    assert response.status_code == 200
    assert message in response.content
    assert Service.objects.count() == before


def test_service_cannot_be_added_to_another_team(client, charlie, team_a):
    client.force_login(charlie)
    response = client.post(
        reverse("oncall:service-create"), {"team": team_a.pk, "name": "Sneaky", "slug": "sneaky", "tier": "tier2"}
    )
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert not Service.objects.filter(slug="sneaky").exists()


@pytest.mark.parametrize("name", ["oncall:service-detail", "oncall:service-edit"])
def test_outsider_gets_404_for_another_teams_service(client, charlie, service_a, name):
    client.force_login(charlie)
    assert client.get(reverse(name, args=[service_a.slug])).status_code == 404


def test_outsider_cannot_edit_another_teams_service(client, charlie, service_a):
    client.force_login(charlie)
    response = client.post(reverse("oncall:service-edit", args=[service_a.slug]), {"name": "Pwned", "tier": "tier3"})
    assert response.status_code == 404
    service_a.refresh_from_db()
    assert service_a.name == "Payments API"


def test_outsider_gets_404_for_another_team(client, charlie, team_a):
    client.force_login(charlie)
    assert client.get(reverse("oncall:team-detail", args=[team_a.slug])).status_code == 404


def test_service_list_shows_only_my_teams_services(client, bob, service_a, service_b):
    client.force_login(bob)
    response = client.get(reverse("oncall:service-list"))
    assert service_a.name.encode() in response.content
    assert service_b.name.encode() not in response.content


def test_profile_rejects_an_invalid_time_zone(client, bob):
    client.force_login(bob)
    response = client.post(reverse("oncall:profile"), {"save_profile": "1", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert b"is not an IANA time zone" in response.content
    bob.refresh_from_db()
    assert bob.time_zone == "UTC"


def test_password_reset_mails_a_working_link(client, bob, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": bob.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mailoutbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"},
    )
    assert done.status_code == 302
    bob.refresh_from_db()
    assert bob.check_password("a-new-long-passphrase")


def test_password_reset_for_an_unknown_address_sends_nothing(client, db, mailoutbox):
    client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert mailoutbox == []
