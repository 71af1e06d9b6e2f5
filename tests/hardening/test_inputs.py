"""Bad input at the API, the alert intake and the portal: a clear 4xx, and nothing written.

Every refusal is checked against a count of every table of the four apps before and after, so
"nothing written" covers side effects too (timeline entries, notifications, pages).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

import feedparser
import pytest
from django.apps import apps
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from oncall import channels
from oncall.models import Alert, Notification
from oncall.services import intake as intake_services
from oncall.services import notifications as notification_services
from statuspage import publishing
from statuspage.selectors import public_view
from tests.hardening.demo_data import demo_data

APPS = ("oncall", "incidents", "postmortems", "statuspage")
INCIDENTS = "/api/v1/incidents/"
FORM = "application/x-www-form-urlencoded"


def rows() -> dict[str, int]:
    """Rows in every table of the apps, in one query."""
    models = [m for m in apps.get_models() if m._meta.app_label in APPS and m._meta.managed]
    tables = [connection.ops.quote_name(m._meta.db_table) for m in models]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t})" for t in tables))
        counts = cursor.fetchone()
    return {m._meta.label: n for m, n in zip(models, counts, strict=True)}


@pytest.fixture
def demo(alice, bob, team_a, service_a) -> dict[str, Any]:
    return demo_data(alice=alice, bob=bob, team=team_a, service=service_a)


@pytest.fixture
def api(demo) -> Client:
    """alice's API client, with her token."""
    return Client(headers={"Authorization": f"Bearer {demo['token']}"})


@pytest.fixture
def portal(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def intake_url(demo: dict[str, Any]) -> str:
    return f"/api/v1/integrations/{demo['paths']['integrations']}/alerts/"


def refused(response, status: int, *words: str) -> dict[str, Any]:
    """The answer is `status`, in JSON, and says (case-insensitively) each of `words`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    text = json.dumps(body, ensure_ascii=False).lower()
    for word in words:
        assert word.lower() in text, (word, body)
    return body


# --- oversized bodies ----------------------------------------------------------------------


def test_alert_over_the_intake_limit_is_413_and_stores_nothing(demo, settings):
    settings.FIRELINE_ALERT_MAX_BYTES = 2_000
    before = rows()
    body = json.dumps({"title": "Checkout error rate above 5%", "details": "x" * 5_000})
    response = Client().post(
        intake_url(demo), body, content_type="application/json", headers={"X-Fireline-Key": demo["integration_key"]}
    )
    refused(response, 413, "larger than 2000 bytes")
    assert rows() == before


def test_alert_over_djangos_upload_limit_is_413_and_stores_nothing(demo, settings):
    """The intake's own limit set above Django's: Django's refusal must still read as a 413."""
    settings.FIRELINE_ALERT_MAX_BYTES = 10_000_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    before = rows()
    body = json.dumps({"title": "Checkout error rate above 5%", "details": "x" * 5_000})
    response = Client().post(
        intake_url(demo), body, content_type="application/json", headers={"X-Fireline-Key": demo["integration_key"]}
    )
    refused(response, 413, "larger than 2000 bytes")
    assert rows() == before


@pytest.mark.parametrize("encoding", ["json", "form", "multipart"])
def test_api_body_over_the_upload_limit_is_413_and_writes_nothing(api, demo, settings, encoding):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    data = {"team": "payments", "title": "Checkout failing", "summary": "x" * 5_000, "severity": 3}
    before = rows()
    if encoding == "json":
        response = api.post(INCIDENTS, data, content_type="application/json")
    elif encoding == "form":
        response = api.post(INCIDENTS, urlencode(data), content_type=FORM)
    else:
        response = api.post(INCIDENTS, data)  # the test client's default: multipart
    refused(response, 413, "larger than 2000 bytes")
    assert rows() == before


def test_portal_form_over_the_upload_limit_is_413_with_a_page_that_says_so(portal, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    before = rows()
    response = portal.post(
        "/incidents/declare/", {"team": "1", "title": "Checkout failing", "summary": "x" * 5_000, "severity": "3"}
    )
    assert response.status_code == 413
    assert "2000 bytes" in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert rows() == before


def test_api_body_with_too_many_fields_or_files_is_400_in_json(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    before = rows()
    fields = urlencode({f"field{n}": "x" for n in range(10)})
    refused(api.post(INCIDENTS, fields, content_type=FORM), 400, "too many fields")
    files = {f"file{n}": SimpleUploadedFile(f"{n}.txt", b"x") for n in range(3)}
    refused(api.post(INCIDENTS, {"title": "x", **files}), 400, "too many fields or files")
    assert rows() == before


# --- malformed JSON and wrong content types ------------------------------------------------

MALFORMED = [b"{", b'{"title": "x",}', b"{'title': 'x'}", b"\xff\xfe{}"]
# Valid enough for Python's json module, but no column can hold them.
UNSTORABLE = [
    b'{"title": "Checkout \\u0000 failing"}',
    b'{"title": "Checkout \\ud800 failing"}',
    b'{"title": "Checkout", "\\u0000": 1}',
    b'{"title": NaN}',
    b'{"title": "Checkout", "labels": {"n": 1e999}}',
    b'{"title": "Checkout", "count": ' + b"9" * 5_000 + b"}",
]


def test_malformed_json_to_the_api_is_400_and_writes_nothing(api):
    before = rows()
    for body in MALFORMED:
        refused(api.post(INCIDENTS, body, content_type="application/json"), 400, "JSON parse error")
    for body in UNSTORABLE:
        body = body.replace(b'"title"', b'"team": "payments", "severity": 3, "title"', 1)
        answer = refused(api.post(INCIDENTS, body, content_type="application/json"), 400)
        assert answer, body
    assert rows() == before


def test_malformed_json_to_the_intake_is_400_with_the_reason(demo):
    before = rows()
    for body in [*MALFORMED, *UNSTORABLE, b"", b"[]", b"42", b"null"]:
        response = Client().post(
            intake_url(demo), body, content_type="application/json", headers={"X-Fireline-Key": demo["integration_key"]}
        )
        assert refused(response, 400)["detail"], body
    assert rows() == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream"])
def test_api_refuses_a_body_it_cannot_read_with_415(api, content_type):
    before = rows()
    response = api.post(INCIDENTS, b'{"team": "payments", "title": "x", "severity": 3}', content_type=content_type)
    refused(response, 415, content_type)
    assert rows() == before


def test_form_data_where_the_api_needs_nested_json_is_400_not_500(api):
    """An escalation policy's steps are a list of objects: a form cannot carry them."""
    before = rows()
    body = urlencode({"team": "payments", "name": "Night", "repeats": 1, "steps": "[{'wait_minutes': 5}]"})
    response = api.post("/api/v1/escalation-policies/", body, content_type=FORM)
    refused(response, 400, "steps")
    assert rows() == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"title=Checkout&severity=critical", FORM), (b"Checkout is down", "text/plain")],
)
def test_intake_wants_a_json_document_whatever_the_content_type_says(demo, body, content_type):
    before = rows()
    response = Client().post(
        intake_url(demo), body, content_type=content_type, headers={"X-Fireline-Key": demo["integration_key"]}
    )
    refused(response, 400, "not valid JSON")
    assert rows() == before


# --- time zones --------------------------------------------------------------------------------

# (Surrounding blanks are trimmed, as in every text field: " Europe/Berlin" is Europe/Berlin.)
BAD_ZONES = ["Mars/Olympus", "", "europe/berlin", "../../etc/passwd", "Europe/Berlin\x00", "Z" * 100]


def test_schedule_with_an_unknown_time_zone_is_400_naming_the_field(api):
    before = rows()
    for zone in BAD_ZONES:
        body = {"team": "payments", "name": "Night", "slug": "night", "time_zone": zone}
        answer = refused(api.post("/api/v1/schedules/", body, content_type="application/json"), 400)
        assert list(answer) == ["time_zone"], (zone, answer)
    assert rows() == before


def test_schedule_form_with_an_unknown_time_zone_shows_the_field_error(portal):
    before = rows()
    for zone in [z for z in BAD_ZONES if "\x00" not in z]:
        response = portal.post(
            "/teams/payments/schedules/new/", {"name": "Night", "slug": "night", "time_zone": zone, "description": ""}
        )
        assert response.status_code in (200, 400), zone
        assert response.context["form"].errors.get("time_zone"), zone
    nul = {"name": "Night", "slug": "night", "time_zone": "UTC\x00"}
    # As a browser sends a form: refused before any view reads it.
    response = portal.post("/teams/payments/schedules/new/", urlencode(nul), content_type=FORM)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    # As multipart, or into a field that looks a value up rather than storing it.
    assert portal.post("/teams/payments/schedules/new/", nul).status_code == 400
    reassign = {"items": ["1"], "owner": "bob\x00"}
    assert portal.post("/postmortems/action-items/reassign/", reassign).status_code == 400
    assert rows() == before


def test_team_and_profile_with_an_unknown_time_zone_are_refused(portal, alice, team_a, admin_client):
    before = rows()
    response = admin_client.post(
        "/admin/oncall/team/add/", {"name": "Mars", "slug": "mars", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    assert "is not an IANA time zone" in response.content.decode()
    response = portal.post(
        "/profile/",
        {"save_profile": "1", "first_name": "Alice", "email": "alice@example.com", "time_zone": "Moon/Base"},
    )
    assert response.status_code == 200
    assert response.context["profile_form"].errors["time_zone"]
    alice.refresh_from_db()
    assert alice.time_zone == "UTC"
    assert rows() == before


# --- dates, numbers and durations out of range -------------------------------------------------

HUGE = 10**30
# A timestamp that only fits in a datetime before its offset is applied (year 1 at +14:00 is
# year 0 in UTC; 9999-12-31 at -14:00 is year 10000).
BEFORE_YEAR_1 = "0001-01-01T00:00:00+14:00"
AFTER_YEAR_9999 = "9999-12-31T23:59:59-14:00"
OUT_OF_RANGE_DATES = ["0000-01-01", "10000-01-01", "2026-02-30", "-0001-01-01"]
OUT_OF_RANGE_TIMES = [BEFORE_YEAR_1, AFTER_YEAR_9999, "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"]


def out_of_range_writes(demo: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, body) that name a date, a number or a duration no one can mean."""
    paths = demo["paths"]
    layer, incident, grant = paths["layers"], paths["incidents"], paths["comp-time-grants"]
    maintenance = f"/api/v1/status-pages/{paths['status-pages']}/maintenance/"
    bob = {"user": "bob", "team": "payments"}
    on_layer = {"layer": layer, "user": "bob"}
    swap = {"layer": layer, "requester": "alice"}
    integration = {"service": "payments-api", "name": "Grafana"}
    declare = {"team": "payments", "title": "Checkout failing"}
    cases: list[tuple[str, str, dict[str, Any]]] = []
    for when in OUT_OF_RANGE_TIMES:
        cases += [
            ("POST", "/api/v1/work-logs/", {**bob, "start_at": when, "end_at": when}),
            ("POST", "/api/v1/overrides/", {**on_layer, "start_at": when, "end_at": when}),
            (
                "POST",
                "/api/v1/swap-requests/",
                {"layer": layer, "requester": "alice", "start_at": when, "end_at": when},
            ),
            ("POST", INCIDENTS, {**declare, "severity": 3, "impact_started_at": when}),
            ("POST", f"/api/v1/incidents/{incident}/timeline/", {"text": "Rolled back", "happened_at": when}),
            ("POST", maintenance, {"title": "Database upgrade", "scheduled_for": when}),
        ]
    for day in OUT_OF_RANGE_DATES:
        cases += [
            ("POST", "/api/v1/layers/", {"schedule": "payments-primary", "name": "Night", "rotation_start_date": day}),
            ("POST", "/api/v1/holidays/", {"team": "payments", "date": day, "name": "Someday"}),
            ("POST", "/api/v1/comp-time-uses/", {**bob, "taken_on": day, "hours": 1}),
            ("PATCH", f"/api/v1/action-items/{paths['action-items']}/", {"due_date": day}),
        ]
    for number in [HUGE, -HUGE, 2**31, 2**63, -1]:
        step = {"wait_minutes": number, "targets": [{"kind": "managers"}]}
        notice = {"page": paths["status-pages"], "title": "Errors", "impact": "minor", "body": "Looking."}
        cases += [
            ("POST", "/api/v1/layers/", {"schedule": "payments-primary", "name": "N", "shift_length": number}),
            ("PATCH", f"/api/v1/layers/{layer}/", {"shift_length": number}),
            ("POST", "/api/v1/integrations/", {**integration, "rate_limit_per_minute": number}),
            ("POST", "/api/v1/escalation-policies/", {"team": "payments", "name": "N", "repeats": number, "steps": []}),
            ("POST", "/api/v1/escalation-policies/", {"team": "payments", "name": "N", "steps": [step]}),
            ("PATCH", "/api/v1/comp-time-policies/payments/", {"threshold_minutes": number}),
            ("PATCH", "/api/v1/comp-time-policies/payments/", {"grant_hours": number}),
            ("POST", f"/api/v1/comp-time-grants/{grant}/approve/", {"hours": number}),
            ("POST", "/api/v1/comp-time-uses/", {**bob, "taken_on": "2030-01-02", "hours": number}),
            ("POST", INCIDENTS, {**declare, "severity": number}),
            ("POST", INCIDENTS, {**declare, "severity": 3, "page": number}),
            ("POST", "/api/v1/action-items/", {"incident": number, "title": "Add an alert"}),
            ("POST", "/api/v1/postmortems/", {"incident": number}),
            ("POST", "/api/v1/status-notices/", {**notice, "incident": number}),
        ]
    # Negative durations (the end before the start) and times of day that do not exist.
    ten, nine = "2031-01-02T10:00:00Z", "2031-01-02T09:00:00Z"
    cases += [
        ("POST", "/api/v1/work-logs/", {**bob, "start_at": "2026-01-02T10:00:00Z", "end_at": "2026-01-02T09:00:00Z"}),
        ("POST", "/api/v1/overrides/", {**on_layer, "start_at": ten, "end_at": nine}),
        ("POST", "/api/v1/swap-requests/", {**swap, "start_at": ten, "end_at": nine}),
        ("POST", maintenance, {"title": "Database upgrade", "scheduled_for": ten, "scheduled_until": nine}),
        ("POST", "/api/v1/layers/", {"schedule": "payments-primary", "name": "N", "handoff_time": "25:00"}),
        ("PATCH", "/api/v1/comp-time-policies/payments/", {"night_start": "24:00", "night_end": "-01:00"}),
    ]
    return cases


def out_of_range_reads(demo: dict[str, Any]) -> list[str]:
    paths = demo["paths"]
    reads = [
        f"/api/v1/incidents/{HUGE}/",
        f"/api/v1/pages/{HUGE}/",
        f"/api/v1/layers/{-HUGE}/",
        f"/api/v1/incidents/?severity={HUGE}",
        f"/api/v1/incidents/?page={HUGE}",
        "/api/v1/action-items/?priority=²",
        "/api/v1/load-report/?team=payments&months=²",
        "/api/v1/load-report/?team=payments&months=" + "9" * 5_000,
        "/api/v1/load-report/?team=payments&month=9999-12",
        "/api/v1/load-report/?team=payments&month=0000-00",
    ]
    for when in [*OUT_OF_RANGE_TIMES, "9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z"]:
        quoted = when.replace("+", "%2B")
        reads += [
            f"/api/v1/incidents/?since={quoted}",
            f"/api/v1/incidents/metrics/?until={quoted}",
            f"/api/v1/schedules/{paths['schedules']}/shifts/?start={quoted}",
            f"/api/v1/schedules/{paths['schedules']}/shifts/?end={quoted}",
            f"/api/v1/oncall/now/?team=payments&at={quoted}",
        ]
    return reads


def test_out_of_range_input_to_the_api_is_a_4xx_and_writes_nothing(api, demo, subtests):
    for method, path, body in out_of_range_writes(demo):
        with subtests.test(f"{method} {path} {body}"):
            before = rows()
            response = api.generic(method, path, json.dumps(body), content_type="application/json")
            assert 400 <= response.status_code < 500, response.content[:300]
            assert response.json()
            assert rows() == before
    for path in out_of_range_reads(demo):
        with subtests.test(path[:120]):
            response = api.get(path)
            assert response.status_code < 500, response.content[:300]
            assert response["Content-Type"].startswith("application/json")


PORTAL_READS = [
    "/incidents/metrics/?months=²",
    "/incidents/metrics/?months=" + "9" * 5_000,
    "/incidents/declare/?page=²",
    "/incidents/declare/?page=" + "9" * 5_000,
    f"/incidents/{HUGE}/",
    f"/pages/{HUGE}/",
    "/postmortems/action-items/?priority=²",
    "/teams/payments/load/?months=²",
    "/teams/payments/load/?month=9999-12",
    "/teams/payments/load/?month=99999-01",
    "/statuspage/?incident=²",
]


def test_out_of_range_input_to_the_portal_is_never_a_500(portal, demo, subtests):
    page = demo["paths"]["status-pages"]
    for path in [*PORTAL_READS, f"/statuspage/{page}/notices/new/?incident=²"]:
        with subtests.test(path[:120]):
            response = portal.get(path)
            assert response.status_code < 500, response.content[:300]


def test_a_rotation_from_the_first_or_last_day_there_is_keeps_every_schedule_view_working(api, portal, demo):
    """Valid dates, so they are stored; what reads them must not step past datetime's limits."""
    layer, schedule = demo["paths"]["layers"], demo["objects"]["schedule"]
    for day in ["0001-01-01", "9999-12-31"]:
        response = api.patch(f"/api/v1/layers/{layer}/", {"rotation_start_date": day}, content_type="application/json")
        assert response.status_code == 200, response.content
        for path in [f"/api/v1/schedules/{schedule.slug}/shifts/", "/api/v1/oncall/now/?team=payments"]:
            assert api.get(path).status_code == 200, (day, path)
        for path in [f"/schedules/{schedule.slug}/", "/teams/payments/oncall/", "/my/shifts/"]:
            assert portal.get(path).status_code == 200, (day, path)
        assert Client().get(f"/feeds/schedules/{schedule.feed_secret}.ics").status_code == 200, day


# --- unicode and HTML in text fields -------------------------------------------------------------

RTL = "\u202e\u0644\u0627 \u064a\u0639\u0645\u0644\u202c"  # "does not work" in Arabic, in a right-to-left override
HOSTILE = f"Checkout <script>alert('x')</script><img src=x onerror=alert(1)> 🔥 {RTL} & co"
RAW_MARKUP = ("<script>alert", "<img src=x onerror", "onerror=alert(1)>")


def assert_no_markup(html: str, where: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in html, (where, raw)


def assert_escaped(html: str, where: str) -> None:
    """The hostile text is on the page as text: escaped markup, the emoji and the RTL run intact."""
    assert_no_markup(html, where)
    assert "&lt;script&gt;alert(" in html, where
    assert "🔥" in html, where
    assert RTL in html, where


@pytest.fixture
def hostile(api, demo, team_a, alice) -> dict[str, Any]:
    """Hostile text in every text field a person or a tool fills in, through the API and the intake."""
    notification_services.team_webhook_create(
        team=team_a, by=alice, name="Slack", url="https://hooks.example.com/slack", format="slack"
    )
    created = api.post(
        INCIDENTS,
        {"team": "payments", "title": HOSTILE, "summary": HOSTILE, "severity": 2, "services": ["payments-api"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    service = {"name": HOSTILE[:100], "description": HOSTILE, "runbook_rollback": HOSTILE, "runbook_logs": HOSTILE}
    assert api.patch("/api/v1/services/payments-api/", service, content_type="application/json").status_code == 200
    layer = f"/api/v1/layers/{demo['paths']['layers']}/"
    short = f"<script>alert('x')</script> 🔥 {RTL}"  # a layer's name is at most 60 characters
    assert api.patch(layer, {"name": short}, content_type="application/json").status_code == 200
    for path, body in [
        (f"/api/v1/incidents/{number}/timeline/", {"text": HOSTILE}),
        (f"/api/v1/incidents/{number}/updates/", {"known": HOSTILE, "doing": HOSTILE, "trend": "stable"}),
        (f"/api/v1/incidents/{number}/help/", {"need": HOSTILE[:200], "why": HOSTILE}),
    ]:
        assert api.post(path, body, content_type="application/json").status_code == 201, path
    postmortem = demo["paths"]["postmortems"]
    edited = api.patch(
        f"/api/v1/postmortems/{postmortem}/",
        {"summary": HOSTILE, "root_cause": HOSTILE, "went_badly": f"[click](javascript:alert(1)) {HOSTILE}"},
        content_type="application/json",
    )
    assert edited.status_code == 200, edited.content
    # Asking for cover tells every teammate, by mail for bob (he has no other contact method).
    start = timezone.now() + dt.timedelta(days=9)
    swap = {"layer": demo["paths"]["layers"], "requester": "alice", "note": HOSTILE[:200]}
    swap |= {"start_at": start.isoformat(), "end_at": (start + dt.timedelta(hours=8)).isoformat()}
    assert api.post("/api/v1/swap-requests/", swap, content_type="application/json").status_code == 201
    page = demo["paths"]["status-pages"]
    notice = api.post(
        "/api/v1/status-notices/",
        {"page": page, "title": HOSTILE, "impact": "minor", "status": "investigating", "body": HOSTILE},
        content_type="application/json",
    )
    assert notice.status_code == 201, notice.content
    alert = Client().post(
        intake_url(demo),
        {"title": HOSTILE, "details": HOSTILE, "severity": "critical", "links": [{"href": "javascript:alert(1)"}]},
        content_type="application/json",
        headers={"X-Fireline-Key": demo["integration_key"]},
    )
    assert alert.status_code == 202, alert.content
    return {"incident": number, "notice": notice.json()["id"], "alert": alert.json()["alerts"][0]}


def test_hostile_text_is_stored_as_sent(api, hostile):
    incident = api.get(f"/api/v1/incidents/{hostile['incident']}/").json()
    assert incident["title"] == HOSTILE
    assert api.get(f"/api/v1/alerts/{hostile['alert']}/").json()["title"] == HOSTILE


def test_hostile_text_is_escaped_on_every_portal_page(portal, hostile, demo):
    page_id = Alert.objects.get(pk=hostile["alert"]).page.pk
    number, postmortem = hostile["incident"], demo["paths"]["postmortems"]
    pages = [
        f"/incidents/{number}/",
        "/incidents/",
        "/incidents/all/",
        f"/postmortems/{postmortem}/",
        f"/pages/{page_id}/",
        "/teams/payments/alerts/",
        "/teams/payments/pages/",
        "/services/payments-api/",
        "/services/",
        f"/schedules/{demo['paths']['schedules']}/",
        "/teams/payments/oncall/",
        f"/statuspage/{demo['paths']['status-pages']}/",
        f"/statuspage/notices/{hostile['notice']}/",
    ]
    for path in pages:
        response = portal.get(path)
        assert response.status_code == 200, path
        assert_escaped(response.content.decode(), path)
    # Postmortem sections are Markdown, cleaned: markup is dropped rather than shown, links keep to http(s).
    for path in [f"/postmortems/{postmortem}/", f"/postmortems/{postmortem}/print/"]:
        html = portal.get(path).content.decode()
        assert_no_markup(html, path)
        assert 'href="javascript:' not in html, path


def test_hostile_text_reaches_mail_and_chat_as_text(hostile, alice):
    notifications = Notification.objects.filter(Q(subject__contains="<script>") | Q(body__contains="<script>"))
    assert notifications.exists()
    slack, webhooks = [], []
    for notification in notifications:
        kind = channels.destination_of(notification).kind
        if kind == "slack":
            slack.append(channels.SlackChannel().body(notification)["text"])
        elif kind == "webhook":
            webhooks.append(channels.JsonWebhookChannel().body(notification))
        else:
            notification_services.notification_deliver(notification_id=notification.pk)
    assert slack and webhooks and mail.outbox
    for text in slack:
        # Slack reads <…> as links and mentions (<!channel>): only entities may arrive.
        assert "<" not in text and ">" not in text
        assert "&lt;script&gt;alert('x')&lt;/script&gt;" in text and "🔥" in text
    for body in webhooks:  # JSON: the receiver gets the text exactly as typed
        assert HOSTILE in json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder)
    for message in mail.outbox:  # plain text mail: shown as typed, with no HTML part to run
        assert message.content_subtype == "plain" and not getattr(message, "alternatives", None)
        assert "\n" not in message.subject
        assert "<script>alert('x')</script>" in message.body


def test_hostile_text_is_escaped_on_the_public_status_page_and_feeds(hostile, demo):
    view = public_view(page=demo["objects"]["status_page"], now=timezone.now())
    documents = publishing.render_documents(view)
    for path in ["/", f"/incidents/{hostile['notice']}"]:
        assert_escaped(documents[path].body.decode(), path)
    for path, document in documents.items():
        if "html" in document.content_type or "xml" in document.content_type:
            assert_no_markup(document.body.decode(), path)
    for path in ["/history.rss", "/history.atom"]:
        xml = documents[path].body.decode()
        for raw in RAW_MARKUP:
            assert raw not in xml, (path, raw)
        assert feedparser.parse(xml).entries[0].title == HOSTILE
    summary = json.loads(documents["/api/v2/summary.json"].body)
    assert summary["incidents"][0]["name"] == HOSTILE  # JSON carries the text; escaping is the reader's


# --- integration keys and API tokens ---------------------------------------------------------------


def near_misses(key: str) -> dict[str, str]:
    """Keys an attacker might try: each must fail the same way as any other wrong key."""
    last = "A" if key[-1] != "A" else "B"
    return {
        "right length, last character wrong": key[:-1] + last,
        "right length, first character wrong": ("x" if key[0] != "x" else "y") + key[1:],
        "the shown prefix": key[:10],
        "all but the last character": key[:-1],
        "the key and one more character": key + "A",
        "the key in upper case": key.upper(),
        "blank": " ",
    }


def test_near_miss_integration_keys_get_401_and_store_nothing(demo, monkeypatch):
    compared: list[tuple[str, str]] = []
    real_compare = intake_services.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(intake_services.hmac, "compare_digest", spy)
    key, integration = demo["integration_key"], demo["objects"]["integration"]
    before = rows()
    body = json.dumps({"title": "Checkout error rate above 5%"})
    for why, wrong in near_misses(key).items():
        for headers, query in [
            ({"X-Fireline-Key": wrong}, ""),
            ({"Authorization": f"Bearer {wrong}"}, ""),
            ({}, wrong),
        ]:
            url = intake_url(demo) + (f"?{urlencode({'key': query})}" if query else "")
            response = Client().post(url, body, content_type="application/json", headers=headers)
            refused(response, 401, "wrong integration key")
            assert response["WWW-Authenticate"].startswith("Bearer"), why
    assert rows() == before
    # Every refusal above was decided by a constant-time comparison of SHA-256 digests, never of the keys.
    assert compared
    assert {stored for _presented, stored in compared} == {integration.key_digest}
    assert all(len(presented) == 64 and presented != key for presented, _stored in compared)


def test_another_integrations_key_or_an_unknown_integration_stores_nothing(demo, service_a, alice):
    other, other_key = intake_services.integration_create(service=service_a, name="Grafana", kind="generic", by=alice)
    before = rows()
    body = json.dumps({"title": "Checkout error rate above 5%"})
    response = Client().post(
        intake_url(demo), body, content_type="application/json", headers={"X-Fireline-Key": other_key}
    )
    refused(response, 401, "wrong integration key")
    for public_id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid", str(other.public_id)[:-1]]:
        response = Client().post(
            f"/api/v1/integrations/{public_id}/alerts/",
            body,
            content_type="application/json",
            headers={"X-Fireline-Key": demo["integration_key"]},
        )
        refused(response, 404)
    assert rows() == before


def test_near_miss_api_tokens_get_401_and_write_nothing(demo, alice):
    token = alice.api_tokens.get()
    before, last_used = rows(), token.last_used_at
    for why, wrong in near_misses(demo["token"]).items():
        response = Client(headers={"Authorization": f"Bearer {wrong}"}).post(
            INCIDENTS, {"team": "payments", "title": "x", "severity": 3}, content_type="application/json"
        )
        assert response.status_code == 401, (why, response.content)
    token.refresh_from_db()
    assert token.last_used_at == last_used
    assert rows() == before


# --- NUL characters (PostgreSQL stores none) -----------------------------------------------------


def test_nul_anywhere_in_api_input_is_a_4xx_naming_where_and_writes_nothing(api, demo, subtests):
    incident = demo["paths"]["incidents"]
    declare = {"team": "payments", "severity": 3, "title": "Checkout failing"}
    policy, nul_kind = {"team": "payments", "name": "Nights"}, {"kind": "x\x00"}
    bodies = [
        (INCIDENTS, {**declare, "title": "Checkout\x00failing"}, "title"),
        (INCIDENTS, {**declare, "summary": "\x00"}, "summary"),
        (INCIDENTS, {**declare, "team": "payments\x00"}, "team"),  # a slug looked up, not a text field
        (INCIDENTS, {**declare, "services": ["payments-api", "web\x00"]}, "services[1]"),
        (INCIDENTS, {**declare, "\x00": "x"}, "non_field_errors"),
        (f"/api/v1/incidents/{incident}/timeline/", {"text": "Rolled back\x00"}, "text"),
        ("/api/v1/schedules/", {"team": "payments", "name": "N", "slug": "n", "time_zone": "UTC\x00"}, "time_zone"),
        ("/api/v1/services/", {"team": "payments", "name": "Ledger", "slug": "ledger\x00"}, "slug"),
        ("/api/v1/escalation-policies/", {**policy, "steps": [{"targets": [nul_kind]}]}, "steps[0].targets[0].kind"),
    ]  # fmt: skip
    for path, body, field in bodies:
        with subtests.test(f"POST {path} {field}"):
            before = rows()
            refused(api.post(path, body, content_type="application/json"), 400, field, "NUL")
            assert rows() == before
    for path in ["/api/v1/teams/pay%00ments/", "/api/v1/incidents/1%00/", "/api/v1/services/payments-api%00/"]:
        with subtests.test(path):
            refused(api.get(path), 404)
    for path in ["/api/v1/alerts/?service=%00", "/api/v1/incidents/?q=%00", "/api/v1/teams/?search=%00"]:
        with subtests.test(path):
            refused(api.get(path), 400, "NUL")


def test_nul_in_a_portal_form_or_url_is_refused_and_writes_nothing(portal):
    before = rows()
    form = {"team": "1", "title": "Checkout\x00failing", "severity": "3"}
    response = portal.post("/incidents/declare/", urlencode(form), content_type=FORM)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert portal.get("/incidents/all/?q=%00").status_code == 400
    assert portal.get("/teams/payments%00/").status_code == 404
    assert rows() == before


def test_nul_in_an_alert_is_400_naming_the_field(demo):
    before = rows()
    body = json.dumps({"title": "Checkout", "details": "errors\x00", "labels": {"\x00": "1"}})
    response = Client().post(
        intake_url(demo), body, content_type="application/json", headers={"X-Fireline-Key": demo["integration_key"]}
    )
    refused(response, 400, "details", "NUL")
    assert rows() == before
