"""Integration services and alert_ingest at explicit instants."""

from __future__ import annotations

import datetime as dt

import pytest

from config.errors import ConflictError, DomainError
from oncall.intake_formats import RESOLVE, AlertItem
from oncall.models import Alert, Integration, Page, PageEvent
from oncall.services.intake import (
    alert_ingest,
    integration_create,
    integration_delete,
    integration_disable,
    integration_key_matches,
    integration_rotate_key,
)
from tests.factories import AlertFactory
from tests.oncall.paging_fixtures import T0, minutes


def item(key: str = "k1", **fields: object) -> AlertItem:
    return AlertItem(dedup_key=key, title=fields.pop("title", f"Alert {key}"), **fields)  # type: ignore[arg-type]


@pytest.fixture
def integration(service_a, alice) -> Integration:
    return integration_create(service=service_a, name="Generic", kind="generic", by=alice)[0]


@pytest.mark.django_db
def test_ingest_opens_repeats_and_resolves_at_the_given_instants(integration, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = alert_ingest(integration=integration, items=[item()], now=T0)
    assert (first.created, first.repeated) == (1, 0)
    alert = Alert.objects.get()
    assert alert.first_seen_at == alert.last_seen_at == T0
    integration.refresh_from_db()
    assert integration.last_alert_at == T0

    later = item(details="now worse", severity="critical", links=[{"href": "https://x", "text": "x"}])
    assert alert_ingest(integration=integration, items=[later], now=T0 + minutes(3)).repeated == 1
    alert.refresh_from_db()
    assert (alert.count, alert.last_seen_at, alert.details, alert.severity) == (
        2,
        T0 + minutes(3),
        "now worse",
        "critical",
    )
    assert alert.title == "Alert k1"  # the title people were paged with stays

    done = alert_ingest(integration=integration, items=[item(action=RESOLVE)], now=T0 + minutes(9))
    assert done.resolved == 1
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_at, alert.resolved_by_tool) == ("resolved", T0 + minutes(9), True)
    page = Page.objects.get()
    assert (page.status, page.resolved_at, page.resolved_by) == ("resolved", T0 + minutes(9), None)


@pytest.mark.django_db
def test_one_payload_with_the_same_key_twice_opens_one_alert(integration):
    result = alert_ingest(integration=integration, items=[item(), item(), item("k2")], now=T0)
    assert (result.created, result.repeated) == (2, 1)
    assert Page.objects.count() == 2
    assert PageEvent.objects.filter(kind=PageEvent.Kind.ALERT_REPEATED).count() == 1


@pytest.mark.django_db
def test_same_key_on_two_integrations_makes_two_alerts(integration, service_a, alice):
    other = integration_create(service=service_a, name="Other", kind="generic", by=alice)[0]
    alert_ingest(integration=integration, items=[item()], now=T0)
    alert_ingest(integration=other, items=[item()], now=T0)
    assert Alert.objects.count() == 2


@pytest.mark.django_db
def test_resolve_of_an_unknown_key_is_ignored(integration):
    result = alert_ingest(integration=integration, items=[item("nope", action=RESOLVE)], now=T0)
    assert (result.ignored, result.alert_ids) == (1, [])
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_an_alert_a_person_resolved_is_opened_anew_by_the_next_firing(integration, alice):
    from oncall.services import paging

    alert_ingest(integration=integration, items=[item()], now=T0)
    page = Page.objects.get()
    paging.page_acknowledge(page=page, by=alice, now=T0 + minutes(1))
    paging.page_resolve(page=page, by=alice, now=T0 + minutes(2))
    result = alert_ingest(integration=integration, items=[item()], now=T0 + minutes(5))
    assert result.created == 1
    assert Page.objects.count() == 2


# --- integration services ----------------------------------------------------------------


@pytest.mark.django_db
def test_key_is_returned_once_and_checked_in_constant_time(service_a, alice):
    integration, key = integration_create(service=service_a, name="AM", kind="alertmanager", by=alice)
    assert integration_key_matches(integration=integration, raw=key)
    assert not integration_key_matches(integration=integration, raw=key + "x")
    _, new = integration_rotate_key(integration=integration, by=alice, now=T0)
    assert not integration_key_matches(integration=integration, raw=key)
    assert integration_key_matches(integration=integration, raw=new)
    assert integration.key_rotated_at == T0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "  ", "kind": "generic"}, "Name the integration"),
        ({"name": "x", "kind": "pagerduty"}, "Choose a kind"),
        ({"name": "x", "kind": "generic", "rate_limit_per_minute": 0}, "greater than or equal to 1"),
        ({"name": "x" * 101, "kind": "generic"}, "at most 100"),
    ],
)
def test_create_with_bad_input_raises_and_writes_nothing(service_a, alice, kwargs, message):
    with pytest.raises(DomainError, match=message):
        integration_create(service=service_a, by=alice, **kwargs)
    assert not Integration.objects.exists()


@pytest.mark.django_db
def test_only_managers_write(service_a, alice, bob, charlie):
    integration, _ = integration_create(service=service_a, name="AM", kind="alertmanager", by=alice)
    for person in (bob, charlie):
        with pytest.raises(DomainError, match="Only managers"):
            integration_create(service=service_a, name="Mine", kind="generic", by=person)
        with pytest.raises(DomainError, match="Only managers"):
            integration_disable(integration=integration, by=person)
    assert Integration.objects.get().disabled_at is None


@pytest.mark.django_db
def test_disabling_twice_keeps_the_first_instant(integration, alice):
    integration_disable(integration=integration, by=alice, now=T0)
    integration_disable(integration=integration, by=alice, now=T0 + minutes(5))
    assert integration.disabled_at == T0


@pytest.mark.django_db
def test_an_integration_with_alerts_cannot_be_deleted(integration, alice):
    AlertFactory(integration=integration)
    with pytest.raises(ConflictError, match="Disable it instead"):
        integration_delete(integration=integration, by=alice)
    assert Integration.objects.filter(pk=integration.pk).exists()


def test_ingest_into_an_integration_disabled_meanwhile_stores_and_pages_nothing(integration, alice):
    # The view checked `is_active` on its own copy; the service checks again under the row lock.
    stale_copy = Integration.objects.get(pk=integration.pk)
    Integration.objects.filter(pk=integration.pk).update(disabled_at=T0)
    with pytest.raises(ConflictError, match="disabled"):
        alert_ingest(integration=stale_copy, items=[item()], now=T0)
    assert not Alert.objects.exists() and not Page.objects.exists()


@pytest.mark.django_db
def test_last_alert_is_written_at_most_once_a_second(integration, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alert_ingest(integration=integration, items=[item()], now=T0)
        alert_ingest(integration=integration, items=[item()], now=T0 + dt.timedelta(milliseconds=500))
    integration.refresh_from_db()
    assert integration.last_alert_at == T0
    with django_capture_on_commit_callbacks(execute=True):
        alert_ingest(integration=integration, items=[item()], now=T0 + dt.timedelta(seconds=2))
    integration.refresh_from_db()
    assert integration.last_alert_at == T0 + dt.timedelta(seconds=2)
