"""CircuitBreakerMiddleware: a site that keeps failing is backed off for the rest of the run."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request

from crawlers.failures import BackedOff, is_site_failure
from crawlers.items import FetchItem
from crawlers.meta import META_SITE
from crawlers.settings import with_defaults

__all__ = ["CircuitBreakerMiddleware"]

logger = logging.getLogger(__name__)

# kinds that say nothing about the site's health: our own policy and limits
_NEUTRAL = frozenset({"robots", "backed_off", "limit", "blocked_address"})


class CircuitBreakerMiddleware:
    """After TEASERFEED_SITE_MAX_FAILURES failed fetches in a row for one site (`tf_site`):
    timeouts, DNS and connection errors, 5xx and 429 after their retries, bot walls, every
    other request of that site is dropped as `backed_off`, including the ones already
    waiting in a download slot. A fetch that got a real answer resets the count.

    Outcomes are read from the FetchItems the spider records (item_scraped), so every
    failure counts however it ended: in the downloader, in a middleware or in the spider.
    """

    def __init__(self, crawler: Crawler, threshold: int) -> None:
        self.crawler = crawler
        self.threshold = threshold
        self.failures: Counter[str] = Counter()
        # site -> why it was backed off
        self.open: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CircuitBreakerMiddleware:
        threshold = with_defaults(crawler.settings).getint("TEASERFEED_SITE_MAX_FAILURES")
        if threshold <= 0:
            raise NotConfigured("TEASERFEED_SITE_MAX_FAILURES is 0: sites are never backed off")
        middleware = cls(crawler, threshold)
        crawler.signals.connect(middleware.item_scraped, signal=signals.item_scraped)
        return middleware

    def process_request(self, request: Request) -> None:
        """Drop a request of a backed-off site."""
        site = request.meta.get(META_SITE)
        if site is not None and site in self.open:
            raise BackedOff(self.open[site])

    def item_scraped(self, item: Any) -> None:
        """Count a site's failed fetches in a row; back the site off at the threshold."""
        if not isinstance(item, FetchItem) or not item.source or item.source in self.open:
            return
        site, kind = item.source, item.error_kind
        if kind in _NEUTRAL:
            return
        if not is_site_failure(kind, item.status):
            self.failures[site] = 0
            return
        self.failures[site] += 1
        if self.failures[site] >= self.threshold:
            self._trip(site, f"{kind}: {item.error or ''}".rstrip(": "))

    def _trip(self, site: str, last: str) -> None:
        reason = (
            f"site {site!r} backed off for this run after {self.failures[site]} failed "
            f"fetches in a row (last: {last[:120]})"
        )
        self.open[site] = reason
        logger.warning("%s", reason)
        if self.crawler.stats is not None:
            self.crawler.stats.set_value(f"teaserfeed/backed_off/{site}", self.failures[site])
        self._drop_queued(site, reason)

    def _drop_queued(self, site: str, reason: str) -> None:
        # Requests already past the middlewares wait in their download slot's queue: fail
        # them now instead of letting each one time out against a dead site.
        engine = self.crawler.engine
        slots = getattr(getattr(engine, "downloader", None), "slots", None)
        if not isinstance(slots, dict):
            return
        for slot in slots.values():
            queue = getattr(slot, "queue", None)
            if not queue:
                continue
            kept: list[Any] = []
            dropped: list[Any] = []
            for entry in queue:
                request = entry[0]
                (dropped if request.meta.get(META_SITE) == site else kept).append(entry)
            if not dropped:
                continue
            queue.clear()
            queue.extend(kept)
            for _, deferred in dropped:
                deferred.errback(BackedOff(reason))
