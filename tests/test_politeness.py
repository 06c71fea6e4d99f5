"""Polite fetching: robots.txt Crawl-delay, backoff that blocks nothing else, a failing site
backed off, per-site page limit, and the error kinds of classify_failure."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawlers.failures import (
    BackedOff,
    BotWall,
    classify_failure,
    is_failed_fetch,
    is_site_failure,
)
from crawlers.middlewares.backoff import backoff_wait, parse_retry_after
from crawlers.middlewares.botwall import find_marker
from crawlers.middlewares.paywall import paywall_reason
from crawlers.sites import SiteConfig
from crawlers.spiders.teasers import TeaserSpider
from tests.conftest import FAST, PROJECT_SETTINGS
from tests.hostile_site import HostileServer


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def listing(server: HostileServer, name: str, *paths: str) -> SiteConfig:
    """A site whose one listing page links to the given paths."""
    return SiteConfig(
        name=name,
        start_urls=(f"{server.url}/list/{name}?paths={','.join(paths)}",),
        teaser="article.teaser",
        link="h2 a::attr(href)",
        max_pages=1,
    )


async def crawl(configs: list[SiteConfig], archive: Path, **settings: Any) -> Crawler:
    crawler = get_crawler(
        TeaserSpider,
        {
            **PROJECT_SETTINGS,
            **FAST,
            "TEASERFEED_ARCHIVE": str(archive),
            "LOG_LEVEL": "ERROR",
            **settings,
        },
    )
    await crawler.crawl_async(configs=configs)
    return crawler


def fetches(archive: Path) -> list[tuple[str, str | None, str | None, str | None]]:
    """(path, site, error_kind, error) of every fetch row."""
    conn = sqlite3.connect(archive)
    try:
        found = conn.execute("SELECT url, source, error_kind, error FROM fetches").fetchall()
    finally:
        conn.close()
    return [(urlsplit(url).path, source, kind, error) for url, source, kind, error in found]


# ---- robots.txt Crawl-delay -----------------------------------------------------------


def _watch_slots(crawler: Crawler, seen: list[tuple[str, float, float]]) -> None:
    def reached(request: Request) -> None:
        assert crawler.engine is not None
        slot = crawler.engine.downloader.slots[request.meta["download_slot"]]
        seen.append((urlsplit(request.url).path, slot.delay, slot.jitter))

    crawler.signals.connect(reached, signal=signals.request_reached_downloader, weak=False)


@pytest.mark.parametrize(
    ("crawl_delay", "settings", "delay", "jitter"),
    [
        # robots.txt asks for 0.3 s: AutoThrottle may not go below it, jitter may not either
        (0.3, {"AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 0}, 0.3, 0.0),
        # capped by TEASERFEED_MAX_CRAWL_DELAY
        (30, {"TEASERFEED_MAX_CRAWL_DELAY": 0.2}, 0.2, 0.0),
        # a configured delay above the crawl-delay stays; jitter keeps every wait >= 0.1 s
        (0.1, {"DOWNLOAD_DELAY": 0.25, "DOWNLOAD_DELAY_JITTER": 0.5}, 0.25, 0.5),
    ],
)
@deferred_f_from_coro_f
async def test_crawl_delay_sets_the_host_slot(
    tmp_path: Path, crawl_delay: float, settings: dict[str, Any], delay: float, jitter: float
) -> None:
    with HostileServer(crawl_delay=crawl_delay) as delayed:
        config = listing(delayed, "delayed", "/plain/cd/1", "/plain/cd/2")
        seen: list[tuple[str, float, float]] = []
        crawler = get_crawler(
            TeaserSpider,
            {
                **PROJECT_SETTINGS,
                **FAST,
                "TEASERFEED_ARCHIVE": str(tmp_path / "news.db"),
                "LOG_LEVEL": "ERROR",
                **settings,
            },
        )
        crawler.signals.connect(
            lambda: _watch_slots(crawler, seen), signal=signals.engine_started, weak=False
        )
        await crawler.crawl_async(configs=[config])
    assert crawler.stats is not None
    capped = min(crawl_delay, settings.get("TEASERFEED_MAX_CRAWL_DELAY", 60))
    assert crawler.stats.get_value("teaserfeed/crawl_delay/127.0.0.1") == capped
    after_robots = [entry for entry in seen if entry[0] != "/robots.txt"]
    assert next(p for p, _, _ in after_robots).startswith("/list/")
    assert len(after_robots) == 3
    for path, slot_delay, slot_jitter in after_robots:
        assert slot_delay == pytest.approx(delay), path
        assert slot_jitter == pytest.approx(jitter), path
        assert slot_delay * (1 - slot_jitter) >= capped - 1e-9


# ---- retries with backoff ---------------------------------------------------------------


@deferred_f_from_coro_f
async def test_a_waiting_retry_does_not_block_other_requests(
    server: HostileServer, tmp_path: Path
) -> None:
    paths = ["/plain/nb/1", "/plain/nb/2", "/flaky/nb", "/plain/nb/3", "/plain/nb/4"]
    archive = tmp_path / "news.db"
    before = len(server.requests)
    # one request at a time in the whole crawler: a retry that slept in a middleware would
    # hold that one place and stall everything until it is sent
    await crawl(
        [listing(server, "nonblocking", *paths)],
        archive,
        CONCURRENT_REQUESTS=1,
        TEASERFEED_RETRY_BACKOFF=0.3,
    )
    order = [urlsplit(p).path for _, p, _ in server.requests[before:]]
    flaky = [i for i, p in enumerate(order) if p == "/flaky/nb"]
    assert len(flaky) == 3  # failed twice, then served
    between = order[flaky[0] + 1 : flaky[-1]]
    assert any(p.startswith("/plain/nb/") for p in between), order
    rows = fetches(archive)
    assert ("/flaky/nb", "nonblocking", None, None) in rows
    assert all(kind is None for _, _, kind, _ in rows)


# ---- circuit breaker ------------------------------------------------------------------


@deferred_f_from_coro_f
async def test_a_dead_site_is_backed_off_and_the_others_go_on(
    server: HostileServer, tmp_path: Path
) -> None:
    dead_paths = [f"/dead/cb/{n}" for n in range(1, 13)]
    good_paths = [f"/plain/cb/{n}" for n in range(1, 5)]
    archive = tmp_path / "news.db"
    await crawl(
        [listing(server, "dead", *dead_paths), listing(server, "alive", *good_paths)],
        archive,
        RETRY_TIMES=0,
        TEASERFEED_SITE_MAX_FAILURES=3,
        CONCURRENT_REQUESTS_PER_DOMAIN=1,
        # a polite pace (on loopback the whole site would be fetched before the first
        # failure is recorded); the alive site shares the host, so it is paced too
        DOWNLOAD_DELAY=0.1,
        DOWNLOAD_DELAY_JITTER=0,
    )
    rows = [row for row in fetches(archive) if row[0].startswith(("/dead/", "/plain/"))]
    dead = {path: (kind, error) for path, site, kind, error in rows if site == "dead"}
    assert set(dead) == set(dead_paths)  # every request has its row
    kinds = [kind for kind, _ in dead.values()]
    assert kinds.count("http_5xx") >= 3
    assert kinds.count("http_5xx") + kinds.count("backed_off") == len(dead_paths)
    assert kinds.count("backed_off") >= len(dead_paths) - 4
    backed_off = next(error for kind, error in dead.values() if kind == "backed_off")
    assert "site 'dead' backed off for this run after 3 failed fetches in a row" in str(backed_off)
    # the dropped requests never reached the server (at most one was already on its way)
    served = [p for _, p, _ in server.requests if p.startswith("/dead/cb/")]
    assert len(served) <= 4
    # the other site on the same host is crawled in full
    alive = {path: kind for path, site, kind, _ in rows if site == "alive"}
    assert alive == dict.fromkeys(good_paths)


# ---- per-site page limit ----------------------------------------------------------------


@deferred_f_from_coro_f
async def test_pages_per_site_are_limited_and_recorded_once(
    server: HostileServer, tmp_path: Path
) -> None:
    paths = [f"/plain/pl/{n}" for n in range(1, 11)]
    archive = tmp_path / "news.db"
    crawler = await crawl(
        [listing(server, "limited", *paths)], archive, TEASERFEED_MAX_PAGES_PER_SITE=5
    )
    served = [p for _, p, _ in server.requests if p.startswith("/plain/pl/")]
    assert len(served) == 4  # the listing page is the fifth request
    limit = [row for row in fetches(archive) if row[2] == "limit"]
    assert len(limit) == 1
    assert "reached 5 requests in this run (TEASERFEED_MAX_PAGES_PER_SITE)" in str(limit[0][3])
    assert crawler.stats is not None
    assert crawler.stats.get_value("teaserfeed/limit/pages_dropped") == 6


# ---- the pieces -------------------------------------------------------------------------


def _response(status: int, body: bytes = b"", **headers: str) -> HtmlResponse:
    request = Request("http://news.example/a", meta={"tf_kind": "article"})
    return HtmlResponse(url=request.url, status=status, body=body, headers=headers, request=request)


def _failure(exc: BaseException) -> Failure:
    try:
        raise exc
    except BaseException:
        return Failure()


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("exc", "kind", "status", "message"),
    [
        (IgnoreRequest("Forbidden by robots.txt"), "robots", None, "disallowed by robots.txt"),
        (BotWall("bot wall or challenge page", status=403), "bot_wall", 403, "bot wall"),
        (BackedOff("site 'x' backed off"), "backed_off", None, "backed off"),
        (DownloadTimeoutError("took longer than 20 seconds"), "timeout", None, "timed out"),
        (CannotResolveHostError("no.such.host"), "dns", None, "DNS lookup failed"),
        (ConnectionRefusedError(), "connection", None, "connection refused"),
        (DownloadCancelledError(""), "too_large", None, "DOWNLOAD_MAXSIZE"),
        (IgnoreRequest("max redirections reached"), "redirect", None, "too many redirects"),
        (HttpError(_response(404), "x"), "http_4xx", 404, "HTTP 404 Not Found"),
        (HttpError(_response(503), "x"), "http_5xx", 503, "HTTP 503 Service Unavailable"),
        (HttpError(_response(999), "x"), "http_5xx", 999, "HTTP 999"),
        (
            HttpError(_response(302, Location="ftp://x/y"), "x"),
            "redirect",
            302,
            "redirect to 'ftp://x/y' not followed",
        ),
        (ValueError("odd"), "other", None, "ValueError: odd"),
    ],
)
def test_classify_failure(exc: Exception, kind: str, status: int | None, message: str) -> None:
    got_kind, got_status, got_message = classify_failure(_failure(exc))
    assert (got_kind, got_status) == (kind, status)
    assert message in got_message


def test_classify_failure_is_total() -> None:
    assert classify_failure(_failure(_Unprintable()))[0] == "other"
    detached = HttpError(Response("http://x/", status=500), "x")  # no request behind it
    assert classify_failure(_failure(detached))[:2] == ("http_5xx", 500)
    assert len(classify_failure(_failure(ValueError("x" * 5000)))[2]) <= 300


def test_failure_policies() -> None:
    assert is_site_failure("timeout")
    assert is_site_failure("http_4xx", 429)
    assert not is_site_failure("http_4xx", 404)
    assert not is_site_failure("robots")
    # exit status 3: any listing failure, article failures that are not dead links etc.
    assert is_failed_fetch("listing", "http_4xx", 404)
    assert is_failed_fetch("article", "timeout")
    assert is_failed_fetch("article", "http_4xx", 429)
    for benign in ("http_4xx", "robots", "not_html", "paywall", "limit"):
        assert not is_failed_fetch("article", benign, 404)
    assert not is_failed_fetch("listing", "paywall")


def test_retry_after_and_backoff() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert parse_retry_after(b"120") == 120.0
    assert parse_retry_after("Fri, 20 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 20 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(b"soon") is None
    assert parse_retry_after(None) is None
    waits = [backoff_wait(attempt, 2.0, 10.0) for attempt in (1, 2, 3, 4, 5)]
    for wait, step in zip(waits, (2, 4, 8, 10, 10), strict=True):
        assert step / 2 <= wait <= step


@pytest.mark.parametrize(
    ("status", "body", "wall"),
    [
        (403, b"<title>Just a moment...</title>", True),
        (503, b"<div>Checking your browser before accessing</div>", True),
        (429, b"<p>Please solve the CAPTCHA</p>", True),
        (200, b"<html><head><title>Access Denied</title></head></html>", True),
        (200, b"<script>window._cf_chl_opt={}</script>", True),
        (403, b"<h1>403 Forbidden</h1>", False),
        (503, b"<h1>Service Unavailable</h1>", False),
        # an article that talks about captchas is not a wall
        (200, b"<title>Why captchas fail</title>" + b"<p>text</p>" * 10_000, False),
        (200, b"<title>City news</title><p>The captcha on the form...</p>", False),
        # Cloudflare's bot-detection script sits in ordinary pages too
        (200, b"<title>News</title><script src='/cdn-cgi/challenge-platform/x.js'>", False),
    ],
)
def test_bot_wall_markers(status: int, body: bytes, wall: bool) -> None:
    assert (find_marker(body[:32768].lower(), status, len(body), 50_000) is not None) is wall


@pytest.mark.parametrize(
    ("body", "paywalled"),
    [
        (b'<script>{"isAccessibleForFree": false}</script>', True),
        (b'<script>{"isAccessibleForFree":"False"}</script>', True),
        (b'<meta itemprop="isAccessibleForFree" content="false">', True),
        (b'<div class="article-body paywall">', True),
        (b'<section id="piano-paywall-gate">', True),
        (b'<script>{"isAccessibleForFree": true}</script>', False),
        (b"<p>The council debated the paywall of the city archive.</p>", False),
    ],
)
def test_paywall_markers(body: bytes, paywalled: bool) -> None:
    assert (paywall_reason(body) is not None) is paywalled
