"""The intake demo data: integrations and alert history, created once however often it runs."""

from __future__ import annotations

import pytest

from oncall import demo_intake
from oncall.models import Alert, Integration, Page
from oncall.selectors_intake import alert_quality
from tests.oncall.paging_fixtures import T0


@pytest.mark.django_db
def test_demo_seeds_integrations_and_history_once(team_a, alice, service_a):
    demo_intake.seed(team=team_a, now=T0)
    counts = (Integration.objects.count(), Alert.objects.count(), Page.objects.count())
    demo_intake.seed(team=team_a, now=T0)
    assert (Integration.objects.count(), Alert.objects.count(), Page.objects.count()) == counts == (2, 24, 24)

    quality = alert_quality(service=service_a, now=T0)
    assert (quality.alerts, quality.acted_on) == (24, 8)
    assert quality.noisiest[0].title == "Disk 80% full on db-1" and quality.noisiest[0].nobody_acts


@pytest.mark.django_db
def test_demo_does_nothing_for_a_team_without_services(team_b):
    demo_intake.seed(team=team_b, now=T0)
    assert not Integration.objects.exists()
