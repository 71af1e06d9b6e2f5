"""The pure parsers: what each tool's body becomes, and the reasons a bad body is refused."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncall.intake_formats import (
    DEDUP_KEY_MAX,
    MAX_ITEMS,
    RESOLVE,
    TRIGGER,
    ParseError,
    parse,
    severity_for,
)
from tests.oncall.intake_payloads import alertmanager, encoded, generic, grafana


def test_alertmanager_firing_alert_becomes_one_trigger_keyed_by_fingerprint():
    [item] = parse("alertmanager", encoded(alertmanager()))
    assert item.dedup_key == "c8a5f3d2e1b04a97"
    assert item.action == TRIGGER
    assert item.title == "Checkout error rate above 5%"
    assert item.severity == "critical"
    assert "5xx share is 7.2%" in item.details and "instance=api-1:9100" in item.details
    assert {"href": "https://runbooks.example.com/checkout", "text": "Runbook"} in item.links
    assert item.links[-1]["text"] == "Source"
    assert item.labels["alertname"] == "CheckoutErrors"
    assert item.raw["fingerprint"] == "c8a5f3d2e1b04a97"


def test_alertmanager_resolved_alert_becomes_a_resolve():
    [item] = parse("alertmanager", encoded(alertmanager("resolved")))
    assert item.action == RESOLVE
    assert item.dedup_key == "c8a5f3d2e1b04a97"


def test_alertmanager_group_yields_one_item_per_alert():
    body = alertmanager()
    second = {**body["alerts"][0], "fingerprint": "ffff", "labels": {"alertname": "Other"}, "annotations": {}}
    body["alerts"].append(second)
    items = parse("alertmanager", encoded(body))
    assert [i.dedup_key for i in items] == ["c8a5f3d2e1b04a97", "ffff"]
    assert items[1].title == "Other"
    assert items[1].severity == "error"  # no severity label: the default


def test_alertmanager_without_fingerprint_keys_on_the_label_set():
    body = alertmanager()
    del body["alerts"][0]["fingerprint"]
    first = parse("alertmanager", encoded(body))[0].dedup_key
    assert first.startswith("labels:")
    assert parse("alertmanager", encoded(body))[0].dedup_key == first


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b.update(version="3"), "version 4"),
        (lambda b: b.pop("alerts"), "alerts is missing"),
        (lambda b: b.update(alerts="x"), "alerts must be a list"),
        (lambda b: b["alerts"][0].update(status="pending"), "alerts[0].status must be"),
        (lambda b: b["alerts"][0].pop("status"), "alerts[0].status is missing"),
        (lambda b: b["alerts"][0].update(labels=["a"]), "alerts[0].labels must be a JSON object"),
        (lambda b: b.update(alerts=[]), "no alerts"),
    ],
)
def test_alertmanager_body_of_the_wrong_shape_is_refused_with_its_reason(mutate, reason):
    body = alertmanager()
    mutate(body)
    with pytest.raises(ParseError, match=re.escape(reason)):
        parse("alertmanager", encoded(body))


def test_grafana_alert_carries_its_dashboard_panel_and_silence_links():
    [item] = parse("grafana", encoded(grafana()))
    assert item.dedup_key == "57c6d9296de2ad39"
    assert item.title == "p99 latency above 800 ms"
    assert item.severity == "warning"
    assert [link["text"] for link in item.links] == ["Source", "Dashboard", "Panel", "Silence"]
    assert "912.5" in item.details


def test_grafana_resolved_alert_becomes_a_resolve():
    [item] = parse("grafana", encoded(grafana("resolved")))
    assert item.action == RESOLVE


def test_legacy_grafana_body_is_keyed_by_its_rule():
    body = {"ruleId": 7, "ruleName": "CPU high", "state": "alerting", "message": "cpu", "ruleUrl": "http://g/r/7"}
    [item] = parse("grafana", encoded(body))
    assert (item.dedup_key, item.title, item.action) == ("grafana-rule:7", "CPU high", TRIGGER)
    [ok] = parse("grafana", encoded({**body, "state": "ok"}))
    assert ok.action == RESOLVE


def test_generic_alert_reads_every_field():
    [item] = parse("generic", encoded(generic()))
    assert item.dedup_key == "disk-db-1"
    assert item.title == "Disk almost full on db-1"
    assert item.severity == "warning"
    assert item.action == TRIGGER
    assert item.links == [{"href": "https://grafana.example.com/d/db", "text": "Dashboard"}]


def test_generic_alert_without_key_is_keyed_by_title_and_plain_urls_are_links():
    [item] = parse("generic", encoded({"title": "Backups late", "links": ["https://b.example.com"]}))
    assert item.dedup_key == "Backups late"
    assert item.severity == "error"
    assert item.links == [{"href": "https://b.example.com", "text": "https://b.example.com"}]


def test_generic_resolve_needs_only_the_key():
    [item] = parse("generic", encoded({"dedup_key": "disk-db-1", "action": "resolve"}))
    assert (item.action, item.dedup_key) == (RESOLVE, "disk-db-1")


def test_generic_array_holds_several_alerts():
    items = parse("generic", encoded([generic(), generic(dedup_key="other")]))
    assert [i.dedup_key for i in items] == ["disk-db-1", "other"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b'"a string"', "must be a JSON object"),
        (encoded({"details": "no title"}), "title is missing"),
        (encoded(generic(severity="blocker")), "severity “blocker” is not one of"),
        (encoded(generic(action="ack")), "action must be"),
        (encoded(generic(title=["x"])), "title must be text"),
        (encoded(generic(links="http://x")), "links must be a list"),
        (encoded([generic()] * (MAX_ITEMS + 1)), f"at most {MAX_ITEMS}"),
        (encoded([]), "no alerts"),
    ],
)
def test_generic_body_of_the_wrong_shape_is_refused_with_its_reason(body, reason):
    with pytest.raises(ParseError, match=re.escape(reason)):
        parse("generic", body)


def test_unknown_kind_is_refused():
    with pytest.raises(ParseError, match="Unknown integration kind"):
        parse("nagios", encoded(generic()))


@pytest.mark.parametrize(
    ("word", "severity"),
    [("CRITICAL", "critical"), ("P1", "critical"), ("high", "error"), ("warn", "warning"), ("low", "info")],
)
def test_severity_words_map_to_the_four_levels(word, severity):
    assert severity_for(word) == severity


def test_unknown_severity_label_from_alertmanager_becomes_error_not_a_refusal():
    body = alertmanager()
    body["alerts"][0]["labels"]["severity"] = "page-the-world"
    assert parse("alertmanager", encoded(body))[0].severity == "error"


# NUL and lone surrogates are refused: no column can store them.
@given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=2000))
def test_any_dedup_key_fits_the_column_and_stays_distinct(key):
    [item] = parse("generic", encoded({"title": "t", "dedup_key": key}))
    assert len(item.dedup_key) <= DEDUP_KEY_MAX
    expected = key.strip() or "t"  # a blank key falls back to the title
    if len(expected) <= DEDUP_KEY_MAX:
        assert item.dedup_key == expected
    else:
        assert item.dedup_key.startswith("sha256:")


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_parse_error(body):
    for kind in ("generic", "alertmanager", "grafana"):
        with contextlib.suppress(ParseError):
            parse(kind, body)
