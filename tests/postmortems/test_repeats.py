"""The repeat rule against its plain definition, over many random histories."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from postmortems.metrics import repeated

T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
KINDS = ["missing_alert", "risky_deploy", "capacity", "dependency"]

incidents = st.dictionaries(
    st.integers(1, 40),
    st.tuples(
        st.sets(st.sampled_from(KINDS), min_size=1, max_size=3),
        st.sets(st.integers(1, 4), max_size=2),
        st.integers(0, 12),  # hours after T0; ties are common
    ),
    max_size=25,
)


def _by_definition(kinds, services, declared) -> set[int]:
    return {
        pk
        for pk in kinds
        if any(
            other != pk
            and declared[other] < declared[pk]
            and services[other] & services[pk]
            and kinds[other] & kinds[pk]
            for other in kinds
        )
    }


@given(incidents)
def test_an_incident_repeats_when_an_earlier_one_shares_a_service_and_a_factor_kind(history):
    kinds = {pk: k for pk, (k, _s, _h) in history.items()}
    services = {pk: s for pk, (_k, s, _h) in history.items()}
    declared = {pk: T0 + dt.timedelta(hours=h) for pk, (_k, _s, h) in history.items()}

    assert repeated(kinds, services, declared) == _by_definition(kinds, services, declared)
