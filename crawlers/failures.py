"""Why a request failed: one error kind per failure, recorded in `fetches.error_kind`.

The kinds: robots, bot_wall, timeout, dns, connection, http_4xx, http_5xx, too_large,
redirect, not_html, backed_off, limit, blocked_address, extraction (the page's extraction
worker died or overran TEASERFEED_EXTRACT_TIMEOUT), other (and `paywall`, a flag on a
page that was still stored). Middlewares that refuse a request raise a `FetchRefused`
subclass, which carries its kind, so the spider's errback records it through
`classify_failure`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotSupported,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from crawlers.meta import META_RETRY_NOTE

__all__ = [
    "BENIGN_KINDS",
    "ERROR_KINDS",
    "SITE_FAILURE_KINDS",
    "BackedOff",
    "BadRedirect",
    "BlockedAddress",
    "BotWall",
    "FetchRefused",
    "NotAPage",
    "classify_failure",
    "is_failed_fetch",
    "is_site_failure",
]

ERROR_KINDS = (
    "robots",
    "bot_wall",
    "timeout",
    "dns",
    "connection",
    "http_4xx",
    "http_5xx",
    "too_large",
    "redirect",
    "not_html",
    "backed_off",
    "limit",
    "blocked_address",
    "paywall",
    "extraction",
    "other",
)
# Kinds that say the site is down or refuses us: enough of them in a row back a site off.
SITE_FAILURE_KINDS = frozenset({"timeout", "dns", "connection", "http_5xx", "bot_wall"})
# Kinds of an article fetch that are the site's content or our own policy rather than a
# failed crawl (a dead link, robots.txt, a PDF, a paywall flag, a configured limit, an
# internal address the SSRF guard refused).
BENIGN_KINDS = frozenset({"robots", "http_4xx", "not_html", "paywall", "limit", "blocked_address"})

_MAX_MESSAGE = 300


class FetchRefused(IgnoreRequest):
    """A request teaserfeed dropped on purpose; `kind` is the error kind recorded for it."""

    kind = "other"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BotWall(FetchRefused):
    """The site answered with a bot wall or challenge page instead of the page."""

    kind = "bot_wall"


class BackedOff(FetchRefused):
    """The site failed too often in a row this run; its other requests are dropped."""

    kind = "backed_off"


class BadRedirect(FetchRefused):
    """A redirect that is not followed: a loop, or a target that is not http(s)."""

    kind = "redirect"


class BlockedAddress(FetchRefused):
    """A request to a loopback, private, link-local or otherwise non-public address (SSRF)."""

    kind = "blocked_address"


class NotAPage(FetchRefused):
    """A response with nothing to parse (an empty body)."""

    kind = "not_html"


def is_site_failure(kind: str | None, status: int | None = None) -> bool:
    """True when a fetch with this error kind says the site is down or refusing us."""
    return kind in SITE_FAILURE_KINDS or (kind == "http_4xx" and status == 429)


def is_failed_fetch(fetch_kind: str, error_kind: str | None, status: int | None = None) -> bool:
    """True when a recorded fetch error means the crawl missed what it should have got: a
    listing (or feed) that failed for any reason but a paywall flag or a limit, or an article
    that failed for a reason not in BENIGN_KINDS (a 429 counts). `teaserfeed crawl` exits 3
    when a finished run has any."""
    if error_kind is None or error_kind in ("paywall", "limit"):
        return False
    if fetch_kind != "article":
        return True
    return error_kind not in BENIGN_KINDS or status == 429


def classify_failure(failure: Failure) -> tuple[str, int | None, str]:
    """Map a request failure to (error_kind, HTTP status, short message); never raises."""
    try:
        kind, status, message = _classify(failure.value)
    except Exception as exc:  # a failure we cannot even describe is still recorded
        return "other", None, f"unclassified failure ({type(exc).__name__})"
    return kind, status, " ".join(message.split())[:_MAX_MESSAGE]


def _classify(exc: Any) -> tuple[str, int | None, str]:
    if isinstance(exc, FetchRefused):
        return exc.kind, exc.status, str(exc) or exc.kind
    if isinstance(exc, HttpError):
        return _http_error(exc)
    if isinstance(exc, IgnoreRequest):
        return _ignored(str(exc))
    if isinstance(exc, (DownloadTimeoutError, TimeoutError, TCPTimedOutError)):
        return "timeout", None, _described("timed out", exc)
    if isinstance(exc, (CannotResolveHostError, DNSLookupError)):
        return "dns", None, _described("DNS lookup failed", exc)
    if isinstance(exc, (DownloadConnectionRefusedError, ConnectionRefusedError)):
        return "connection", None, "connection refused"
    if isinstance(exc, ResponseDataLossError):
        return "connection", None, "the connection closed before the whole response arrived"
    if isinstance(exc, (DownloadFailedError, ConnectError, ConnectionLost, ConnectionDone)):
        return "connection", None, _described("connection failed", exc)
    if isinstance(exc, DownloadCancelledError):
        # Scrapy's HTTP handler cancels a download only when it outgrows DOWNLOAD_MAXSIZE
        text = str(exc)
        if not text or "max size" in text:
            return "too_large", None, "larger than DOWNLOAD_MAXSIZE: download cancelled"
        return "other", None, f"download cancelled: {text}"
    if isinstance(exc, (UnsupportedURLSchemeError, NotSupported)):
        return "other", None, _described("unsupported URL", exc)
    return "other", None, f"{type(exc).__name__}: {exc}"


def _http_error(exc: HttpError) -> tuple[str, int | None, str]:
    response = exc.response
    status = int(response.status)
    message = f"HTTP {status} {_phrase(status)}".rstrip()
    meta = _meta(response)
    if 300 <= status < 400:
        location = response.headers.get(b"Location")
        target = location.decode("latin-1") if location else "nowhere"
        return "redirect", status, f"{message}: redirect to {target!r} not followed"
    retries = meta.get("retry_times")
    if retries:
        message += f" after {retries} {'retry' if retries == 1 else 'retries'}"
    note = meta.get(META_RETRY_NOTE)
    if note:
        message += f" ({note})"
    return ("http_5xx" if status >= 500 else "http_4xx"), status, message


def _ignored(text: str) -> tuple[str, int | None, str]:
    lowered = text.lower()
    if "robots" in lowered:
        return "robots", None, "disallowed by robots.txt"
    if "max redirections" in lowered:
        return "redirect", None, "too many redirects (more than REDIRECT_MAX_TIMES)"
    if "download_maxsize" in lowered:
        # HttpCompressionMiddleware: a compressed body that inflates past the limit
        return "too_large", None, "inflates past DOWNLOAD_MAXSIZE (a compression bomb?)"
    return "other", None, text or "request ignored"


def _meta(response: Any) -> dict[str, Any]:
    try:
        meta = response.meta
    except AttributeError:  # a response without a request
        return {}
    return meta if isinstance(meta, dict) else {}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _described(prefix: str, exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{prefix}: {text}" if text else prefix
