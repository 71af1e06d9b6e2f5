import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DEBUG", "SECRET_KEY"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_values():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x7Gq2-production-secret-with-plenty-of-entropy-9fK3mZ8vL1pQ4wR6tY0uI",
        ALLOWED_HOSTS="fireline.example.com,status.example.com",
        STATUS_HOST="status.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="false", ALLOWED_HOSTS="fireline.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_embedded_sqlite_uses_wal_and_immediate_transactions(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    result = _manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.db import connection; c = connection.cursor(); c.execute('PRAGMA journal_mode'); "
        "print(c.fetchone()[0], connection.transaction_mode)",
        DATABASE_URL=url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "IMMEDIATE"]


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Gq2-production-secret-with-plenty-of-entropy-9fK3mZ8vL1pQ4wR6tY0uI",
    "ALLOWED_HOSTS": "fireline.example.com,status.example.com",
}
SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SILENCED_SYSTEM_CHECKS",
    "NUM_PROXIES",
]


def _security_settings(**env: str) -> dict[str, object]:
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {SECURITY_SETTINGS!r}}}))"
    )
    result = _manage("shell", "-v", "0", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_turns_on_https_only_cookies_hsts_and_the_redirect_without_preload():
    assert _security_settings(**PRODUCTION) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SILENCED_SYSTEM_CHECKS": ["security.W021"],
        "NUM_PROXIES": 0,
    }


def test_security_settings_follow_the_environment():
    values = _security_settings(
        **PRODUCTION,
        SECURE_SSL_REDIRECT="false",  # what bench/status_page.py sets behind plain-HTTP nginx
        TRUST_X_FORWARDED_PROTO="true",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_PRELOAD="true",
        SECURE_REFERRER_POLICY="strict-origin",
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["NUM_PROXIES"] == 1  # the trusted proxy's X-Forwarded-For names the client
    assert values["SECURE_HSTS_SECONDS"] == 600
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SILENCED_SYSTEM_CHECKS"] == []  # asked for preload: the check is not silenced
    assert values["SECURE_REFERRER_POLICY"] == "strict-origin"
