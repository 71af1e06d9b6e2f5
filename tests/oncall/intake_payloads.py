"""Bodies tools send, in their documented shapes, for the intake tests."""

from __future__ import annotations

import copy
import json
from typing import Any

ALERTMANAGER_FIRING: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="CheckoutErrors"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "fireline",
    "groupLabels": {"alertname": "CheckoutErrors"},
    "commonLabels": {"alertname": "CheckoutErrors", "severity": "critical", "service": "payments-api"},
    "commonAnnotations": {"summary": "Checkout error rate above 5%"},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "CheckoutErrors", "severity": "critical", "instance": "api-1:9100"},
            "annotations": {
                "summary": "Checkout error rate above 5%",
                "description": "5xx share is 7.2% over 5 minutes.",
                "runbook_url": "https://runbooks.example.com/checkout",
            },
            "startsAt": "2027-01-05T14:58:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com/graph?g0.expr=checkout_errors",
            "fingerprint": "c8a5f3d2e1b04a97",
        }
    ],
}


def alertmanager(status: str = "firing", fingerprint: str = "c8a5f3d2e1b04a97") -> dict[str, Any]:
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    body["status"] = status
    body["alerts"][0]["status"] = status
    body["alerts"][0]["fingerprint"] = fingerprint
    if status == "resolved":
        body["alerts"][0]["endsAt"] = "2027-01-05T15:20:00Z"
    return body


GRAFANA_FIRING: dict[str, Any] = {
    "receiver": "fireline",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High latency", "grafana_folder": "Payments", "severity": "warning"},
            "annotations": {"summary": "p99 latency above 800 ms"},
            "startsAt": "2027-01-05T14:58:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.com/alerting/grafana/abc/view",
            "fingerprint": "57c6d9296de2ad39",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?matcher=alertname%3DHigh+latency",
            "dashboardURL": "https://grafana.example.com/d/payments",
            "panelURL": "https://grafana.example.com/d/payments?viewPanel=2",
            "values": {"B": 912.5, "C": 1},
            "valueString": "[ var='B' labels={} value=912.5 ]",
        }
    ],
    "groupLabels": {"alertname": "High latency"},
    "commonLabels": {"alertname": "High latency"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.com/",
    "version": "1",
    "groupKey": '{}:{alertname="High latency"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] High latency Payments",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=912.5",
}


def grafana(status: str = "firing") -> dict[str, Any]:
    body = copy.deepcopy(GRAFANA_FIRING)
    body["status"] = status
    body["state"] = "ok" if status == "resolved" else "alerting"
    body["alerts"][0]["status"] = status
    return body


def generic(action: str = "trigger", **fields: Any) -> dict[str, Any]:
    return {
        "title": "Disk almost full on db-1",
        "dedup_key": "disk-db-1",
        "severity": "warning",
        "action": action,
        "details": "94% used on /var/lib/postgresql",
        "links": [{"href": "https://grafana.example.com/d/db", "text": "Dashboard"}],
        **fields,
    }


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()
