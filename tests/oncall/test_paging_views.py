"""Pages and escalation policies on the web, and the one-click links in a page."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oncall import links
from oncall.models import EscalationPolicy, Notification, Page, PageEvent, Service
from oncall.models.notifications import Event
from oncall.services import paging
from tests.factories import UserFactory
from tests.oncall.paging_fixtures import T0, add_step, layers, make_alert, minutes, payments_schedule, three_step_policy

pytestmark = pytest.mark.django_db
NOW = T0 + minutes(1)


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def schedule(team_a, alice, bob):
    return payments_schedule(team_a, bob, alice)


@pytest.fixture
def policy(team_a, schedule, service_a):
    policy = three_step_policy(team_a, schedule)
    service_a.escalation_policy = policy
    service_a.save()
    return policy


@pytest.fixture
def page(policy, service_a):
    return paging.page_open(alert=make_alert(service_a), now=T0)


def link_for(page: Page, user, action: str, *, now=T0) -> str:
    return reverse("oncall:page-link", kwargs={"token": links.page_link_token(
        page_id=page.pk, user_id=user.pk, action=action, now=now)})  # fmt: skip


PAGES = [
    ("get", "oncall:team-pages", lambda p: ["payments"]),
    ("get", "oncall:page-detail", lambda p: [p.pk]),
    ("post", "oncall:page-act", lambda p: [p.pk, "acknowledge"]),
    ("post", "oncall:page-act", lambda p: [p.pk, "resolve"]),
    ("post", "oncall:page-act", lambda p: [p.pk, "escalate"]),
    ("get", "oncall:policy-list", lambda p: ["payments"]),
    ("get", "oncall:policy-create", lambda p: ["payments"]),
    ("post", "oncall:policy-create", lambda p: ["payments"]),
    ("post", "oncall:policy-default", lambda p: ["payments"]),
    ("get", "oncall:policy-edit", lambda p: ["payments", EscalationPolicy.objects.get().pk]),
    ("post", "oncall:policy-delete", lambda p: ["payments", EscalationPolicy.objects.get().pk]),
    ("post", "oncall:service-policy-set", lambda p: ["payments-api"]),
]


@pytest.mark.parametrize(("method", "name", "args"), PAGES)
def test_another_teams_member_gets_404(client, charlie, page, method, name, args):
    client.force_login(charlie)
    response = getattr(client, method)(reverse(name, args=args(page)))
    assert response.status_code == 404
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED
    assert EscalationPolicy.objects.count() == 1


@pytest.mark.parametrize(("method", "name", "args"), PAGES)
def test_signing_in_is_required(client, page, method, name, args):
    response = getattr(client, method)(reverse(name, args=args(page)))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_team_pages_list_open_pages_first_in_few_queries(client, bob, policy, service_a, django_assert_num_queries):
    first = paging.page_open(alert=make_alert(service_a, dedup_key="a"), now=T0)
    second = paging.page_open(alert=make_alert(service_a, dedup_key="b"), now=T0 + minutes(1))
    paging.page_resolve(page=second, by=bob, now=T0 + minutes(2))
    for i in range(5):
        paging.page_open(alert=make_alert(service_a, dedup_key=f"x{i}"), now=T0 + minutes(3 + i))
    client.force_login(bob)
    url = reverse("oncall:team-pages", args=["payments"])
    # session, user, team, filter form's services, count, pages, stalled count
    with django_assert_num_queries(7):
        response = client.get(url, {"status": "all"})
    shown = [p.pk for p in response.context["page_obj"]]
    assert shown[-1] == second.pk and first.pk in shown[:-1] and len(shown) == 7
    assert [p.pk for p in client.get(url).context["page_obj"]] == shown[:-1]  # default: open
    assert [p.pk for p in client.get(url, {"status": "resolved"}).context["page_obj"]] == [second.pk]


def test_team_pages_warn_about_stalled_pages(client, bob, page):
    paging.run_escalation_audit(now=T0 + minutes(10))
    client.force_login(bob)
    response = client.get(reverse("oncall:team-pages", args=["payments"]))
    assert response.context["stalled_count"] == 1
    assert b"did not escalate on time" in response.content
    stalled = client.get(reverse("oncall:team-pages", args=["payments"]), {"status": "stalled"})
    assert [p.pk for p in stalled.context["page_obj"]] == [page.pk]


def test_page_detail_shows_what_broke_the_runbook_and_the_log(client, bob, page):
    Notification.objects.filter(recipient=bob).update(status=Notification.Status.SENT)
    client.force_login(bob)
    response = client.get(reverse("oncall:page-detail", args=[page.pk]))
    body = response.content.decode()
    assert "Checkout error rate above 5%" in body
    assert "https://grafana.example.com/d/api" in body  # the runbook's dashboards
    assert "Bob by email" in body and "Sent" in body
    assert "Frozen when the page opened" in body
    assert [e.kind for e in response.context["events"]] == ["triggered", "notified"]


def test_acknowledge_resolve_and_escalate_from_the_web(client, bob, alice, page, at_now):
    client.force_login(bob)
    client.post(reverse("oncall:page-act", args=[page.pk, "escalate"]))
    page.refresh_from_db()
    assert page.events.filter(kind=PageEvent.Kind.NOTIFIED, user=alice).exists()

    response = client.post(reverse("oncall:page-act", args=[page.pk, "acknowledge"]), follow=True)
    assert b"Acknowledged: escalation stopped." in response.content
    page.refresh_from_db()
    assert (page.status, page.acknowledged_by) == (Page.Status.ACKNOWLEDGED, bob)

    client.force_login(alice)
    response = client.post(reverse("oncall:page-act", args=[page.pk, "acknowledge"]), follow=True)
    assert b"already acknowledged this page" in response.content

    client.post(reverse("oncall:page-act", args=[page.pk, "resolve"]))
    page.refresh_from_db()
    assert page.status == Page.Status.RESOLVED and page.resolved_by == alice


def test_an_unknown_action_is_404(client, bob, page):
    client.force_login(bob)
    assert client.post(reverse("oncall:page-act", args=[page.pk, "delete"])).status_code == 404


# --- one-click links -------------------------------------------------------------------


def test_the_page_notification_carries_working_links(client, bob, page, at_now):
    body = Notification.objects.get(event=Event.PAGE, recipient=bob).body
    ack = re.search(r"http://localhost:8000(/page-links/\S+/)", body).group(1)
    response = client.post(ack)
    assert response.status_code == 200
    page.refresh_from_db()
    assert page.acknowledged_by == bob


def test_opening_a_link_does_nothing_until_the_button_is_pressed(client, bob, page, at_now):
    url = link_for(page, bob, "acknowledge")

    response = client.get(url)

    assert response.status_code == 200 and b"Acknowledge</button>" in response.content
    # same-origin, not no-referrer: browsers then send a real Origin with the button's POST,
    # which CSRF needs (tests/e2e/test_journeys.py presses it in Chromium).
    assert response["Referrer-Policy"] == "same-origin"
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED
    assert not page.events.filter(kind=PageEvent.Kind.ACKNOWLEDGED).exists()

    response = client.post(url)
    assert response.status_code == 200 and b"Acknowledged" in response.content
    page.refresh_from_db()
    assert (page.status, page.acknowledged_by) == (Page.Status.ACKNOWLEDGED, bob)


def test_a_resolve_link_resolves(client, bob, page, at_now):
    client.post(link_for(page, bob, "resolve"))
    page.refresh_from_db()
    assert page.status == Page.Status.RESOLVED and page.resolved_by == bob


def test_a_tampered_link_is_404(client, bob, page, at_now):
    url = link_for(page, bob, "acknowledge")
    token = url.rstrip("/").rsplit("/", 1)[1]
    tampered = reverse("oncall:page-link", kwargs={"token": token[:-3] + ("aaa" if token[-3:] != "aaa" else "bbb")})
    assert client.get(tampered).status_code == 404
    assert client.post(tampered).status_code == 404
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED


def test_an_expired_link_is_refused(client, bob, page):
    url = link_for(page, bob, "acknowledge", now=T0)
    with time_machine.travel(T0 + links.LINK_LIFETIME + minutes(1), tick=False):
        response = client.post(url)
    assert response.status_code == 400 and b"expired" in response.content
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED


def test_a_link_works_only_for_the_person_it_was_sent_to(client, alice, bob, page, at_now):
    # alice was not paged (only bob, the primary): a link naming her is not honoured.
    assert client.post(link_for(page, alice, "acknowledge")).status_code == 404
    # bob's link, opened while alice is signed in, does nothing either.
    client.force_login(alice)
    assert client.post(link_for(page, bob, "acknowledge")).status_code == 404
    page.refresh_from_db()
    assert page.status == Page.Status.TRIGGERED


def test_a_link_for_one_page_cannot_act_on_another(client, bob, page, service_a, at_now):
    other = paging.page_open(alert=make_alert(service_a, dedup_key="other"), now=T0)
    token = links.page_link_token(page_id=page.pk, user_id=bob.pk, action="acknowledge", now=T0)
    _payload, timestamp, signature = token.split(":")
    claims = json.loads(signing.b64_decode(_payload.encode()))
    claims["p"] = other.pk  # the same signature, another page
    forged = ":".join([signing.b64_encode(json.dumps(claims, separators=(",", ":")).encode()).decode(), timestamp,
                       signature])  # fmt: skip
    assert links.page_link_read(token, now=T0).page_id == page.pk
    assert client.post(reverse("oncall:page-link", kwargs={"token": forged})).status_code == 404
    other.refresh_from_db()
    assert other.status == Page.Status.TRIGGERED


def test_a_link_for_a_page_already_acknowledged_by_someone_else_says_so(client, alice, bob, page, at_now):
    paging.page_escalate_now(page=page, by=bob, now=T0)  # alice is paged too
    paging.page_acknowledge(page=page, by=bob, now=T0)
    response = client.post(link_for(page, alice, "acknowledge"))
    assert response.status_code == 409 and b"already acknowledged" in response.content


# --- escalation policies ---------------------------------------------------------------


def step_data(prefix: str, **fields: object) -> dict[str, object]:
    return {f"steps-{prefix}-{k}": v for k, v in fields.items()}


def formset(*steps: dict[str, object], initial: int = 0) -> dict[str, object]:
    data: dict[str, object] = {
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(initial),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "20",
    }
    for i, step in enumerate(steps):
        data.update(step_data(str(i), **step))
    return data


def test_policy_list_shows_steps_and_services(client, bob, policy, django_assert_max_num_queries):
    client.force_login(bob)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("oncall:policy-list", args=["payments"]))
    body = response.content.decode()
    assert "Payments standard" in body and "Payments API" in body
    assert "On call: Payments on-call &gt; Primary" in body
    assert response.context["is_manager"] is False


def test_a_manager_creates_a_policy_step_by_step(client, alice, schedule, team_a):
    primary, _secondary = layers(schedule)
    client.force_login(alice)
    data = {"name": "Nights", "description": "", "repeats": "2"}
    data |= formset(
        {"layers": [str(primary.pk)], "wait_minutes": "5", "ORDER": "2"},
        {"managers": "on", "wait_minutes": "10", "window_start": "22:00", "window_end": "07:00", "ORDER": "1",
         "weekdays": ["5", "6"], "only_critical": "on"},
        {"wait_minutes": "5"},  # the blank extra form, as a browser sends it
    )  # fmt: skip
    response = client.post(reverse("oncall:policy-create", args=["payments"]), data)
    assert response.status_code == 302, response.context and response.context["formset"].errors
    policy = EscalationPolicy.objects.get(name="Nights")
    steps = list(policy.steps.order_by("position"))
    assert [(s.wait_minutes, s.only_critical, s.weekdays) for s in steps] == [(10, True, [5, 6]), (5, False, [])]
    assert [t.kind for t in steps[0].targets.all()] == ["managers"]
    assert [t.layer for t in steps[1].targets.all()] == [primary]
    assert policy.repeats == 2


def test_a_step_without_targets_is_refused_and_nothing_is_saved(client, alice, schedule):
    client.force_login(alice)
    data = {"name": "Broken", "repeats": "1"} | formset({"wait_minutes": "5", "only_critical": "on"})
    response = client.post(reverse("oncall:policy-create", args=["payments"]), data)
    assert response.status_code == 200
    assert "Choose whom this step pages." in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="Broken").exists()


def test_a_half_window_is_refused(client, alice, schedule):
    client.force_login(alice)
    data = {"name": "Half", "repeats": "1"} | formset({"managers": "on", "wait_minutes": "5", "window_start": "22:00"})
    response = client.post(reverse("oncall:policy-create", args=["payments"]), data)
    assert "Give both ends of the time window" in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="Half").exists()


def test_a_member_cannot_change_policies(client, bob, policy):
    client.force_login(bob)
    data = {"name": "Mine", "repeats": "1"} | formset({"managers": "on", "wait_minutes": "5"})
    response = client.post(reverse("oncall:policy-create", args=["payments"]), data)
    assert "Only managers of Payments" in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="Mine").exists()
    client.post(reverse("oncall:policy-delete", args=["payments", policy.pk]))
    client.post(reverse("oncall:policy-default", args=["payments"]))
    assert list(EscalationPolicy.objects.all()) == [policy]


def test_a_manager_edits_a_policy_and_open_pages_keep_theirs(client, alice, policy, page):
    client.force_login(alice)
    edit = reverse("oncall:policy-edit", args=["payments", policy.pk])
    form = client.get(edit).context["formset"]
    assert len(form.forms) == 4  # three steps and a blank one
    _, secondary = layers(policy.steps.first().targets.first().layer.schedule)
    data = {"name": "Payments standard", "repeats": "0"} | formset(
        {"managers": "on", "wait_minutes": "30", "ORDER": "1"},
        {"layers": [str(secondary.pk)], "wait_minutes": "10", "ORDER": "2", "DELETE": "on"},
        {"managers": "on", "wait_minutes": "5", "ORDER": "3", "DELETE": "on"},
        {"wait_minutes": "5"},
        initial=3,
    )
    assert client.post(edit, data).status_code == 302
    assert list(policy.steps.values_list("wait_minutes", flat=True)) == [30]
    page.refresh_from_db()
    assert [s["wait_minutes"] for s in page.policy_snapshot["steps"]] == [5, 10, 5]


def test_a_manager_deletes_a_policy(client, alice, policy, service_a):
    client.force_login(alice)
    client.post(reverse("oncall:policy-delete", args=["payments", policy.pk]))
    assert not EscalationPolicy.objects.exists()
    service_a.refresh_from_db()
    assert service_a.escalation_policy is None


def test_a_manager_creates_the_default_policy_once(client, alice, schedule):
    client.force_login(alice)
    client.post(reverse("oncall:policy-default", args=["payments"]))
    client.post(reverse("oncall:policy-default", args=["payments"]))
    assert list(EscalationPolicy.objects.values_list("name", flat=True)) == ["Default"]


def test_a_manager_chooses_the_services_policy(client, alice, bob, policy, service_a, team_b):
    other_team_policy = EscalationPolicy.objects.create(team=team_b, name="Web")
    Service.objects.filter(pk=service_a.pk).update(escalation_policy=None)
    url = reverse("oncall:service-policy-set", args=["payments-api"])
    client.force_login(bob)
    client.post(url, {"escalation_policy": policy.pk})
    service_a.refresh_from_db()
    assert service_a.escalation_policy is None
    client.force_login(alice)
    client.post(url, {"escalation_policy": other_team_policy.pk})
    service_a.refresh_from_db()
    assert service_a.escalation_policy is None
    client.post(url, {"escalation_policy": policy.pk})
    service_a.refresh_from_db()
    assert service_a.escalation_policy == policy
    page = client.get(reverse("oncall:service-detail", args=["payments-api"]))
    assert b"Alerts page through" in page.content


# --- the admin -------------------------------------------------------------------------


def test_the_admin_index_shows_stalled_pages(client, page):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert b"Escalation stalled" not in client.get(reverse("admin:index")).content
    paging.run_escalation_audit(now=T0 + minutes(10))
    response = client.get(reverse("admin:index"))
    assert b"Escalation stalled on 1 page" in response.content
    listing = client.get(reverse("admin:oncall_page_changelist"), {"escalation": "stalled"})
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    detail = client.get(reverse("admin:oncall_page_change", args=[page.pk]))
    assert detail.status_code == 200 and b"Escalation stalled" in detail.content


def _policy_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("oncall:policy-list", args=["payments"])).status_code == 200
    return len(queries)


def test_policy_list_costs_the_same_queries_for_one_and_three_policies(client, bob, policy, team_a, schedule):
    client.force_login(bob)
    one = _policy_list_queries(client)
    primary, secondary = layers(schedule)
    for n in range(2):
        extra = EscalationPolicy.objects.create(team=team_a, name=f"Extra {n}")
        add_step(extra, ("layer", primary), wait=5)
        add_step(extra, ("layer", secondary), ("managers", None), wait=10)
    assert _policy_list_queries(client) == one
