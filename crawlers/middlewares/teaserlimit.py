"""TeaserLimitMiddleware: at most TEASERFEED_MAX_TEASERS_PER_PAGE teasers of one listing page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawlers.items import FetchItem, TeaserItem
from crawlers.meta import META_KIND, META_SITE
from crawlers.settings import with_defaults

__all__ = ["TeaserLimitMiddleware"]

logger = logging.getLogger(__name__)


class TeaserLimitMiddleware:
    """Keep the first N teaser sightings and article requests a listing page yields; drop
    the rest and record the cut once per page (a `limit` fetch row for the first article
    not followed), so a page with thousands of links cannot flood the run."""

    def __init__(self, crawler: Crawler, limit: int) -> None:
        self.crawler = crawler
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TeaserLimitMiddleware:
        limit = with_defaults(crawler.settings).getint("TEASERFEED_MAX_TEASERS_PER_PAGE")
        if limit <= 0:
            raise NotConfigured("TEASERFEED_MAX_TEASERS_PER_PAGE is 0: no limit")
        return cls(crawler, limit)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """Pass the page's output through, without what goes beyond the limit."""
        if response.meta.get(META_KIND) != "listing":
            # feeds and sitemaps have limits of their own
            async for output in result:
                yield output
            return
        teasers = articles = 0
        first_dropped: Request | None = None
        async for output in result:
            if isinstance(output, TeaserItem):
                teasers += 1
                if teasers > self.limit:
                    continue
            elif isinstance(output, Request) and output.meta.get(META_KIND) == "article":
                articles += 1
                if articles > self.limit:
                    first_dropped = first_dropped or output
                    continue
            yield output
        if teasers <= self.limit and articles <= self.limit:
            return
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("teaserfeed/limit/teasers_dropped", max(0, teasers - self.limit))
            stats.inc_value("teaserfeed/limit/articles_dropped", max(0, articles - self.limit))
        message = (
            f"{response.url} has {max(teasers, articles)} teasers; kept the first "
            f"{self.limit} (TEASERFEED_MAX_TEASERS_PER_PAGE)"
        )
        logger.warning("%s", message)
        if first_dropped is not None:
            yield FetchItem(
                url=first_dropped.url,
                kind="article",
                source=first_dropped.meta.get(META_SITE),
                error_kind="limit",
                error=message,
                fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
