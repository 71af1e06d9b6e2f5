"""Demo incidents: a few past ones across teams and severities, so metrics and charts show something.

Called by `manage.py demo` (oncall's command looks for a `demo` module in each later app).
Idempotent: it does nothing once any incident exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from incidents import services
from incidents.models import Incident
from oncall.models import Service, Team, User


@dataclass(frozen=True)
class Step:
    minutes: int
    action: str  # note, status:<status>, update, role:<role>:<username>, resolve
    text: str = ""


@dataclass(frozen=True)
class Story:
    team: str
    title: str
    severity: int
    commander: str
    days_ago: int
    service: str | None
    source: str = "monitoring"
    summary: str = ""
    impact_before_minutes: int = 3
    steps: list[Step] = field(default_factory=list)
    root_cause: str = ""
    fix: str = ""


STORIES = [
    Story(
        team="payments",
        title="Payments API failing card payments",
        severity=1,
        commander="alice",
        days_ago=12,
        service="payments-api",
        summary="About a fifth of payment attempts fail with 5xx; checkout is blocked for those customers.",
        impact_before_minutes=2,
        steps=[
            Step(3, "role:tech_lead:bob"),
            Step(4, "role:comms_lead:carol"),
            Step(
                6, "note", "5xx at 12% and climbing; DB connections at the pool limit since a config deploy at 09:58."
            ),
            Step(8, "status:identified"),
            Step(10, "update", "Config change lowered the DB connection limit|Rolling the config back"),
            Step(12, "status:mitigating"),
            Step(12, "note", "Config rollback started."),
            Step(20, "note", "Errors back to baseline."),
            Step(21, "status:monitoring"),
            Step(33, "note", "Full recovery confirmed: payments succeed, pool at 40%."),
            Step(82, "resolve"),
        ],
        root_cause="A config change lowered the DB connection limit; a traffic spike exhausted the pool.",
        fix="Rolled the config back.",
    ),
    Story(
        team="platform",
        title="Primary database replica lag over 5 minutes",
        severity=2,
        commander="dana",
        days_ago=30,
        service="primary-database",
        summary="Reads from the replica are stale; reports and search show old data.",
        impact_before_minutes=15,
        steps=[
            Step(5, "status:identified"),
            Step(20, "update", "A vacuum on a large table saturates the replica's disk|Throttling the vacuum"),
            Step(40, "status:monitoring"),
            Step(75, "resolve"),
        ],
        root_cause="An unthrottled vacuum on the events table.",
        fix="Throttled the vacuum; lag back under a second.",
    ),
    Story(
        team="web",
        title="Sign-in page slow for some users",
        severity=3,
        commander="wendy",
        days_ago=45,
        service="web-app",
        source="customer",
        summary="Customers report a sign-in page that takes over ten seconds in one region.",
        impact_before_minutes=90,
        steps=[Step(30, "status:mitigating"), Step(60, "status:monitoring"), Step(100, "resolve")],
        root_cause="A cold CDN edge after a purge.",
        fix="Warmed the edge cache.",
    ),
    Story(
        team="payments",
        title="Payouts batch finished two hours late",
        severity=4,
        commander="bob",
        days_ago=70,
        service="payouts-worker",
        source="internal",
        impact_before_minutes=120,
        steps=[Step(15, "status:monitoring"), Step(50, "resolve")],
        root_cause="A slow bank API.",
        fix="Retried the batch.",
    ),
    Story(
        team="platform",
        title="Edge proxy certificate about to expire",
        severity=3,
        commander="erin",
        days_ago=0,
        service="edge-proxy",
        source="internal",
        summary="The wildcard certificate expires in 36 hours and auto-renewal failed.",
        impact_before_minutes=0,
        steps=[Step(10, "status:identified")],
    ),
]


def seed(*, teams: dict[str, Team], now: dt.datetime) -> None:
    if Incident.objects.exists():
        return
    for story in STORIES:
        _play(story, teams[story.team], now)


def _play(story: Story, team: Team, now: dt.datetime) -> None:
    people = {u.username: u for u in User.objects.filter(memberships__team=team)}
    commander = people[story.commander]
    declared = now - dt.timedelta(days=story.days_ago, hours=2)
    services_ = list(Service.objects.filter(slug=story.service)) if story.service else []
    incident = services.incident_declare(
        team=team,
        title=story.title,
        severity=story.severity,
        by=commander,
        summary=story.summary,
        services=services_,
        detection_source=story.source,
        impact_started_at=declared - dt.timedelta(minutes=story.impact_before_minutes + 2),
        detected_at=declared - dt.timedelta(minutes=2),
        now=declared,
    )
    for step in story.steps:
        _step(incident, step, commander, people, declared + dt.timedelta(minutes=step.minutes), story)


def _step(incident: Incident, step: Step, by: User, people: dict[str, User], at: dt.datetime, story: Story) -> None:
    kind, _, rest = step.action.partition(":")
    if kind == "note":
        services.note_add(incident=incident, text=step.text, by=by, now=at)
    elif kind == "status":
        services.incident_transition(incident=incident, status=rest, by=by, now=at)
    elif kind == "role":
        role, _, username = rest.partition(":")
        services.role_assign(incident=incident, role=role, user=people[username], by=by, now=at)
    elif kind == "update":
        known, _, doing = step.text.partition("|")
        services.update_post(incident=incident, known=known, doing=doing, trend="improving", by=by, now=at)
    elif kind == "resolve":
        services.incident_resolve(
            incident=incident,
            by=by,
            checks=["core_actions", "errors_latency", "queues", "dependencies"],
            root_cause=story.root_cause,
            fix=story.fix,
            now=at,
        )
