"""The history feeds and the HTML notice pages: readers see every notice, and nothing a publisher types runs."""

from __future__ import annotations

import calendar
import datetime as dt
from html.parser import HTMLParser
from urllib.parse import urlsplit

import feedparser
import pytest

from statuspage import publishing, services
from statuspage.models import Notice
from tests.statuspage.conftest import HOST, T0, get

NOW = T0 + dt.timedelta(hours=3)
HOSTILE = 'A bad deploy. <script>alert(1)</script> <b>bold</b> & <a href="https://evil.example/">details</a>'
FEEDS = {
    "/history.rss": ("application/rss+xml", "rss20"),
    "/history.atom": ("application/atom+xml", "atom10"),
}


def at(n: int) -> dt.datetime:
    """T0 plus n minutes."""
    return T0 + dt.timedelta(minutes=n)


@pytest.fixture
def notices(page, components, alice) -> dict[str, Notice]:
    api, checkout = components["api"], components["checkout"]
    resolved = services.notice_create(
        page=page,
        title="Slow API responses",
        impact="minor",
        status="investigating",
        body="API responses are slow.",
        by=alice,
        statuses={api: "degraded_performance"},
        now=at(20),
    )
    services.notice_update(
        notice=resolved,
        status="resolved",
        body="Responses are fast again.",
        by=alice,
        statuses={api: "operational"},
        now=at(40),
    )
    hostile = services.notice_create(
        page=page,
        title="Checkout errors",
        impact="major",
        status="investigating",
        body="Some payments fail.",
        by=alice,
        statuses={checkout: "partial_outage"},
        now=at(60),
    )
    services.notice_update(notice=hostile, status="identified", body=HOSTILE, by=alice, now=at(90))
    publishing.page_publish(page_id=page.pk, now=NOW)
    return {"resolved": resolved, "hostile": hostile}


def notice_url(notice: Notice) -> tuple[str, str]:
    return HOST, f"/incidents/{notice.public_id}"


def parsed_feed(client, path: str) -> feedparser.FeedParserDict:
    response = get(client, path)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, f"{path} is not well-formed: {feed.get('bozo_exception')}"
    return feed


def entry_titled(feed: feedparser.FeedParserDict, title: str) -> feedparser.FeedParserDict:
    found = [e for e in feed.entries if e.title == title]
    assert len(found) == 1, f"{title!r} appears {len(found)} times in {[e.title for e in feed.entries]}"
    return found[0]


class Elements(HTMLParser):
    """Start tags of an HTML document with their attributes, whether each sits in <head>, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None], bool]] = []
        self.text: list[str] = []
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._in_head = True
        self.tags.append((tag, dict(attrs), self._in_head))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def shown_text(html: str) -> str:
    """What a reader shows for a piece of HTML: its text, with entities decoded."""
    return "".join(elements(html).text)


# --- the feeds --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(FEEDS))
def test_feed_is_served_as_a_feed_and_parses(client, notices, path):
    content_type, version = FEEDS[path]
    response = get(client, path)
    assert response["Content-Type"].split(";")[0].strip() == content_type
    feed = parsed_feed(client, path)
    assert feed.version == version
    assert feed.feed.title == "Acme status"


@pytest.mark.parametrize("path", list(FEEDS))
def test_feed_lists_every_notice_newest_first(client, notices, path):
    feed = parsed_feed(client, path)
    assert [e.title for e in feed.entries] == ["Checkout errors", "Slow API responses"]


@pytest.mark.parametrize("path", list(FEEDS))
def test_feed_entries_link_to_the_notice_page_on_the_status_host(client, notices, path):
    feed = parsed_feed(client, path)
    for title, notice in [("Checkout errors", notices["hostile"]), ("Slow API responses", notices["resolved"])]:
        link = urlsplit(entry_titled(feed, title).link)
        assert link.scheme in {"http", "https"}
        assert (link.hostname, link.path) == notice_url(notice)
        page = get(client, link.path)
        assert page.status_code == 200
        assert title in page.content.decode()


@pytest.mark.parametrize("path", list(FEEDS))
def test_feed_entries_carry_the_text_of_every_update(client, notices, path):
    entry = entry_titled(parsed_feed(client, path), "Slow API responses")
    assert "API responses are slow." in entry.summary
    assert "Responses are fast again." in entry.summary
    assert "Resolved" in entry.summary and "Investigating" in entry.summary
    other = entry_titled(parsed_feed(client, path), "Checkout errors")
    assert "Some payments fail." in other.summary
    assert "A bad deploy." in other.summary


def test_rss_items_are_dated_when_the_notice_was_published(client, notices):
    entry = entry_titled(parsed_feed(client, "/history.rss"), "Slow API responses")
    published = dt.datetime.fromtimestamp(calendar.timegm(entry.published_parsed), tz=dt.UTC)
    assert published == at(20)


def test_atom_entries_are_updated_with_the_last_update(client, notices):
    entry = entry_titled(parsed_feed(client, "/history.atom"), "Checkout errors")
    updated = dt.datetime.fromtimestamp(calendar.timegm(entry.updated_parsed), tz=dt.UTC)
    assert updated == at(90)


@pytest.mark.parametrize("path", list(FEEDS))
def test_feed_follows_a_new_update(client, notices, alice, django_capture_on_commit_callbacks, path):
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_update(
            notice=notices["hostile"], status="monitoring", body="Payments recover.", by=alice, now=at(150)
        )
    entry = entry_titled(parsed_feed(client, path), "Checkout errors")
    assert "Payments recover." in entry.summary


@pytest.mark.parametrize("path", list(FEEDS))
def test_feed_never_carries_a_script_element_from_an_update(client, notices, path):
    raw = get(client, path).content.decode()
    assert "<script" not in raw.lower()
    assert "&amp;lt;script&amp;gt;" in raw  # the text is there, escaped as HTML and again as XML
    entry = entry_titled(parsed_feed(client, path), "Checkout errors")
    assert "<script" not in entry.summary.lower()
    assert not [tag for tag, _attrs, _head in elements(entry.summary).tags if tag == "script"]


@pytest.mark.parametrize("path", list(FEEDS))
def test_feed_shows_markup_typed_by_a_publisher_as_text(client, notices, path):
    """The body is plain text (publishing says so): a reader shows it as typed, as the notice page does.

    RSS descriptions and Atom `type="html"` summaries are HTML, so the text has to be escaped
    once more before it goes in; otherwise <b> turns bold, the link becomes live and the
    <script> line vanishes from what customers read.
    """
    entry = entry_titled(parsed_feed(client, path), "Checkout errors")
    assert HOSTILE in shown_text(entry.summary)
    assert not [tag for tag, _attrs, _head in elements(entry.summary).tags if tag in {"a", "b", "script"}]


# --- the HTML pages ---------------------------------------------------------------------------


def test_home_page_head_advertises_both_feeds(client, notices):
    html = get(client, "/").content.decode()
    alternates = {
        (attrs.get("type"), attrs.get("href"))
        for tag, attrs, in_head in elements(html).tags
        if tag == "link" and in_head and attrs.get("rel") == "alternate"
    }
    assert ("application/rss+xml", "/history.rss") in alternates
    assert ("application/atom+xml", "/history.atom") in alternates
    for _type, href in alternates:
        assert get(client, href).status_code == 200


@pytest.mark.parametrize("path", ["/", "/incidents/{id}"])
def test_html_pages_escape_an_update_body(client, notices, path):
    html = get(client, path.format(id=notices["hostile"].public_id)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    found = elements(html)
    assert not [tag for tag, _attrs, _head in found.tags if tag == "script"]
    assert not [
        attrs for tag, attrs, _head in found.tags if tag == "a" and attrs.get("href") == "https://evil.example/"
    ]
    assert HOSTILE in "".join(found.text)


def test_notice_page_lists_every_update_newest_first(client, notices, alice):
    services.notice_update(
        notice=notices["hostile"], status="monitoring", body="Payments recover.", by=alice, now=at(150)
    )
    publishing.page_publish(page_id=notices["hostile"].page_id, now=NOW)
    html = get(client, f"/incidents/{notices['hostile'].public_id}").content.decode()
    text = shown_text(html)
    positions = [text.find(body) for body in ["Payments recover.", HOSTILE, "Some payments fail."]]
    assert -1 not in positions, positions
    assert positions == sorted(positions)
    assert [tag for tag, _attrs, _head in elements(html).tags].count("time") == 3


def test_notice_page_of_a_resolved_notice_lists_its_updates(client, notices):
    response = get(client, f"/incidents/{notices['resolved'].public_id}")
    assert response.status_code == 200
    text = shown_text(response.content.decode())
    assert "Slow API responses" in text
    assert "Responses are fast again." in text
    assert "API responses are slow." in text


def test_history_lists_the_month(client, notices):
    html = get(client, "/history").content.decode()
    hrefs = [attrs.get("href") for tag, attrs, _head in elements(html).tags if tag == "a"]
    assert "/history/2026-11" in hrefs
    text = shown_text(html)
    assert "November 2026" in text
    assert "2 notices" in text


def test_month_page_lists_the_notices_of_the_month(client, notices):
    response = get(client, "/history/2026-11")
    assert response.status_code == 200
    html = response.content.decode()
    hrefs = [attrs.get("href") for tag, attrs, _head in elements(html).tags if tag == "a"]
    for notice in notices.values():
        assert f"/incidents/{notice.public_id}" in hrefs
    text = shown_text(html)
    assert "Checkout errors" in text and "Slow API responses" in text


def test_a_month_without_notices_is_not_found(client, notices):
    assert get(client, "/history/2026-10").status_code == 404
