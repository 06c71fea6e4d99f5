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
  TEASERFEED_REDIS_RETRY_FOR    seconds a worker waits for a Redis that went away, items
                                and new requests kept in memory, before it stops with
                                reason `redis_unavailable` (120)
  TEASERFEED_REDIS_BUFFER       items (and requests) kept in memory meanwhile (10000)
"""

from __future__ import annotations

import json
import logging
import time
import warnings
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
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
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task
from twisted.internet.defer import Deferred

from archive import normalize_url
from crawlers import redisjson
from crawlers.distributed.queue import (
    OUTAGE_ERRORS,
    ItemQueue,
    Outage,
    RedisKeys,
    RedisUnavailableError,
    SharedCrawl,
    connect,
    worker_id,
)
from crawlers.items import ArticleItem, FetchItem, TeaserItem
from crawlers.meta import META_KIND, META_REVISIT
from crawlers.settings import with_defaults

__all__ = [
    "KnownArticlesMiddleware",
    "RedisItemPipeline",
    "RedisWorker",
    "ResilientScheduler",
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
    settings.set("SCHEDULER", "crawlers.distributed.ResilientScheduler", priority=priority)
    settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority=priority)
    # The frontier and fingerprints outlive each worker; generations clear them (redisqueue).
    settings.set("SCHEDULER_PERSIST", True, priority=priority)
    settings.set("SCHEDULER_FLUSH_ON_START", False, priority=priority)
    settings.set("SCHEDULER_QUEUE_KEY", keys.requests, priority=priority)
    settings.set("SCHEDULER_DUPEFILTER_KEY", keys.dupefilter, priority=priority)
    # JSON, not scrapy-redis' default pickle: nothing read from Redis can run code.
    settings.set("SCHEDULER_SERIALIZER", "crawlers.distributed.codec", priority=priority)
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


class WorkerLink:
    """A worker's link to Redis: one outage view, and what its parts hold back meanwhile.

    The pipeline and the scheduler keep items and requests here while Redis is away; the
    RedisWorker extension retries (`flush`) and, past TEASERFEED_REDIS_RETRY_FOR, gives up.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = with_defaults(crawler.settings)
        self.outage = Outage(
            _redis_url(crawler),
            settings.getfloat("TEASERFEED_REDIS_RETRY_FOR"),
            "keeping items and new requests in memory",
        )
        buffer = settings.getint("TEASERFEED_REDIS_BUFFER")
        self.limit = max(1, buffer)
        self.gave_up = False
        self.flushers: list[Callable[[], bool]] = []
        self.give_ups: list[Callable[[], None]] = []
        # (kind, held back now, lost for good) of the pipeline ("items"), scheduler ("requests")
        self.held: list[Callable[[], tuple[str, int, int]]] = []

    def flush(self) -> bool:
        """Deliver what is held back; True when nothing is left."""
        return all(flush() for flush in self.flushers)

    def waiting(self) -> int:
        """Items and requests held back now, to deliver when Redis is back."""
        return sum(held()[1] for held in self.held)

    def undelivered(self) -> dict[str, int]:
        """What is held back or was lost, by kind ("items", "requests")."""
        counts: dict[str, int] = {}
        for held in self.held:
            kind, waiting, lost = held()
            counts[kind] = counts.get(kind, 0) + waiting + lost
        return counts

    def give_up(self) -> None:
        """Stop waiting for Redis: what is held back counts as not delivered."""
        self.gave_up = True
        for give_up in self.give_ups:
            give_up()


_LINKS: weakref.WeakKeyDictionary[Crawler, WorkerLink] = weakref.WeakKeyDictionary()


def link_for(crawler: Crawler) -> WorkerLink:
    """The crawler's WorkerLink, shared by its pipeline, scheduler and extension."""
    link = _LINKS.get(crawler)
    if link is None:
        link = _LINKS[crawler] = WorkerLink(crawler)
    return link


class RedisItemPipeline:
    """Push teasers, articles and fetch records to the Redis item queue for the ingest.

    While Redis is away items wait in memory, in order (a full buffer holds the crawl
    back), and go out when it is back; none is dropped without being counted.
    """

    def __init__(self, crawler: Crawler, queue: ItemQueue, link: WorkerLink) -> None:
        self.crawler = crawler
        self.queue = queue
        self.link = link
        self.buffer: deque[dict[str, Any]] = deque()
        self.undelivered = 0
        self._room: list[Deferred[None]] = []
        link.flushers.append(self.flush)
        link.give_ups.append(self._give_up)
        link.held.append(lambda: ("items", len(self.buffer), self.undelivered))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisItemPipeline:
        return cls(crawler, ItemQueue(connect(_redis_url(crawler))), link_for(crawler))

    async def process_item(self, item: Any) -> Any:
        """Queue one item, tagged with this worker and its generation (number and token)."""
        kind = next((name for cls, name in _KINDS if isinstance(item, cls)), None)
        if kind is None:
            raise DropItem(f"not a teaserfeed item: {type(item).__name__}")
        stats = self.crawler.stats
        assert stats is not None
        message = {
            "type": kind,
            "gen": stats.get_value("teaserfeed/generation"),
            "token": stats.get_value("teaserfeed/generation_token"),
            "worker": worker_id(),
            "item": ItemAdapter(item).asdict(),
        }
        while len(self.buffer) >= self.link.limit and not self.link.gave_up:
            room: Deferred[None] = Deferred()
            self._room.append(room)
            await maybe_deferred_to_future(room)
        if self.link.gave_up:
            self.undelivered += 1
            return item
        self.buffer.append(message)
        if len(self.buffer) == 1 and not self.link.outage.down:
            self.flush()
        return item

    def flush(self) -> bool:
        """Push the buffered items, oldest first; True when none is left."""
        while self.buffer:
            chunk = [self.buffer[i] for i in range(min(len(self.buffer), 200))]
            try:
                self.queue.push_many(chunk)
            except OUTAGE_ERRORS as exc:
                self.link.outage.failed(exc)
                return False
            stats = self.crawler.stats
            assert stats is not None
            for message in chunk:
                self.buffer.popleft()
                stats.inc_value("teaserfeed/redis_items")
                stats.inc_value(f"teaserfeed/redis_items/{message['type']}")
            self._wake_waiters()
        return True

    def _wake_waiters(self) -> None:
        waiting, self._room = self._room, []
        for room in waiting:
            room.callback(None)

    def _give_up(self) -> None:
        self.undelivered += len(self.buffer)
        self.buffer.clear()
        self._wake_waiters()


class ResilientScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis' scheduler that keeps new requests while Redis is away.

    A request that cannot be checked against the shared dupefilter or put into the
    frontier waits in memory (up to TEASERFEED_REDIS_BUFFER; beyond, it is counted as
    lost) and goes out when Redis is back; meanwhile the worker takes nothing from the
    frontier and does not count as idle.
    """

    link: WorkerLink

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResilientScheduler:
        scheduler: ResilientScheduler = super().from_crawler(crawler)
        scheduler.link = link_for(crawler)
        # (request, already in the dupefilter)
        scheduler.pending = deque()
        scheduler.lost = 0
        scheduler.link.flushers.append(scheduler.flush_pending)
        scheduler.link.give_ups.append(scheduler._give_up)
        scheduler.link.held.append(lambda: ("requests", len(scheduler.pending), scheduler.lost))
        return scheduler

    pending: deque[tuple[Request, bool]]
    lost: int

    def enqueue_request(self, request: Request) -> bool:
        """Into the shared frontier unless a duplicate; kept in memory while Redis is away."""
        if self.link.gave_up:
            self.lost += 1
            return True
        if self.pending or self.link.outage.down:
            self._hold(request, False)
            return True
        return self._enqueue(request, False)

    def _enqueue(self, request: Request, checked: bool) -> bool:
        if not checked and not request.dont_filter:
            try:
                seen = self.df.request_seen(request)
            except OUTAGE_ERRORS as exc:
                self.link.outage.failed(exc)
                self._hold(request, False)
                return True
            if seen:
                self.df.log(request, self.spider)
                return False
        try:
            self.queue.push(request)
        except OUTAGE_ERRORS as exc:
            self.link.outage.failed(exc)
            # its fingerprint is in: checking it again would drop it as a duplicate
            self._hold(request, True)
            return True
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _hold(self, request: Request, checked: bool) -> None:
        if len(self.pending) >= self.link.limit:
            if not self.lost:
                logger.error(
                    "%d new requests wait for Redis (TEASERFEED_REDIS_BUFFER): dropping "
                    "more, counted as not delivered; reconcile fetches them later",
                    len(self.pending),
                )
            self.lost += 1
            return
        self.pending.append((request, checked))

    def flush_pending(self) -> bool:
        """Put the requests kept in memory into the frontier; True when none is left."""
        while self.pending:
            request, checked = self.pending.popleft()
            before = len(self.pending)
            self._enqueue(request, checked)
            if len(self.pending) > before:
                # held again, at the end: put it back first, keeping the order
                self.pending.rotate(1)
                return False
        return True

    def next_request(self) -> Request | None:
        """The next request of the shared frontier; none while Redis is away."""
        if self.link.outage.down or self.link.gave_up:
            return None
        try:
            request: Request | None = super().next_request()
        except OUTAGE_ERRORS as exc:
            self.link.outage.failed(exc)
            return None
        return request

    def has_pending_requests(self) -> bool:
        """Work in the frontier or in memory; while Redis is away, assume there is."""
        if self.link.gave_up:
            return False
        if self.pending or self.link.outage.down:
            return True
        try:
            return bool(super().has_pending_requests())
        except OUTAGE_ERRORS as exc:
            self.link.outage.failed(exc)
            return True

    def _give_up(self) -> None:
        self.lost += len(self.pending)
        self.pending.clear()


class RedisWorker:
    """Membership of the shared crawl: join a generation, heartbeat, exit when idle, leave.

    scrapy-redis workers never exit on their own; this one closes (reason "finished")
    once the shared frontier has stayed empty for TEASERFEED_REDIS_IDLE_CLOSE seconds.
    While Redis is away it retries with back-off and delivers what the worker held back
    when Redis is back; away for longer than TEASERFEED_REDIS_RETRY_FOR, it closes the
    spider with reason "redis_unavailable".
    """

    def __init__(
        self,
        crawler: Crawler,
        crawl: SharedCrawl,
        idle_close: float,
        ttl: float,
        poll: float,
        link: WorkerLink,
    ) -> None:
        self.crawler = crawler
        self.crawl = crawl
        self.idle_close = idle_close
        self.ttl = max(ttl, 2 * poll)
        self.poll = poll
        self.link = link
        self.worker = worker_id()
        self.gen = 0
        self._idle_since: float | None = None
        self._waiting = False
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisWorker:
        settings = with_defaults(crawler.settings)
        worker = cls(
            crawler,
            SharedCrawl(connect(_redis_url(crawler))),
            settings.getfloat("TEASERFEED_REDIS_IDLE_CLOSE"),
            settings.getfloat("TEASERFEED_REDIS_WORKER_TTL"),
            max(0.05, settings.getfloat("TEASERFEED_REDIS_POLL")),
            link_for(crawler),
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
            self.gen, opened, token = self.crawl.join(self.worker, self.ttl, hello)
        except redis.RedisError as exc:
            raise CloseSpider(f"redis_unavailable: {exc}") from None
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("teaserfeed/worker", self.worker)
        stats.set_value("teaserfeed/generation", self.gen)
        stats.set_value("teaserfeed/generation_token", token)
        stats.set_value("teaserfeed/generation_opened", opened)
        logger.info(
            "worker %s %s generation %d", self.worker, "opened" if opened else "joined", self.gen
        )
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(self.poll, now=False)

    def _tick(self) -> None:
        outage = self.link.outage
        if self.link.gave_up or not outage.due():
            return
        try:
            counted_lost = self.crawl.beat(self.worker, self.ttl)
        except OUTAGE_ERRORS as exc:
            outage.failed(exc)
            if outage.expired():
                self._give_up()
            return
        except redis.RedisError as exc:
            logger.warning("Redis heartbeat failed: %s", exc)
            return
        if counted_lost:
            self._counted_lost()
        was_down = outage.down
        held = self.link.undelivered()
        if not self.link.flush():
            return
        if was_down:
            outage.ok(
                f"; delivered the {held.get('items', 0)} items and {held.get('requests', 0)} "
                "new requests held back meanwhile"
            )
        try:
            if was_down or (self._waiting and (self.crawl.frontier() > 0 or self._idle_enough())):
                self._waiting = False
                self._wake()
        except OUTAGE_ERRORS as exc:
            outage.failed(exc)

    def _counted_lost(self) -> None:
        # Redis ran but this worker could not reach it for longer than its TTL: the others
        # counted it as gone, and its generation may have ended without it (the ingest
        # then refuses what it sends): not a finished run, whatever follows
        stats = self.crawler.stats
        assert stats is not None
        if not stats.get_value("teaserfeed/redis_counted_lost"):
            logger.error(
                "this worker was counted as gone: Redis was unreachable for longer than "
                "TEASERFEED_REDIS_WORKER_TTL (%.0f s) while it ran; its generation ends "
                "worker_lost, and what it sends after its generation ended is not stored",
                self.ttl,
            )
        stats.inc_value("teaserfeed/redis_counted_lost")

    def _give_up(self) -> None:
        held = self.link.undelivered()
        logger.error(
            "Redis at %s stayed away for %.0f s (TEASERFEED_REDIS_RETRY_FOR): stopping with "
            "%d items and %d new requests not delivered",
            self.link.outage.url, self.link.outage.away(),
            held.get("items", 0), held.get("requests", 0),
        )  # fmt: skip
        self.link.give_up()
        engine = self.crawler.engine
        if engine is not None:
            deferred_from_coro(engine.close_spider_async(reason="redis_unavailable"))

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
        """Stay open while the shared frontier has work or was empty only briefly.

        Also while Redis is away or the worker still holds items or requests back: an
        outage is not the end of the crawl.
        """
        if self.link.gave_up:
            return
        if self.link.outage.down or self.link.waiting():
            self._idle_since = None
            self._waiting = True
            raise DontCloseSpider
        try:
            frontier = self.crawl.frontier()
        except OUTAGE_ERRORS as exc:
            self.link.outage.failed(exc)
            self._idle_since = None
            self._waiting = True
            raise DontCloseSpider from None
        if frontier > 0:
            self._idle_since = None
            raise DontCloseSpider
        if self._idle_since is None:
            self._idle_since = time.monotonic()
        if not self._idle_enough():
            self._waiting = True
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Leave the crawl with this worker's stats; the last one out ends the generation.

        What could not be delivered (Redis stayed away) is counted in the stats
        (teaserfeed/redis_undelivered/items, …/requests); such a worker does not leave:
        its heartbeat runs out and the generation ends as `worker_lost`, for reconcile.
        """
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        stats = self.crawler.stats
        assert stats is not None
        # a last try: Redis may be back by now
        delivered = self.link.flush()
        for kind, count in self.link.undelivered().items():
            if count:
                stats.set_value(f"teaserfeed/redis_undelivered/{kind}", count)
        if not self.gen or not delivered or self.link.gave_up:
            return
        final = {
            "reason": reason,
            "stats": json.loads(json.dumps(stats.get_stats(), default=str)),
        }
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

    def __init__(
        self, crawler: Crawler, client: redis.Redis, skip_known: bool, link: WorkerLink
    ) -> None:
        self.crawler = crawler
        self.client = client
        self.key = RedisKeys().known
        self.skip_known = skip_known
        self.link = link

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownArticlesMiddleware:
        return cls(
            crawler,
            connect(_redis_url(crawler)),
            with_defaults(crawler.settings).getbool("TEASERFEED_SKIP_KNOWN"),
            link_for(crawler),
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
        if not self.skip_known or not requests or self.link.outage.down:
            return set()
        try:
            flags = self.client.smismember(self.key, [normalize_url(r.url) for r in requests])
        except OUTAGE_ERRORS as exc:
            self.link.outage.failed(exc)
            return set()
        except redis.RedisError as exc:
            logger.warning("cannot read the known articles from Redis, fetching: %s", exc)
            return set()
        return {id(r) for r, flag in zip(requests, flags, strict=True) if flag}


def _is_article(x: Any) -> bool:
    return (
        isinstance(x, Request)
        and x.meta.get(META_KIND) == "article"
        and not x.meta.get(META_REVISIT)
    )


def _listings_first(x: Any) -> Any:
    if isinstance(x, Request) and x.meta.get(META_KIND) != "article" and x.priority == 0:
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
