from __future__ import annotations

import factory
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
