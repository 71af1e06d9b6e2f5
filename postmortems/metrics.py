"""Repeat rate: incidents whose postmortem shares a contributing factor with an earlier incident's
postmortem on the same service. A high rate says action items are not fixing root causes.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from incidents.models import Incident
from postmortems.models import ContributingFactor


def repeat_rate(incidents: QuerySet[Incident], history: QuerySet[Incident] | None = None) -> dict[str, object]:
    """{"repeat_rate": share or None, "repeats": n, "reviewed": n} over the given incidents.

    Earlier incidents count whether or not they are in the set: a repeat is judged against
    all of `history` (default: every incident; for a reader, the incidents they may see, so a
    restricted incident shows in no one else's figure). Three queries, whatever the number of incidents.
    """
    factors = ContributingFactor.objects.values_list(
        "postmortem__incident_id", "postmortem__incident__declared_at", "kind"
    )
    if history is not None:
        factors = factors.filter(postmortem__incident__in=history.order_by().values("pk"))
    kinds: dict[int, set[str]] = defaultdict(set)
    declared = {}
    for incident_id, declared_at, kind in factors:
        kinds[incident_id].add(kind)
        declared[incident_id] = declared_at
    links = Incident.services.through.objects.filter(incident_id__in=list(kinds)).values_list(
        "incident_id", "service_id"
    )
    services: dict[int, set[int]] = defaultdict(set)
    for incident_id, service_id in links:
        services[incident_id].add(service_id)
    reviewed = [pk for pk in incidents.order_by().values_list("pk", flat=True) if pk in kinds]
    repeats = [pk for pk in reviewed if _is_repeat(pk, kinds, services, declared)]
    share = len(repeats) / len(reviewed) if reviewed else None
    return {"repeat_rate": share, "repeats": len(repeats), "reviewed": len(reviewed)}


def _is_repeat(pk: int, kinds: dict, services: dict, declared: dict) -> bool:
    return any(
        declared[other] < declared[pk] and services[other] & services[pk] and kinds[other] & kinds[pk]
        for other in kinds
        if other != pk
    )
