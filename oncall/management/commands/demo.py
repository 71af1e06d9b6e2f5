"""Demo data: three teams, their people and services. Safe to run any number of times."""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from oncall import demo_comptime, demo_intake, demo_paging
from oncall import schedule as rules
from oncall import selectors_schedules as sched
from oncall.models import Membership, Schedule, Service, Team, User
from oncall.services import schedules
from oncall.services import teams as services

PASSWORD = "fireline-demo"

TEAMS = [
    ("Payments", "payments", "America/New_York", "Card payments, payouts and invoicing."),
    ("Platform", "platform", "Europe/Berlin", "Kubernetes, databases, queues and the edge."),
    ("Web", "web", "Europe/London", "The customer web app and its API gateway."),
]

# username, first, last, is_admin, [(team slug, role)]
PEOPLE = [
    ("admin", "Ada", "Admin", True, []),
    ("alice", "Alice", "Anders", False, [("payments", Membership.Role.MANAGER)]),
    ("bob", "Bob", "Brooks", False, [("payments", Membership.Role.MEMBER)]),
    ("carol", "Carol", "Chen", False, [("payments", Membership.Role.MEMBER), ("platform", Membership.Role.MEMBER)]),
    ("charlie", "Charlie", "Cruz", False, [("web", Membership.Role.MEMBER)]),
    ("dana", "Dana", "Diaz", False, [("platform", Membership.Role.MANAGER)]),
    ("erin", "Erin", "Evans", False, [("platform", Membership.Role.MEMBER)]),
    ("wendy", "Wendy", "Wu", False, [("web", Membership.Role.MANAGER)]),
]

SERVICES: list[dict[str, str]] = [
    {
        "team": "payments",
        "name": "Payments API",
        "slug": "payments-api",
        "tier": Service.Tier.CRITICAL,
        "description": "Authorises and captures card payments for checkout.",
        "runbook_dashboards": "Grafana > Payments > API overview: error rate under 0.5%, p95 under 300 ms.",
        "runbook_logs": 'Loki: {app="payments-api"} |= "ERROR" — group by provider.',
        "runbook_dependencies": (
            "Postgres payments-db (replication lag), Redis idempotency cache, card provider status page."
        ),
        "runbook_rollback": (
            "Deploys > payments-api > redeploy previous release; migrations stay backward compatible for one release."
        ),
        "runbook_failover": "Switch the card provider flag `payments.provider` to the secondary; takes effect in 30 s.",
        "runbook_contacts": "Payments on-call, then Alice (manager). Card provider support: see vendor sheet.",
    },
    {
        "team": "payments",
        "name": "Payouts worker",
        "slug": "payouts-worker",
        "tier": Service.Tier.IMPORTANT,
        "description": "Nightly settlement and merchant payouts.",
        "runbook_dashboards": "Grafana > Payments > Payouts: batch age and failed transfers.",
        "runbook_rollback": "Pause the payouts queue, redeploy the previous release, resume.",
    },
    {
        "team": "platform",
        "name": "Primary database",
        "slug": "primary-database",
        "tier": Service.Tier.CRITICAL,
        "description": "The shared PostgreSQL cluster.",
        "runbook_dashboards": "Grafana > Platform > Postgres: connections, replication lag, disk.",
        "runbook_logs": "journalctl -u postgresql on db-1/db-2; slow queries in pg_stat_statements.",
        "runbook_dependencies": "Disk on the volume, the replica, PgBouncer.",
        "runbook_rollback": "Schema changes roll back with the release's down-migration, reviewed by a DBA.",
        "runbook_failover": "Promote the replica with the failover script; move the PgBouncer target.",
        "runbook_contacts": "Platform on-call, then Dana.",
    },
    {
        "team": "platform",
        "name": "Edge proxy",
        "slug": "edge-proxy",
        "tier": Service.Tier.CRITICAL,
        "description": "TLS termination and routing for every public host.",
    },
    {
        "team": "web",
        "name": "Web app",
        "slug": "web-app",
        "tier": Service.Tier.CRITICAL,
        "description": "The customer-facing single-page app and its backend-for-frontend.",
        "runbook_dashboards": "Grafana > Web > RUM: JS errors, page load p75.",
        "runbook_rollback": "Promote the previous build in the CDN console.",
        "runbook_contacts": "Web on-call, then Wendy.",
    },
]


class Command(BaseCommand):
    help = "Loads demo teams, people and services. Idempotent: running it again changes nothing."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        teams = {slug: self._team(name, slug, tz, text) for name, slug, tz, text in TEAMS}
        for username, first, last, is_admin, memberships in PEOPLE:
            user = self._user(username, first, last, is_admin)
            for team_slug, role in memberships:
                services.membership_set(team=teams[team_slug], user=user, role=role)
        for spec in SERVICES:
            self._service(teams, dict(spec))
        now = timezone.now()
        for team in teams.values():
            self._schedule(team)
            # Policies and integrations first: the paging demo pages through them, and the
            # comp-time demo counts the night work those pages leave behind.
            for seed in (demo_paging.seed, demo_intake.seed, demo_comptime.seed):
                seed(team=team, now=now)
        self._later_apps(teams)
        self._print_credentials()

    def _later_apps(self, teams: dict[str, Team]) -> None:
        """Runs `<app>.demo.seed` of the apps built on this one, found by name, not imported here."""
        now = timezone.now()
        for config in apps.get_app_configs():
            if config.name == "oncall" or not module_has_submodule(config.module, "demo"):
                continue
            import_module(f"{config.name}.demo").seed(teams=teams, now=now)

    def _team(self, name: str, slug: str, time_zone: str, description: str) -> Team:
        team = Team.objects.filter(slug=slug).first()
        return team or services.team_create(name=name, slug=slug, time_zone=time_zone, description=description)

    def _user(self, username: str, first: str, last: str, is_admin: bool) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.com",
                "is_staff": is_admin,
                "is_superuser": is_admin,
            },
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _service(self, teams: dict[str, Team], spec: dict[str, str]) -> None:
        if Service.objects.filter(slug=spec["slug"]).exists():
            return
        team = teams[spec.pop("team")]
        author = team.memberships.order_by("role").first()
        services.service_create(team=team, name=spec.pop("name"), slug=spec.pop("slug"), by=author.user, **spec)

    def _schedule(self, team: Team) -> None:
        """A two-layer weekly schedule, one override and one open cover request, the first time only."""
        slug = f"{team.slug}-oncall"
        if Schedule.objects.filter(slug=slug).exists():
            return
        memberships = list(team.memberships.select_related("user").order_by("user__username"))
        manager = next(m.user for m in memberships if m.is_manager)
        people = [m.user for m in memberships]
        schedule = schedules.schedule_create(team=team, name=f"{team.name} on-call", slug=slug, by=manager)
        local_today = timezone.localdate(timezone=ZoneInfo(schedule.time_zone))
        # Started eight Mondays ago, so the trailing-90-day fairness figures have history.
        monday = local_today - dt.timedelta(days=local_today.weekday() + 56)
        for position, name in ((1, "Primary"), (2, "Secondary")):
            order = people if position == 1 else people[1:] + people[:1]
            schedules.layer_create(
                schedule=schedule,
                name=name,
                position=position,
                rotation_start_date=monday,
                participants=order,
                by=manager,
            )
        primary = schedule.layers.prefetch_related("participants").get(position=1)
        now = timezone.now()
        start = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
        swap_start = start + dt.timedelta(days=3)
        on_call = {when: rules.on_call_at(sched.layer_rule(primary), [], when) for when in (start, swap_start)}
        requester = next(p for p in people if p.pk == on_call[swap_start])
        schedules.override_create(
            layer=primary,
            user=next(p for p in people if p.pk != on_call[start]),
            start_at=start,
            end_at=start + dt.timedelta(hours=4),
            reason="Covers a dentist appointment",
            by=manager,
            now=now,
        )
        schedules.swap_request_create(
            layer=primary,
            requester=requester,
            start_at=swap_start,
            end_at=swap_start + dt.timedelta(hours=12),
            note="Family event",
            by=requester,
            now=now,
        )

    def _print_credentials(self) -> None:
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://localhost:8000/ with:"))
        for username, _first, _last, is_admin, memberships in PEOPLE:
            teams = ", ".join(f"{slug} ({role})" for slug, role in memberships) or "administrator"
            self.stdout.write(f"  {username:<8} / {PASSWORD}   {teams if not is_admin else 'superuser, /admin/'}")
        self.stdout.write("Status page: http://status.localhost:8000/")
