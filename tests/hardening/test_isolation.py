"""The team boundary, proven route by route, and restricted incidents, proven list by list.

The walk: every URL pattern of the portal (`config.urls` through every include: the web
pages and the API under /api/v1/) is taken from Django's resolver. Each path parameter
is filled from PARAMS with an object of team A, chosen by the literal segment before it
(`teams/<slug>` is a team, `services/<slug>` a service). charlie, of team B, must get 404
for every method the route takes; bob, of team A, must not (so the 404 is the boundary and
not a broken fixture). A pattern whose parameter PARAMS does not know fails the walk: a new
route cannot arrive unchecked. The few routes that answer otherwise by design are listed in
EXPECTED with the reason.

Then restricted incidents: never in charlie's lists (web and API, every filter, search),
metrics (page, CSV, API), postmortem lists and overdue views, the dashboard, the incident
page's postmortem panel, or the status host's documents; and team-scoped API tokens see
their own team only, on every API route.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from incidents import services as incidents
from incidents.models import Incident
from oncall import links
from oncall.models import (
    ApiToken,
    CompTimeGrant,
    CompTimeUse,
    ContactMethod,
    EscalationPolicy,
    Holiday,
    Integration,
    Layer,
    Membership,
    Notification,
    Override,
    Page,
    PageEvent,
    Schedule,
    Service,
    SwapRequest,
    Team,
    TeamWebhook,
    User,
    WorkLog,
)
from oncall.services import paging
from oncall.services.teams import token_create
from postmortems import services as postmortems
from postmortems.models import ActionItem, Postmortem
from statuspage import publishing
from statuspage import selectors as status_selectors
from statuspage import services as statuspage
from statuspage.models import Component, Notice, StatusPage, Subscriber
from tests.factories import (
    AlertFactory,
    CompTimeGrantFactory,
    ContactMethodFactory,
    EscalationPolicyFactory,
    EscalationStepFactory,
    IntegrationFactory,
    MembershipFactory,
    StepTargetFactory,
    TeamWebhookFactory,
    UserFactory,
    WorkLogFactory,
)
from tests.oncall.schedule_fixtures import make_schedule

# Words that appear only in team A's restricted incidents: their titles, summaries, fixes.
# Long enough that no random token or CSRF value contains them by chance.
SECRET = ("Qx7breach", "Rv3exfil")
STATUS_HOST = "payments.status.localhost"


@dataclass
class World:
    team_a: Team
    team_b: Team
    alice: User
    bob: User
    charlie: User
    dave: User  # manages team A and is a member of team B: his tokens are scoped to one of them
    service: Service
    schedule: Schedule
    layer: Layer
    override: Override
    swap: SwapRequest
    policy: EscalationPolicy
    integration: Integration
    page: Page
    page_link: str
    restricted: Incident  # resolved, with an overdue postmortem and an open action item
    restricted_open: Incident  # open: what the dashboards show
    open_incident: Incident  # not restricted: everyone signed in reads it
    restricted_postmortem: Postmortem
    open_postmortem: Postmortem
    item: ActionItem
    grant: CompTimeGrant
    work_log: WorkLog
    holiday: Holiday
    use: CompTimeUse
    contact_method: ContactMethod
    notification: Notification
    webhook: TeamWebhook
    bob_token: ApiToken
    dave_token_a: str
    dave_token_b: str
    status_page: StatusPage
    component: Component
    notice: Notice

    def restricted_numbers(self) -> list[int]:
        return [self.restricted.number, self.restricted_open.number]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Nobody here signs in with a password; hashing four of them would cost seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(team_a, team_b, alice, bob, charlie, service_a) -> World:
    now = timezone.now()
    today = timezone.localdate()
    # charlie manages his team: a manager sees more of a team than a member, so his 404s say more.
    Membership.objects.filter(user=charlie, team=team_b).update(role=Membership.Role.MANAGER)
    dave = UserFactory(username="dave")
    MembershipFactory(user=dave, team=team_a, role=Membership.Role.MANAGER)
    MembershipFactory(user=dave, team=team_b, role=Membership.Role.MEMBER)

    schedule = make_schedule(team_a, [bob, alice], slug="payments-oncall", tz=team_a.time_zone)
    layer = schedule.layers.get(position=1)
    day = dt.timedelta(days=1)
    override = Override.objects.create(
        layer=layer, user=bob, start_at=now + day, end_at=now + day * 1.2, created_by=bob
    )
    swap = SwapRequest.objects.create(
        layer=layer, requester=bob, start_at=now + day * 2, end_at=now + day * 2.2, created_by=bob
    )
    policy = EscalationPolicyFactory(team=team_a, name="Payments standard")
    StepTargetFactory(step=EscalationStepFactory(policy=policy, position=1))

    integration = IntegrationFactory(service=service_a, name="Alertmanager")
    alert = AlertFactory(integration=integration, first_seen_at=now, last_seen_at=now)
    page = paging.page_open(alert=alert, now=now)
    PageEvent.objects.create(page=page, at=now, kind=PageEvent.Kind.NOTIFIED, user=bob)
    page_link = links.page_link_token(page_id=page.pk, user_id=bob.pk, action="acknowledge", now=now)

    restricted = incidents.incident_declare(
        team=team_a,
        title="Card vault Qx7breach",
        summary="Keys copied Rv3exfil",
        severity=1,
        by=alice,
        services=[service_a],
        is_restricted=True,
        now=now - day * 10,
    )
    incidents.incident_resolve(incident=restricted, by=alice, reason="Contained", now=now - day * 9)
    restricted_postmortem = postmortems.postmortem_create(incident=restricted, now=now - day * 9)
    postmortems.factor_add(
        postmortem=restricted_postmortem, kind="risky_deploy", description="Vault config Qx7breach", by=alice
    )
    item = postmortems.action_item_create(
        postmortem=restricted_postmortem, by=alice, title="Rotate vault keys Qx7breach", owner=bob, due_date=today - day
    )
    Postmortem.objects.filter(pk=restricted_postmortem.pk).update(overdue_since=now - day, due_at=now - day * 2)

    open_incident = incidents.incident_declare(
        team=team_a, title="Card vault slow Zk4", severity=3, by=alice, services=[service_a], now=now - day * 5
    )
    open_postmortem = postmortems.postmortem_create(incident=open_incident, now=now - day * 4)
    # Shares the restricted one's contributing factor: it is flagged as a repeat of it.
    postmortems.factor_add(postmortem=open_postmortem, kind="risky_deploy", description="Config push", by=alice)
    postmortems.action_item_create(postmortem=open_postmortem, by=alice, title="Canary config pushes", owner=bob)

    restricted_open = incidents.incident_declare(
        team=team_a,
        title="Vault token leak Qx7breach",
        summary="Rv3exfil",
        severity=1,
        by=alice,
        services=[service_a],
        is_restricted=True,
        now=now - dt.timedelta(hours=1),
    )

    grant = CompTimeGrantFactory(user=bob, team=team_a, night_of=today - day * 2)
    work_log = WorkLogFactory(user=bob, team=team_a, start_at=now - day * 3, end_at=now - day * 3 + day / 24)
    holiday = Holiday.objects.create(team=team_a, date=dt.date(today.year + 1, 12, 25), name="Christmas")
    use = CompTimeUse.objects.create(user=bob, team=team_a, taken_on=today, hours=2, created_by=alice)
    contact_method = ContactMethodFactory(user=bob)
    notification = Notification.objects.create(
        dedup_key="isolation:bob:1",
        event="page",
        recipient=bob,
        contact_method=contact_method,
        subject="Paged",
        body="Checkout errors",
        next_attempt_at=now,
        created_at=now,
    )
    webhook = TeamWebhookFactory(team=team_a)
    bob_token, _raw = token_create(user=bob, name="Laptop")
    _token, dave_token_a = token_create(user=dave, name="Payments tool", team=team_a)
    _token, dave_token_b = token_create(user=dave, name="Web tool", team=team_b)

    status_page = StatusPage.objects.create(name="Payments status", host=STATUS_HOST, time_zone=team_a.time_zone)
    status_page.teams.set([team_a])
    component = statuspage.component_create(page=status_page, name="Checkout", now=now)
    component.services.set([service_a])
    Subscriber.objects.create(page=status_page, email="customer@example.org", created_at=now, confirmed_at=now)
    notice = statuspage.notice_create(
        page=status_page,
        title="Checkout errors",
        impact="major",
        status="investigating",
        body="Some card payments fail; we are on it.",
        by=alice,
        incident=restricted_open,
        now=now,
    )
    statuspage.subscribers_notify(update_id=notice.updates.get().pk, now=now)  # as the worker does after commit
    return World(
        team_a=team_a,
        team_b=team_b,
        alice=alice,
        bob=bob,
        charlie=charlie,
        dave=dave,
        service=service_a,
        schedule=schedule,
        layer=layer,
        override=override,
        swap=swap,
        policy=policy,
        integration=integration,
        page=page,
        page_link=page_link,
        restricted=restricted,
        restricted_open=restricted_open,
        open_incident=open_incident,
        restricted_postmortem=restricted_postmortem,
        open_postmortem=open_postmortem,
        item=item,
        grant=grant,
        work_log=work_log,
        holiday=holiday,
        use=use,
        contact_method=contact_method,
        notification=notification,
        webhook=webhook,
        bob_token=bob_token,
        dave_token_a=dave_token_a,
        dave_token_b=dave_token_b,
        status_page=status_page,
        component=component,
        notice=notice,
    )


# --- the map: which object of team A fills which parameter ------------------------------------


@dataclass(frozen=True)
class Param:
    value: Callable[[World], object]
    # "team": an object of team A. "bob": bob's own (his contact method, token, link):
    # out of reach for everyone else, whatever their team or token.
    owner: str = "team"


# (literal segment before the parameter, parameter name) → the object that fills it.
PARAMS: dict[tuple[str, str], Param] = {
    # teams and services
    ("teams", "slug"): Param(lambda w: w.team_a.slug),
    ("services", "slug"): Param(lambda w: w.service.slug),
    ("comp-time-policies", "team"): Param(lambda w: w.team_a.slug),
    ("tokens", "pk"): Param(lambda w: w.bob_token.pk, owner="bob"),
    # schedules
    ("schedules", "slug"): Param(lambda w: w.schedule.slug),
    ("layers", "pk"): Param(lambda w: w.layer.pk),
    ("overrides", "pk"): Param(lambda w: w.override.pk),
    ("swaps", "pk"): Param(lambda w: w.swap.pk),
    ("swap-requests", "pk"): Param(lambda w: w.swap.pk),
    # paging, escalation, intake
    ("pages", "pk"): Param(lambda w: w.page.pk),
    ("page-links", "token"): Param(lambda w: w.page_link, owner="bob"),
    ("escalation-policies", "pk"): Param(lambda w: w.policy.pk),
    ("integrations", "public_id"): Param(lambda w: w.integration.public_id),
    ("alerts", "pk"): Param(lambda w: w.page.alert_id),
    # notifications
    ("methods", "pk"): Param(lambda w: w.contact_method.pk, owner="bob"),
    ("contact-methods", "pk"): Param(lambda w: w.contact_method.pk, owner="bob"),
    ("notifications", "pk"): Param(lambda w: w.notification.pk, owner="bob"),
    ("webhooks", "pk"): Param(lambda w: w.webhook.pk),
    ("team-webhooks", "pk"): Param(lambda w: w.webhook.pk),
    # comp time
    ("grants", "pk"): Param(lambda w: w.grant.pk),
    ("comp-time-grants", "pk"): Param(lambda w: w.grant.pk),
    ("comp-time-uses", "pk"): Param(lambda w: w.use.pk),
    ("holidays", "pk"): Param(lambda w: w.holiday.pk),
    ("work-logs", "pk"): Param(lambda w: w.work_log.pk),
    # incidents and postmortems: the restricted ones; the open one gets its own pass below
    ("incidents", "number"): Param(lambda w: w.restricted_open.number),
    ("incident", "number"): Param(lambda w: w.restricted_open.number),
    ("postmortems", "number"): Param(lambda w: w.restricted.number),
    ("postmortems", "incident"): Param(lambda w: w.restricted.number),
    ("action-items", "pk"): Param(lambda w: w.item.pk),
    # status pages in the portal and the API
    ("statuspage", "public_id"): Param(lambda w: w.status_page.public_id),
    ("status-pages", "public_id"): Param(lambda w: w.status_page.public_id),
    ("components", "component_id"): Param(lambda w: w.component.public_id),
    ("status-components", "public_id"): Param(lambda w: w.component.public_id),
    ("notices", "public_id"): Param(lambda w: w.notice.public_id),
    ("status-notices", "public_id"): Param(lambda w: w.notice.public_id),
    # feeds: the secret in the URL is the credential (see EXPECTED)
    ("schedules", "secret"): Param(lambda w: w.schedule.feed_secret),
    ("people", "secret"): Param(lambda w: w.bob.feed_secret, owner="bob"),
}

# Parameters that name no object: a verb, a format, an event type. Filled with a valid value.
NOT_OBJECTS: dict[tuple[str, str], tuple[str, str]] = {
    ("pages", "action"): ("acknowledge", "an action on the page named before it"),
    ("swaps", "action"): ("take", "an action on the cover request named before it"),
    ("notification-rules", "event"): ("page", "an event type; the rules read and written are always the caller's"),
}

# Routes that answer charlie otherwise, by design: template → ({method: status}, why).
EXPECTED: dict[str, tuple[dict[str, int], str]] = {
    "feeds/schedules/<secret>.ics": (
        {"GET": 200},
        "a calendar address: the secret is the credential, for calendar apps that cannot sign in; "
        "a manager rotates it to cut access",
    ),
    "feeds/people/<secret>.ics": ({"GET": 200}, "the same, for one person's shifts"),
    "api/v1/integrations/<public_id>/alerts/": (
        {"POST": 401},
        "the alert intake: tools authenticate with the integration key, not as a person; "
        "without the key the answer is 401 for anyone",
    ),
}

# Whole trees the walk leaves to their owners, with the reason.
SKIPPED_PREFIXES = {
    "admin/": "Django's admin: staff only; charlie is not staff (test_admin_is_staff_only)",
    "accounts/reset/": "Django's password reset link: its parameters are a signed user id and token, no team object",
}


# --- walking the resolver ----------------------------------------------------------------------

_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "incidents/<number>/status/"
    params: tuple[tuple[str, str], ...]  # (segment before it, name), in order
    converters: dict[str, str]
    callback: Callable[..., Any]

    @property
    def is_api(self) -> bool:
        return self.template.startswith("api/")

    def methods(self) -> list[str]:
        """The methods the route takes: a viewset's mapping, else GET and POST for a page."""
        actions = getattr(self.callback, "actions", None)
        if actions:
            allowed = self.callback.cls.http_method_names
            return sorted(m.upper() for m in actions if m in allowed and m not in ("head", "options"))
        return ["GET", "POST"]

    def url(self, values: dict[str, object]) -> str:
        return "/" + _ROUTE_PARAM.sub(lambda m: str(values[m["name"]]), self.template)


def _normalise(piece: Any) -> tuple[str, dict[str, str]]:
    """A pattern's text as `a/<name>/b/`, and its converters by name."""
    text = str(piece.pattern)
    converters: dict[str, str] = {}
    if hasattr(piece.pattern, "_route"):
        for m in _ROUTE_PARAM.finditer(text):
            converters[m["name"]] = m["converter"] or "str"
        return _ROUTE_PARAM.sub(lambda m: f"<{m['name']}>", text), converters
    text = text.removeprefix("^").removesuffix("$").replace("/?", "/").replace(r"\.", ".")
    return _REGEX_GROUP.sub(lambda m: f"<{m['name']}>", text), converters


def _patterns(resolver: URLResolver, chain: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            yield from _patterns(item, (*chain, item))
        elif isinstance(item, URLPattern):
            yield (*chain, item)


def all_routes() -> list[Route]:
    routes = []
    for chain in _patterns(get_resolver()):
        template, converters = "", {}
        for piece in chain:
            text, found = _normalise(piece)
            template += text
            converters |= found
        params = []
        for m in _ROUTE_PARAM.finditer(template):
            literals = [s for s in template[: m.start()].split("/") if s and "<" not in s]
            params.append((literals[-1] if literals else "", m["name"]))
        routes.append(Route(template, tuple(params), converters, chain[-1].callback))
    return routes


def checked_routes() -> list[Route]:
    return [r for r in all_routes() if not any(r.template.startswith(p) for p in SKIPPED_PREFIXES)]


def fill(route: Route, world: World, override: dict[tuple[str, str], object] | None = None) -> str:
    values: dict[str, object] = {}
    for key in route.params:
        name = key[1]
        if override and key in override:
            values[name] = override[key]
        elif name == "format":
            values[name] = ".json" if route.converters.get(name) == "drf_format_suffix" else "json"
        elif key in NOT_OBJECTS:
            values[name] = NOT_OBJECTS[key][0]
        else:
            values[name] = PARAMS[key].value(world)
    url = route.url(values)
    match = resolve(url)
    assert match.func == route.callback, f"{url} resolves to {match.view_name}, not to {route.template}"
    return url


def uncovered(route: Route) -> list[tuple[str, str]]:
    return [k for k in route.params if k[1] != "format" and k not in PARAMS and k not in NOT_OBJECTS]


def object_routes() -> list[Route]:
    """Routes with a parameter that names an object (verbs and formats alone don't count)."""
    return [r for r in checked_routes() if any(k in PARAMS for k in r.params)]


def send(client: Client, method: str, url: str) -> Any:
    """One request; a write's effects are rolled back, so each request meets the same world."""
    if method == "GET":
        return client.get(url)
    with transaction.atomic():
        kwargs = {"content_type": "application/json"} if method in ("PUT", "PATCH") else {}
        response = getattr(client, method.lower())(url, **kwargs)
        transaction.set_rollback(True)
    return response


def insider_status(client: Client, route: Route, url: str) -> int:
    """The answer to one request of a member: a read where the route reads, else its first write."""
    methods = route.methods()
    response = send(client, "GET", url) if "GET" in methods else None
    if response is None or response.status_code == 405:
        response = send(client, next(m for m in methods if m != "GET"), url)
    return response.status_code


def leaks(body: bytes, world: World) -> list[str]:
    """What of the restricted incidents shows in a response body."""
    text = body.decode(errors="replace")
    found = [word for word in SECRET if word in text]
    for number in world.restricted_numbers():
        patterns = (rf"INC-{number}\b", rf"/incidents/{number}/", rf'"(number|incident)":\s*{number}\b')
        found += [p for p in patterns if re.search(p, text)]
    return found


def signed_in(user: User) -> Client:
    # A crash is one more wrong answer in the list, not the end of the walk.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def with_token(raw: str) -> Client:
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {raw}")


# --- the walk --------------------------------------------------------------------------------


def test_every_route_parameter_is_in_the_map():
    """A new route with a parameter nobody mapped fails here, before it can ship unchecked."""
    routes = checked_routes()
    missing = {f"{r.template}: {k}" for r in routes for k in uncovered(r)}
    assert not missing, (
        "Routes with parameters the isolation walk does not know. Add each (segment, name) to PARAMS "
        "with an object of team A (or to NOT_OBJECTS if it names no object):\n" + "\n".join(sorted(missing))
    )
    # The walk sees the whole portal: both apps' pages and the API, through every include.
    templates = {r.template for r in routes}
    assert {"incidents/<number>/resolve/", "api/v1/incidents/<number>/resolve/"} <= templates
    assert {"teams/<slug>/comp-time/grants/<pk>/decide/", "api/v1/status-notices/<public_id>/updates/"} <= templates
    assert len(object_routes()) > 100
    assert set(EXPECTED) <= templates, "EXPECTED names a route that no longer exists"


def test_the_map_fails_on_an_unmapped_parameter():
    route = Route("widgets/<slug>/", (("widgets", "slug"),), {"slug": "slug"}, lambda r: None)
    assert uncovered(route) == [("widgets", "slug")]


def test_outsiders_get_404_on_every_route_of_team_a(world):
    """charlie, on every route naming an object of team A, with every method it takes: 404.
    bob, a member of team A, on the same routes: anything but 404."""
    charlie, bob = signed_in(world.charlie), signed_in(world.bob)
    wrong, blind = [], []
    for route in object_routes():
        url = fill(route, world)
        expected, _why = EXPECTED.get(route.template, ({}, ""))
        for method in route.methods():
            response = send(charlie, method, url)
            want = expected.get(method, 404)
            not_taken = response.status_code == 405 and method not in response.get("Allow", "")
            if response.status_code != want and not (not_taken and method not in expected):
                wrong.append(f"{method} {url} ({route.template}): {response.status_code}, expected {want}")
            if found := leaks(response.content, world):
                wrong.append(f"{method} {url}: shows {found}")
        if insider_status(bob, route, url) == 404:
            blind.append(f"{url} ({route.template})")
    assert not wrong, "charlie reaches team A:\n" + "\n".join(wrong)
    assert not blind, "bob, a member of team A, gets 404 (a broken fixture, or a broken route):\n" + "\n".join(blind)


INCIDENT_KEYS = [
    ("incidents", "number"),
    ("incident", "number"),
    ("postmortems", "number"),
    ("postmortems", "incident"),
]
# What anyone signed in reads of a not-restricted incident of another team: its page, its
# postmortem, and the same in the API. The pages render on any method and change nothing;
# their forms post to the action routes, which are the team's.
OPEN_READS = {
    "incidents/<number>/": ("GET", "POST"),
    "postmortems/<number>/": ("GET", "POST"),
    "postmortems/<number>/download/": ("GET", "POST"),
    "postmortems/<number>/print/": ("GET", "POST"),
    "api/v1/incidents/<number>/": ("GET",),
    "api/v1/incidents/<number>/timeline/": ("GET",),
    "api/v1/incidents/<number>/updates/": ("GET",),
    "api/v1/postmortems/<incident>/": ("GET",),
}


def test_an_open_incident_is_read_by_all_but_run_by_its_team(world):
    """A not-restricted incident (and its postmortem) is read by every signed-in person (OPEN_READS);
    acting on it, or writing its postmortem, is for its team and role holders: 404 to others."""
    charlie = signed_in(world.charlie)
    wrong = []
    for route in object_routes():
        if not any(k in route.params for k in INCIDENT_KEYS):
            continue
        url = fill(route, world, {k: world.open_incident.number for k in INCIDENT_KEYS})
        for method in route.methods():
            response = send(charlie, method, url)
            want = 200 if method in OPEN_READS.get(route.template, ()) else 404
            not_taken = response.status_code == 405 and method not in response.get("Allow", "")
            if response.status_code != want and not (want == 404 and not_taken):
                wrong.append(f"{method} {url} ({route.template}): {response.status_code}, expected {want}")
    assert not wrong, "charlie and another team's open incident:\n" + "\n".join(wrong)


# Team-scoped tokens are a tool's credential: a person's own settings refuse them outright.
PERSONAL = {method: 403 for method in ("GET", "PUT", "PATCH", "DELETE")}
TOKEN_EXPECTED: dict[str, tuple[dict[str, int], str]] = {
    "api/v1/contact-methods/<pk>/": (PERSONAL, "personal settings: 403 for any team-scoped token"),
    "api/v1/notification-rules/<event>/": (PERSONAL, "personal settings: 403 for any team-scoped token"),
}


def test_team_scoped_tokens_see_only_their_team_on_every_api_route(world):
    """dave manages team A and is a member of team B. With a token scoped to team B, every API
    route naming an object of team A answers 404, even for incidents anyone may read; with a
    token scoped to team A, the same reads answer."""
    token_b, token_a = with_token(world.dave_token_b), with_token(world.dave_token_a)
    wrong, blind = [], []
    public = {key: world.open_incident.number for key in INCIDENT_KEYS}
    for route in object_routes():
        if not route.is_api:
            continue
        expected, _why = TOKEN_EXPECTED.get(route.template) or EXPECTED.get(route.template, ({}, ""))
        # Routes of an incident once more with the one anybody may read: still not for this token.
        for values in (None, public) if any(k in route.params for k in INCIDENT_KEYS) else (None,):
            url = fill(route, world, values)
            for method in route.methods():
                response = send(token_b, method, url)
                want = expected.get(method, 404)
                if response.status_code != want:
                    wrong.append(f"{method} {url} ({route.template}): {response.status_code}, expected {want}")
        owned_by_bob = any(PARAMS[k].owner == "bob" for k in route.params if k in PARAMS)
        if not owned_by_bob and insider_status(token_a, route, fill(route, world)) == 404:
            blind.append(route.template)
    assert not wrong, "a token scoped to team B reaches team A:\n" + "\n".join(wrong)
    assert not blind, "a token scoped to team A gets 404 on its own team's objects:\n" + "\n".join(blind)


def test_admin_is_staff_only(world):
    client = signed_in(world.charlie)
    for url in ("/admin/", f"/admin/incidents/incident/{world.restricted.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


# --- lists, searches and figures ------------------------------------------------------------------

# Each query matches a restricted incident (or its postmortem), for the routes that know its filters.
LIST_QUERIES = [
    "",
    "?team=payments&service=payments-api&severity=1&status=open&q=vault&search=vault",
    "?status=resolved&overdue=true&owner=bob",
    "?format=csv&team=payments&months=12",
]
# Documentation, not data: the schema and its viewers describe routes, never rows.
NOT_DATA = {"api/v1/schema/", "api/docs/", "api/redoc/"}


def list_routes() -> list[Route]:
    return [r for r in checked_routes() if not r.params and r.template not in NOT_DATA and "GET" in r.methods()]


def test_no_list_or_report_shows_charlie_a_restricted_incident(world):
    """Every route without parameters (lists, dashboards, reports, the API's lists), with the
    filters they know: nothing of team A's restricted incidents shows."""
    charlie = signed_in(world.charlie)
    shown = []
    for route in list_routes():
        for query in LIST_QUERIES:
            response = send(charlie, "GET", "/" + route.template + query)
            assert response.status_code < 500, f"{route.template}{query}: {response.status_code}"
            if found := leaks(response.content, world):
                shown.append(f"{route.template}{query}: {found}")
    assert not shown, "restricted incidents show to charlie:\n" + "\n".join(shown)
    # The same lists show them to bob: the markers and the queries do find them.
    bob = signed_in(world.bob)
    for url in ("incidents/", "incidents/all/", "postmortems/", "api/v1/postmortems/", "api/v1/action-items/"):
        assert leaks(bob.get("/" + url).content, world), url


def test_a_team_b_token_lists_nothing_of_team_a(world):
    client = with_token(world.dave_token_b)
    markers = ("Payments", "Zk4", "alice", str(world.integration.public_id), world.status_page.public_id, *SECRET)
    shown = []
    for route in list_routes():
        if not route.is_api:
            continue
        for query in LIST_QUERIES:
            response = send(client, "GET", "/" + route.template + query)
            assert response.status_code < 500, f"{route.template}{query}: {response.status_code}"
            text = response.content.decode()
            if found := [m for m in markers if m in text]:
                shown.append(f"{route.template}{query}: {found}")
    assert not shown, "a token scoped to team B lists team A:\n" + "\n".join(shown)
    team_a_token = with_token(world.dave_token_a)
    assert all(m in team_a_token.get("/api/v1/incidents/").content.decode() for m in ("Zk4", *SECRET))
    assert "Payments" in team_a_token.get("/api/v1/teams/").content.decode()


def _api_numbers(client: Client, url: str) -> set[int]:
    body = client.get(url).json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row.get("number", row.get("incident")) for row in rows}


INCIDENT_FILTERS = [
    "",
    "team=payments",
    "severity=1",
    "status=open",
    "status=resolved",
    "service=payments-api",
    "q=vault",
    "q=Qx7breach",
    "since=2000-01-01",
]


def test_incident_lists_hide_restricted_ones_under_every_filter(world):
    """The same lists with bob show the restricted incidents, so each filter does match them."""
    restricted = {world.restricted.number, world.restricted_open.number}
    charlie, bob = signed_in(world.charlie), signed_in(world.bob)
    for query in INCIDENT_FILTERS:
        web_query = query.replace("since=2000-01-01", "since=2000-01-01&until=2999-01-01")
        for client, sees in ((charlie, False), (bob, True)):
            found = _api_numbers(client, f"/api/v1/incidents/?{query}")
            html = client.get(f"/incidents/all/?{web_query}").content.decode()
            shown = {n for n in restricted if f'href="/incidents/{n}/"' in html}
            if sees:
                assert found & restricted and shown, f"bob should find restricted incidents with ?{query}"
            else:
                assert not found & restricted and not shown, f"charlie finds restricted incidents with ?{query}"
        if query in ("", "team=payments", "q=vault", "service=payments-api", "since=2000-01-01"):
            assert world.open_incident.number in _api_numbers(charlie, f"/api/v1/incidents/?{query}")


def test_metrics_count_only_incidents_the_reader_may_see(world):
    """Both restricted incidents are SEV-1, the open one SEV-3: charlie's figures have no SEV-1."""
    charlie, bob = signed_in(world.charlie), signed_in(world.bob)
    for query in ("", "?team=payments"):
        api = {row["severity"]: row["incidents"] for row in charlie.get(f"/api/v1/incidents/metrics/{query}").json()}
        assert api.get(1, 0) == 0 and api[3] == 1
        assert {r["severity"]: r["incidents"] for r in bob.get(f"/api/v1/incidents/metrics/{query}").json()}[1] == 2
        sep = "&" if query else "?"
        for client, sev1 in ((charlie, 0), (bob, 2)):
            rows = client.get(f"/incidents/metrics/{query}{sep}format=csv").content.decode().splitlines()
            assert rows[0].split(",")[2] == "sev1"
            assert sum(int(row.split(",")[2]) for row in rows[1:]) == sev1
            assert sum(int(row.split(",")[1]) for row in rows[1:]) == sev1 + 1
    page = charlie.get("/incidents/metrics/?team=payments")
    assert page.status_code == 200 and not leaks(page.content, world)
    # The open incident shares a contributing factor with the earlier restricted one: a repeat
    # for bob, who may see both; for charlie, a figure built on it would tell that it exists.
    assert page.context["extra"]["repeats"] == 0 and page.context["extra"]["reviewed"] == 1
    assert bob.get("/incidents/metrics/?team=payments").context["extra"]["repeats"] == 1


def test_postmortem_lists_and_overdue_views_hide_restricted_ones(world):
    charlie, alice = signed_in(world.charlie), signed_in(world.alice)
    for client, sees in ((charlie, False), (alice, True)):
        api = _api_numbers(client, "/api/v1/postmortems/?overdue=true") | _api_numbers(
            client, "/api/v1/postmortems/?team=payments"
        )
        assert (world.restricted.number in api) is sees
        for url in ("/postmortems/", "/postmortems/overdue/", "/postmortems/overdue/?team=payments&format=csv"):
            body = client.get(url).content.decode()
            assert ("Qx7breach" in body or f"/postmortems/{world.restricted.number}/" in body) is sees, url
    assert world.open_incident.number in _api_numbers(charlie, "/api/v1/postmortems/")


def test_dashboard_shows_charlie_the_open_incident_but_not_the_restricted_one(world):
    charlie, bob = signed_in(world.charlie), signed_in(world.bob)
    page = charlie.get("/incidents/").content.decode()
    assert f'href="/incidents/{world.open_incident.number}/"' in page
    assert not leaks(page.encode(), world)
    assert f'href="/incidents/{world.restricted_open.number}/"' in bob.get("/incidents/").content.decode()


def test_the_incident_page_names_no_earlier_restricted_incident(world):
    """The postmortem panel on the open incident: its earlier open fixes and the postmortems
    it repeats. Both point at the restricted incident; charlie sees neither."""
    url = f"/incidents/{world.open_incident.number}/"
    charlie = signed_in(world.charlie).get(url)
    assert charlie.status_code == 200
    assert not leaks(charlie.content, world)
    bob = signed_in(world.bob).get(url).content.decode()
    assert "Rotate vault keys Qx7breach" in bob
    assert f"INC-{world.restricted.number}" in bob


def test_the_status_host_never_names_the_internal_incident(world):
    """The notice of a restricted incident is public by design; the incident behind it is not:
    no title, summary, number or portal link in any published document (HTML, feeds, JSON)."""
    documents = publishing.render_documents(status_selectors.public_view(page=world.status_page, now=timezone.now()))
    assert f"/incidents/{world.notice.public_id}" in documents
    assert any(b"Checkout errors" in doc.body for doc in documents.values())
    shown = {path: found for path, doc in documents.items() if (found := leaks(doc.body, world))}
    assert not shown
    mail = Notification.objects.filter(email_address="customer@example.org")
    assert mail.exists()
    assert not [m.pk for m in mail if leaks(f"{m.subject} {m.body}".encode(), world)]
    publishing.page_publish(page_id=world.status_page.pk)
    for path in ("/", "/history.rss", "/history.atom", "/api/v2/summary.json", f"/incidents/{world.notice.public_id}"):
        response = Client().get(path, HTTP_HOST=STATUS_HOST)
        assert response.status_code == 200, path
        assert not leaks(response.content, world)


def test_a_shared_status_page_names_the_incident_behind_a_notice_only_to_its_readers(world):
    """Team B publishes on team A's page too: charlie sees the notice of the restricted
    incident (it is public), but not which incident it stems from."""
    world.status_page.teams.add(world.team_b)
    urls = [f"/statuspage/{world.status_page.public_id}/", f"/statuspage/notices/{world.notice.public_id}/"]
    api = ["/api/v1/status-notices/", f"/api/v1/status-notices/{world.notice.public_id}/"]
    charlie, bob = signed_in(world.charlie), signed_in(world.bob)
    for url in urls + api:
        response = charlie.get(url)
        assert response.status_code == 200, url
        assert b"Checkout errors" in response.content
        assert not leaks(response.content, world), url
    number = world.restricted_open.number
    assert all(f"INC-{number}" in bob.get(url).content.decode() for url in urls)
    assert bob.get(api[1]).json()["incident"] == number
