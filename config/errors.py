"""Domain errors: a broken business rule, said in words a person can act on.

Services raise them; the web shows the message, the API answers with it
(`config.api.exception_handler`).
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain forbids this change. Answers 400 in the API."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(DomainError):
    """The change clashes with the current state (e.g. already resolved). Answers 409."""

    status_code = 409
