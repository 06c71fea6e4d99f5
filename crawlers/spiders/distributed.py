"""DistributedTeaserSpider: TeaserSpider as one worker of a crawl shared through Redis."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from scrapy import Request
from scrapy.settings import BaseSettings

from crawlers.meta import META_REVISIT
from crawlers.sites import SiteConfig
from crawlers.spiders.teasers import TeaserSpider

__all__ = ["DistributedTeaserSpider"]

logger = logging.getLogger(__name__)


class DistributedTeaserSpider(TeaserSpider):
    """`scrapy crawl teasers_redis -s REDIS_URL=redis://HOST:PORT/DB -a site=NAME`.

    Requests go through the shared scrapy-redis frontier and dupefilter, items to Redis
    (crawlers.distributed). A worker that can read the archive (TEASERFEED_ARCHIVE: the
    ingest's file or a copy) uses it like TeaserSpider does; the one that opens a crawl
    generation also re-queues due revisits and the teasers whose article never arrived
    (e.g. a killed worker held their requests). With `reconcile` a worker does that
    even when it joins a running generation, making the lost requests requestable again.
    """

    name = "teasers_redis"

    def __init__(self, *args: Any, reconcile: bool | str = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(reconcile, str):
            reconcile = reconcile.strip().lower() in ("1", "true", "yes", "on")
        self.reconcile = reconcile

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """The project's settings made a Redis worker's (scheduler, pipeline, extension)."""
        super().update_settings(settings)
        from crawlers.distributed import apply_worker_settings

        apply_worker_settings(settings)

    def _opened_generation(self) -> bool:
        stats = self.crawler.stats
        return bool(stats is not None and stats.get_value("teaserfeed/generation_opened"))

    def _recovery_requests(self, config: SiteConfig) -> Iterator[Request]:
        """Recovery by the worker that opened the generation, or by any with `reconcile`.

        In a running generation the recovered URLs were requested already (that is how
        they got lost), so `reconcile` first removes their fingerprints.
        """
        opened = self._opened_generation()
        if not (opened or self.reconcile):
            return
        requests = list(super()._recovery_requests(config))
        if self.reconcile and not opened:
            from crawlers.distributed import forget_requests
            from crawlers.distributed.queue import connect

            lost = [r for r in requests if not r.meta.get(META_REVISIT)]
            client = connect(str(self.settings.get("REDIS_URL")))
            try:
                forgotten = forget_requests(client, lost)
            finally:
                client.close()
            logger.info("reconcile: %d requests a lost worker held, queued again", len(forgotten))
        if self.reconcile:
            assert self.crawler.stats is not None
            recovered = sum(1 for r in requests if not r.meta.get(META_REVISIT))
            self.crawler.stats.inc_value("teaserfeed/reconciled", recovered)
        yield from requests
