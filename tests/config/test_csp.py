"""Content-Security-Policy: every portal page carries the strict policy and needs nothing inline.

The browser proof (nothing a page needs is blocked) is tests/e2e/test_csp_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.urls import reverse

from config.middleware import STATUS_HOST_POLICY
from incidents import services as incidents
from oncall.services.intake import integration_create
from oncall.services.schedules import layer_create, schedule_create
from postmortems import services as postmortems
from statuspage import publishing, snapshots
from statuspage.models import StatusPage

HEADER = "Content-Security-Policy"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
# The status host's public pages are served from snapshots with their own policy, which
# allows their deliberate inline <style>.
STATUS_PUBLIC = TEMPLATES / "statuspage" / "public"
# Script elements with code in them; json_script's data blocks are not run.
INLINE_SCRIPT = re.compile(r'<script\b(?![^>]*\b(?:src=|type="application/json"))[^>]*>', re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_strict(policy: str, *, inline_style: bool = False) -> None:
    got = directives(policy)
    assert got["default-src"] == ["'self'"]
    assert got["script-src"] == ["'self'"]
    assert got["object-src"] == ["'none'"]
    assert got["base-uri"] == ["'none'"]
    assert got["form-action"] == ["'self'"]
    assert got["frame-ancestors"] == ["'none'"]
    assert ("'unsafe-inline'" in got["style-src"]) is inline_style
    assert "'unsafe-eval'" not in policy


@pytest.fixture
def portal(team_a, alice, bob, service_a):
    """One of each kind of thing a team has, so its pages render with content."""
    incident = incidents.incident_declare(team=team_a, title="Checkout errors", severity=2, by=alice)
    resolved = incidents.incident_declare(team=team_a, title="Payouts late", severity=1, by=alice)
    incidents.incident_resolve(incident=resolved, by=alice, reason="Queue drained")
    postmortem = postmortems.postmortem_create(incident=resolved)
    schedule = schedule_create(team=team_a, name="Payments primary", slug="payments-primary", by=alice)
    layer_create(
        schedule=schedule,
        name="Primary",
        rotation_start_date=incident.declared_at.date(),
        participants=[alice, bob],
        by=alice,
    )
    integration_create(service=service_a, name="Alertmanager", kind="alertmanager", by=alice)
    page = StatusPage.objects.create(name="Acme", host="status.localhost")
    page.teams.set([team_a])
    return {"incident": incident, "postmortem": postmortem, "schedule": schedule, "page": page}


def representative_urls(team_a, service_a, portal) -> list[str]:
    number = portal["incident"].number
    return [
        reverse("oncall:home"),
        reverse("oncall:team-list"),
        reverse("oncall:team-detail", args=[team_a.slug]),
        reverse("oncall:service-list"),
        reverse("oncall:service-detail", args=[service_a.slug]),
        reverse("oncall:profile"),
        reverse("oncall:notification-settings"),
        reverse("oncall:schedule-detail", args=[portal["schedule"].slug]),
        reverse("oncall:my-shifts"),
        reverse("oncall:team-pages", args=[team_a.slug]),
        reverse("oncall:policy-list", args=[team_a.slug]),
        reverse("oncall:team-alerts", args=[team_a.slug]),
        reverse("oncall:team-comp-time", args=[team_a.slug]),
        reverse("oncall:team-load", args=[team_a.slug]),
        reverse("incidents:index"),
        reverse("incidents:list"),
        reverse("incidents:declare"),
        reverse("incidents:metrics"),
        reverse("incidents:detail", args=[number]),
        reverse("postmortems:index"),
        reverse("postmortems:action-items"),
        reverse("postmortems:overdue"),
        reverse("postmortems:detail", args=[portal["postmortem"].incident.number]),
        reverse("postmortems:print", args=[portal["postmortem"].incident.number]),
        reverse("statuspage:index"),
        reverse("statuspage:page", args=[portal["page"].public_id]),
        reverse("password_change"),
        reverse("api-docs"),
        reverse("admin:index"),
        reverse("admin:oncall_team_changelist"),
        reverse("admin:oncall_team_change", args=[team_a.pk]),
        reverse("admin:django_celery_beat_periodictask_add"),
    ]


@pytest.mark.django_db
def test_every_portal_page_carries_the_strict_policy_and_nothing_inline(client, team_a, service_a, alice, portal):
    alice.is_staff = alice.is_superuser = True
    alice.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(alice)
    for url in representative_urls(team_a, service_a, portal):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.has_header(HEADER), url
        assert_strict(response[HEADER])
        html = response.content.decode()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
            assert not pattern.search(html), f"{url}: {pattern.search(html).group(0)}"


@pytest.mark.django_db
def test_signed_out_pages_and_errors_carry_the_policy(client):
    for url, code in (
        (reverse("login"), 200),
        (reverse("password_reset"), 200),
        ("/admin/login/", 200),
        ("/no-such-page/", 404),
        ("/api/v1/incidents/", 401),
    ):
        response = client.get(url)
        assert response.status_code == code, url
        assert_strict(response[HEADER])


@pytest.mark.django_db
def test_swagger_ui_loads_its_setup_script_from_its_own_url(client, alice):
    client.force_login(alice)
    page = client.get(reverse("api-docs"))
    assert_strict(page[HEADER])
    script_src = re.findall(r'<script src="([^"]+)"', page.content.decode())
    assert "/api/docs/?script=" in script_src
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_redoc_alone_may_use_inline_styles_and_a_blob_worker_and_loads_no_other_host(client, alice):
    client.force_login(alice)
    response = client.get(reverse("api-redoc"))
    assert response.status_code == 200
    assert_strict(response[HEADER], inline_style=True)
    assert directives(response[HEADER])["worker-src"] == ["'self'", "blob:"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html) and "https://" not in html


def test_templates_hold_no_inline_script_handler_or_style_outside_the_public_status_page():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        if STATUS_PUBLIC in path.parents:
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
            found += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert found == []


# --- the status host keeps its own policy ----------------------------------------------------


@pytest.fixture
def status_page(team_a):
    caches[snapshots.CACHE_ALIAS].clear()
    snapshots._local.clear()
    page = StatusPage.objects.create(name="Acme", host="status.localhost")
    page.teams.set([team_a])
    publishing.page_publish(page_id=page.pk)
    yield page
    snapshots._local.clear()


def _on_status_host(client, method: str, path: str, **data):
    return getattr(client, method)(path, data, HTTP_HOST="status.localhost:8000")


@pytest.mark.django_db
def test_status_snapshots_keep_their_own_single_policy(client, status_page):
    response = _on_status_host(client, "get", "/")
    assert response.status_code == 200
    assert response.headers[HEADER] == STATUS_HOST_POLICY
    assert "'unsafe-inline'" in directives(response[HEADER])["style-src"]
    assert [name for name in response.headers if name.lower() == HEADER.lower()] == [HEADER]


@pytest.mark.django_db
def test_pages_django_renders_on_the_status_host_get_the_status_policy_not_the_portals(client, status_page):
    response = _on_status_host(client, "post", "/subscribe", email="not-an-address")
    assert response.status_code == 400
    assert STYLE_ELEMENT.search(response.content.decode())  # the message page's inline style...
    assert response[HEADER] == STATUS_HOST_POLICY  # ...is allowed there, by the status policy
    assert not response.cookies
