"""Incremental crawls against a demo site whose newsroom moves on, with a controlled clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from archive import open_archive
from crawlers.demo import DemoServer, demo_sites_toml, serve_demo
from crawlers.sites import SiteConfig, parse_sites
from tests.conftest import Crawled, crawl

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[DemoServer]:
    """A demo server of the test's own: the tests publish and edit articles on it."""
    demo = serve_demo()
    demo.clock = T0
    yield demo
    demo.close()


def _configs(server: DemoServer, **extra: str) -> list[SiteConfig]:
    text = demo_sites_toml(server.url)
    for key, value in extra.items():
        text += f"{key} = {value}\n"
    return list(parse_sites(text).values())


async def _run(
    server: DemoServer, configs: list[SiteConfig], archive: Path, at: datetime, **settings: Any
) -> tuple[Crawled, list[str]]:
    """Crawl at time `at`; return the run and the paths it requested (robots.txt aside)."""
    served = len(server.requests)
    server.clock = at
    result = await crawl(configs, archive, TEASERFEED_NOW=at.isoformat(), **settings)
    paths = [path for _, path, _ in server.requests[served:] if path != "/robots.txt"]
    return result, paths


def _rows(archive: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(archive) as db:
        return db.execute(sql).fetchall()


def _articles(server: DemoServer) -> set[str]:
    """Paths of the articles a full crawl stores (served, allowed, canonical targets)."""
    site = server.site
    return {
        a.path
        for a in site.ok_articles
        if not a.robots_blocked and a.path != site.special.canonical_copy
    }


@deferred_f_from_coro_f
async def test_new_teasers_fetch_only_the_new_pages_and_articles(
    server: DemoServer, tmp_path: Path
) -> None:
    archive, configs = tmp_path / "news.db", _configs(server)
    _, full_paths = await _run(server, configs, archive, T0)
    site = server.site
    listings = [p for p in full_paths if p in site.listing_paths]
    assert sorted(listings) == sorted(site.listing_paths)  # a first run pages every section
    stored = {u.removeprefix(server.url) for (u,) in _rows(archive, "select url from articles")}
    assert stored == _articles(server)

    server.clock = T0 + timedelta(minutes=10)
    new = server.publish(2)  # one on top of World, one on top of Business
    assert [a.section for a in new] == ["world", "business"]
    second, paths = await _run(server, configs, archive, T0 + timedelta(minutes=15))
    # World and Business changed: page 1 has a new teaser, page 2 (all known) ends paging;
    # Science's page changed only in its "Most read" box: same teasers, so no paging;
    # only the two new articles are fetched
    assert sorted(paths) == sorted(
        [
            "/world/",
            "/world/page/2/",
            "/business/",
            "/business/page/2/",
            "/science/",
            *(a.path for a in new),
        ]
    )
    statuses = dict(
        _rows(archive, f"select url, status from fetches where run_id = {second.run_id}")
    )
    assert statuses[server.url + "/science/"] == 200
    assert statuses[server.url + "/world/"] == 200
    with open_archive(archive, create=True) as store:
        summary = store.run_summary(second.run_id)
        assert summary["articles_new"] == 2
        assert summary["stopped_at_seen"] == 2
        assert summary["listings_unchanged"] == 1
        assert summary["requests"] == len(paths)
        assert store.article(server.url + new[0].path).title == new[0].title
    assert len(paths) < len(full_paths) / 10
    assert not [p for _, p, _ in server.requests if p.startswith("/private/")]  # robots.txt

    # three minutes later nothing changed: two 304s; Science (unchanged once) is not due yet
    third, paths = await _run(server, configs, archive, T0 + timedelta(minutes=18))
    assert sorted(paths) == ["/business/", "/world/"]
    with open_archive(archive, create=True) as store:
        assert store.run_summary(third.run_id)["listings_not_modified"] == 2
    assert third.stats.get("teaserfeed/listings_not_due") == 1
    assert _rows(archive, "select next_due from listings where url like '%/science/'") == [
        ((T0 + timedelta(minutes=20)).isoformat(),)
    ]


@deferred_f_from_coro_f
async def test_revisit_catches_an_edit_and_records_a_version(
    server: DemoServer, tmp_path: Path
) -> None:
    archive, configs = tmp_path / "news.db", _configs(server)
    await _run(server, configs, archive, T0)
    edited_path = server.site.ok_articles[7].path
    server.clock = T0 + timedelta(minutes=50)
    server.edit(edited_path)

    # 30 minutes in, no revisit is due yet
    _, paths = await _run(server, configs, archive, T0 + timedelta(minutes=30))
    assert not [p for p in paths if p not in server.site.listing_paths]

    # two hours in, the 1 h revisit of every article is due: conditional GETs, one 200
    run, paths = await _run(server, configs, archive, T0 + timedelta(hours=2))
    revisited = {p for p in paths if p not in server.site.listing_paths}
    assert revisited == _articles(server)
    fetched = dict(
        _rows(
            archive,
            f"select url, status from fetches where run_id = {run.run_id} and kind = 'article'",
        )
    )
    assert fetched.pop(server.url + edited_path) == 200
    assert set(fetched.values()) == {304}
    with open_archive(archive, create=True) as store:
        article = store.article(server.url + edited_path)
        assert article.version == 2
        assert "Correction," in article.body
        versions = store.versions(article.id)
        assert len(versions) == 2
        assert "Correction," not in versions[0].body
        assert store.run_summary(run.run_id)["revisits"] == len(revisited)
    # 304s move last_fetched on, so the 1 h step is done: three hours in, nothing is due
    _, paths = await _run(server, configs, archive, T0 + timedelta(hours=3))
    assert not [p for p in paths if p not in server.site.listing_paths]
    # the 6 h step comes due
    _, paths = await _run(server, configs, archive, T0 + timedelta(hours=7))
    assert {p for p in paths if p not in server.site.listing_paths} == _articles(server)


@deferred_f_from_coro_f
async def test_revisit_never_and_per_site_schedule(server: DemoServer, tmp_path: Path) -> None:
    archive = tmp_path / "news.db"
    configs = _configs(server, revisit='"never"')
    await _run(server, configs, archive, T0)
    _, paths = await _run(server, configs, archive, T0 + timedelta(minutes=40))
    assert not [p for p in paths if p not in server.site.listing_paths]
    # the site's own schedule replaces the default one (1 h, 6 h, …)
    half_hourly = _configs(server, revisit='["30m"]')
    _, paths = await _run(server, half_hourly, archive, T0 + timedelta(minutes=45))
    assert {p for p in paths if p not in server.site.listing_paths} == _articles(server)
    # after the last step: never again
    _, paths = await _run(server, half_hourly, archive, T0 + timedelta(days=2))
    assert not [p for p in paths if p not in server.site.listing_paths]


@deferred_f_from_coro_f
async def test_backfill_and_reset(server: DemoServer, tmp_path: Path) -> None:
    archive, configs = tmp_path / "news.db", _configs(server)
    await _run(server, configs, archive, T0)
    # backfill pages every listing to the given depth, unconditionally; nothing new to fetch
    run, paths = await _run(
        server, configs, archive, T0 + timedelta(minutes=1), TEASERFEED_BACKFILL=2
    )
    assert sorted(paths) == sorted(
        p for p in server.site.listing_paths if not p.endswith("/page/3/")
    )
    # the robots-blocked teaser on page 2 is unknown again, and again not requested
    assert _rows(
        archive,
        f"select url, error_kind from fetches where run_id = {run.run_id} and status is not 200",
    ) == [(server.url + server.site.special.robots_blocked, "robots")]
    with open_archive(archive, create=True) as store:
        assert store.reset_site("demo-news") == 9
        assert store.listing_states([server.url + "/world/"]) == {}
    # after a reset: plain GETs of the start pages, and paging stops at seen
    run, paths = await _run(server, configs, archive, T0 + timedelta(minutes=2))
    assert sorted(paths) == sorted(server.site.start_paths)
    assert run.stats.get("teaserfeed/stopped_at_seen") == 3


@deferred_f_from_coro_f
async def test_feeds_and_sitemaps_feed_the_same_path(server: DemoServer, tmp_path: Path) -> None:
    archive = tmp_path / "news.db"
    base = server.url
    text = f'[sites.demo-feeds]\nfeeds = ["{base}/rss.xml"]\nsitemaps = ["{base}/sitemap.xml"]\n'
    configs = list(parse_sites(text).values())
    _, paths = await _run(server, configs, archive, T0)
    # the sitemap index names itself and the news sitemap; the loop is not followed
    assert paths.count("/sitemap.xml") == 1
    assert paths.count("/sitemap-news.xml") == 1
    newest = sorted(
        (a for a in server.site.ok_articles if not a.robots_blocked),
        key=lambda a: a.published,
        reverse=True,
    )[:20]
    stored = {u.removeprefix(base) for (u,) in _rows(archive, "select url from articles")}
    assert {a.path for a in newest} - stored <= {server.site.special.canonical_copy}
    # the feed's title and summary are the teaser's text
    first = newest[0]
    teasers = _rows(
        archive,
        "select title, excerpt from teasers where listing_url = "
        f"'{base}/rss.xml' and url = '{base}{first.path}'",
    )
    assert teasers == [(first.title, first.lead)]
    assert _rows(archive, "select kind from listings order by kind") == [
        ("feed",),
        ("sitemap",),
        ("sitemap",),
    ]
    # a second run: the feed and the sitemaps answer 304
    _, paths = await _run(server, configs, archive, T0 + timedelta(minutes=1))
    assert sorted(paths) == ["/rss.xml", "/sitemap.xml"]


@deferred_f_from_coro_f
async def test_failing_listing_is_backed_off(tmp_path: Path) -> None:
    with serve_demo() as demo:
        configs = list(
            parse_sites(f'[sites.gone]\nstart_urls = ["{demo.url}/no-such/"]\n').values()
        )
        archive = tmp_path / "news.db"
        for minutes, expected in ((0, 1), (1, 0), (6, 1), (10, 0), (16, 1)):
            _, paths = await _run(demo, configs, archive, T0 + timedelta(minutes=minutes))
            assert len(paths) == expected, minutes
    assert _rows(archive, "select failures, last_error_kind from listings") == [(3, "http_4xx")]


def test_site_delay_concurrency_and_contact_url() -> None:
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

    from crawlers.spiders.teasers import TeaserSpider
    from tests.conftest import PROJECT_SETTINGS

    configs = list(
        parse_sites(
            '[sites.slow]\nstart_urls = ["https://slow.example.org/news/"]\n'
            'feeds = ["https://feeds.example.org/slow.xml"]\ndelay = 7.5\nconcurrency = 1\n'
            '[sites.fast]\nstart_urls = ["https://fast.example.org/"]\n'
        ).values()
    )
    settings = {**PROJECT_SETTINGS, "TEASERFEED_CONTACT_URL": "https://me.example.net/crawl"}
    # the spider is made before the crawler's settings freeze, as in a real crawl
    crawler = Crawler(TeaserSpider, Settings(settings))
    TeaserSpider.from_crawler(crawler, configs=configs)
    slot = {"delay": 7.5, "concurrency": 1}
    assert crawler.settings.getdict("DOWNLOAD_SLOTS") == {
        "slow.example.org": slot,
        "feeds.example.org": slot,
    }
    assert crawler.settings["USER_AGENT"] == "teaserfeed/0.1 (+https://me.example.net/crawl)"
    # a USER_AGENT given outright wins
    crawler = Crawler(TeaserSpider, Settings(settings))
    crawler.settings.set("USER_AGENT", "my-bot/1.0", priority="cmdline")
    TeaserSpider.from_crawler(crawler, configs=configs)
    assert crawler.settings["USER_AGENT"] == "my-bot/1.0"


@deferred_f_from_coro_f
async def test_articles_found_gone_are_not_requested_again_until_the_back_off(
    tmp_path: Path,
) -> None:
    from tests.internal_hosts import LISTING_HOST, Site, listing_page

    site = Site(LISTING_HOST)
    unknown_host = "http://news.gone.invalid/story/9"  # .invalid never resolves (RFC 2606)
    story = b"<html><body><article><h1>Story</h1>" + b"<p>Harbour news today.</p>" * 30
    for path in ("/story/1", "/story/2", "/story/3"):
        site.routes[path] = (200, {}, story + b"</article></body></html>")
    links = [("/story/1", "Story one"), ("/story/404", "A dead link"), (unknown_host, "Gone")]
    config = SiteConfig(
        name="gone",
        start_urls=(f"{site.url}/",),
        teaser="article.teaser",
        link="h2 a::attr(href)",
        title="h2",
        max_pages=1,
        allowed_domains=(LISTING_HOST, "gone.invalid"),
    )
    archive = tmp_path / "news.db"
    fast = {"RETRY_TIMES": 0, "TEASERFEED_REVISIT": "never"}

    async def run(at: datetime, extra: str) -> Crawled:
        site.routes["/"] = (200, {}, listing_page([*links, (extra, f"New {extra}")]))
        return await crawl([config], archive, TEASERFEED_NOW=at.isoformat(), **fast)

    def dns_fetches() -> list[tuple[Any, ...]]:
        sql = f"select run_id, error_kind from fetches where url = '{unknown_host}'"
        return _rows(archive, sql)

    try:
        first = await run(T0, "/story/2")
        assert dns_fetches() == [(first.run_id, "dns")]
        assert site.hits["/story/404"] == 1
        # a day later the listing shows a new story next to the same dead links: only the
        # new story is fetched, neither the 404 nor the unknown host is asked again
        second = await run(T0 + timedelta(days=1), "/story/3")
        assert site.hits["/story/3"] == 1
        assert site.hits["/story/404"] == 1
        assert dns_fetches() == [(first.run_id, "dns")]
        assert second.stats["teaserfeed/articles_gone"] == 2
        assert "teaserfeed/errors/dns" not in second.stats
        # after TEASERFEED_RETRY_GONE (30 days) each is tried once more
        third = await run(T0 + timedelta(days=31), "/story/2")
        assert site.hits["/story/404"] == 2
        assert dns_fetches() == [(first.run_id, "dns"), (third.run_id, "dns")]
    finally:
        site.close()
