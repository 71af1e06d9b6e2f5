"""Fireline's settings with the mail backend a fault test controls (tests/hardening/blocking_mail.py)."""

from config.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.hardening.blocking_mail.BlockingEmailBackend"
