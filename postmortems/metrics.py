"""Repeat rate: incidents whose postmortem shares a contributing factor with an earlier incident's
postmortem on the same service. A high rate says action items are not fixing root causes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

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
    declared: dict[int, dt.datetime] = {}
    for incident_id, declared_at, kind in factors:
        kinds[incident_id].add(kind)
        declared[incident_id] = declared_at
    links = Incident.services.through.objects.filter(incident_id__in=list(kinds)).values_list(
        "incident_id", "service_id"
    )
    services: dict[int, set[int]] = defaultdict(set)
    for incident_id, service_id in links:
        services[incident_id].add(service_id)
    # Only incidents with factors can be reviewed: reading every visible incident's id cost
    # most of this at 100,000 incidents.
    reviewed = list(incidents.order_by().filter(pk__in=list(kinds)).values_list("pk", flat=True))
    repeats = len(repeated(kinds, services, declared).intersection(reviewed))
    share = repeats / len(reviewed) if reviewed else None
    return {"repeat_rate": share, "repeats": repeats, "reviewed": len(reviewed)}


def repeated(
    kinds: Mapping[int, set[str]], services: Mapping[int, set[int]], declared: Mapping[int, dt.datetime]
) -> set[int]:
    """The incidents that share a service and a factor kind with an incident declared before them.

    One pass for when each (service, kind) first appeared, one to compare: comparing every
    incident with every other grew with the square of the postmortems.
    """
    first: dict[tuple[int, str], dt.datetime] = {}
    for pk, incident_kinds in kinds.items():
        for pair in ((s, k) for s in services.get(pk, ()) for k in incident_kinds):
            if pair not in first or declared[pk] < first[pair]:
                first[pair] = declared[pk]
    return {
        pk
        for pk, incident_kinds in kinds.items()
        if any(first[(s, k)] < declared[pk] for s in services.get(pk, ()) for k in incident_kinds)
    }
