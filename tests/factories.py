from __future__ import annotations

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from oncall.models import ContactMethod, Membership, NotificationRule, Service, Team, TeamWebhook, User
from oncall.models.notifications import Event

PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.LazyAttribute(lambda u: u.username.capitalize())
    password = factory.django.Password(PASSWORD)


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    time_zone = "Europe/Berlin"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    tier = Service.Tier.CRITICAL
    runbook_dashboards = "https://grafana.example.com/d/api"


class ContactMethodFactory(DjangoModelFactory):
    class Meta:
        model = ContactMethod

    user = factory.SubFactory(UserFactory)
    kind = ContactMethod.Kind.EMAIL
    address = factory.Sequence(lambda n: f"pager{n}@example.com")


class NotificationRuleFactory(DjangoModelFactory):
    class Meta:
        model = NotificationRule

    contact_method = factory.SubFactory(ContactMethodFactory)
    user = factory.SelfAttribute("contact_method.user")
    event = Event.SHIFT_REMINDER


class TeamWebhookFactory(DjangoModelFactory):
    class Meta:
        model = TeamWebhook

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Hook {n}")
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    format = TeamWebhook.Format.JSON


# --- paging (integrations and alerts are shared with the alert intake) ---------------------


class IntegrationFactory(DjangoModelFactory):
    class Meta:
        model = "oncall.Integration"

    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"Integration {n}")
    key_prefix = "fk_test"
    key_digest = factory.Sequence(lambda n: f"{n:064x}")


class AlertFactory(DjangoModelFactory):
    class Meta:
        model = "oncall.Alert"

    integration = factory.SubFactory(IntegrationFactory)
    service = factory.SelfAttribute("integration.service")
    dedup_key = factory.Sequence(lambda n: f"alert-{n}")
    title = "Checkout error rate above 5%"
    severity = "error"
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.SelfAttribute("first_seen_at")


class EscalationPolicyFactory(DjangoModelFactory):
    class Meta:
        model = "oncall.EscalationPolicy"

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Policy {n}")
    repeats = 0


class EscalationStepFactory(DjangoModelFactory):
    class Meta:
        model = "oncall.EscalationStep"

    policy = factory.SubFactory(EscalationPolicyFactory)
    position = factory.Sequence(lambda n: n + 1)
    wait_minutes = 5


class StepTargetFactory(DjangoModelFactory):
    class Meta:
        model = "oncall.StepTarget"

    step = factory.SubFactory(EscalationStepFactory)
    kind = "managers"


# --- comp time -------------------------------------------------------------------------------


class WorkLogFactory(DjangoModelFactory):
    class Meta:
        model = "oncall.WorkLog"

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    # start_at and end_at have no default: tests give explicit instants.
    source = "manual"
    note = "Worked after hours"


class CompTimeGrantFactory(DjangoModelFactory):
    class Meta:
        model = "oncall.CompTimeGrant"

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    # night_of has no default: tests say which night.
    worked_minutes = 75
    hours = 4
    kind = "morning_off"
    created_at = factory.LazyFunction(timezone.now)
