"""One incident from the first alert to the manager's overdue view, in a real browser (Playwright).

bob is on call for Payments. A monitoring tool posts an alert to the service's
integration; bob gets the page by email and acknowledges it from the link in the mail,
declares a SEV-1 from the page, hands out the three roles, posts an internal update and
tells customers, who see a major outage on the status host. The fix is watched in
monitoring, the incident resolved after the watch period, the postmortem opens with its
due date, an action item gets an owner and a deadline, the deadline passes, and alice,
the team's manager, finds the item in her overdue view.

Time is moved with time_machine: the live server answers from a thread of this process,
so the server's clock moves with the test's (the watch period check proves it).
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import dateformat, timezone
from playwright.sync_api import Browser, Page, expect

from incidents.models import Incident, RoleAssignment
from oncall.models import Notification, PageEvent, StepTarget
from oncall.models import Page as AlertPage
from oncall.services.escalation_policies import (
    StepInput,
    TargetInput,
    escalation_policy_create,
    service_escalation_policy_set,
)
from oncall.services.intake import integration_create
from oncall.services.notifications import notification_deliver
from postmortems.models import ActionItem, Postmortem
from postmortems.services import run_action_item_deadlines
from statuspage import services as statuspage_services
from statuspage import snapshots
from statuspage.models import Notice, StatusPage
from tests.e2e.playwright_support import new_tab, sign_in
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.oncall.schedule_fixtures import make_schedule

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres(reason="the journey runs on the database production uses"),
    pytest.mark.django_db(transaction=True),
]

TZ = "America/New_York"
# A Tuesday, 10:00 in New York: the first week of make_schedule's weekly rotation
# (from Monday 2027-01-04 09:00), so bob, first in the rotation, is on call.
START = dt.datetime(2027, 1, 5, 10, 0, tzinfo=ZoneInfo(TZ))
STATUS_HOST = "status.localhost"
ALERT_TITLE = "Checkout error rate above 5%"
ITEM_TITLE = "Alert when the DB pool is above 80% for 5 minutes"


@pytest.fixture
def clock():
    """The journey's clock: starts at START and ticks; steps move it on (`shift`, `move_to`)."""
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def carol(team_a):
    user = UserFactory(username="carol", first_name="Carol")
    MembershipFactory(user=user, team=team_a)
    return user


@pytest.fixture
def payments(clock, settings, live_server, team_a, alice, bob, carol, service_a):
    """Payments: bob on call, a policy paging the on-call person then the managers, an
    integration for the monitoring tool, and a status page with a Checkout component."""
    settings.SITE_URL = live_server.url  # links in mail point at the live server
    for person in (alice, bob, carol):
        person.time_zone = TZ
        person.save(update_fields=["time_zone"])
    schedule = make_schedule(team_a, [bob, carol, alice], tz=TZ)
    primary = schedule.layers.get(position=1)
    policy = escalation_policy_create(
        team=team_a,
        by=alice,
        name="Payments API",
        repeats=0,
        steps=[
            StepInput(wait_minutes=5, targets=[TargetInput(kind=StepTarget.Kind.LAYER, layer=primary)]),
            StepInput(wait_minutes=10, targets=[TargetInput(kind=StepTarget.Kind.MANAGERS)]),
        ],
    )
    service_escalation_policy_set(service=service_a, policy=policy, by=alice)
    integration, key = integration_create(service=service_a, name="Alertmanager prod", kind="generic", by=alice)

    snapshots.forget(STATUS_HOST)  # nothing published by an earlier run may be served
    page = StatusPage.objects.create(name="Acme", host=STATUS_HOST, time_zone=TZ)
    page.teams.set([team_a])
    checkout = statuspage_services.component_create(page=page, name="Checkout", position=1)
    checkout.services.set([service_a])
    statuspage_services.component_create(page=page, name="Public API", position=0)
    yield {"integration": integration, "key": key}
    snapshots.forget(STATUS_HOST)


def test_alert_to_overdue_action_item(
    chromium: Browser, screenshot_on_failure, clock, live_server, payments, alice, bob, carol
):
    step = screenshot_on_failure
    tab = new_tab(chromium, live_server.url)

    with step("01-sign-in", tab):
        sign_in(tab, bob, PASSWORD)

    with step("02-alert-pages-bob", tab):
        page = alert_arrives_from_monitoring(chromium, live_server.url, **payments)
        acknowledge_url = page_email_acknowledge_link(page, bob)
        assert acknowledge_url.startswith(f"{live_server.url}/page-links/")

    phone = new_tab(chromium, live_server.url)  # where bob reads his mail: not signed in
    with step("02-acknowledge-from-email", phone):
        acknowledge_from_email(phone, acknowledge_url, page, bob)

    with step("03-declare-sev1", tab):
        incident = declare_sev1_from_page(tab, page)

    with step("03-assign-roles", tab):
        assign_role(tab, "Incident commander", carol)
        assign_role(tab, "Tech lead", bob)
        assign_role(tab, "Comms lead", alice)
        holders = RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True)
        assert {(a.role, a.user.username) for a in holders} == {
            ("commander", "carol"),
            ("tech_lead", "bob"),
            ("comms_lead", "alice"),
        }

    with step("03-internal-update", tab):
        post_internal_update(tab, known="Card payments fail since the 09:50 config deploy", doing="Rolling it back")

    with step("03-customer-update", tab):
        publish_customer_update(tab, incident, title="Card payments failing")

    with step("03-status-page", tab):
        customers_see_outage(tab, live_server.url, title="Card payments failing")

    with step("04-monitoring", tab):
        tab.goto(incident.get_absolute_url())
        move_to_monitoring(tab)
        resolving_now_is_refused(tab)

    with step("04-resolve-after-watch", tab):
        clock.shift(dt.timedelta(minutes=61))
        postmortem = resolve_and_find_postmortem(tab, incident)

    with step("05-action-item", tab):
        due = (timezone.now().astimezone(ZoneInfo(TZ)) + dt.timedelta(days=3)).date()
        item = add_action_item(tab, postmortem, owner=bob, due=due)

    with step("06-overdue", tab):
        clock.move_to(dt.datetime.combine(due + dt.timedelta(days=3), dt.time(9), tzinfo=ZoneInfo(TZ)))
        assert run_action_item_deadlines(now=timezone.now()) >= 1
        item.refresh_from_db()
        assert item.overdue_since is not None
        manager_tab = new_tab(chromium, live_server.url)
    with step("06-overdue-view", manager_tab):
        sign_in(manager_tab, alice, PASSWORD)
        manager_sees_overdue_item(manager_tab, item)


# --- 2. an alert arrives and pages the on-call person ------------------------------------


def alert_arrives_from_monitoring(browser: Browser, base_url: str, *, integration, key: str) -> AlertPage:
    """The tool posts to the integration's intake URL with its key: no cookies, no session."""
    tool = browser.new_context(base_url=base_url)
    try:
        response = tool.request.post(
            f"/api/v1/integrations/{integration.public_id}/alerts/",
            data={
                "title": ALERT_TITLE,
                "dedup_key": "checkout-errors",
                "severity": "critical",
                "details": "5xx on POST /checkout at 7% for 5 minutes.",
            },
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status == 202, response.text()
        assert response.json()["created"] == 1
    finally:
        tool.close()
    page = AlertPage.objects.select_related("alert").get(alert__title=ALERT_TITLE)
    assert page.status == AlertPage.Status.TRIGGERED
    paged = list(page.events.filter(kind=PageEvent.Kind.NOTIFIED).values_list("user__username", flat=True))
    assert paged == ["bob"], f"the on-call person is paged first, not {paged}"
    return page


def page_email_acknowledge_link(page: AlertPage, person) -> str:
    """Delivers the outbox as the worker would, and reads the acknowledge link from the mail."""
    pending = Notification.objects.filter(recipient=person, status=Notification.Status.PENDING)
    for notification_id in pending.values_list("pk", flat=True):
        notification_deliver(notification_id=notification_id)
    messages = [m for m in mail.outbox if person.email in m.to and ALERT_TITLE in m.subject]
    assert len(messages) == 1, [m.subject for m in mail.outbox]
    found = re.search(r"^Acknowledge \(stops the escalation\): (\S+)$", messages[0].body, re.MULTILINE)
    assert found, messages[0].body
    return found.group(1)


def acknowledge_from_email(tab: Page, url: str, page: AlertPage, person) -> None:
    """The link needs no session: the signed token says who acts (a POST from its page)."""
    tab.goto(url)
    expect(tab.get_by_role("heading", level=1)).to_have_text(ALERT_TITLE)
    expect(tab.get_by_text(f"You are {person}.")).to_be_visible()
    tab.get_by_role("button", name="Acknowledge").click()
    expect(tab.get_by_role("status")).to_contain_text(f"Acknowledged: escalation stopped. Thank you, {person}.")
    expect(tab.locator("main .badge").first).to_have_text("Acknowledged")
    page.refresh_from_db()
    assert (page.status, page.acknowledged_by) == (AlertPage.Status.ACKNOWLEDGED, person)


# --- 3. a SEV-1: roles, updates, customers -----------------------------------------------


def declare_sev1_from_page(tab: Page, page: AlertPage) -> Incident:
    tab.goto(reverse("oncall:page-detail", args=[page.pk]))
    expect(tab.locator("main .badge").first).to_have_text("Acknowledged")
    expect(tab.get_by_text(f"acknowledged by {page.acknowledged_by}")).to_be_visible()
    labels_name_their_own_fields(tab)
    tab.get_by_role("link", name="Declare incident").click()
    expect(tab.get_by_text(f"From page #{page.pk}: {ALERT_TITLE}")).to_be_visible()
    labels_name_their_own_fields(tab)
    expect(tab.get_by_label("Title")).to_have_value(ALERT_TITLE)
    tab.get_by_label("Are customers unable to do the core things they came for?").check()
    severity = tab.get_by_label("SEV-1", exact=True)
    expect(severity).to_be_checked()  # a critical alert suggests SEV-1
    tab.get_by_role("button", name="Declare incident").click()
    incident = Incident.objects.get(page=page)
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"{incident.reference} · {ALERT_TITLE}")
    labels_name_their_own_fields(tab)
    assert incident.severity == 1 and incident.declared_by == page.acknowledged_by
    return incident


def assign_role(tab: Page, role: str, person) -> None:
    form = tab.locator("form[action$='/roles/']")
    form.get_by_label("Role").select_option(label=role)
    form.get_by_label("Person").select_option(label=str(person))
    form.get_by_role("button", name="Assign").click()
    expect(tab.get_by_text("Role assigned.")).to_be_visible()
    roles = tab.get_by_role("region", name="Roles")
    expect(roles.get_by_role("listitem").filter(has_text=f"{role}: {person}")).to_have_count(1)


def post_internal_update(tab: Page, *, known: str, doing: str) -> None:
    form = tab.locator("form[action$='/updates/']")
    form.get_by_label("What we know").fill(known)
    form.get_by_label("What we are doing").fill(doing)
    form.get_by_label("Customer impact").select_option("worsening")
    form.get_by_role("button", name="Post update").click()
    expect(tab.get_by_text("Update posted to the team's channels.")).to_be_visible()
    updates = tab.get_by_role("region", name="Updates")
    expect(updates).to_contain_text("Update #1")
    expect(updates).to_contain_text(f"Known: {known}")


def publish_customer_update(tab: Page, incident: Incident, *, title: str) -> None:
    customers = tab.get_by_role("region", name="Customers")
    expect(customers).to_contain_text("A public notice is required at this severity")
    customers.get_by_role("link", name="Post customer update").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Customer update for {incident.reference}")
    expect(tab.get_by_label("Title")).to_have_value("Problems with Checkout")
    tab.get_by_label("Title").fill(title)
    labels_name_their_own_fields(tab)
    tab.get_by_role("button", name="Preview").click()
    preview = tab.get_by_role("region", name="Preview, as customers will see it")
    expect(preview).to_contain_text(title)
    expect(preview).to_contain_text("Checkout → major outage")
    assert not Notice.objects.exists(), "a preview publishes nothing"
    tab.get_by_role("button", name="Publish").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(title)
    notice = Notice.objects.get()
    assert (notice.incident_id, notice.status, notice.impact) == (incident.pk, "investigating", "critical")


def customers_see_outage(tab: Page, base_url: str, *, title: str) -> None:
    # Chromium resolves every *.localhost name to the loopback address by itself, and
    # ALLOWED_HOSTS has ".localhost", so the live server answers for the status host too.
    tab.goto(f"http://{STATUS_HOST}:{urlsplit(base_url).port}/")
    expect(tab.locator("p.banner")).to_have_text("Major Service Outage")
    labels_name_their_own_fields(tab)
    active = tab.get_by_role("region", name="Active incidents")
    expect(active).to_contain_text(title)
    expect(active).to_contain_text("Investigating")


# --- 4. monitoring, the watch period, resolved -------------------------------------------


def move_to_monitoring(tab: Page) -> None:
    form = tab.locator("form[action$='/status/']")
    form.get_by_label("Status").select_option("monitoring")
    form.get_by_role("button", name="Change status").click()
    expect(tab.get_by_text("Status changed.")).to_be_visible()
    expect(tab.get_by_role("heading", level=1).locator("xpath=following-sibling::p")).to_contain_text("Monitoring")


def _fill_resolve_form(tab: Page) -> None:
    form = tab.locator("form[action$='/resolve/']")
    for criterion in (
        "Core customer actions succeed",
        "Errors and latency are back at their baseline",
        "Queues and backlogs are draining",
        "Dependencies are healthy",
    ):
        form.get_by_label(criterion).check()
    form.get_by_label("Root cause (first look)").fill("A config deploy halved the DB pool")
    form.get_by_label("Fix applied").fill("Rolled the config back")
    form.get_by_role("button", name="Resolve").click()


def resolving_now_is_refused(tab: Page) -> None:
    """Inside the SEV-1 watch period (60 min) the server refuses: its clock is the test's."""
    _fill_resolve_form(tab)
    expect(tab.get_by_text("Watch the fix for 60 minutes in monitoring before resolving")).to_be_visible()
    assert Incident.objects.get().status == "monitoring"


def resolve_and_find_postmortem(tab: Page, incident: Incident) -> Postmortem:
    tab.goto(incident.get_absolute_url())
    _fill_resolve_form(tab)
    expect(tab.get_by_text("Resolved. The resolution message went out.")).to_be_visible()
    incident.refresh_from_db()
    assert incident.status == "resolved"
    # SEV-1 requires a postmortem: opened on resolve, owned by the commander, due in 48 hours.
    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.owner.username == "carol"
    assert postmortem.due_at == incident.resolved_at + dt.timedelta(hours=48)
    due_text = f"due {_local(postmortem.due_at)}"
    panel = tab.get_by_role("region", name="Postmortem")
    expect(panel).to_contain_text(f"owner {postmortem.owner}, {due_text}")
    panel.get_by_role("link", name=postmortem.get_status_display()).click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text(f"Postmortem · {incident.reference}")
    expect(tab.locator("main p").filter(has_text="owner ").first).to_contain_text(due_text)
    return postmortem


def _local(instant: dt.datetime) -> str:
    """As the pages show an instant to our people (their zone is TZ)."""
    return dateformat.format(instant.astimezone(ZoneInfo(TZ)), "D j M H:i")


# --- 5. an action item -------------------------------------------------------------------


def add_action_item(tab: Page, postmortem: Postmortem, *, owner, due: dt.date) -> ActionItem:
    labels_name_their_own_fields(tab)
    form = tab.locator("form[action$='/items/']")
    form.get_by_label("Title").fill(ITEM_TITLE)
    form.get_by_label("Owner").select_option(label=str(owner))
    form.get_by_label("Due date").fill(due.isoformat())
    form.get_by_label("Priority").select_option(label="P1 (urgent)")
    form.get_by_label("Kind").select_option(label="Detect sooner")
    form.get_by_label("Verification").fill("Drill: shrink the pool on staging; the alert pages within 5 minutes")
    form.get_by_role("button", name="Add action item").click()
    expect(tab.get_by_text("Action item added.")).to_be_visible()
    row = tab.locator("#items tbody tr").filter(has_text=ITEM_TITLE)
    expect(row).to_contain_text("verify: Drill: shrink the pool on staging")
    expect(row).to_contain_text(str(owner))
    expect(row).to_contain_text("P1")
    expect(row).not_to_contain_text("overdue")
    item = ActionItem.objects.get(postmortem=postmortem)
    assert (item.owner, item.due_date, item.priority) == (owner, due, 1)
    return item


# --- 6. the deadline passes; the manager sees it ------------------------------------------


def manager_sees_overdue_item(tab: Page, item: ActionItem) -> None:
    tab.goto("/postmortems/overdue/")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Overdue in the teams you manage")
    row = tab.locator("tbody tr").filter(has_text=ITEM_TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Payments")
    expect(row).to_contain_text(str(item.owner))
    expect(row).to_contain_text("overdue")
    expect(row).to_contain_text(item.postmortem.incident.reference)
    labels_name_their_own_fields(tab)


# --- every page: a label names the field of its own form --------------------------------


def labels_name_their_own_fields(tab: Page) -> None:
    """Two forms on one page with a field of the same name get the same id; the second
    form's label then points into the first form (a click focuses the wrong field, a
    screen reader reads the wrong label), and get_by_label cannot find the field."""
    stray = tab.evaluate(
        """() => Array.from(document.querySelectorAll("form label[for]"))
            .filter((label) => document.getElementById(label.htmlFor)?.form !== label.closest("form"))
            .map((label) => `${label.closest("form").getAttribute("action")}: ${label.textContent.trim()}`)"""
    )
    assert stray == [], f"labels pointing outside their form on {tab.url}: {stray}"
