"""Demo postmortem: the Payments API outage with its four action items, some overdue.

Called by `manage.py demo` after the incidents app's demo; does nothing once a postmortem exists.
"""

from __future__ import annotations

import datetime as dt

from incidents.models import Incident
from oncall.models import Team, User
from postmortems import services
from postmortems.models import ContributingFactor, Postmortem

ITEMS = [
    ("Alert when the DB connection pool is above 80% for 5 minutes", "carol", -5, 1, "detect",
     "Fire it in staging by lowering the pool; the page reaches the on-call."),
    ("Block deploys whose canary exceeds the DB connection threshold", "bob", 4, 2, "prevent",
     "A canary with a lowered limit fails the pipeline."),
    ("Add the config rollback command and its checks to the Payments API runbook", "alice", -9, 2, "mitigate",
     "A new team member rolls back a config in a drill using only the runbook."),
    ("Load test payments under traffic spikes every month", "bob", 20, 3, "prevent",
     "The monthly report shows the p95 and pool use at twice peak traffic."),
]  # fmt: skip


def seed(*, teams: dict[str, Team], now: dt.datetime) -> None:
    if Postmortem.objects.exists():
        return
    incident = Incident.objects.filter(team=teams["payments"], severity=1, status="resolved").first()
    if incident is None:
        return
    postmortem = services.postmortem_create(incident=incident, now=incident.resolved_at or now)
    people = {u.username: u for u in User.objects.filter(memberships__team=teams["payments"])}
    owner = postmortem.owner or people["alice"]
    services.postmortem_update(
        postmortem=postmortem,
        by=owner,
        users_affected_percent=22,
        peak_error_rate_percent=12,
        features_affected="Card payments at checkout",
        root_cause="A config change lowered the database connection limit; a traffic spike exhausted the pool.",
        went_well="Rolling back the config restored service within minutes of starting it.",
        went_badly="Nothing alerted on pool use, so we learned of it from the error rate.",
    )
    for kind, text in (
        (ContributingFactor.Kind.MISSING_ALERT, "No alert on connection pool use."),
        (ContributingFactor.Kind.RISKY_DEPLOY, "No canary check for database connection limits."),
        (ContributingFactor.Kind.POOR_RUNBOOK, "The runbook had no config rollback step."),
    ):
        services.factor_add(postmortem=postmortem, kind=kind, description=text, by=owner)
    for title, username, days, priority, kind, verification in ITEMS:
        services.action_item_create(
            postmortem=postmortem,
            by=owner,
            title=title,
            owner=people[username],
            due_date=now.date() + dt.timedelta(days=days),
            priority=priority,
            kind=kind,
            verification=verification,
            now=now,
        )
    services.run_action_item_deadlines(now=now)
