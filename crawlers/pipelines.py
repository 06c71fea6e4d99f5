"""ArchivePipeline: hands items to the single archive writer."""

from __future__ import annotations

import json
import logging
from dataclasses import fields, is_dataclass
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured

from archive import ArchiveError, ArchiveLockedError
from crawlers.items import ArticleItem, FetchItem, TeaserItem
from crawlers.writer import ArchiveWriter, Source

__all__ = ["ArchivePipeline"]


def _record(item: Any) -> dict[str, Any]:
    """The item as a dict, its lists of dataclasses (images, removed) as lists of dicts.

    What ItemAdapter(item).asdict() gives for these flat items, at a fifteenth of the cost
    (0.03 instead of 0.47 ms an article): it runs on the crawl's busy main thread.
    """
    record = {}
    for field in fields(item):
        value = getattr(item, field.name)
        if isinstance(value, list) and value and is_dataclass(value[0]):
            value = [{part.name: getattr(v, part.name) for part in fields(v)} for v in value]
        record[field.name] = value
    return record


logger = logging.getLogger(__name__)

_KINDS: tuple[tuple[type, str], ...] = (
    (TeaserItem, "teaser"),
    (ArticleItem, "article"),
    (FetchItem, "fetch"),
)


class ArchivePipeline:
    """Queue teasers, articles and fetches for the archive writer thread; finish the run."""

    def __init__(self, crawler: Crawler, path: str, batch_size: int, max_queue: int) -> None:
        self.crawler = crawler
        self.writer = ArchiveWriter(path, batch_size=batch_size, max_queue=max_queue)
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        settings = crawler.settings
        path = settings.get("TEASERFEED_ARCHIVE")
        if not path:
            raise NotConfigured("TEASERFEED_ARCHIVE is empty: no archive to write to")
        pipeline = cls(
            crawler,
            str(path),
            settings.getint("TEASERFEED_BATCH_SIZE", 100),
            settings.getint("TEASERFEED_WRITE_QUEUE", 1000),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        """Start the writer: it registers the sites and opens a run."""
        configs = getattr(self.crawler.spider, "site_configs", [])
        sources = [Source(c.name, c.start_urls, c.as_dict()) for c in configs]
        try:
            self.run_id = self.writer.start(sources)
        except ArchiveError as exc:
            # e.g. another crawl holds the archive (scrapyd, `scrapy crawl`): say so, no trace
            logger.error("%s", exc)
            reason = "archive_locked" if isinstance(exc, ArchiveLockedError) else "archive_error"
            raise CloseSpider(reason) from None
        self.crawler.stats.set_value("teaserfeed/run_id", self.run_id)

    def process_item(self, item: Any) -> Any:
        """Queue one item for storing."""
        kind = next((name for cls, name in _KINDS if isinstance(item, cls)), None)
        if kind is None:
            raise DropItem(f"not a teaserfeed item: {type(item).__name__}")
        self.writer.put(kind, _record(item))
        return item

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Store the rest, finish the run with its status and stats, and close."""
        stats = json.loads(json.dumps(self.crawler.stats.get_stats(), default=str))
        stats["finish_reason"] = reason
        self.writer.close("finished" if reason == "finished" else reason, stats)
        for name, count in self.writer.counts.items():
            self.crawler.stats.set_value(f"teaserfeed/{name}", count)
