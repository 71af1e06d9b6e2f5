"""Publishing keeps notice and month pages whose sources did not change, and stores bundles compactly."""

from __future__ import annotations

import datetime as dt

import pytest

from statuspage import publishing, services, snapshots
from statuspage.models import PublishedSnapshot
from statuspage.selectors import public_view
from tests.statuspage.conftest import HOST, T0

pytestmark = pytest.mark.django_db
MIN = dt.timedelta(minutes=1)


def _notice(page, components, bob, title, *, at, statuses=None):
    return services.notice_create(
        page=page,
        title=title,
        impact="minor",
        status="investigating",
        body=f"Looking into {title.lower()}.",
        by=bob,
        statuses=statuses or {},
        now=at,
    )


def _publish(page, at):
    publishing.page_publish(page_id=page.pk, now=at)
    return dict(snapshots.documents_for(HOST))


@pytest.fixture
def two_notices(page, components, bob):
    old = _notice(page, components, bob, "Slow search", at=T0 - dt.timedelta(days=40))
    services.notice_update(
        notice=old, status="resolved", body="Search is fast again.", by=bob, now=T0 - dt.timedelta(days=40) + 30 * MIN
    )
    new = _notice(
        page, components, bob, "Card payments failing", at=T0, statuses={components["checkout"]: "major_outage"}
    )
    return old, new


def test_an_update_re_renders_its_notice_and_month_and_keeps_the_rest(page, components, bob, two_notices):
    old, new = two_notices
    before = _publish(page, T0 + MIN)

    services.notice_update(
        notice=new, status="identified", body="A card network is timing out.", by=bob, now=T0 + 10 * MIN
    )
    after = _publish(page, T0 + 11 * MIN)

    assert after[f"/incidents/{old.public_id}"] is before[f"/incidents/{old.public_id}"]
    assert after["/history/2026-09"] is before["/history/2026-09"]
    assert b"A card network is timing out." in after[f"/incidents/{new.public_id}"].body
    assert b"A card network is timing out." in after["/history/2026-11"].body
    assert after["/"].body != before["/"].body  # the home page always says when it was published


def test_a_change_to_the_page_frame_re_renders_every_kept_page(page, components, bob, two_notices):
    old, _new = two_notices
    before = _publish(page, T0 + MIN)

    page.brand_colour = "#aa0000"
    page.save(update_fields=["brand_colour"])
    after = _publish(page, T0 + 2 * MIN)

    assert after[f"/incidents/{old.public_id}"] is not before[f"/incidents/{old.public_id}"]
    assert b"#aa0000" in after[f"/incidents/{old.public_id}"].body
    assert b"#aa0000" in after["/history/2026-09"].body


def test_a_renamed_component_is_renamed_on_the_notices_that_name_it(page, components, bob, two_notices):
    _old, new = two_notices
    _publish(page, T0 + MIN)

    components["checkout"].name = "Card checkout"
    components["checkout"].save(update_fields=["name"])
    after = _publish(page, T0 + 2 * MIN)

    assert b"Card checkout" in after[f"/incidents/{new.public_id}"].body


def test_kept_pages_come_back_from_the_database_when_the_cache_is_cold(page, components, bob, two_notices):
    old, _new = two_notices
    before = _publish(page, T0 + MIN)
    snapshots._local.clear()
    snapshots.forget(HOST)

    after = _publish(page, T0 + 2 * MIN)

    kept = after[f"/incidents/{old.public_id}"]
    assert kept.source == before[f"/incidents/{old.public_id}"].source
    assert kept.body == before[f"/incidents/{old.public_id}"].body


def test_a_stored_bundle_leaves_out_bodies_it_can_gunzip_and_reads_back_whole(page, components, bob, two_notices):
    documents = _publish(page, T0 + MIN)
    raw = bytes(PublishedSnapshot.objects.get(page=page).bundle)

    decoded = snapshots.decode(raw)

    assert decoded.keys() == documents.keys()
    assert all(decoded[path] == documents[path] for path in documents)
    assert len(raw) < sum(len(d.body) for d in documents.values())


def test_uptime_bars_list_the_incidents_open_on_each_day_of_each_component(page, components, bob):
    # Across midnight, still open, on another component, and one that ended before the bars begin.
    night = _notice(
        page,
        components,
        bob,
        "Overnight errors",
        at=T0 - dt.timedelta(days=3, hours=10),
        statuses={components["checkout"]: "partial_outage"},
    )
    services.notice_update(
        notice=night, status="resolved", body="Fixed.", by=bob, now=T0 - dt.timedelta(days=2, hours=6)
    )
    open_now = _notice(
        page,
        components,
        bob,
        "Payouts delayed",
        at=T0 - dt.timedelta(days=1),
        statuses={components["payouts"]: "degraded_performance"},
    )
    ancient = _notice(
        page,
        components,
        bob,
        "Long ago",
        at=T0 - dt.timedelta(days=200),
        statuses={components["checkout"]: "major_outage"},
    )
    services.notice_update(notice=ancient, status="resolved", body="Fixed.", by=bob, now=T0 - dt.timedelta(days=199))

    view = public_view(page=page, now=T0)
    rows = {row.component.name: row for group in view.group_rows() for row in group.rows}

    def days_with(name, notice):
        return [bar.day.day.isoformat() for bar in rows[name].bars if notice in bar.notices]

    assert days_with("Checkout", night) == ["2026-10-29", "2026-10-30", "2026-10-31"]
    assert days_with("Payouts", open_now) == ["2026-11-01", "2026-11-02"]
    assert days_with("Checkout", open_now) == []
    assert all(ancient not in bar.notices for row in rows.values() for bar in row.bars)


def test_uptime_bars_mark_only_the_days_that_were_not_fully_up(page, components, bob):
    # Checkout was partly down on 3 November; the components exist since T0 (2 November 09:00 UTC).
    services.component_set_status(
        component=components["checkout"], status="partial_outage", by=bob, now=T0 + dt.timedelta(days=1)
    )
    services.component_set_status(
        component=components["checkout"], status="operational", by=bob, now=T0 + dt.timedelta(days=1, hours=2)
    )

    home = _publish(page, T0 + dt.timedelta(days=3))["/"].body.decode()

    checkout = home[home.index("Checkout, daily uptime") :]
    checkout = checkout[: checkout.index("</ol>")]
    bars = checkout.count("<li")
    assert bars == 90
    assert checkout.count('class="nodata"') == 86  # the days before the component existed
    assert checkout.count('class="partial_outage"') == 1
    assert checkout.count("<li title=") == 3  # fully up: no class, the default colour
    assert 'title="5 Nov: 100%"' in checkout
