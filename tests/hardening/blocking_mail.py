"""A mail backend for a worker that a test kills mid-send.

The worker process gets it through `tests.hardening.worker_settings`. Every message is
recorded as JSON lines in $FAULTS_MAIL_DIR/mail.log: "start" when the send begins and
"delivered" when the mail server would have accepted it, each with the worker's pid and
the message's ids. With $FAULTS_MAIL_HOLD set to "before" or "after", the first attempt
of each message waits there (before or after "delivered") until the test kills the
worker, so the kill lands while the row is claimed (SENDING).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

HOLD_SECONDS = 60.0


def _directory() -> Path:
    return Path(os.environ["FAULTS_MAIL_DIR"])


def _record(what: str, message: EmailMessage) -> None:
    mime = message.message()
    line = {
        "what": what,
        "pid": os.getpid(),
        "to": message.to,
        "subject": message.subject,
        "message_id": mime["Message-ID"],
        "event_id": mime["X-Fireline-Event-Id"],
    }
    with (_directory() / "mail.log").open("a") as log:
        log.write(json.dumps(line) + "\n")


def _hold(where: str, message: EmailMessage) -> None:
    if os.environ.get("FAULTS_MAIL_HOLD") != where:
        return
    marker = _directory() / f"held-{message.extra_headers.get('X-Fireline-Event-Id', '')}"
    if marker.exists():
        return  # Only the first attempt waits; the retry goes through.
    marker.touch()
    deadline = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)


class BlockingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        for message in email_messages:
            _record("start", message)
            _hold("before", message)
            _record("delivered", message)
            _hold("after", message)
        return len(email_messages)


def mail_log(directory: Path) -> list[dict]:
    """What the worker recorded, read by the test."""
    path = directory / "mail.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
