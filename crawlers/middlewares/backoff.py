"""BackoffRetryMiddleware: retries after an exponential, jittered wait, honouring Retry-After."""

from __future__ import annotations

import logging
import random
from collections import deque
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from time import monotonic
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import CallLaterResult, call_later

from crawlers.meta import META_RETRY_AT, META_RETRY_NOTE
from crawlers.settings import with_defaults

__all__ = ["BackoffRetryMiddleware", "backoff_wait", "parse_retry_after"]

logger = logging.getLogger(__name__)

# meta key: the monotonic time before which a retry is not sent


def parse_retry_after(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def backoff_wait(attempt: int, base: float, cap: float) -> float:
    """The wait before retry number `attempt` (1, 2, ...): base·2^(attempt-1), capped, with
    "equal jitter" (half of it fixed, half random) so retries of many requests spread out."""
    step = min(cap, base * 2.0 ** max(0, attempt - 1))
    return step / 2 + random.uniform(0, step / 2)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (same settings: RETRY_TIMES, RETRY_HTTP_CODES, ...) whose
    retries wait: Retry-After on 429/503 when given (a longer one than
    TEASERFEED_MAX_RETRY_AFTER is not retried), otherwise an exponential backoff
    (TEASERFEED_RETRY_BACKOFF, doubling up to TEASERFEED_RETRY_BACKOFF_MAX) with jitter.

    A waiting retry holds no downloader slot: it is parked outside the scheduler (the
    request_scheduled signal drops it there) and handed to the engine when its time comes,
    so other requests go on meanwhile; the spider stays open while retries wait.
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("TEASERFEED_RETRY_BACKOFF")
        self.cap = settings.getfloat("TEASERFEED_RETRY_BACKOFF_MAX")
        self.max_retry_after = settings.getfloat("TEASERFEED_MAX_RETRY_AFTER")
        # (url, seconds, reason) of the latest retries, for logs and tests
        self.waits: deque[tuple[str, float, str]] = deque(maxlen=1000)
        self._parked: dict[int, tuple[Request, CallLaterResult]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = cls(with_defaults(crawler.settings))
        middleware.crawler = crawler
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(middleware.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        """Retry a response with a retryable status after its wait; give up as Scrapy does."""
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry_after = None
        if response.status in (429, 503):
            retry_after = parse_retry_after(response.headers.get(b"Retry-After"))
        if retry_after is not None and retry_after > self.max_retry_after:
            request.meta[META_RETRY_NOTE] = (
                f"Retry-After {retry_after:.0f} s is beyond TEASERFEED_MAX_RETRY_AFTER "
                f"({self.max_retry_after:.0f} s): not retried"
            )
            self._inc("teaserfeed/retry/retry_after_too_long")
            return response
        reason = _status_text(response.status)
        retry = self._retry(request, reason)
        if retry is None:
            return response
        if retry_after is not None:
            return self._delay(retry, retry_after, f"{reason}, Retry-After")
        return self._delay(retry, self._backoff(retry), reason)

    def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        """Retry a download error (timeout, refused or lost connection) after a backoff."""
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get(
            "dont_retry", False
        ):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        return self._delay(retry, self._backoff(retry), type(exception).__name__)

    def request_scheduled(self, request: Request) -> None:
        """Park a retry whose time has not come; it re-enters the engine when it has."""
        retry_at = request.meta.get(META_RETRY_AT)
        if retry_at is None:
            return
        wait = float(retry_at) - monotonic()
        if wait <= 0:
            del request.meta[META_RETRY_AT]
            return
        self._parked[id(request)] = (request, call_later(wait, self._release, request))
        raise IgnoreRequest("retry parked until its backoff ends")

    def spider_idle(self) -> None:
        """Keep the spider open while retries wait."""
        if self._parked:
            raise DontCloseSpider

    def spider_closed(self) -> None:
        """Drop the retries still waiting (an interrupted run)."""
        for _, handle in self._parked.values():
            handle.cancel()
        self._parked.clear()

    # -- internals ----------------------------------------------------------------------

    def _backoff(self, retry: Request) -> float:
        return backoff_wait(int(retry.meta.get("retry_times", 1)), self.base, self.cap)

    def _delay(self, retry: Request, wait: float, reason: str) -> Request:
        self.waits.append((retry.url, wait, reason))
        self._inc("teaserfeed/retry/waits")
        logger.debug("retrying %s in %.1f s (%s)", retry.url, wait, reason)
        if wait > 0:
            retry.meta[META_RETRY_AT] = monotonic() + wait
        return retry

    def _release(self, request: Request) -> None:
        self._parked.pop(id(request), None)
        request.meta.pop(META_RETRY_AT, None)
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        engine.crawl(request)

    def _inc(self, key: str, value: Any = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, value)
