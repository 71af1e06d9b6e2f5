"""The blameless check: words that point at a person instead of the system.

It warns and says why; it never blocks. Names of the team's people are flagged too:
a postmortem talks about roles and systems ("the on-call engineer", "the deploy tool").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PHRASES: dict[str, str] = {
    "human error": "Names a person as the cause. Ask what made the error easy to make and hard to catch.",
    "should have": "Judges with hindsight. Describe what the person knew and saw at that moment.",
    "should've": "Judges with hindsight. Describe what the person knew and saw at that moment.",
    "careless": "Blames attention. Ask which safeguard was missing.",
    "negligent": "Blames a person. Describe the conditions that allowed the failure.",
    "negligence": "Blames a person. Describe the conditions that allowed the failure.",
    "fault": "Looks for someone to blame. Describe the chain of events instead.",
    "blame": "A postmortem looks for causes in the system, not for culprits.",
    "failed to": "Frames a person as the failure. Say what the system did or did not do.",
    "forgot to": "Frames a person as the failure. Ask why the step depended on memory.",
    "mistake": "Points at a person. Ask what made the mistake possible.",
    "sloppy": "Blames a person's care. Ask which check would have caught it.",
    "lazy": "Blames a person. Describe the pressures and the tools instead.",
    "incompetent": "Blames a person. Describe the gaps in tooling, training or process.",
    "stupid": "Blames a person. Describe what made the action look reasonable at the time.",
}
NAME_REASON = "Names a person. Write about roles and systems (“the on-call engineer”, “the deploy tool”)."


@dataclass(frozen=True)
class Finding:
    text: str
    reason: str


def _found(pattern: str, text: str, flags: int = re.IGNORECASE) -> bool:
    return re.search(rf"(?<![\w-]){pattern}(?![\w-])", text, flags) is not None


def check(text: str, *, names: Iterable[str] = ()) -> list[Finding]:
    """Blame phrases and people's names in `text`, each once, in the order of the lists."""
    findings = [Finding(phrase, reason) for phrase, reason in PHRASES.items() if _found(re.escape(phrase), text)]
    seen: set[str] = set()
    for name in sorted({n.strip() for n in names if len(n.strip()) >= 3}):
        # Capitalised names only match capitalised words, so "bob" the username flags "bob"
        # while "Will" the first name does not flag "will".
        flags = 0 if name[0].isupper() else re.IGNORECASE
        if name.casefold() not in seen and _found(re.escape(name), text, flags):
            seen.add(name.casefold())
            findings.append(Finding(name, NAME_REASON))
    return findings
