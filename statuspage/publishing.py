"""Publish on write: render every public document of a page once and store the snapshot.

Services call `publish_on_commit(page)`; however many changes a transaction makes, the
page is rendered once after it commits. Renders of one page are serialised by a row lock
on the page, and each reads the data after taking the lock, so a slow older render can
never overwrite a newer one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction
from django.template.defaultfilters import linebreaksbr
from django.template.loader import get_template, render_to_string
from django.utils import feedgenerator, timezone
from django.utils.html import escape

from config.celery import app as celery_app
from config.hosts import status_url
from oncall.services.notifications import BROKER_ERRORS
from statuspage import snapshots, v2
from statuspage.models import Notice, PublishedSnapshot, StatusPage
from statuspage.selectors import FEED_SIZE, RECENT_DAYS, PublicView, public_view
from statuspage.templatetags import status_tags

logger = logging.getLogger(__name__)
HTML = "text/html; charset=utf-8"
JSON = "application/json"
PUBLISH_MARK = "statuspage_publish"
# By name: tasks import this module.
PUBLISH_TASK = "statuspage.tasks.publish_status_page"


def publish_on_commit(page: StatusPage) -> None:
    """Renders the page once after the current transaction commits, however often it is asked."""
    key = (PUBLISH_MARK, page.pk)
    connection = transaction.get_connection()
    open_savepoints = set(connection.savepoint_ids)
    # A publish already queued by this block or one enclosing it will see this change too.
    # Queued callbacks go away with a rollback, so nothing is skipped for a change that stays.
    for savepoints, callback, *_ in connection.run_on_commit:
        if getattr(callback, PUBLISH_MARK, None) == key and savepoints <= open_savepoints:
            return

    def run() -> None:
        try:
            page_publish(page_id=page.pk)
        except Exception:
            # The change is committed; a failed render must not turn the request into an error.
            # The worker retries it, and the beat re-renders every page anyway.
            logger.exception("Publishing %s failed; handing it to the worker.", page.host)
            publish_later(page.pk)

    setattr(run, PUBLISH_MARK, key)
    transaction.on_commit(run)


def publish_later(page_id: int) -> None:
    try:
        celery_app.send_task(PUBLISH_TASK, args=(page_id,))
    except BROKER_ERRORS:
        logger.warning("Broker unreachable; page %s is re-rendered by the next beat run.", page_id)


def page_publish(*, page_id: int, now: dt.datetime | None = None) -> str:
    """Renders and stores the page's snapshot; returns its version."""
    now = now or timezone.now()
    with transaction.atomic():
        page = StatusPage.objects.select_for_update().get(pk=page_id)
        documents = render_documents(public_view(page=page, now=now), previous=_last_bundle(page))
        version = snapshots.new_version()
        PublishedSnapshot.objects.update_or_create(
            page=page,
            defaults={
                "host": page.host,
                "version": version,
                "bundle": snapshots.encode(documents),
                "published_at": now,
            },
        )
        snapshots.store(page.host, version, documents)
    logger.info("Published %s (%d documents, version %s).", page.host, len(documents), version)
    return version


def _last_bundle(page: StatusPage) -> Mapping[str, snapshots.Document]:
    """The documents last published for the page: from this process or the cache, else the database."""
    found = snapshots.documents_for(page.host)
    if found is not None:
        return found
    stored = PublishedSnapshot.objects.filter(page=page).values_list("bundle", flat=True).first()
    return snapshots.decode(bytes(stored)) if stored is not None else {}


def snapshot_refill(host: str) -> bool:
    """After a cache loss: put the last stored snapshot back without rendering. One query."""
    # The page's current host too: a renamed page's old snapshot row must not come back.
    stored = PublishedSnapshot.objects.filter(host=host, page__host=host).first()
    if stored is None:
        return False
    snapshots.store(host, stored.version, snapshots.decode(bytes(stored.bundle)))
    return True


def publish_all(*, now: dt.datetime | None = None) -> int:
    """Re-renders every page: the uptime bars roll over at midnight and upcoming windows come near."""
    ids = list(StatusPage.objects.values_list("pk", flat=True))
    for page_id in ids:
        page_publish(page_id=page_id, now=now)
    return len(ids)


# --- rendering -----------------------------------------------------------------------------


def _html(template: str, view: PublicView, *, source: str = "", **context: object) -> snapshots.Document:
    with timezone.override(view.zone):
        body = render_to_string(f"statuspage/public/{template}", {"view": view, "page": view.page, **context})
    status = 404 if template == "404.html" else 200
    return snapshots.make_document(body.encode(), HTML, status=status, source=source)


def render_documents(
    view: PublicView, previous: Mapping[str, snapshots.Document] | None = None
) -> dict[str, snapshots.Document]:
    """Every public document of the page. Notice and month pages whose sources have not changed
    since `previous` (the last bundle) are kept as they are: a page with years of history
    re-renders only what a change touched."""
    documents = {
        "/": _html("home.html", view, recent=view.notices_by_day(RECENT_DAYS)),
        "/history": _html("history.html", view, months=view.months()),
        "/404": _html("404.html", view),
        "/history.rss": _feed(view, feedgenerator.Rss201rev2Feed),
        "/history.atom": _feed(view, feedgenerator.Atom1Feed),
    }
    kept = _Kept(previous or {}, layout=_layout_source(view))
    notice_sources = {notice.pk: _notice_source(notice) for notice in view.notices}
    for month, notices in view.months():
        path = f"/history/{month}"
        source = kept.source(month, *(notice_sources[n.pk] for n in notices))
        documents[path] = kept.get(path, source) or _html(
            "month.html", view, source=source, month=month, notices=notices
        )
    for notice in view.notices:
        path = f"/incidents/{notice.public_id}"
        source = kept.source(notice_sources[notice.pk])
        documents[path] = kept.get(path, source) or _html("notice.html", view, source=source, notice=notice)
    for path, doc in v2.documents(view).items():
        documents[path] = snapshots.make_document(v2.encode(doc), JSON)
    return documents


@dataclass
class _Kept:
    previous: Mapping[str, snapshots.Document]
    layout: str

    def source(self, *parts: object) -> str:
        return hashlib.blake2b(repr((self.layout, parts)).encode(), digest_size=16).hexdigest()

    def get(self, path: str, source: str) -> snapshots.Document | None:
        found = self.previous.get(path)
        return found if found is not None and found.source == source else None


def _layout_source(view: PublicView) -> str:
    """What every kept page shows besides its own notices: the page's frame and the templates."""
    page = view.page
    frame = (page.name, page.logo_url, page.brand_colour, page.support_url, page.time_zone, page.host)
    components = [(c.public_id, c.name) for c in view.components]
    return repr((_templates_digest(), frame, components))


def _notice_source(notice: Notice) -> tuple[object, ...]:
    updates = [(u.public_id, u.status, u.body, u.created_at) for u in notice.updates.all()]
    return (
        notice.public_id, notice.kind, notice.title, notice.status, notice.impact,
        notice.scheduled_for, notice.scheduled_until, notice.started_at,
        [c.name for c in notice.components.all()], updates,
    )  # fmt: skip


@lru_cache(maxsize=1)
def _templates_digest() -> str:
    # A deploy that changes how kept pages look must re-render them all.
    names = ("base.html", "notice.html", "month.html", "_notice.html")
    sources = [get_template(f"statuspage/public/{name}").template.source for name in names]
    sources.append(Path(status_tags.__file__).read_text())
    return hashlib.blake2b("\0".join(sources).encode(), digest_size=16).hexdigest()


def _feed(view: PublicView, kind: type[feedgenerator.SyndicationFeed]) -> snapshots.Document:
    page = view.page
    feed = kind(
        title=f"{page.name} status",
        link=status_url("/", host=page.host),
        description=f"Incidents and maintenance on {page.name}",
        language="en",
        feed_url=status_url("/history.atom" if kind is feedgenerator.Atom1Feed else "/history.rss", host=page.host),
    )
    zone = ZoneInfo(page.time_zone)
    for notice in view.notices[:FEED_SIZE]:
        updates = list(notice.updates.all())
        feed.add_item(
            title=notice.title,
            link=status_url(f"/incidents/{notice.public_id}", host=page.host),
            unique_id=status_url(f"/incidents/{notice.public_id}", host=page.host),
            # Readers render descriptions as HTML; escaping here makes what a publisher typed
            # appear as text (feedgenerator's own escaping only keeps the XML well formed).
            description=linebreaksbr(
                escape(
                    "\n\n".join(
                        f"{u.get_status_display()} ({u.created_at.astimezone(zone):%d %b %H:%M %Z}): {u.body}"
                        for u in updates
                    )
                )
            ),
            pubdate=notice.created_at,
            updateddate=notice.updated_at,
        )
    content_type = (
        "application/atom+xml; charset=utf-8"
        if kind is feedgenerator.Atom1Feed
        else ("application/rss+xml; charset=utf-8")
    )
    return snapshots.make_document(feed.writeString("utf-8").encode(), content_type)
