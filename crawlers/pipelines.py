"""ArchivePipeline: the single writer that stores items in the SQLite archive."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from archive import Archive, ArchiveError, open_archive
from crawlers.items import ArticleItem, FetchItem, TeaserItem

__all__ = ["ArchivePipeline"]

logger = logging.getLogger(__name__)


class ArchivePipeline:
    """Write teasers, articles and fetches through archive.Archive, in batched transactions."""

    def __init__(self, crawler: Crawler, path: str, batch_size: int) -> None:
        self.crawler = crawler
        self.path = path
        self.batch_size = max(1, batch_size)
        self.archive: Archive | None = None
        self.run_id: int | None = None
        self._batch: contextlib.ExitStack | None = None
        self._pending = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        path = crawler.settings.get("TEASERFEED_ARCHIVE")
        if not path:
            raise NotConfigured("TEASERFEED_ARCHIVE is empty: no archive to write to")
        pipeline = cls(crawler, str(path), crawler.settings.getint("TEASERFEED_BATCH_SIZE", 50))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        """Open the archive, register the sites and start a run."""
        self.archive = open_archive(self.path)
        spider = self.crawler.spider
        configs = getattr(spider, "site_configs", [])
        with self.archive.transaction():
            for config in configs:
                self.archive.upsert_source(config.name, config.start_urls, config.as_dict())
            self.run_id = self.archive.start_run([c.name for c in configs])
        self.crawler.stats.set_value("teaserfeed/run_id", self.run_id)

    def _begin(self, archive: Archive) -> None:
        if self._batch is None:
            self._batch = contextlib.ExitStack()
            self._batch.enter_context(archive.transaction())

    def _commit(self) -> None:
        if self._batch is not None:
            batch, self._batch = self._batch, None
            self._pending = 0
            batch.close()

    def process_item(self, item: Any) -> Any:
        """Store one item; commit every TEASERFEED_BATCH_SIZE items."""
        archive = self.archive
        if archive is None:
            raise DropItem("the archive is not open")
        stats = self.crawler.stats
        data = ItemAdapter(item).asdict()
        self._begin(archive)
        try:
            if isinstance(item, TeaserItem):
                outcome = archive.upsert_teaser(data, self.run_id)
                stats.inc_value(f"teaserfeed/teasers_{outcome}")
            elif isinstance(item, ArticleItem):
                result = archive.upsert_article(data, self.run_id)
                stats.inc_value(f"teaserfeed/articles_{result.status}")
                if result.merged:
                    stats.inc_value("teaserfeed/articles_merged")
            elif isinstance(item, FetchItem):
                archive.record_fetch(data, self.run_id)
            else:
                raise DropItem(f"not a teaserfeed item: {type(item).__name__}")
        except ArchiveError as exc:
            # The item is lost but the run goes on; the batch so far stays intact.
            logger.error("could not store %s: %s", type(item).__name__, exc)
            stats.inc_value("teaserfeed/store_errors")
            raise DropItem(str(exc)) from exc
        self._pending += 1
        if self._pending >= self.batch_size:
            self._commit()
        return item

    def close_spider(self) -> None:
        """Commit what is pending; the run is finished on spider_closed, which knows the reason."""
        self._commit()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Finish the run with its status and stats, and close the archive."""
        archive = self.archive
        if archive is None:
            return
        try:
            self._commit()
            if self.run_id is not None:
                stats = json.loads(json.dumps(self.crawler.stats.get_stats(), default=str))
                stats["finish_reason"] = reason
                archive.finish_run(
                    self.run_id, "finished" if reason == "finished" else reason, stats
                )
        finally:
            archive.close()
            self.archive = None
