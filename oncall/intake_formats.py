"""What tools send, read into plain alert items. Pure: bytes in, `AlertItem`s out, no database.

Three formats, chosen by the integration's kind:

- generic: one JSON object, or a JSON array of them::

      {"title": "Checkout error rate above 5%", "dedup_key": "checkout-errors",
       "severity": "critical", "action": "trigger", "details": "…",
       "links": [{"href": "https://grafana…", "text": "Dashboard"}]}

  Only `title` is required (for a resolve, `dedup_key` or `title`). Without a
  `dedup_key`, the title is the key, so a tool that repeats itself is deduplicated.
  `action` is `trigger` (default) or `resolve`. `links` may also be plain URLs.
- alertmanager: Prometheus Alertmanager's webhook, version 4. Each entry of
  `alerts[]` is one item; its `fingerprint` is the dedup key and its `status`
  (`firing`/`resolved`) the action. The title is the `summary` annotation, else the
  `alertname` label; details are the `description` annotation plus the labels.
- grafana: Grafana's unified-alerting webhook (Alertmanager's shape plus `orgId`,
  `title`, `state`, `message`, and per alert `silenceURL`, `dashboardURL`,
  `panelURL`, `values`). A legacy (pre-unified) Grafana body with `ruleId` and
  `state` is read as one item keyed by its rule.

Severity mapping (case-insensitive; generic `severity`, else the `severity` label):

  ========  ====================================================
  critical  critical, crit, fatal, emergency, page, sev1, p1, 1
  error     error, err, high, major, sev2, p2, 2
  warning   warning, warn, medium, minor, sev3, p3, 3
  info      info, informational, low, none, ok, sev4, p4, 4, sev5, p5
  ========  ====================================================

A generic body with any other severity is refused (the sender controls it and should
hear about the typo); a label from Alertmanager or Grafana that maps to nothing becomes
`error`, because label values are free text and refusing would drop a real alert.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from config.inputs import MESSAGE, first_unstorable

TRIGGER = "trigger"
RESOLVE = "resolve"
MAX_ITEMS = 100
TITLE_MAX = 300
DEDUP_KEY_MAX = 255
DETAILS_MAX = 10_000
LINKS_MAX = 10
DEFAULT_SEVERITY = "error"

_SEVERITIES: dict[str, str] = {
    **dict.fromkeys(["critical", "crit", "fatal", "emergency", "page", "sev1", "p1", "1"], "critical"),
    **dict.fromkeys(["error", "err", "high", "major", "sev2", "p2", "2"], "error"),
    **dict.fromkeys(["warning", "warn", "medium", "minor", "sev3", "p3", "3"], "warning"),
    **dict.fromkeys(["info", "informational", "low", "none", "ok", "sev4", "p4", "4", "sev5", "p5"], "info"),
}


class ParseError(ValueError):
    """The body is not what the integration's kind expects; `reason` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AlertItem:
    dedup_key: str
    title: str
    action: str = TRIGGER
    severity: str = DEFAULT_SEVERITY
    details: str = ""
    links: list[dict[str, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def severity_for(value: object) -> str | None:
    """The Fireline severity a tool's word means, or None when it means nothing we know."""
    if value is None:
        return None
    return _SEVERITIES.get(str(value).strip().lower())


def parse(kind: str, body: bytes) -> list[AlertItem]:
    """The items in a request body for an integration of `kind`; ParseError when malformed."""
    parser = PARSERS.get(kind)
    if parser is None:
        raise ParseError(f"Unknown integration kind “{kind}”.")
    items = parser(decode_json(body))
    if not items:
        raise ParseError("The body holds no alerts.")
    if len(items) > MAX_ITEMS:
        raise ParseError(f"Send at most {MAX_ITEMS} alerts in one request; this one has {len(items)}.")
    return items


def decode_json(body: bytes) -> Any:
    if not body.strip():
        raise ParseError("The body is empty; send a JSON document.")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError as exc:
        raise ParseError("The body is not UTF-8 text.") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ParseError(f"The body is not usable JSON: {exc}") from exc
    where = first_unstorable(data)
    if where is not None:
        # PostgreSQL stores none of these in text or jsonb: refuse here rather than fail on INSERT.
        raise ParseError(f"{where or 'The body'}: {MESSAGE}")
    return data


def _not_json(constant: str) -> Any:
    # Python reads NaN and Infinity; JSON (and PostgreSQL's jsonb) has no such numbers.
    raise ParseError(f"The body is not valid JSON: {constant} is not a JSON number.")


# --- shared helpers ----------------------------------------------------------------------


def _key(value: str) -> str:
    # Keys longer than the column are hashed rather than cut, so two long keys never collide.
    if len(value) <= DEDUP_KEY_MAX:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _text(value: object, where: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise ParseError(f"{where} is missing.")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ParseError(f"{where} must be text.")
    return str(value).strip()


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{where} must be a JSON object.")
    return value


def _string_map(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    mapping = _object(value, where)
    return {str(k): str(v) for k, v in mapping.items()}


def _link(href: str, text: str) -> dict[str, str]:
    return {"href": href, "text": text}


def _labels_text(labels: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(labels.items()))


# --- generic -----------------------------------------------------------------------------


def _generic_links(value: object, where: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParseError(f"{where}.links must be a list of URLs or {{href, text}} objects.")
    links = []
    for n, entry in enumerate(value[:LINKS_MAX]):
        if isinstance(entry, str):
            links.append(_link(entry, entry))
            continue
        entry = _object(entry, f"{where}.links[{n}]")
        href = _text(entry.get("href") or entry.get("url"), f"{where}.links[{n}].href", required=True)
        links.append(_link(href, _text(entry.get("text"), f"{where}.links[{n}].text") or href))
    return links


def _generic_item(value: object, where: str) -> AlertItem:
    data = _object(value, where)
    action = _text(data.get("action"), f"{where}.action").lower() or TRIGGER
    if action not in (TRIGGER, RESOLVE):
        raise ParseError(f"{where}.action must be “trigger” or “resolve”, not “{action}”.")
    title = _text(data.get("title"), f"{where}.title")
    key = _text(data.get("dedup_key"), f"{where}.dedup_key")
    if not title and not (action == RESOLVE and key):
        raise ParseError(f"{where}.title is missing.")
    severity_word = data.get("severity")
    severity = severity_for(severity_word) if severity_word not in (None, "") else DEFAULT_SEVERITY
    if severity is None:
        raise ParseError(f"{where}.severity “{severity_word}” is not one of critical, error, warning, info.")
    return AlertItem(
        dedup_key=_key(key or title),
        title=(title or key)[:TITLE_MAX],
        action=action,
        severity=severity,
        details=_text(data.get("details"), f"{where}.details")[:DETAILS_MAX],
        links=_generic_links(data.get("links"), where),
        labels=_string_map(data.get("labels"), f"{where}.labels"),
        raw=data,
    )


def parse_generic(data: Any) -> list[AlertItem]:
    if isinstance(data, list):
        if len(data) > MAX_ITEMS:
            raise ParseError(f"Send at most {MAX_ITEMS} alerts in one request; this one has {len(data)}.")
        return [_generic_item(entry, f"[{n}]") for n, entry in enumerate(data)]
    return [_generic_item(data, "The body")]


# --- Alertmanager and Grafana ----------------------------------------------------------------


def _alerts_list(data: dict[str, Any]) -> list[Any]:
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise ParseError("alerts must be a list of alerts.")
    if len(alerts) > MAX_ITEMS:
        raise ParseError(f"Send at most {MAX_ITEMS} alerts in one request; this one has {len(alerts)}.")
    return alerts


def _prometheus_item(value: object, n: int, *, extra_links: tuple[tuple[str, str], ...]) -> AlertItem:
    where = f"alerts[{n}]"
    alert = _object(value, where)
    status = _text(alert.get("status"), f"{where}.status", required=True).lower()
    if status not in ("firing", "resolved"):
        raise ParseError(f"{where}.status must be “firing” or “resolved”, not “{status}”.")
    labels = _string_map(alert.get("labels"), f"{where}.labels")
    annotations = _string_map(alert.get("annotations"), f"{where}.annotations")
    # Alertmanager always sends a fingerprint; the label set is what it hashes, so it is the fallback.
    fingerprint = _text(alert.get("fingerprint"), f"{where}.fingerprint")
    key = fingerprint or "labels:" + hashlib.sha256(_labels_text(labels).encode()).hexdigest()[:32]
    title = annotations.get("summary") or annotations.get("title") or labels.get("alertname") or "Unnamed alert"
    description = annotations.get("description") or annotations.get("message") or ""
    value_string = _text(alert.get("valueString"), f"{where}.valueString")
    details = "\n\n".join(p for p in (description, value_string, _labels_text(labels)) if p)
    links = [_link(annotations["runbook_url"], "Runbook")] if annotations.get("runbook_url") else []
    for name, text in (("generatorURL", "Source"), *extra_links):
        href = _text(alert.get(name), f"{where}.{name}")
        if href:
            links.append(_link(href, text))
    return AlertItem(
        dedup_key=_key(key),
        title=title.strip()[:TITLE_MAX],
        action=RESOLVE if status == "resolved" else TRIGGER,
        severity=severity_for(labels.get("severity")) or DEFAULT_SEVERITY,
        details=details[:DETAILS_MAX],
        links=links[:LINKS_MAX],
        labels=labels,
        raw=alert,
    )


def parse_alertmanager(data: Any) -> list[AlertItem]:
    body = _object(data, "The body")
    version = body.get("version")
    if version is not None and str(version) != "4":
        raise ParseError(f"Fireline reads Alertmanager webhook version 4; this body says version {version}.")
    if "alerts" not in body:
        raise ParseError("alerts is missing: this does not look like an Alertmanager webhook.")
    return [_prometheus_item(entry, n, extra_links=()) for n, entry in enumerate(_alerts_list(body))]


GRAFANA_LINKS = (("dashboardURL", "Dashboard"), ("panelURL", "Panel"), ("silenceURL", "Silence"))


def _grafana_legacy(body: dict[str, Any]) -> list[AlertItem]:
    state = _text(body.get("state"), "state", required=True).lower()
    rule = _text(body.get("ruleId"), "ruleId", required=True)
    title = _text(body.get("ruleName"), "ruleName") or _text(body.get("title"), "title") or f"Grafana rule {rule}"
    href = _text(body.get("ruleUrl"), "ruleUrl")
    return [
        AlertItem(
            dedup_key=_key(f"grafana-rule:{rule}"),
            title=title[:TITLE_MAX],
            action=RESOLVE if state == "ok" else TRIGGER,
            severity=severity_for(_string_map(body.get("tags"), "tags").get("severity")) or DEFAULT_SEVERITY,
            details=_text(body.get("message"), "message")[:DETAILS_MAX],
            links=[_link(href, "Rule")] if href else [],
            raw=body,
        )
    ]


def parse_grafana(data: Any) -> list[AlertItem]:
    body = _object(data, "The body")
    if "alerts" not in body:
        if "ruleId" in body:
            return _grafana_legacy(body)
        raise ParseError("alerts is missing: this does not look like a Grafana alert webhook.")
    return [_prometheus_item(entry, n, extra_links=GRAFANA_LINKS) for n, entry in enumerate(_alerts_list(body))]


PARSERS = {"generic": parse_generic, "alertmanager": parse_alertmanager, "grafana": parse_grafana}
