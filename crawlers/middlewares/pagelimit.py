"""PageLimitMiddleware: at most TEASERFEED_MAX_PAGES_PER_SITE requests per site and run."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawlers.items import FetchItem
from crawlers.meta import META_KIND, META_SITE
from crawlers.settings import with_defaults

__all__ = ["PageLimitMiddleware"]

logger = logging.getLogger(__name__)


class PageLimitMiddleware:
    """Count the requests each site (`tf_site`) issues in a run, start requests included;
    drop those beyond the limit and record it once per site as a `limit` fetch row.

    Requests are counted as the spider issues them (cheap, bounded memory), so a URL the
    dupefilter later drops still counts; retries and redirects are not counted.
    """

    def __init__(self, crawler: Crawler, limit: int) -> None:
        self.crawler = crawler
        self.limit = limit
        self.issued: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageLimitMiddleware:
        limit = with_defaults(crawler.settings).getint("TEASERFEED_MAX_PAGES_PER_SITE")
        if limit <= 0:
            raise NotConfigured("TEASERFEED_MAX_PAGES_PER_SITE is 0: no limit")
        return cls(crawler, limit)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Start requests count too."""
        async for output in start:
            kept = self._admit(output)
            if kept is not None:
                yield kept

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """Pass items through; pass requests while their site is under the limit."""
        async for output in result:
            kept = self._admit(output)
            if kept is not None:
                yield kept

    def _admit(self, output: Any) -> Any:
        if not isinstance(output, Request):
            return output
        site = output.meta.get(META_SITE)
        if site is None:
            return output
        self.issued[site] += 1
        count = self.issued[site]
        if count <= self.limit:
            return output
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("teaserfeed/limit/pages_dropped")
        if count > self.limit + 1:
            return None
        message = (
            f"site {site!r} reached {self.limit} requests in this run "
            "(TEASERFEED_MAX_PAGES_PER_SITE); its further pages are not fetched"
        )
        logger.warning("%s", message)
        return FetchItem(
            url=output.url,
            kind=str(output.meta.get(META_KIND, "other")),
            source=site,
            error_kind="limit",
            error=message,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
