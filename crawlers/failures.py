"""Why a request failed: one error kind per failure, recorded in `fetches.error_kind`."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

__all__ = ["classify_failure"]


def classify_failure(failure: Failure) -> tuple[str, int | None, str]:
    """Map a request failure to (error_kind, HTTP status, short message)."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        kind = "http_5xx" if status >= 500 else "http_4xx"
        return kind, status, f"HTTP {status}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc) or "request ignored"
        return ("robots" if "robots" in message.lower() else "other"), None, message
    if isinstance(exc, (TimeoutError, TCPTimedOutError)):
        return "timeout", None, "timed out"
    if isinstance(exc, DNSLookupError):
        return "dns", None, "DNS lookup failed"
    if isinstance(exc, ConnectionRefusedError):
        return "connection", None, "connection refused"
    return "other", None, f"{type(exc).__name__}: {exc}"[:300]
