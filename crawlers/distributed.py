"""Scrapy components of a Redis worker: items to Redis, membership, known articles.

A worker (`teaserfeed crawl --redis URL`, or `scrapy crawl teasers_redis -s
REDIS_URL=URL`) takes requests from the shared scrapy-redis frontier and pushes its
items to the Redis item queue; `teaserfeed ingest` is the one process that writes them
into the archive. Settings (all optional):

  REDIS_URL                     the Redis database shared by workers and the ingest
  TEASERFEED_REDIS_IDLE_CLOSE   seconds the frontier must stay empty before the worker
                                exits (30)
  TEASERFEED_REDIS_WORKER_TTL   seconds without a heartbeat after which a worker counts
                                as gone, e.g. killed (30)
  TEASERFEED_REDIS_POLL         seconds between heartbeats and frontier checks (1)
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from itemadapter import ItemAdapter
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CloseSpider,
    DontCloseSpider,
    DropItem,
    ScrapyDeprecationWarning,
)
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.internet import task

from archive import normalize_url
from crawlers import redisjson
from crawlers.items import ArticleItem, FetchItem, TeaserItem
from crawlers.redisqueue import (
    ItemQueue,
    RedisKeys,
    RedisUnavailableError,
    SharedCrawl,
    connect,
    worker_id,
)

__all__ = [
    "KnownArticlesMiddleware",
    "RedisItemPipeline",
    "RedisWorker",
    "apply_worker_settings",
    "forget_requests",
]

logger = logging.getLogger(__name__)

_KINDS: tuple[tuple[type, str], ...] = (
    (TeaserItem, "teaser"),
    (ArticleItem, "article"),
    (FetchItem, "fetch"),
)
# Listing pages feed every worker with article requests: fetch them first.
LISTING_PRIORITY = 10


def apply_worker_settings(settings: BaseSettings) -> None:
    """Turn a crawl's settings into a Redis worker's: shared scheduler, items to Redis."""
    # scrapy-redis 0.9.1 passes `spider` to the stats and calls Spider.log(): deprecated in
    # Scrapy 2.19, one warning each per worker that users can do nothing about
    warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module=r"scrapy_redis\.")
    keys = RedisKeys()
    priority = "spider"
    settings.set("SCHEDULER", "scrapy_redis.scheduler.Scheduler", priority=priority)
    settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority=priority)
    # The frontier and fingerprints outlive each worker; generations clear them (redisqueue).
    settings.set("SCHEDULER_PERSIST", True, priority=priority)
    settings.set("SCHEDULER_FLUSH_ON_START", False, priority=priority)
    settings.set("SCHEDULER_QUEUE_KEY", keys.requests, priority=priority)
    settings.set("SCHEDULER_DUPEFILTER_KEY", keys.dupefilter, priority=priority)
    # JSON, not scrapy-redis' default pickle: nothing read from Redis can run code.
    settings.set("SCHEDULER_SERIALIZER", "crawlers.redisjson", priority=priority)
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    pipelines.pop("crawlers.pipelines.ArchivePipeline", None)
    pipelines["crawlers.distributed.RedisItemPipeline"] = 300
    settings.set("ITEM_PIPELINES", pipelines, priority=priority)
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawlers.distributed.RedisWorker"] = 100
    settings.set("EXTENSIONS", extensions, priority=priority)
    downloader = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    # a worker takes requests in bursts; Scrapy's middleware lets all but one of those
    # that wait for robots.txt through unchecked (see crawlers.middlewares.robotstxt)
    downloader["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] = None
    downloader["crawlers.middlewares.robotstxt.RobotsTxtMiddleware"] = 100
    settings.set("DOWNLOADER_MIDDLEWARES", downloader, priority=priority)
    middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    # nearest the spider: known articles are dropped before the page limits count them
    middlewares["crawlers.distributed.KnownArticlesMiddleware"] = 970
    settings.set("SPIDER_MIDDLEWARES", middlewares, priority=priority)


def _redis_url(crawler: Crawler) -> str:
    url = crawler.settings.get("REDIS_URL")
    if not url:
        # not NotConfigured: a worker without its pipeline would drop every item
        raise RedisUnavailableError(
            "a Redis worker needs REDIS_URL, e.g. -s REDIS_URL=redis://127.0.0.1:6379/0"
        )
    return str(url)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RedisItemPipeline:
    """Push teasers, articles and fetch records to the Redis item queue for the ingest."""

    def __init__(self, crawler: Crawler, queue: ItemQueue) -> None:
        self.crawler = crawler
        self.queue = queue

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisItemPipeline:
        return cls(crawler, ItemQueue(connect(_redis_url(crawler))))

    def process_item(self, item: Any) -> Any:
        """Queue one item, tagged with this worker and its generation."""
        kind = next((name for cls, name in _KINDS if isinstance(item, cls)), None)
        if kind is None:
            raise DropItem(f"not a teaserfeed item: {type(item).__name__}")
        stats = self.crawler.stats
        assert stats is not None
        self.queue.push(
            {
                "type": kind,
                "gen": stats.get_value("teaserfeed/generation"),
                "worker": worker_id(),
                "item": ItemAdapter(item).asdict(),
            }
        )
        stats.inc_value("teaserfeed/redis_items")
        stats.inc_value(f"teaserfeed/redis_items/{kind}")
        return item


class RedisWorker:
    """Membership of the shared crawl: join a generation, heartbeat, exit when idle, leave.

    scrapy-redis workers never exit on their own; this one closes (reason "finished")
    once the shared frontier has stayed empty for TEASERFEED_REDIS_IDLE_CLOSE seconds.
    """

    def __init__(
        self, crawler: Crawler, crawl: SharedCrawl, idle_close: float, ttl: float, poll: float
    ) -> None:
        self.crawler = crawler
        self.crawl = crawl
        self.idle_close = idle_close
        self.ttl = max(ttl, 2 * poll)
        self.poll = poll
        self.worker = worker_id()
        self.gen = 0
        self._idle_since: float | None = None
        self._waiting = False
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisWorker:
        settings = crawler.settings
        worker = cls(
            crawler,
            SharedCrawl(connect(_redis_url(crawler))),
            settings.getfloat("TEASERFEED_REDIS_IDLE_CLOSE", 30.0),
            settings.getfloat("TEASERFEED_REDIS_WORKER_TTL", 30.0),
            max(0.05, settings.getfloat("TEASERFEED_REDIS_POLL", 1.0)),
        )
        crawler.signals.connect(worker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(worker.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(worker.busy, signal=signals.request_reached_downloader)
        return worker

    def spider_opened(self, spider: Spider) -> None:
        """Join the crawl (opening a new generation if none runs) before any request."""
        configs = getattr(spider, "site_configs", [])
        hello = {
            "sites": [c.name for c in configs],
            "sources": [
                {"name": c.name, "start_urls": list(c.start_urls), "config": c.as_dict()}
                for c in configs
            ],
            "started": _now(),
        }
        try:
            self.gen, opened = self.crawl.join(self.worker, self.ttl, hello)
        except redis.RedisError as exc:
            raise CloseSpider(f"redis_unavailable: {exc}") from None
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("teaserfeed/worker", self.worker)
        stats.set_value("teaserfeed/generation", self.gen)
        stats.set_value("teaserfeed/generation_opened", opened)
        logger.info(
            "worker %s %s generation %d", self.worker, "opened" if opened else "joined", self.gen
        )
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(self.poll, now=False)

    def _tick(self) -> None:
        try:
            self.crawl.beat(self.worker, self.ttl)
            if self._waiting and (self.crawl.frontier() > 0 or self._idle_enough()):
                self._waiting = False
                self._wake()
        except redis.RedisError as exc:
            logger.warning("Redis heartbeat failed: %s", exc)

    def _idle_enough(self) -> bool:
        since = self._idle_since
        return since is not None and time.monotonic() - since >= self.idle_close

    def _wake(self) -> None:
        # An idle Scrapy engine asks its scheduler again only every 5 s; the shared
        # frontier fills from other machines, so ask at once when work is there.
        engine = self.crawler.engine
        nextcall = getattr(getattr(engine, "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def busy(self, request: Request, spider: Spider) -> None:
        """A request is being downloaded: the worker is not idle."""
        self._idle_since = None

    def spider_idle(self, spider: Spider) -> None:
        """Stay open while the shared frontier has work or was empty only briefly."""
        if self.crawl.frontier() > 0:
            self._idle_since = None
            raise DontCloseSpider
        if self._idle_since is None:
            self._idle_since = time.monotonic()
        if not self._idle_enough():
            self._waiting = True
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Leave the crawl with this worker's stats; the last one out ends the generation."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        stats = self.crawler.stats
        assert stats is not None
        final = {
            "reason": reason,
            "stats": json.loads(json.dumps(stats.get_stats(), default=str)),
        }
        if not self.gen:
            return
        try:
            ended = self.crawl.leave(self.worker, self.gen, final)
        except redis.RedisError as exc:
            logger.error("could not leave the shared crawl cleanly: %s", exc)
            return
        stats.set_value("teaserfeed/generation_ended", bool(ended))


class KnownArticlesMiddleware:
    """Drop requests for articles already archived; put listing requests first.

    Workers on other machines cannot read the archive; the ingest keeps the URL keys
    of archived articles in Redis (teaserfeed:known) for them. Revisits pass (they are
    meant to refetch); TEASERFEED_SKIP_KNOWN off fetches every article again.
    """

    def __init__(self, crawler: Crawler, client: redis.Redis, skip_known: bool) -> None:
        self.crawler = crawler
        self.client = client
        self.key = RedisKeys().known
        self.skip_known = skip_known

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownArticlesMiddleware:
        return cls(
            crawler,
            connect(_redis_url(crawler)),
            crawler.settings.getbool("TEASERFEED_SKIP_KNOWN", True),
        )

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Start listings first too."""
        async for x in start:
            yield _listings_first(x)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """The spider's output less known articles (one Redis round trip per page)."""
        out = [x async for x in result]
        known = self._known([x for x in out if _is_article(x)])
        for x in out:
            if id(x) in known:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("teaserfeed/articles_known")
                continue
            yield _listings_first(x)

    def _known(self, requests: Iterable[Request]) -> set[int]:
        requests = list(requests)
        if not self.skip_known or not requests:
            return set()
        try:
            flags = self.client.smismember(self.key, [normalize_url(r.url) for r in requests])
        except redis.RedisError as exc:
            logger.warning("cannot read the known articles from Redis, fetching: %s", exc)
            return set()
        return {id(r) for r, flag in zip(requests, flags, strict=True) if flag}


def _is_article(x: Any) -> bool:
    return (
        isinstance(x, Request)
        and x.meta.get("tf_kind") == "article"
        and not x.meta.get("tf_revisit")
    )


def _listings_first(x: Any) -> Any:
    if isinstance(x, Request) and x.meta.get("tf_kind") != "article" and x.priority == 0:
        x.priority = LISTING_PRIORITY
    return x


def forget_requests(client: redis.Redis, requests: Sequence[Request]) -> list[Request]:
    """Of these requests, those not waiting in the frontier, made requestable again.

    For re-queueing into a running generation what a killed worker held: their
    fingerprints are removed from the dupefilter. One that a live worker is fetching
    at this moment may be fetched twice (the archive folds the repeat in).
    """
    from scrapy_redis.dupefilter import RFPDupeFilter

    keys = RedisKeys()
    waiting: set[str] = set()
    for member, _score in client.zscan_iter(keys.requests):
        try:
            waiting.add(str(redisjson.loads(member)["url"]))
        except (ValueError, KeyError, TypeError):
            continue
    lost = [r for r in requests if r.url not in waiting]
    if lost:
        fingerprints = RFPDupeFilter(client, keys.dupefilter)
        client.srem(keys.dupefilter, *(fingerprints.request_fingerprint(r) for r in lost))
    return lost
