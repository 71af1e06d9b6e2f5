import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.errors import DomainError
from oncall.models import Membership, Service, Team
from oncall.services import teams as services
from tests.factories import TeamFactory, UserFactory


def test_team_with_an_unknown_time_zone_is_refused(db):
    with pytest.raises(DomainError, match="IANA"):
        services.team_create(name="Moon", slug="moon", time_zone="Moon/Tranquility")
    assert not Team.objects.exists()


def test_membership_set_changes_the_role_without_a_second_row(db):
    team, user = TeamFactory(), UserFactory()
    services.membership_set(team=team, user=user)
    services.membership_set(team=team, user=user, role=Membership.Role.MANAGER)
    assert list(Membership.objects.values_list("role", flat=True)) == ["manager"]


def test_unknown_service_fields_are_refused(bob, service_a):
    with pytest.raises(DomainError, match="cannot be changed"):
        services.service_update(service=service_a, by=bob, team_id=99)


def test_saving_an_unchanged_service_writes_nothing(bob, service_a):
    with CaptureQueriesContext(connection) as queries:
        services.service_update(service=service_a, by=bob, name=service_a.name)
    assert not [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_outsider_cannot_change_a_service_through_the_service_layer(charlie, service_a):
    with pytest.raises(DomainError):
        services.service_update(service=service_a, by=charlie, name="Pwned")
    assert Service.objects.get(pk=service_a.pk).name == "Payments API"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_membership_adds_make_one_row():
    team, user = TeamFactory(), UserFactory()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def add() -> None:
        try:
            barrier.wait()
            services.membership_set(team=team, user=user, role=Membership.Role.MEMBER)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Membership.objects.filter(team=team, user=user).count() == 1
