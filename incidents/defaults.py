"""The severity levels a new team starts with; managers adjust them in the admin."""

from __future__ import annotations

from typing import Any

SEVERITY_DEFAULTS: list[dict[str, Any]] = [
    {
        "level": 1,
        "name": "Critical",
        "definition": "Everyone is affected: a core product path is down, or data, money or security is at risk.",
        "examples": "Checkout fails for every customer\nData is being corrupted in production\nAn attacker is inside",
        "update_every_minutes": 20,
        "commander_required": True,
        "customer_notice_required": True,
        "customer_notice_within_minutes": 10,
        "postmortem_required": True,
        "postmortem_due_hours": 48,
        "watch_minutes": 60,
    },
    {
        "level": 2,
        "name": "High",
        "definition": "A partial outage or serious slowdown that many customers notice.",
        "examples": (
            "A third of sign-ins fail\nAPI latency doubled and clients time out\n"
            "One region is down, failover mostly works"
        ),
        "update_every_minutes": 45,
        "commander_recommended": True,
        "customer_notice_required": True,
        "customer_notice_within_minutes": 20,
        "postmortem_required": True,
        "postmortem_due_business_days": 5,
        "watch_minutes": 30,
    },
    {
        "level": 3,
        "name": "Medium",
        "definition": "Limited impact with a workaround, or a secondary component degraded.",
        "examples": "Reporting dashboard is down while the product works\nBackground jobs run late, nothing lost",
        "update_every_minutes": 180,
        "watch_minutes": 30,
    },
    {
        "level": 4,
        "name": "Low",
        "definition": "No customer impact yet; worth a ticket and a fix in working hours.",
        "examples": "One node restarted\nAn alert that cleared by itself",
        "update_every_minutes": None,
        "watch_minutes": 30,
    },
]

# The three questions to ask when unsure; a yes to any points at SEV-1 or SEV-2.
SEVERITY_QUESTIONS = [
    ("customers_blocked", "Are customers unable to do the core things they came for?"),
    ("money_data_security", "Are money, data or security at risk?"),
    ("impact_growing", "Is the impact growing?"),
]

TRIAGE_CHECKLIST = [
    ("what_broken", "What exactly is broken?"),
    ("who_impacted", "Who is affected, and how many?"),
    ("since_when", "Since when?"),
    ("what_changed", "What changed recently (deploys, config, traffic)?"),
    ("dependencies", "Are the dependencies healthy?"),
    ("fast_mitigation", "Is there a fast way to stop the bleeding?"),
]

RESOLUTION_CHECKLIST = [
    ("core_actions", "Core customer actions succeed"),
    ("errors_latency", "Errors and latency are back at their baseline"),
    ("queues", "Queues and backlogs are draining"),
    ("dependencies", "Dependencies are healthy"),
]
