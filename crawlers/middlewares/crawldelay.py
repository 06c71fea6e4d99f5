"""CrawlDelayMiddleware: robots.txt `Crawl-delay` becomes the floor of that host's delay."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawlers.settings import with_defaults

__all__ = ["CrawlDelayMiddleware"]

logger = logging.getLogger(__name__)


class CrawlDelayMiddleware:
    """Apply robots.txt Crawl-delay (capped by TEASERFEED_MAX_CRAWL_DELAY) to download slots.

    RobotsTxtMiddleware obeys Allow/Disallow only. This one listens for its robots_parsed
    signal, and from then on keeps the slot of that host at max(its delay, crawl-delay),
    with the jitter narrowed so that no randomised wait falls below the crawl-delay.
    AutoThrottle lowers slot delays after each response; the floor is put back at once.
    """

    def __init__(self, crawler: Crawler, max_delay: float, user_agent: str) -> None:
        self.crawler = crawler
        self.max_delay = max_delay
        self.user_agent = user_agent
        # host -> crawl-delay in seconds
        self.floors: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelayMiddleware:
        settings = with_defaults(crawler.settings)
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("robots.txt is not obeyed (ROBOTSTXT_OBEY is off)")
        user_agent = settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT") or ""
        middleware = cls(crawler, settings.getfloat("TEASERFEED_MAX_CRAWL_DELAY"), str(user_agent))
        crawler.signals.connect(middleware.robots_parsed, signal=signals.robots_parsed)
        # connected after AutoThrottle (an extension), so this runs after its adjustment
        crawler.signals.connect(middleware.response_downloaded, signal=signals.response_downloaded)
        return middleware

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        """Remember the crawl-delay of the host whose robots.txt was parsed."""
        try:
            delay = robotparser.crawl_delay(self.user_agent)
        except Exception:  # a parser without crawl-delay support, or a broken file
            return
        if delay is None or not delay > 0:
            return
        applied = min(float(delay), self.max_delay)
        host = urlparse_cached(request).hostname or ""
        self.floors[host] = applied
        if self.crawler.stats is not None:
            self.crawler.stats.set_value(f"teaserfeed/crawl_delay/{host}", applied)
        logger.info("%s: robots.txt Crawl-delay %s s, applying %s s", host, delay, applied)
        self.process_request(request)

    def process_request(self, request: Request) -> None:
        """Keep the request's slot at or above its host's crawl-delay."""
        if not self.floors:
            return
        floor = self.floors.get(urlparse_cached(request).hostname or "")
        engine = self.crawler.engine
        if floor is not None and engine is not None:
            # the slot is usually the host, but a redirect keeps the slot it started in
            self._apply(str(engine.downloader.get_slot_key(request)), floor)

    def response_downloaded(self, response: Response, request: Request) -> None:
        """Undo an AutoThrottle adjustment that went below the crawl-delay."""
        self.process_request(request)

    def _apply(self, key: str, floor: float) -> None:
        engine = self.crawler.engine
        if engine is None:
            return
        downloader = engine.downloader
        slot = downloader.slots.get(key)
        if slot is not None:
            if slot.delay < floor:
                slot.delay = floor
            slot.jitter = min(slot.jitter, 1.0 - floor / slot.delay)
            return
        # no slot yet (or collected while idle): the downloader builds it from these
        settings = self.crawler.settings
        default_delay = getattr(downloader, "_delay", settings.getfloat("DOWNLOAD_DELAY"))
        default_jitter = getattr(downloader, "_jitter", settings.getfloat("DOWNLOAD_DELAY_JITTER"))
        slot_settings = downloader.per_slot_settings.setdefault(key, {})
        delay = max(float(slot_settings.get("delay", default_delay)), floor)
        jitter = float(slot_settings.get("jitter", default_jitter))
        slot_settings["delay"] = delay
        slot_settings["jitter"] = min(jitter, 1.0 - floor / delay)
