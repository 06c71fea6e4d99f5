"""TeaserSpider: listing pages → teasers → article pages, for configured sites or one URL."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred, DeferredSemaphore
from twisted.python.failure import Failure

from archive import Archive, ArchiveError, ArchiveLock, ListingState, clean_url, open_archive
from archive.files import sqlite_reason
from crawlers.errors import TeaserfeedError
from crawlers.extract.feeds import parse_feed
from crawlers.extract.listing import Teaser
from crawlers.failures import classify_failure
from crawlers.items import ArticleItem, FetchItem, TeaserItem
from crawlers.jobs import (
    ArticleJob,
    ArticleResult,
    ListingJob,
    ListingResult,
    extract_article_page,
    extract_listing_page,
)
from crawlers.logformatter import log_level
from crawlers.meta import (
    META_ERROR,
    META_ERROR_KIND,
    META_KIND,
    META_LINK,
    META_PAGE,
    META_REVISIT,
    META_SITE,
)
from crawlers.pool import ExtractionPool, PoolError, WorkerLost
from crawlers.schedule import due_at, listing_interval, parse_duration, parse_schedule
from crawlers.settings import user_agent, with_defaults
from crawlers.settings_check import SettingError, check_setting, known_settings
from crawlers.sites import SiteConfig, load_sites, select_sites

__all__ = ["TeaserSpider"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")
_J = TypeVar("_J")

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


# where update_settings notes a bad `-s` override for from_crawler (not a user setting)
_OVERRIDE_ERROR = "_TEASERFEED_OVERRIDE_ERROR"

# nested sitemap indexes followed at most this deep
MAX_SITEMAP_DEPTH = 3


def _teaser_hash(teasers: Sequence[Teaser]) -> str:
    """A fingerprint of what a listing shows: its main teasers' links and headlines, in order."""
    blob = "\n".join(f"{t.url}\t{t.title or ''}" for t in teasers if t.region == "main")
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _requested_url(response: Response) -> str:
    """The URL the spider asked for, before any redirect (fetch rows and state use it)."""
    redirects = response.meta.get("redirect_urls")
    if redirects:
        return str(redirects[0])
    return response.request.url if response.request else response.url


def _drain(items: Generator[Any, None, _T]) -> tuple[list[Any], _T]:
    """What a generator yields, and what it returns."""
    out: list[Any] = []
    while True:
        try:
            out.append(next(items))
        except StopIteration as stop:
            return out, stop.value


def _settled(future: Future[Any]) -> Deferred[None]:
    """A Deferred that fires on the reactor thread once `future` is done (in any thread)."""
    from twisted.internet import reactor

    done: Deferred[None] = Deferred()
    future.add_done_callback(lambda _: reactor.callFromThread(done.callback, None))
    return done


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1")[:200] if value else None


def _ms(response: Response) -> int | None:
    latency = response.meta.get("download_latency")
    return round(latency * 1000) if isinstance(latency, (int, float)) else None


class TeaserSpider(Spider):
    """Crawl listing pages of configured sites (`-a site=NAME`) or one page (`-a url=URL`).

    Incremental: listings are polled when due, with conditional requests; paging stops at
    a page whose teasers are all archived; archived articles are fetched again only when a
    revisit is due; teasers whose article never arrived (an interrupted run) are re-queued.
    """

    name = "teasers"

    def __init__(
        self,
        site: str | None = None,
        url: str | None = None,
        sites_file: str | None = None,
        configs: Iterable[SiteConfig] | None = None,
        archive_lock: ArchiveLock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # the archive's lock, when the caller (`teaserfeed crawl`) holds it for the whole run
        self.archive_lock = archive_lock
        self._site_arg = site
        self._url_arg = url
        self._sites_file = sites_file
        self.site_configs: list[SiteConfig] = list(configs or [])
        self.seen_store: Archive | None = None
        # why the sites could not be resolved (no sites.toml, an unknown site): nothing runs
        self.config_error: str | None = None
        self.archive_damaged = False
        self.states: dict[str, ListingState] = {}
        # sites whose state is ignored this run: --backfill, or their last run was cut short
        self.fresh_sites: set[str] = set()
        # page extraction (TEASERFEED_WORKERS processes), started with the first page
        self.extraction: ExtractionPool | None = None
        self._in_flight: DeferredSemaphore | None = None

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Check `-s NAME=VALUE` overrides as `teaserfeed crawl` does, before any component
        reads them: a bad one is put back to its default and noted, so the crawl closes
        with that one line before fetching (instead of a component's traceback)."""
        super().update_settings(settings)
        with_defaults(settings)
        cmdline = SETTINGS_PRIORITIES["cmdline"]
        defaults = known_settings()
        for name in list(settings):
            value = settings[name]
            if settings.getpriority(name) != cmdline or not isinstance(value, str):
                continue
            try:
                check_setting(name, value, defaults)
            except SettingError as exc:
                if not settings.get(_OVERRIDE_ERROR):
                    settings.set(_OVERRIDE_ERROR, str(exc), priority="cmdline")
                if name in defaults:
                    # above cmdline: the runner merges its own -s values in once more
                    settings.set(name, defaults[name], priority=cmdline + 1)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> TeaserSpider:
        spider: TeaserSpider = super().from_crawler(crawler, *args, **kwargs)
        override_error = crawler.settings.get(_OVERRIDE_ERROR)
        if override_error:
            spider.config_error = str(override_error)
            return spider
        try:
            spider._resolve_configs()
        except CloseSpider as exc:
            # raised here, Scrapy prints a bare traceback without the reason; the pipeline
            # says it in one line and closes the spider before the archive is touched
            spider.config_error = str(exc.reason)
            return spider
        if spider.settings.getint("TEASERFEED_WORKERS") < 0:
            spider.config_error = "setting TEASERFEED_WORKERS: 0 (inline) or more workers"
            return spider
        spider._apply_site_politeness()
        return spider

    def _resolve_configs(self) -> None:
        if self.site_configs:
            return
        if self._url_arg:
            try:
                self.site_configs = [SiteConfig.for_url(self._url_arg)]
            except TeaserfeedError as exc:
                raise CloseSpider(str(exc)) from None
            return
        path = self._sites_file or self.settings.get("TEASERFEED_SITES")
        names = [n.strip() for n in (self._site_arg or "").split(",") if n.strip()]
        try:
            self.site_configs = select_sites(load_sites(path), names)
        except TeaserfeedError as exc:
            raise CloseSpider(str(exc)) from None

    def _apply_site_politeness(self) -> None:
        """Per-site `delay`/`concurrency` become download-slot settings of the site's hosts.

        The user agent names TEASERFEED_CONTACT_URL unless USER_AGENT was set outright.
        """
        if self.settings.frozen:
            return
        contact = self.settings.get("TEASERFEED_CONTACT_URL")
        if contact and self.settings.getpriority("USER_AGENT") == self.settings.getpriority(
            "BOT_NAME"
        ):
            self.settings.set("USER_AGENT", user_agent(str(contact)), priority="spider")
        slots: dict[str, Any] = dict(self.settings.getdict("DOWNLOAD_SLOTS"))
        if any(config.local for config in self.site_configs):
            # saved files (Scrapy's slot "" holds file:// requests): no server to be polite to
            slots[""] = {"delay": 0.0, "concurrency": 8, **slots.get("", {})}
        for config in self.site_configs:
            wanted = {
                k: v
                for k, v in (("delay", config.delay), ("concurrency", config.concurrency))
                if v is not None
            }
            if not wanted:
                continue
            for _kind, url in config.listing_urls:
                host = urlsplit(url).hostname
                if host:
                    slots[host] = {**slots.get(host, {}), **wanted}
        if slots:
            self.settings.set("DOWNLOAD_SLOTS", slots, priority="spider")

    # ---- clock and settings ---------------------------------------------------------

    def now(self) -> datetime:
        """The crawl's clock: TEASERFEED_NOW when set (tests, simulations), else UTC now."""
        fixed = self.settings.get("TEASERFEED_NOW")
        if fixed:
            moment = datetime.fromisoformat(str(fixed))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return datetime.now(UTC)

    def _stamp(self) -> str:
        return self.now().isoformat(timespec="seconds")

    def _seconds(self, name: str) -> float:
        value = self.settings.get(name)
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise CloseSpider(f"setting {name}: {exc}") from None

    def _revisit_schedule(self, config: SiteConfig) -> tuple[float, ...]:
        steps = config.revisit
        if steps is None:
            steps = self.settings.get("TEASERFEED_REVISIT")
        try:
            return parse_schedule(steps)
        except ValueError as exc:
            raise CloseSpider(f"revisit schedule of site {config.name!r}: {exc}") from None

    # ---- archive state --------------------------------------------------------------

    def _open_seen_store(self) -> None:
        if not self.settings.getbool("TEASERFEED_SKIP_KNOWN"):
            return
        path = self.settings.get("TEASERFEED_ARCHIVE")
        if not path or not Path(path).exists():
            return
        try:
            self.seen_store = open_archive(path, readonly=True)
        except ArchiveError as exc:
            logger.warning("cannot read the archive for seen-state, fetching all: %s", exc)

    def _load_state(self) -> None:
        names = [c.name for c in self.site_configs]
        if self.settings.getint("TEASERFEED_BACKFILL") > 0:
            self.fresh_sites = set(names)
        if self.seen_store is None:
            return
        run_id = self.crawler.stats.get_value("teaserfeed/run_id") if self.crawler.stats else None
        store = self.seen_store
        self.fresh_sites |= self._read_state(
            lambda: store.interrupted_sites(names, run_id),
            set(),
            "cannot read the crawl state, polling every listing",
        )
        self.states = self._read_state(
            lambda: store.listing_states(
                url for c in self.site_configs for _kind, url in c.listing_urls
            ),
            {},
            "cannot read the crawl state, polling every listing",
        )
        if self.settings.getint("TEASERFEED_BACKFILL") <= 0:
            for name in sorted(self.fresh_sites):
                logger.info("site %s: its last run did not finish; catching up", name)

    def _read_state(self, read: Callable[[], _T], default: _T, what: str) -> _T:
        """A seen-state read of the archive; on failure `default`, and a damaged file ends the
        crawl (writing more into it would only add to the damage), anything else is a warning.
        """
        try:
            return read()
        except (ArchiveError, sqlite3.OperationalError) as exc:
            logger.warning("%s: %s", what, exc)
        except sqlite3.DatabaseError as exc:
            self._stop_for_damage(exc)
        return default

    def _stop_for_damage(self, exc: sqlite3.DatabaseError) -> None:
        if self.archive_damaged:
            return
        self.archive_damaged = True
        path = self.settings.get("TEASERFEED_ARCHIVE")
        self.crawler.stats.set_value("teaserfeed/archive_damaged", str(exc))
        level = log_level(self.settings.get("TEASERFEED_ARCHIVE_FAILURE_LOG_LEVEL"))
        logger.log(level, "%s: %s", path, sqlite_reason(exc, path))
        if self.crawler.engine is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="archive_damaged"))

    def closed(self, reason: str) -> None:
        """Stop the extraction workers; release the read connection to the archive."""
        if self.extraction is not None:
            self.extraction.close()
        if self.seen_store is not None:
            self.seen_store.close()
            self.seen_store = None

    # ---- extraction -----------------------------------------------------------------

    def _pool(self) -> tuple[ExtractionPool, DeferredSemaphore]:
        if self.extraction is None or self._in_flight is None:
            workers = self.settings.getint("TEASERFEED_WORKERS")
            self.extraction = ExtractionPool(
                workers,
                self.settings.getfloat("TEASERFEED_EXTRACT_TIMEOUT"),
                log_level=log_level(self.settings.get("LOG_LEVEL")),
                nice=self.settings.getint("TEASERFEED_WORKER_NICE"),
            )
            # pages handed to the workers at once: enough to keep each busy, few enough that
            # the rest wait as responses in Scrapy's scraper slot (which then stops downloads)
            self._in_flight = DeferredSemaphore(max(1, 4 * workers))
            self.crawler.stats.set_value("teaserfeed/extraction_workers", workers)
        return self.extraction, self._in_flight

    async def _extract(self, fn: Callable[[_J], _T], job: _J, *, listing: bool = False) -> _T:
        """`fn(job)` in the extraction pool; raises PoolError when its worker was lost.

        A listing page goes first, past the articles waiting: the crawl's next requests
        come from it, and behind a queue of articles the downloads would run dry."""
        pool, in_flight = self._pool()
        if listing:
            return await self._result(pool.submit(fn, job, first=True))
        turn = in_flight.acquire()
        if not turn.called:
            await maybe_deferred_to_future(turn)
        try:
            return await self._result(pool.submit(fn, job))
        finally:
            in_flight.release()

    async def _result(self, future: Future[_T]) -> _T:
        if not future.done():  # inline (0 workers) it is, and nothing waits
            await maybe_deferred_to_future(_settled(future))
        return future.result()

    def _extraction_lost(self, exc: PoolError) -> dict[str, Any]:
        """The fetch row's error for a page whose extraction did not come back."""
        stats = self.crawler.stats
        if isinstance(exc, WorkerLost):
            stats.inc_value("teaserfeed/extraction_worker_lost")
            if exc.timed_out:
                stats.inc_value("teaserfeed/extraction_timeouts")
        else:
            stats.inc_value("teaserfeed/extraction_failed")
        return {"error_kind": "extraction", "error": str(exc)}

    # ---- start ----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        """Due listings, feeds and sitemaps of every site; due revisits; unfinished teasers."""
        self._open_seen_store()
        self._load_state()
        for config in self.site_configs:
            for kind, url in config.listing_urls:
                if self._due(config, url) and not self.archive_damaged:
                    yield self._listing_request(url, config, 1, kind)
        for config in self.site_configs:
            for request in self._recovery_requests(config):
                yield request

    def _due(self, config: SiteConfig, url: str) -> bool:
        state = self.states.get(url)
        if config.name in self.fresh_sites or state is None or not state.next_due:
            return True
        try:
            due = datetime.fromisoformat(state.next_due) <= self.now()
        except ValueError:
            return True
        if not due:
            self.crawler.stats.inc_value("teaserfeed/listings_not_due")
        return due

    def _recovery_requests(self, config: SiteConfig) -> Iterator[Request]:
        """Revisits that are due, then teasers whose article never arrived."""
        if self.seen_store is None:
            return
        store = self.seen_store
        limit = self.settings.getint("TEASERFEED_MAX_REVISITS")
        schedule = self._revisit_schedule(config)
        what = f"site {config.name}: cannot read revisits from the archive"
        due: list[tuple[str, str]] = self._read_state(
            lambda: store.due_revisits(config.name, schedule, now=self.now(), limit=limit),
            [],
            what,
        )
        unfetched: list[tuple[str, str]] = self._read_state(
            lambda: store.unfetched_teasers(
                [config.name],
                limit=self.settings.getint("TEASERFEED_MAX_RECOVER"),
                accept=config.follows,
                now=self.now(),
                retry_gone=self._seconds("TEASERFEED_RETRY_GONE"),
            ),
            [],
            what,
        )
        if self.archive_damaged:
            return
        for url, last_fetched in due:
            self.crawler.stats.inc_value("teaserfeed/revisits")
            yield self._article_request(clean_url(url), config, url, revisit_since=last_fetched)
        for _site, url in unfetched:
            self.crawler.stats.inc_value("teaserfeed/articles_recovered")
            yield self._article_request(url, config, url)

    # ---- requests -------------------------------------------------------------------

    def _listing_request(self, url: str, config: SiteConfig, page: int, kind: str) -> Request:
        headers: dict[str, str] = {}
        meta: dict[str, Any] = {META_SITE: config.name, META_KIND: kind, META_PAGE: page}
        state = self.states.get(url)
        conditional = self.settings.getbool("TEASERFEED_CONDITIONAL")
        if state is not None and conditional and config.name not in self.fresh_sites:
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
            if headers:
                meta["handle_httpstatus_list"] = [304]
        callback = self.parse_listing if kind == "listing" else self.parse_feed
        return Request(url, callback=callback, errback=self.on_error, headers=headers, meta=meta)

    def _article_request(
        self, url: str, config: SiteConfig, link: str, revisit_since: str | None = None
    ) -> Request:
        meta: dict[str, Any] = {META_SITE: config.name, META_KIND: "article", META_LINK: link}
        headers: dict[str, str] = {}
        if revisit_since:
            meta[META_REVISIT] = True
            try:
                since = datetime.fromisoformat(revisit_since)
            except ValueError:
                since = None
            if since is not None and self.settings.getbool("TEASERFEED_CONDITIONAL"):
                if since.tzinfo is None:
                    since = since.replace(tzinfo=UTC)
                headers["If-Modified-Since"] = format_datetime(since.astimezone(UTC), usegmt=True)
                meta["handle_httpstatus_list"] = [304]
        return Request(
            url, callback=self.parse_article, errback=self.on_error, headers=headers, meta=meta
        )

    def _config(self, response_or_meta: dict[str, Any]) -> SiteConfig:
        name = response_or_meta[META_SITE]
        return next(c for c in self.site_configs if c.name == name)

    def _fetch(self, response: Response, kind: str, **extra: Any) -> FetchItem:
        # a downloader middleware may flag a page it let through (e.g. a paywall)
        flagged = response.meta.get(META_ERROR_KIND)
        if flagged and "error_kind" not in extra:
            extra["error_kind"] = flagged
            extra["error"] = response.meta.get(META_ERROR) or flagged
        return FetchItem(
            url=_requested_url(response),
            kind=kind,
            source=response.meta.get(META_SITE),
            status=response.status,
            final_url=response.url,
            bytes=len(response.body),
            ms=_ms(response),
            fetched_at=self._stamp(),
            **extra,
        )

    def _listing_fetch(
        self, response: Response, kind: str, *, changed: bool | None, **extra: Any
    ) -> FetchItem:
        """The fetch record of a listing/feed/sitemap, with its validators and next due time."""
        url = _requested_url(response)
        state = self.states.get(url)
        unchanged = 0 if changed or state is None else state.unchanged + 1
        wait = listing_interval(
            unchanged,
            0,
            self._seconds("TEASERFEED_LISTING_BACKOFF"),
            self._seconds("TEASERFEED_LISTING_MAX_INTERVAL"),
        )
        return self._fetch(
            response,
            kind,
            page=int(response.meta.get(META_PAGE, 1)),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            changed=changed,
            next_due=due_at(self.now(), wait),
            **extra,
        )

    def _not_html(self, response: Response) -> bool:
        ctype = response.headers.get(b"Content-Type") or b""
        return not isinstance(response, TextResponse) or (
            bool(ctype) and not any(t in ctype.lower() for t in _HTML_TYPES)
        )

    # ---- callbacks ------------------------------------------------------------------

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        """Default callback: treat the page as a listing."""
        async for output in self.parse_listing(response):
            yield output

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        """Yield a fetch record, new teasers, article requests and (maybe) the next page."""
        config = self._config(response.meta)
        if response.status == 304:
            self.crawler.stats.inc_value("teaserfeed/listings_not_modified")
            yield self._listing_fetch(response, "listing", changed=False)
            return
        if self._not_html(response):
            yield self._fetch(response, "listing", error_kind="not_html", error="not an HTML page")
            return
        assert isinstance(response, TextResponse)
        job = ListingJob(response.url, response.body, response.encoding, config)
        try:
            found: ListingResult = await self._extract(extract_listing_page, job, listing=True)
        except PoolError as exc:
            lost = self._extraction_lost(exc)
            yield self._listing_fetch(response, "listing", changed=None, **lost)
            return
        teasers = found.teasers
        errors = self._extraction_errors(found.errors)
        self.crawler.stats.inc_value("teaserfeed/listing_pages")
        self.crawler.stats.inc_value("teaserfeed/teasers_found", len(teasers))
        page = int(response.meta.get(META_PAGE, 1))
        fresh = config.name in self.fresh_sites
        url = _requested_url(response)
        digest = _teaser_hash(teasers)
        state = self.states.get(url)
        changed = fresh or state is None or state.teaser_hash != digest
        extra = {"error": errors} if errors else {}
        yield self._listing_fetch(
            response, "listing", changed=changed, teasers=len(teasers), teaser_hash=digest, **extra
        )
        if not changed:
            # the same teasers as last time: nothing new here, nor further down the listing
            self.crawler.stats.inc_value("teaserfeed/listings_unchanged")
            return
        items, known = _drain(self._teasers(teasers, config, response.url))
        for item in items:
            yield item
        main = sum(1 for t in teasers if t.region == "main")
        backfill = self.settings.getint("TEASERFEED_BACKFILL")
        if page >= (backfill if backfill > 0 else config.max_pages):
            return
        threshold = self.settings.getfloat("TEASERFEED_STOP_AT_SEEN")
        if not fresh and threshold > 0 and known >= threshold * main:
            self.crawler.stats.inc_value("teaserfeed/stopped_at_seen")
            logger.debug("stop at seen: %s (%d of %d teasers archived)", url, known, main)
            return
        next_url = found.next_url
        self._extraction_errors(found.next_errors)  # counted: the fetch row is written already
        if next_url:
            yield self._listing_request(next_url, config, page + 1, "listing")

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """A feed or sitemap: its entries become teasers; a sitemap index, more sitemaps."""
        config = self._config(response.meta)
        kind = str(response.meta.get(META_KIND, "feed"))
        if response.status == 304:
            self.crawler.stats.inc_value("teaserfeed/listings_not_modified")
            yield self._listing_fetch(response, kind, changed=False)
            return
        result = parse_feed(response.body, response.url)
        if result.kind in ("invalid", "unknown"):
            yield self._fetch(
                response, kind, error_kind="parse", error=f"not a feed or sitemap ({result.kind})"
            )
            return
        url = _requested_url(response)
        digest = _teaser_hash(result.teasers) if result.teasers else None
        state = self.states.get(url)
        fresh = config.name in self.fresh_sites
        changed = fresh or state is None or digest is None or state.teaser_hash != digest
        yield self._listing_fetch(
            response, kind, changed=changed, teasers=len(result.teasers), teaser_hash=digest
        )
        self.crawler.stats.inc_value(f"teaserfeed/{kind}s")
        depth = int(response.meta.get(META_PAGE, 1))
        if depth < MAX_SITEMAP_DEPTH:
            for child in result.sitemaps:
                yield self._listing_request(child, config, depth + 1, "sitemap")
        if changed:
            yield from self._teasers(result.teasers, config, url)
        else:
            self.crawler.stats.inc_value("teaserfeed/listings_unchanged")

    def _teasers(
        self, teasers: Sequence[Teaser], config: SiteConfig, listing_url: str
    ) -> Generator[Any, None, int]:
        """Teaser sightings and requests for articles not archived yet (on the site's
        allowed_domains); returns how many teasers need no fetch: archived or off-site."""
        seen_at = self._stamp()
        urls = {t.url: clean_url(t.url) for t in teasers if t.region == "main"}
        known: set[str] = set()
        gone: set[str] = set()
        store = self.seen_store
        if store is not None and urls:
            known = self._read_state(
                lambda: store.known_urls(urls.values()),
                set(),
                "cannot read the archive for seen-state",
            )
            retry = self._seconds("TEASERFEED_RETRY_GONE")
            gone = self._read_state(
                lambda: store.gone_urls(
                    set(urls.values()) - known, now=self.now(), retry_after=retry
                ),
                set(),
                "cannot read the archive for failed fetches",
            )
        if self.archive_damaged:
            return 0
        count = 0
        for teaser in teasers:
            yield TeaserItem.from_teaser(
                teaser, source=config.name, listing_url=listing_url, seen_at=seen_at
            )
            if teaser.region != "main":
                continue
            fetch_url = urls[teaser.url]
            if not config.follows(fetch_url):
                # another site's article: the sighting is archived, the page is not fetched
                count += 1
                self.crawler.stats.inc_value("teaserfeed/teasers_offsite")
                logger.debug("off-site teaser not followed (allowed_domains): %s", fetch_url)
                continue
            if fetch_url in known:
                count += 1
                self.crawler.stats.inc_value("teaserfeed/articles_known")
                continue
            if fetch_url in gone:
                # a 404/410 or unknown host not long ago: TEASERFEED_RETRY_GONE
                count += 1
                self.crawler.stats.inc_value("teaserfeed/articles_gone")
                continue
            yield self._article_request(fetch_url, config, teaser.url)
        return count

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        """Yield a fetch record and the extracted article."""
        config = self._config(response.meta)
        if response.status == 304:
            self.crawler.stats.inc_value("teaserfeed/revisits_not_modified")
            yield self._fetch(response, "article")
            return
        if self._not_html(response):
            yield self._fetch(response, "article", error_kind="not_html", error="not an HTML page")
            return
        assert isinstance(response, TextResponse)
        job = ArticleJob(response.url, response.body, response.encoding, config)
        try:
            extracted: ArticleResult = await self._extract(extract_article_page, job)
        except PoolError as exc:
            yield self._fetch(response, "article", **self._extraction_lost(exc))
            return
        article = extracted.article
        errors = self._extraction_errors(extracted.errors)
        self.crawler.stats.inc_value("teaserfeed/articles_extracted")
        yield self._fetch(response, "article", **({"error": errors} if errors else {}))
        store_html = self.settings.getbool("TEASERFEED_STORE_HTML")
        request_url = _requested_url(response)
        yield ArticleItem.from_article(
            article,
            source=config.name,
            url=request_url,
            final_url=response.url,
            fetched_at=self._stamp(),
            status=response.status,
            html=response.body if store_html else None,
            encoding=response.encoding if store_html else None,
            minhash=extracted.minhash,
        )

    def _extraction_errors(self, errors: Sequence[str]) -> str | None:
        """What the engine noted going wrong on a page, counted."""
        if not errors:
            return None
        self.crawler.stats.inc_value("teaserfeed/extraction_errors", len(errors))
        return "; ".join(errors)

    def on_error(self, failure: Failure) -> Iterator[FetchItem]:
        """Record a failed request as a fetch with its error kind (and back off a listing)."""
        request = getattr(failure, "request", None)
        meta = request.meta if request is not None else {}
        kind, status, message = classify_failure(failure)
        self.crawler.stats.inc_value(f"teaserfeed/errors/{kind}")
        logger.info(
            "%s %s: %s", meta.get(META_KIND, "request"), getattr(request, "url", "?"), message
        )
        url = str((meta.get("redirect_urls") or [getattr(request, "url", "")])[0])
        fetch_kind = str(meta.get(META_KIND, "other"))
        extra: dict[str, Any] = {}
        if request is not None and fetch_kind in ("listing", "feed", "sitemap"):
            state = self.states.get(url)
            wait = listing_interval(
                0,
                (state.failures if state else 0) + 1,
                self._seconds("TEASERFEED_LISTING_BACKOFF"),
                self._seconds("TEASERFEED_LISTING_MAX_INTERVAL"),
            )
            extra = {"page": meta.get(META_PAGE), "next_due": due_at(self.now(), wait)}
        yield FetchItem(
            url=url,
            kind=fetch_kind,
            source=meta.get(META_SITE),
            status=status,
            error_kind=kind,
            error=message,
            fetched_at=self._stamp(),
            **extra,
        )
