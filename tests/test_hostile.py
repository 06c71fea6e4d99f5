"""One crawl of the hostile site: it finishes, every trap is recorded with the right error
kind, the decodable pages are stored correctly, and the archive stays sound."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_twisted
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.test import get_crawler

from crawlers.middlewares import BackoffRetryMiddleware
from crawlers.spiders.teasers import TeaserSpider
from tests.conftest import FAST, PROJECT_SETTINGS
from tests.hostile_site import ALIAS_HOST, EXPECTED, HostileServer, hostile_config

MAX_TEASERS = 45  # the front page has 40 teasers
BIG_MAX_TEASERS = 30
# settings a test can afford: short timeout, small size limit, quick backoff
HOSTILE_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_TIMEOUT": 2.0,
    "DOWNLOAD_MAXSIZE": 3 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 1024 * 1024,
    "REDIRECT_MAX_TIMES": 5,
    "TEASERFEED_RETRY_BACKOFF": 0.05,
    "TEASERFEED_RETRY_BACKOFF_MAX": 0.2,
    "TEASERFEED_MAX_RETRY_AFTER": 5,
    "TEASERFEED_MAX_TEASERS_PER_PAGE": MAX_TEASERS,
    # this site fails on purpose again and again: no backing off here (test_politeness)
    "TEASERFEED_SITE_MAX_FAILURES": 0,
    "LOG_LEVEL": "ERROR",
}
# where a redirecting path's article may be stored: the end of its chain (its fetch row is
# recorded under the linked path itself)
RECORDED_AS: dict[str, tuple[str, ...]] = {
    "/redirect/loop-a": ("/redirect/loop-b",),
    "/redirect/chain/1": tuple(f"/redirect/chain/{n}" for n in range(2, 8)),
    "/redirect/short/1": ("/good/short-target",),
    "/redirect/other-host": ("/good/other-host",),
}


@dataclass
class HostileCrawl:
    server: HostileServer
    archive: Path
    run_id: int
    stats: dict[str, Any]
    waits: list[tuple[str, float, str]]


async def run_crawl(configs: list[Any], archive: Path, **settings: Any) -> Crawler:
    """Crawl with the project's settings plus the given ones; returns the crawler."""
    crawler = get_crawler(
        TeaserSpider,
        {**PROJECT_SETTINGS, **FAST, "TEASERFEED_ARCHIVE": str(archive), **settings},
    )
    await crawler.crawl_async(configs=configs)
    return crawler


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileCrawl]:
    server = HostileServer(crawl_delay=0.01)
    archive = tmp_path_factory.mktemp("hostile") / "news.db"
    try:
        crawler: Crawler = pytest_twisted.blockon(
            deferred_from_coro(run_crawl([hostile_config(server.url)], archive, **HOSTILE_SETTINGS))
        )
        assert crawler.stats is not None
        stats = crawler.stats.get_stats()
        retry = crawler.get_downloader_middleware(BackoffRetryMiddleware)
        assert retry is not None
        yield HostileCrawl(
            server, archive, int(stats["teaserfeed/run_id"]), stats, list(retry.waits)
        )
    finally:
        server.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileCrawl]:
    server = HostileServer()
    archive = tmp_path_factory.mktemp("big") / "news.db"
    settings = {**HOSTILE_SETTINGS, "TEASERFEED_MAX_TEASERS_PER_PAGE": BIG_MAX_TEASERS}
    try:
        crawler: Crawler = pytest_twisted.blockon(
            deferred_from_coro(
                run_crawl([hostile_config(server.url, big=True)], archive, **settings)
            )
        )
        assert crawler.stats is not None
        stats = crawler.stats.get_stats()
        yield HostileCrawl(server, archive, int(stats["teaserfeed/run_id"]), stats, [])
    finally:
        server.close()


def rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def fetches_for(crawl: HostileCrawl, path: str) -> list[tuple[Any, ...]]:
    """(url, kind, status, error_kind, error) of the rows recorded for a linked path."""
    wanted = {path}
    found = rows(
        crawl.archive,
        "SELECT url, kind, status, error_kind, error FROM fetches WHERE run_id = ?",
        crawl.run_id,
    )
    return [row for row in found if urlsplit(row[0]).path in wanted]


def test_the_crawl_finishes(hostile: HostileCrawl) -> None:
    assert hostile.stats["finish_reason"] == "finished"
    assert rows(hostile.archive, "SELECT status FROM runs WHERE id = ?", hostile.run_id) == [
        ("finished",)
    ]


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_every_trap_is_recorded(hostile: HostileCrawl, path: str) -> None:
    expect = EXPECTED[path]
    recorded = fetches_for(hostile, path)
    assert len(recorded) == 1, recorded
    url, kind, status, error_kind, error = recorded[0]
    assert kind == "article"
    assert error_kind == expect.kind, (url, error)
    if expect.kind is not None:
        assert error, "a failed fetch says why"
    if expect.status is not None:
        assert status == expect.status
    if expect.attempts is not None:
        assert hostile.server.attempts(path) == expect.attempts


@pytest.mark.parametrize("path", sorted(p for p, e in EXPECTED.items() if e.word))
def test_pages_worth_keeping_are_stored_and_decoded(hostile: HostileCrawl, path: str) -> None:
    word = EXPECTED[path].word
    assert word is not None
    found = rows(hostile.archive, "SELECT url, body FROM articles WHERE instr(body, ?) > 0", word)
    assert len(found) == 1, f"{word!r} in {len(found)} stored articles"
    url, body = found[0]
    assert "\x00" not in body
    assert "\ufffd" not in body or path == "/charset/wrong"
    recorded_paths = {path, *RECORDED_AS.get(path, ())}
    assert urlsplit(url).path in recorded_paths


def test_traps_are_not_stored_as_articles(hostile: HostileCrawl) -> None:
    stored = {urlsplit(url).path for (url,) in rows(hostile.archive, "SELECT url FROM articles")}
    for path, expect in EXPECTED.items():
        if expect.kind not in (None, "paywall"):
            assert not {path, *RECORDED_AS.get(path, ())} & stored, path
    # nothing of the challenge pages made it into the archive
    assert not rows(
        hostile.archive,
        "SELECT url FROM articles WHERE body LIKE '%Just a moment%' OR title LIKE '%moment%'",
    )


def test_the_cross_host_redirect_is_followed(hostile: HostileCrawl) -> None:
    (final_url,) = rows(
        hostile.archive,
        "SELECT final_url FROM fetches WHERE url LIKE '%/redirect/other-host'",
    )[0]
    assert urlsplit(final_url).hostname == ALIAS_HOST


def test_waits_and_retries(hostile: HostileCrawl) -> None:
    def waits(path: str) -> list[tuple[float, str]]:
        return [(s, why) for url, s, why in hostile.waits if urlsplit(url).path == path]

    # Retry-After: 1 is honoured as it is
    assert waits("/slow-down") == [(1.0, "429 Too Many Requests, Retry-After")]
    # the others back off: 0.05 s, then 0.1 s (half of each is jitter)
    for path in ("/flaky", "/broken"):
        first, second = (s for s, _ in waits(path))
        assert 0.025 <= first <= 0.05
        assert 0.05 <= second <= 0.1
    # the bot wall behind a 503 with Retry-After was not retried, the long Retry-After not
    assert hostile.server.attempts("/wall/challenge-503") == 1
    assert hostile.server.attempts("/slow-down-long") == 1
    (error,) = next(
        (e,) for u, _, _, _, e in fetches_for(hostile, "/slow-down-long") if u.endswith("long")
    )
    assert "Retry-After 3600 s" in error
    # a timeout is retried: RETRY_TIMES + 1 attempts
    assert hostile.server.attempts("/hang") == 3


def test_size_limits(hostile: HostileCrawl) -> None:
    errors = {path: fetches_for(hostile, path)[0][4] for path in ("/huge", "/bomb", "/endless")}
    assert "DOWNLOAD_MAXSIZE" in errors["/huge"]
    assert "inflates past DOWNLOAD_MAXSIZE" in errors["/bomb"]
    assert "DOWNLOAD_MAXSIZE" in errors["/endless"]


def test_tags_with_absurd_attribute_counts_are_cut_and_recorded(hostile: HostileCrawl) -> None:
    # 100,000 attributes on <article>: parsed as is, libxml2 would stall the crawl
    (cut,) = rows(
        hostile.archive,
        "SELECT r.rule, r.text FROM removed r JOIN articles a ON a.id = r.article_id"
        " WHERE a.url LIKE '%/attributes' AND r.rule LIKE 'limit:%'",
    )
    assert cut == ("limit:attributes", "tags cut to their first 1,000 attributes")
    assert not rows(
        hostile.archive,
        "SELECT a.url FROM removed r JOIN articles a ON a.id = r.article_id"
        " WHERE r.rule = 'limit:attributes' AND a.url NOT LIKE '%/attributes'",
    )


def test_the_entity_bomb_feed_is_read_without_expansion(hostile: HostileCrawl) -> None:
    # fetched once, read as a feed; its one entry leads to a stored article
    assert hostile.server.attempts("/feeds/bomb.xml") == 1
    ((kind, error_kind),) = rows(
        hostile.archive, "SELECT kind, error_kind FROM fetches WHERE url LIKE '%/feeds/bomb.xml'"
    )
    assert (kind, error_kind) == ("feed", None)
    (body,) = rows(hostile.archive, "SELECT body FROM articles WHERE url LIKE '%/good/feed-item'")[
        0
    ]
    assert "Feedwell" in body
    # the entry's title and summary were not expanded (10^9 "lol"s would be 3 GB)
    (longest,) = rows(
        hostile.archive,
        "SELECT max(length(coalesce(title, '')) + length(coalesce(excerpt, ''))) FROM teasers"
        " WHERE listing_url LIKE '%/feeds/bomb.xml'",
    )[0]
    assert longest < 1_000
    assert not rows(
        hostile.archive, "SELECT id FROM teasers WHERE title || excerpt LIKE '%lollollol%'"
    )


def test_a_sitemap_index_naming_itself_is_read_once(hostile: HostileCrawl) -> None:
    assert hostile.server.attempts("/sitemap-self.xml") == 1
    assert hostile.server.attempts("/sitemap-items.xml") == 1
    assert hostile.server.attempts("/good/sitemap-item") == 1
    (body,) = rows(hostile.archive, "SELECT body FROM articles WHERE url LIKE '%/sitemap-item'")[0]
    assert "Mapstone" in body


def test_redirect_messages(hostile: HostileCrawl) -> None:
    def error(path: str) -> str:
        return str(fetches_for(hostile, path)[0][4])

    assert "file: URL refused" in error("/redirect/file")
    assert "javascript: URL refused" in error("/redirect/javascript")
    assert "redirect loop" in error("/redirect/loop-a")
    assert "redirect loop" in error("/redirect/self")
    assert "too many redirects" in error("/redirect/chain/1")


def test_robots_crawl_delay_applied(hostile: HostileCrawl) -> None:
    assert hostile.stats["teaserfeed/crawl_delay/127.0.0.1"] == 0.01


def test_self_linking_listing_is_fetched_once(hostile: HostileCrawl) -> None:
    assert hostile.server.attempts("/self-listing") == 1
    (teasers,) = rows(
        hostile.archive,
        "SELECT teasers FROM fetches WHERE url LIKE '%/self-listing' AND kind = 'listing'",
    )[0]
    assert teasers == 1  # only the real story; the links to itself are not teasers
    assert rows(hostile.archive, "SELECT count(*) FROM articles WHERE instr(body, 'Selfsame')") == [
        (1,)
    ]


def test_big_listing_is_cut_at_the_teaser_limit(big: HostileCrawl) -> None:
    assert big.stats["finish_reason"] == "finished"
    many = [p for _, p, _ in big.server.requests if p.startswith("/many/")]
    assert len(many) == BIG_MAX_TEASERS
    limit = rows(
        big.archive,
        "SELECT url, error FROM fetches WHERE run_id = ? AND error_kind = 'limit'",
        big.run_id,
    )
    assert len(limit) == 1
    url, error = limit[0]
    assert url.endswith(f"/many/{BIG_MAX_TEASERS + 1}")
    # the extractor reads at most 20,000 elements of a page: half of the 10,000 teasers
    assert re.search(rf"has \d{{4,5}} teasers; kept the first {BIG_MAX_TEASERS}\b", error)
    (teasers,) = rows(big.archive, "SELECT count(*) FROM teasers")[0]
    assert teasers == BIG_MAX_TEASERS
    (articles,) = rows(big.archive, "SELECT count(*) FROM articles")[0]
    assert articles == BIG_MAX_TEASERS


def test_the_front_page_is_not_cut(hostile: HostileCrawl) -> None:
    assert not rows(hostile.archive, "SELECT url FROM fetches WHERE error_kind = 'limit'")
    (teasers,) = rows(
        hostile.archive,
        "SELECT teasers FROM fetches WHERE kind = 'listing' AND url LIKE '%/'",
    )[0]
    assert teasers == len(EXPECTED)


@pytest.mark.parametrize("which", ["hostile", "big"])
def test_archive_is_sound_afterwards(which: str, request: pytest.FixtureRequest) -> None:
    crawled: HostileCrawl = request.getfixturevalue(which)
    assert rows(crawled.archive, "PRAGMA integrity_check") == [("ok",)]
    conn = sqlite3.connect(crawled.archive)
    try:
        conn.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")
    finally:
        conn.close()
