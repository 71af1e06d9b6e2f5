"""Fireline settings: one module, every value read once from the environment.

With no environment set, Fireline runs embedded: SQLite and Celery's filesystem
transport under ``var/``, a local-memory cache and mail printed to the console.
Production sets ``DEBUG=false`` and then must provide ``SECRET_KEY``.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp import constants as csp

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# A development key only while DEBUG is on; production fails loudly without one.
SECRET_KEY = env.str(
    "SECRET_KEY",
    **({"default": "insecure-dev-key-do-not-use-in-production-0123456789abcdef"} if DEBUG else {}),
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The customer-facing status page answers on this host (and its subdomains).
STATUS_HOST = env.str("STATUS_HOST", default="status.localhost").lower()
# Where links in mail point; the request's host is used when there is a request.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "bootstrap",
    "oncall",
    "incidents",
    "postmortems",
    "statuspage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.inputs.RefuseNulMiddleware",
    "config.hosts.StatusHostMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.hosts.PortalLoginRequiredMiddleware",
    "config.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
STATUS_URLCONF = "config.status_urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.fireline",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'fireline.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat write at once: WAL lets readers go on during a write,
    # IMMEDIATE takes the write lock up front so a transaction never fails half-way
    # with "database is locked", and busy_timeout waits for the lock instead.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("REDIS_URL", default="locmemcache://fireline")}
# Published status page snapshots, shared by every web process: Redis when configured,
# else files under var/ (embedded mode runs the web server and the worker as two processes).
CACHES["status"] = (
    {**env.cache_url("REDIS_URL"), "KEY_PREFIX": "fireline"}
    if env.str("REDIS_URL", default="")
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "status-cache"),
    }
)
# Alert intake: rate-limit counters live in Redis (atomic across processes) when a URL is
# set, else in the cache above (per process in embedded mode). Bodies above the cap get 413.
REDIS_URL = env.str("REDIS_URL", default="")
FIRELINE_RATELIMIT_REDIS_URL = env.str("FIRELINE_RATELIMIT_REDIS_URL", default=REDIS_URL)
FIRELINE_ALERT_MAX_BYTES = env.int("FIRELINE_ALERT_MAX_BYTES", default=256 * 1024)

AUTH_USER_MODEL = "oncall.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "oncall:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# Mail: printed to the console unless EMAIL_URL names an SMTP server.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Fireline <fireline@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Fireline admins", addr) for addr in env.list("ADMIN_EMAILS", default=[])]

# Security: production defaults whenever DEBUG is off, each one switchable by env.
# Behind a TLS-terminating proxy, set TRUST_X_FORWARDED_PROTO=true (the proxy must set
# X-Forwarded-Proto and strip it from clients), else every request looks like plain HTTP
# and SECURE_SSL_REDIRECT loops.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
TRUST_X_FORWARDED_PROTO = env.bool("TRUST_X_FORWARDED_PROTO", default=False)
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading is a promise to browser vendors that is slow to undo: only when asked.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = env.bool("SESSION_COOKIE_HTTPONLY", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
X_FRAME_OPTIONS = env.str("X_FRAME_OPTIONS", default="DENY")
SECURE_CONTENT_TYPE_NOSNIFF = env.bool("SECURE_CONTENT_TYPE_NOSNIFF", default=True)
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
# check --deploy warns (W021) whenever preload is off; off is the deliberate default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Portal pages load scripts and styles from their own origin only: no inline code, no other
# host. Bootstrap's CSS draws form icons as data: SVGs. The API docs pages relax this per view
# (config/urls.py); the status host keeps the policy of its snapshots (config/middleware.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}
# Clients' addresses: with N proxies in front that append to X-Forwarded-For, the N-th
# address from the right; 0 uses REMOTE_ADDR. A header clients can forge is trusted only
# when told how many proxies wrote it: by default one behind a trusted proxy (as
# deploy/nginx.conf), else none. Behind a proxy with 0, every client has the proxy's
# address and shares one sign-in failure count.
NUM_PROXIES = env.int("NUM_PROXIES", default=1 if TRUST_X_FORWARDED_PROTO else 0)
# Sign-in throttling: this many failed sign-ins for one username, or from one address,
# within the window make the sign-in forms answer 429 until the window ends.
FIRELINE_SIGNIN_FAILURES_PER_USERNAME = env.int("FIRELINE_SIGNIN_FAILURES_PER_USERNAME", default=5)
FIRELINE_SIGNIN_FAILURES_PER_IP = env.int("FIRELINE_SIGNIN_FAILURES_PER_IP", default=50)
FIRELINE_SIGNIN_WINDOW_SECONDS = env.int("FIRELINE_SIGNIN_WINDOW_SECONDS", default=15 * 60)
# API requests per minute, per token and per signed-in person (sessions); then 429.
FIRELINE_API_TOKEN_REQUESTS_PER_MINUTE = env.int("FIRELINE_API_TOKEN_REQUESTS_PER_MINUTE", default=1200)
FIRELINE_API_USER_REQUESTS_PER_MINUTE = env.int("FIRELINE_API_USER_REQUESTS_PER_MINUTE", default=600)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oncall.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, refusing NUL characters PostgreSQL cannot store (config/inputs.py).
    "DEFAULT_PARSER_CLASSES": ["config.inputs.JSONParser", "config.inputs.FormParser", "config.inputs.MultiPartParser"],
    "DEFAULT_THROTTLE_CLASSES": ["config.throttles.TokenRateThrottle", "config.throttles.UserRateThrottle"],
    "NUM_PROXIES": NUM_PROXIES or None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fireline API",
    "DESCRIPTION": "On-call, incidents, postmortems and status pages. Authenticate with "
    "`Authorization: Bearer <token>`; create a token on your profile page.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a `status`, `kind` or `role`: name each choice set once.
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "ComponentStatusEnum": "statuspage.models.ComponentStatus",
        "NoticeStatusEnum": "statuspage.models.Notice.Status",
        "NoticeImpactEnum": "statuspage.models.Impact",
        "NoticeOpeningStatusEnum": "statuspage.api.OPENING_STATUSES",
        "IncidentNoticeImpactEnum": "statuspage.api.INCIDENT_IMPACTS",
        "IncidentRoleEnum": "incidents.models.RoleAssignment.Role",
        "ImpactTrendEnum": "incidents.models.Incident.Trend",
        "TimelineKindEnum": "incidents.models.TimelineEntry.Kind",
        "ContactMethodKindEnum": "oncall.models.notifications.ContactMethod.Kind",
        "IncidentSeverityEnum": "incidents.models.Severity",
        "PostmortemStatusEnum": "postmortems.models.Postmortem.Status",
        "ActionItemStatusEnum": "postmortems.models.ActionItem.Status",
        "ActionItemKindEnum": "postmortems.models.ActionItem.Kind",
        "ContributingFactorKindEnum": "postmortems.models.ContributingFactor.Kind",
        "PageStatusEnum": "oncall.models.paging.Page.Status",
        "PageEventKindEnum": "oncall.models.paging.PageEvent.Kind",
        "StepTargetKindEnum": "oncall.models.paging.StepTarget.Kind",
        "AlertStatusEnum": "oncall.models.paging.Alert.Status",
        "AlertSeverityEnum": "oncall.models.paging.Alert.Severity",
        "IntegrationKindEnum": "oncall.models.paging.Integration.Kind",
        "CompTimeGrantKindEnum": "oncall.models.comptime.CompTimePolicy.Grant",
        "CompTimeGrantStatusEnum": "oncall.models.comptime.CompTimeGrant.Status",
        "WorkLogSourceEnum": "oncall.models.comptime.WorkLog.Source",
    },
}

# Celery: the filesystem transport under var/ needs no server; production sets Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=3.0)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis that stops answering without closing the connection (a failover, a dropped route)
    # would hold a publish forever, and with it the request that committed just before.
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "socket_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, so a worker killed mid-task leaves it queued.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic jobs Fireline needs; `manage.py setup_periodic_tasks` creates the missing
# ones in django-celery-beat's tables, so schedules edited in the admin are kept.
FIRELINE_PERIODIC_TASKS: dict[str, dict[str, object]] = {
    "beat heartbeat": {"task": "oncall.tasks.beat_heartbeat", "every_seconds": 60},
    "notification sweep": {"task": "oncall.tasks.sweep_notifications", "every_seconds": 60},
    "shift reminders": {"task": "oncall.tasks.send_shift_reminders", "every_seconds": 300},
    "escalate pages": {"task": "oncall.tasks.escalate_pages", "every_seconds": 30},
    "escalation auditor": {"task": "oncall.tasks.audit_escalations", "every_seconds": 300},
    "comp time": {"task": "oncall.tasks.grant_comp_time", "every_seconds": 900},
    "incident update reminders": {"task": "incidents.tasks.remind_incident_updates", "every_seconds": 60},
    "postmortem deadlines": {"task": "postmortems.tasks.enforce_postmortem_deadlines", "every_seconds": 300},
    "action item deadlines": {"task": "postmortems.tasks.enforce_action_item_deadlines", "every_seconds": 3600},
    "manager digests": {"task": "postmortems.tasks.send_manager_digests", "every_seconds": 3600},
    "maintenance windows": {"task": "statuspage.tasks.move_maintenance_windows", "every_seconds": 60},
    "subscriber updates": {"task": "statuspage.tasks.sweep_subscriber_updates", "every_seconds": 60},
    "customer notice guard": {"task": "statuspage.tasks.guard_customer_notices", "every_seconds": 60},
    "stale components": {"task": "statuspage.tasks.flag_stale_components", "every_seconds": 300},
    "republish status pages": {"task": "statuspage.tasks.republish_status_pages", "every_seconds": 900},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
