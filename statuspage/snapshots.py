"""The published snapshot of each status page, and answering requests from it with no SQL.

Publishing renders every public document of a page once and stores the set (a bundle)
in the "status" cache under a new version, and in the database for a cold cache. A
request on the status host is answered from a per-process copy of the bundle; that copy
is checked against the cache's version key at most every FRESH_SECONDS, so a change
made by another process is served within that time, and a spike costs one small cache
read per process per interval, not one per request.

`SnapshotWSGI` answers GET/HEAD on the status host before Django's request stack; the
status URLconf's catch-all view answers the same way for the test client and for
anything that reaches Django (a cold cache, a POST).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches

from config.hosts import is_status_host

logger = logging.getLogger(__name__)
# What a cache backend raises when its server is down: redis-py's errors are ConnectionError
# and TimeoutError subclasses of OSError-like hierarchies, the file cache raises OSError.
CACHE_ERRORS: tuple[type[BaseException], ...] = (OSError, ConnectionError, TimeoutError)
try:
    import redis

    CACHE_ERRORS += (redis.RedisError,)
except ImportError:  # pragma: no cover - redis is a dependency
    pass
FRESH_SECONDS = 0.5
CACHE_ALIAS = "status"
# Proxies and browsers may reuse a copy briefly, and keep serving the last good one
# while the origin is down: the status page matters most exactly then.
CACHE_CONTROL = "public, max-age=10, stale-while-revalidate=30, stale-if-error=86400"
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
)
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class Document:
    content_type: str
    body: bytes
    etag: str
    gzipped: bytes | None
    status: int = 200
    # A digest of what the document was rendered from, when that is all it depends on: the
    # next publish keeps the document as it is if the digest is the same (publishing.py).
    source: str = ""

    def __getstate__(self) -> dict[str, object]:
        # A gzipped document's body is left out of the stored bundle and gunzipped back when
        # it is read: storing it twice made every publish of a page with a year of notices
        # write 10 MB to the database and the cache.
        state = dict(self.__dict__)
        if self.gzipped is not None:
            state["body"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        if state.get("body") is None and isinstance(state.get("gzipped"), bytes):
            state["body"] = gzip.decompress(state["gzipped"])
        self.__dict__.update({"source": "", **state})


def make_document(body: bytes, content_type: str, *, status: int = 200, source: str = "") -> Document:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    gzipped = gzip.compress(body, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
    return Document(content_type=content_type, body=body, etag=etag, gzipped=gzipped, status=status, source=source)


def normalize_path(path: str) -> str:
    return path.rstrip("/") or "/"


# --- storing -----------------------------------------------------------------------------


def _version_key(host: str) -> str:
    return f"statuspage:version:{host}"


def _missing_key(host: str) -> str:
    return f"statuspage:missing:{host}"


def _bundle_key(host: str, version: str) -> str:
    return f"statuspage:bundle:{host}:{version}"


@dataclass
class _Local:
    version: str
    checked_at: float
    documents: dict[str, Document]


_local: dict[str, _Local] = {}
_lock = threading.Lock()


def new_version() -> str:
    return uuid.uuid4().hex


def encode(documents: dict[str, Document]) -> bytes:
    return pickle.dumps(documents, protocol=pickle.HIGHEST_PROTOCOL)


def decode(raw: bytes) -> dict[str, Document]:
    # Our own bytes, written by publishing into our own cache and table.
    return pickle.loads(raw)  # noqa: S301


BUNDLE_SECONDS = 24 * 3600
# How long a replaced bundle stays readable for processes still holding its version.
REPLACED_SECONDS = 120


def store(host: str, version: str, documents: dict[str, Document]) -> None:
    """Puts a bundle in the shared cache and in this process, replacing the previous one.

    A cache outage is logged, not raised: this process serves the new copy at once, the
    others when the cache is back, and the database keeps it for a cold cache.
    """
    with _lock:
        _local[host] = _Local(version=version, checked_at=time.monotonic(), documents=documents)
    cache = caches[CACHE_ALIAS]
    try:
        previous = cache.get(_version_key(host))
        # The bundle first, then the version that points at it: a reader never sees a version
        # whose bundle is missing.
        cache.set(_bundle_key(host, version), encode(documents), timeout=BUNDLE_SECONDS)
        cache.set(_version_key(host), version, timeout=None)
        cache.delete(_missing_key(host))
        if previous and previous != version:
            # Every publish writes a new bundle; without this, a day of them would pile up.
            cache.touch(_bundle_key(host, previous), timeout=REPLACED_SECONDS)
    except CACHE_ERRORS:
        logger.exception("Status cache unavailable; %s published in this process and the database only.", host)


def forget(host: str) -> None:
    with _lock:
        _local.pop(host, None)
    try:
        caches[CACHE_ALIAS].delete(_version_key(host))
    except CACHE_ERRORS:
        logger.exception("Status cache unavailable; %s is forgotten in this process only.", host)


MISSING_SECONDS = 30


def mark_missing(host: str) -> None:
    """Remembers that a host has no page, so requests for it don't each ask the database."""
    try:
        caches[CACHE_ALIAS].set(_missing_key(host), 1, timeout=MISSING_SECONDS)
    except CACHE_ERRORS:
        logger.warning("Status cache unavailable; %s not remembered as missing.", host)


def known_missing(host: str) -> bool:
    try:
        return bool(caches[CACHE_ALIAS].get(_missing_key(host)))
    except CACHE_ERRORS:
        return False


def documents_for(host: str) -> dict[str, Document] | None:
    """The current bundle of a host from this process or the cache; None when neither has one.

    When the cache is unreachable, this process's copy is served as it is: an outage of
    the cache must not take the status page down exactly when customers need it.
    """
    now = time.monotonic()
    entry = _local.get(host)
    if entry is not None and now - entry.checked_at < FRESH_SECONDS:
        return entry.documents
    try:
        return _from_cache(host, entry, now)
    except CACHE_ERRORS:
        logger.warning("Status cache unavailable; serving this process's copy of %s.", host)
        return entry.documents if entry is not None else None


def _from_cache(host: str, entry: _Local | None, now: float) -> dict[str, Document] | None:
    cache = caches[CACHE_ALIAS]
    version = cache.get(_version_key(host))
    if version is None:
        return None
    if entry is not None and entry.version == version:
        entry.checked_at = now
        return entry.documents
    raw = cache.get(_bundle_key(host, version))
    if raw is None:
        return None
    documents = decode(raw)
    with _lock:
        _local[host] = _Local(version=version, checked_at=now, documents=documents)
    return documents


def lookup(host: str, path: str) -> Document | None:
    documents = documents_for(host)
    if documents is None:
        return None
    return documents.get(normalize_path(path))


def not_found(host: str) -> Document | None:
    documents = documents_for(host)
    return documents.get("/404") if documents else None


# --- answering -----------------------------------------------------------------------------


def _matches(etag: str, if_none_match: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): a proxy may have weakened the tag.
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in candidates


def respond(
    document: Document, *, if_none_match: str = "", accept_encoding: str = "", head: bool = False
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) for one document, honouring If-None-Match and gzip."""
    headers = [
        ("Content-Type", document.content_type),
        ("ETag", document.etag),
        ("Cache-Control", CACHE_CONTROL),
        ("Vary", "Accept-Encoding"),
        *SECURITY_HEADERS,
    ]
    if document.status == 200 and _matches(document.etag, if_none_match):
        return 304, headers, b""
    body = document.body
    if document.gzipped is not None and "gzip" in accept_encoding:
        body = document.gzipped
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    return document.status, headers, b"" if head else body


REASONS = {200: "200 OK", 304: "304 Not Modified", 404: "404 Not Found"}


class SnapshotWSGI:
    """Answers GET/HEAD on the status host from the snapshot; passes everything else to Django.

    Transport as Django's SecurityMiddleware has it for the portal: with SECURE_SSL_REDIRECT
    a plain-HTTP request goes on to Django, which redirects it, and an HTTPS answer carries
    HSTS when SECURE_HSTS_SECONDS is set.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD"):
            host = _host(environ)
            secure = _is_secure(environ)
            if host and _serves(host, settings.STATUS_HOST) and (secure or not settings.SECURE_SSL_REDIRECT):
                document = lookup(host, environ.get("PATH_INFO", "/"))
                if document is not None:
                    status, headers, body = respond(
                        document,
                        if_none_match=environ.get("HTTP_IF_NONE_MATCH", ""),
                        accept_encoding=environ.get("HTTP_ACCEPT_ENCODING", ""),
                        head=method == "HEAD",
                    )
                    if secure and settings.SECURE_HSTS_SECONDS:
                        headers.append(("Strict-Transport-Security", _hsts()))
                    start_response(REASONS[status], headers)
                    return [body]
        return self.app(environ, start_response)


@lru_cache(maxsize=256)
def _serves(host: str, status_host: str) -> bool:
    # A spike is the same few hosts over and over, and parsing one cost a tenth of the status
    # page's throughput (bench/status_page.py). Keyed by the status host, so a new setting counts.
    return is_status_host(host)


def _is_secure(environ: dict) -> bool:
    """HTTPS, as `HttpRequest.is_secure()` decides it (SECURE_PROXY_SSL_HEADER behind a proxy)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        return environ.get(name, "").split(",", 1)[0].strip() == value
    return environ.get("wsgi.url_scheme") == "https"


def _hsts() -> str:
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value


def _host(environ: dict) -> str:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    return host.rsplit(":", 1)[0].lower() if not host.endswith("]") else host.lower()
