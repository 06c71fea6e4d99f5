"""Scrapy settings for teaserfeed: polite defaults, archive pipeline, no remote control."""

from __future__ import annotations

import copy
from typing import Any

from scrapy.settings import BaseSettings

from crawlers.pool import default_workers

# Every TEASERFEED_* setting is defined once, below; code reads it bare from the crawler's
# settings after with_defaults() (the spider registers the defaults itself), so a crawl
# with other settings than these (an embedded spider, get_crawler in tests) has them too.

BOT_NAME = "teaserfeed"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"


def user_agent(contact_url: str) -> str:
    """teaserfeed's User-Agent, naming a page about the crawl (and how to reach its owner)."""
    return f"teaserfeed/0.1 (+{contact_url})"


# Identify ourselves; users set TEASERFEED_CONTACT_URL to a page about their crawl (the
# User-Agent follows it unless USER_AGENT itself is set).
TEASERFEED_CONTACT_URL = "https://github.com/teaserfeed/teaserfeed"
USER_AGENT = user_agent(TEASERFEED_CONTACT_URL)

ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 20  # a news page that takes longer is retried, then recorded as timeout
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False

# No telnet console, no remote control: a crawler listening on a port is a liability.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

EXTENSIONS = {"crawlers.progress.Progress": 500}
# A live line on a terminal, a plain line every interval otherwise ("off" to silence).
TEASERFEED_PROGRESS = "auto"
TEASERFEED_PROGRESS_INTERVAL = 30.0

# Scrapy starts this many asyncio tasks for every response's output, however few items it
# has (an article page has two); the pipeline only queues items for the writer thread, so
# more than 2 is pure overhead: benchmarks/crawl.py's main thread spends ~15 % less time at
# 16 than at Scrapy's 100 and ~10 % less again at 2 than at 16 (raise it for a slow
# asynchronous pipeline of your own)
CONCURRENT_ITEMS = 2

# 404s and other error statuses reach the spider's errback so they are recorded.
HTTPERROR_ALLOW_ALL = False

ITEM_PIPELINES = {
    "crawlers.pipelines.ArchivePipeline": 300,
}

# Where the archive lives: relative to the current directory, so a plain `scrapy crawl
# teasers` writes ./news.db; `teaserfeed crawl --archive` and `scrapy crawl -s
# TEASERFEED_ARCHIVE=...` set it.
TEASERFEED_ARCHIVE = "news.db"
# The site configuration file for `-a site=NAME`.
TEASERFEED_SITES = "sites.toml"
# Incremental crawling: the archive is the seen-store. Articles already archived are not
# fetched again unless a revisit is due (steps after first seen; "never" turns it off;
# a site's `revisit = [...]` overrides it). Set SKIP_KNOWN to False to refetch everything.
TEASERFEED_SKIP_KNOWN = True
TEASERFEED_REVISIT = "1h,6h,24h,3d,7d"
TEASERFEED_MAX_REVISITS = 500  # per site and run
# Paging stops at a listing page where this fraction of the teasers is archived (0: never).
TEASERFEED_STOP_AT_SEEN = 1.0
# > 0: page every listing this deep, ignoring stop-at-seen, validators and schedule.
TEASERFEED_BACKFILL = 0
# Listings are fetched with If-None-Match / If-Modified-Since; a 304 or an unchanged set of
# teasers ends that listing for the run. Unchanged (or failing) listings wait
# LISTING_BACKOFF, then twice as long each time, up to LISTING_MAX_INTERVAL.
TEASERFEED_CONDITIONAL = True
TEASERFEED_LISTING_BACKOFF = "5m"
TEASERFEED_LISTING_MAX_INTERVAL = "6h"
# Teasers whose article never arrived (a killed run, a timeout) are fetched again, this many
# per site and run.
TEASERFEED_MAX_RECOVER = 1000
# An article found gone (HTTP 404/410, or a host that does not resolve) is not requested
# again, from a listing or as a teaser to recover, until this long after; then once more.
TEASERFEED_RETRY_GONE = "30d"
# The crawl's clock as ISO 8601 (tests and simulations only); empty: the real time.
TEASERFEED_NOW = ""
# Keep each article page's raw HTML (compressed) for re-extraction.
TEASERFEED_STORE_HTML = True
# Page extraction (listing detection, article extraction) runs in this many worker
# processes, off the thread that drives the downloads (default: one per core this process
# may use; 0: inline, in the crawl's own thread). `reextract` uses as many.
TEASERFEED_WORKERS = default_workers()
# Added to the extraction workers' niceness (0-19): the crawl's own thread, which feeds them
# and drives the downloads, then gets a core whenever it has work (benchmarks/crawl.py: ~3 %
# more pages/s on 2 cores at 10 than at 0); 0 runs them at the crawl's priority.
TEASERFEED_WORKER_NICE = 10
# A page whose extraction takes longer than this many seconds (0: no bound) is recorded with
# error kind `extraction` and its worker replaced (with TEASERFEED_WORKERS=0 nothing can
# stop a page midway: the engine's own size bounds are all there is).
TEASERFEED_EXTRACT_TIMEOUT = 30.0
# Items are written in transactions of at most this many items.
TEASERFEED_BATCH_SIZE = 100
# A transaction waits at most this many seconds for its batch to fill (0: it takes what is
# queued and goes). Every commit has a fixed cost, so a crawl's trickle of items costs less
# in large transactions; what a killed crawl had not stored yet is fetched again next run.
TEASERFEED_BATCH_SECONDS = 0.25
# Items waiting for the archive writer; a full queue slows the crawl instead of growing.
TEASERFEED_WRITE_QUEUE = 1000
# A crawl does not start (exit 1, nothing fetched) when the archive's file system has fewer
# bytes free than this (0: no check). When a write fails anyway (a full disk, an I/O error)
# the spider closes at once (`archive_write_failed: CAUSE`) and the run is marked failed.
TEASERFEED_MIN_FREE_DISK = 50_000_000  # 50 MB
# The level of the one line saying so (or that the archive is damaged, which also ends the
# crawl); `teaserfeed crawl` prints that line itself.
TEASERFEED_ARCHIVE_FAILURE_LOG_LEVEL = "ERROR"

LOG_LEVEL = "INFO"
# Log lines name an item by its type and URL, never with its fields (raw HTML included).
LOG_FORMATTER = "crawlers.logformatter.LogFormatter"
FEED_EXPORT_ENCODING = "utf-8"
# Feed exports (`scrapy crawl teasers -o items.jl`, .json, .csv; scrapyd's items_dir): every
# item starts with `item_type` (teaser, article, fetch); a CSV header names every field of
# every item type; raw page HTML (`html`, base64, and its `encoding`) only when this is True.
TEASERFEED_EXPORT_HTML = False
FEED_EXPORTERS = {
    "jsonlines": "crawlers.exporters.JsonLinesExporter",
    "jsonl": "crawlers.exporters.JsonLinesExporter",
    "jl": "crawlers.exporters.JsonLinesExporter",
    "json": "crawlers.exporters.JsonExporter",
    "csv": "crawlers.exporters.CsvExporter",
}


# ---- Polite and robust fetching (crawlers/middlewares/, error kinds in crawlers/failures.py)
DOWNLOADER_MIDDLEWARES = {
    # a backed-off site's requests are dropped before anything else (even robots.txt)
    "crawlers.middlewares.CircuitBreakerMiddleware": 90,
    # no request (robots.txt and redirect hops included) to an internal address (SSRF)
    "crawlers.middlewares.AddressGuardMiddleware": 95,
    # Scrapy 2.19's robots.txt middleware lets through requests that waited for a host's
    # robots.txt alongside the first one; this subclass makes every one of them obey it
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawlers.middlewares.robotstxt.RobotsTxtMiddleware": 100,
    # after RobotsTxtMiddleware (100), whose robots_parsed signal it reads
    "crawlers.middlewares.CrawlDelayMiddleware": 110,
    # replaces Scrapy's RetryMiddleware: same RETRY_* settings, but waits between tries
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    # exceptions pass from high to low numbers: before the retries, so not retried
    "crawlers.middlewares.BlockedConnectMiddleware": 560,
    # responses pass from high to low numbers: after decompression (590), before retries
    "crawlers.middlewares.PaywallMiddleware": 582,
    "crawlers.middlewares.BotWallMiddleware": 585,
    "crawlers.middlewares.EmptyBodyMiddleware": 587,
    # before RedirectMiddleware (600)
    "crawlers.middlewares.RedirectGuardMiddleware": 610,
}
SPIDER_MIDDLEWARES = {
    "crawlers.middlewares.PageLimitMiddleware": 950,
    "crawlers.middlewares.TeaserLimitMiddleware": 960,
}
# SSRF guard: requests to loopback, private, link-local, CGNAT, multicast and reserved
# addresses (IPv4 and IPv6, any literal form, `localhost`, names resolving there) are refused
# as error kind `blocked_address`, checked before sending and again at connect time (the
# resolver below). Allowed: these host names, IP addresses and CIDR networks (a list, or
# comma-separated: -s TEASERFEED_ALLOWED_ADDRESSES=intranet.example,10.1.0.0/16).
TEASERFEED_ALLOWED_ADDRESSES: list[str] = []
TWISTED_DNS_RESOLVER = "crawlers.resolver.GuardedResolver"
# robots.txt Crawl-delay raises a host's delay, up to this many seconds.
TEASERFEED_MAX_CRAWL_DELAY = 60.0
# Retries (RETRY_TIMES of them) wait TEASERFEED_RETRY_BACKOFF s, doubling each time up to
# TEASERFEED_RETRY_BACKOFF_MAX, with jitter; a 429/503 Retry-After is honoured, but one
# longer than TEASERFEED_MAX_RETRY_AFTER is not waited for (the fetch is recorded failed).
TEASERFEED_RETRY_BACKOFF = 2.0
TEASERFEED_RETRY_BACKOFF_MAX = 60.0
TEASERFEED_MAX_RETRY_AFTER = 120.0
# a fetch that failed after its retries is recorded in `fetches`; no ERROR line for it
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
# A 200 page at most this big that looks like a challenge page is recorded as bot_wall.
TEASERFEED_CHALLENGE_MAX_BYTES = 50_000
# This many failed fetches in a row (timeouts, connection errors, 5xx/429, bot walls) back a
# site off for the rest of the run (0: never).
TEASERFEED_SITE_MAX_FAILURES = 10
# Teasers (and article requests) taken from one listing page, requests per site and run
# (0: no limit); what goes beyond is dropped and recorded once as error kind `limit`.
TEASERFEED_MAX_TEASERS_PER_PAGE = 500
TEASERFEED_MAX_PAGES_PER_SITE = 10_000


# ---- Distributed crawling (teaserfeed crawl --redis; crawlers/distributed/)
# A worker exits once the shared frontier stayed empty this long (seconds).
TEASERFEED_REDIS_IDLE_CLOSE = 30.0
# A worker without a heartbeat for this long counts as gone, e.g. killed (seconds of Redis
# uptime: the time Redis was down does not count).
TEASERFEED_REDIS_WORKER_TTL = 30.0
# Seconds between heartbeats and frontier checks.
TEASERFEED_REDIS_POLL = 1.0
# While Redis is away, workers keep items and new requests in memory (up to
# TEASERFEED_REDIS_BUFFER of each; a full item buffer holds the crawl back) and try again
# with back-off; away for longer than RETRY_FOR seconds, the worker stops with reason
# `redis_unavailable` and reports what it could not deliver.
TEASERFEED_REDIS_RETRY_FOR = 120.0
TEASERFEED_REDIS_BUFFER = 10_000


def teaserfeed_defaults() -> dict[str, Any]:
    """Every TEASERFEED_* setting with its default above (copies: a list stays unshared)."""
    return {
        name: copy.deepcopy(value)
        for name, value in globals().items()
        if name.startswith("TEASERFEED_")
    }


def with_defaults(settings: BaseSettings) -> BaseSettings:
    """`settings` with each TEASERFEED_* default it lacks (priority default; copied if frozen)."""
    missing = {k: v for k, v in teaserfeed_defaults().items() if k not in settings}
    if not missing:
        return settings
    if settings.frozen:
        # a frozen crawler's settings cannot change; its component reads the copy instead
        settings = settings.copy()
        settings.frozen = False
    settings.setdict(missing, priority="default")
    return settings
