"""The full path on the demo site: listings → teasers → articles → one deduplicated archive."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from archive import open_archive
from crawlers.demo import (
    APPEAL_TEXT,
    NEWSLETTER_HEADING,
    NEWSLETTER_TEXT,
    SHARE_TEXT,
    DemoServer,
    DemoSite,
)
from crawlers.sites import SiteConfig
from tests.conftest import Crawled, crawl, crawl_blocking


@pytest.fixture(scope="module")
def first(
    demo_server: DemoServer,
    demo_configs: list[SiteConfig],
    tmp_path_factory: pytest.TempPathFactory,
) -> Crawled:
    before = len(demo_server.requests)
    crawled = crawl_blocking(
        demo_configs, tmp_path_factory.mktemp("crawl") / "news.db", TEASERFEED_WORKERS=2
    )
    crawled.requests = demo_server.requests[before:]
    return crawled


def _rows(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _count(path: Path, table: str) -> int:
    return int(_rows(path, f"select count(*) from {table}")[0][0])


def test_exact_counts(first: Crawled, demo_site: DemoSite) -> None:
    # 108 teasers on 9 listing pages; the cross-listed article is linked three times (world,
    # business, science with a utm query), the canonical copy folds into its target, one link
    # is a 404 and one is disallowed by robots.txt: 108 - 2 - 1 - 1 - 1 = 103 articles.
    assert len(demo_site.teasers) == 108
    assert len(demo_site.listing_paths) == 9
    assert _count(first.archive, "articles") == 103
    assert _count(first.archive, "teasers") == 108
    expected = len({t.article_path for t in demo_site.teasers}) - 3  # canonical, 404, robots
    assert expected == 103
    with open_archive(first.archive, create=True) as archive:
        summary = archive.run_summary(first.run_id)
    assert summary["status"] == "finished"
    assert summary["listing_pages"] == 9
    assert summary["teasers_seen"] == 108
    assert summary["teasers_new"] == 108
    assert summary["articles_new"] == 103
    assert summary["duplicates_merged"] == 2
    assert summary["errors"] == {"http_4xx": 1, "robots": 1}


def test_cross_listed_article_is_one_row_with_three_teasers(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    path = demo_site.special.cross_listed
    with open_archive(first.archive, create=True) as archive:
        article = archive.article(demo_server.url + path + "?utm_source=x")
    assert article.url == demo_server.url + path
    listings = sorted(t.listing_url.removeprefix(demo_server.url) for t in article.teasers)
    assert listings == ["/business/", "/science/", "/world/"]
    science = next(t for t in article.teasers if "/science/" in t.listing_url)
    assert "utm_source=newsletter" in science.url


def test_canonical_copy_folds_into_target(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    copy, target = demo_site.special.canonical_copy, demo_site.special.canonical_target
    with open_archive(first.archive, create=True) as archive:
        via_copy = archive.article(demo_server.url + copy)
        via_target = archive.article(demo_server.url + target)
    assert via_copy.id == via_target.id
    assert via_copy.url == demo_server.url + target
    assert len(via_copy.teasers) == 2


def test_article_body_is_the_text_without_boilerplate(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    with open_archive(first.archive, create=True) as archive:
        stored = {a.url: a for a in archive.articles()}
        kaz = demo_site.article(demo_site.special.kazakhstan)
        article = stored[demo_server.url + kaz.path]
        assert article.title == kaz.title
        assert article.lead == kaz.lead
        assert article.body == kaz.body_text
        assert article.authors == [kaz.author]
        assert (article.published, article.published_from) == (kaz.published, "jsonld")
        assert article.language == "en"
        for truth in demo_site.ok_articles:
            if truth.robots_blocked or truth.canonical:
                continue
            body = stored[demo_server.url + truth.path].body
            assert body == truth.body_text, truth.path
            for junk in (APPEAL_TEXT, NEWSLETTER_TEXT, SHARE_TEXT, truth.caption, truth.credit):
                assert junk not in body, (truth.path, junk)
            assert "Read more" not in body
        removed = {r[0] for r in _rows(first.archive, "select distinct rule from removed")}
        assert {"donation-appeal", "newsletter", "related", "share"} <= removed


def test_images_keep_caption_and_credit_apart(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    truth = demo_site.article(demo_site.special.kazakhstan)
    with open_archive(first.archive, create=True) as archive:
        article = archive.article(demo_server.url + truth.path)
    assert [(i["caption"], i["credit"]) for i in article.images][:1] == [
        (truth.caption, truth.credit)
    ]


def test_dates_record_where_they_came_from(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    with open_archive(first.archive, create=True) as archive:
        meta_only = archive.article(demo_server.url + demo_site.special.no_jsonld_meta_only)
        no_meta = archive.article(demo_server.url + demo_site.special.no_jsonld_no_meta)
    truth = demo_site.article(demo_site.special.no_jsonld_meta_only)
    assert (meta_only.published, meta_only.published_from) == (truth.published, "meta")
    truth = demo_site.article(demo_site.special.no_jsonld_no_meta)
    assert (no_meta.published, no_meta.published_from) == (truth.published, "time")


def test_non_utf8_page_is_decoded(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    truth = demo_site.article(demo_site.special.non_utf8)
    assert truth.charset == "windows-1252"
    with open_archive(first.archive, create=True) as archive:
        article = archive.article(demo_server.url + truth.path)
    assert article.title == truth.title
    assert article.body == truth.body_text
    assert any(ch in article.body + article.title for ch in "éüç€")


def test_failures_are_recorded_as_fetches(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    rows = _rows(
        first.archive,
        "select url, status, error_kind from fetches where error_kind is not null order by url",
    )
    assert sorted(rows) == sorted(
        [
            (demo_server.url + demo_site.special.missing, 404, "http_4xx"),
            (demo_server.url + demo_site.special.robots_blocked, None, "robots"),
        ]
    )


def test_search_ranks_the_known_article_first(
    first: Crawled, demo_server: DemoServer, demo_site: DemoSite
) -> None:
    with open_archive(first.archive, create=True) as archive:
        for term, path in demo_site.unique_terms.items():
            hits = archive.search(term)
            assert hits, term
            assert hits[0].url == demo_server.url + demo_site.article(path).path, term
            assert len(hits) == 1, term


def test_archive_is_wal_and_consistent(first: Crawled) -> None:
    assert _rows(first.archive, "pragma journal_mode") == [("wal",)]
    assert _rows(first.archive, "pragma integrity_check") == [("ok",)]
    _rows(first.archive, "insert into articles_fts(articles_fts) values('integrity-check')")


@deferred_f_from_coro_f
async def test_second_crawl_is_a_steady_state_run(
    first: Crawled, demo_configs: list[SiteConfig], demo_server: DemoServer, demo_site: DemoSite
) -> None:
    before = {t: _count(first.archive, t) for t in ("articles", "teasers", "article_urls")}
    served = len(demo_server.requests)
    again = await crawl(demo_configs, first.archive)
    requests = demo_server.requests[served:]
    after = {t: _count(first.archive, t) for t in ("articles", "teasers", "article_urls")}
    assert after == before
    # nothing changed on the site: robots.txt and one conditional GET per section, all 304
    assert sorted(path for _, path, _ in requests) == sorted(
        ["/robots.txt", *demo_site.start_paths]
    )
    statuses = _rows(
        first.archive, f"select url, status from fetches where run_id = {again.run_id}"
    )
    assert sorted(statuses) == sorted((demo_server.url + p, 304) for p in demo_site.start_paths)
    with open_archive(first.archive, create=True) as archive:
        summary = archive.run_summary(again.run_id)
    assert summary["articles_new"] == 0
    assert summary["teasers_seen"] == 0
    assert again.stats.get("teaserfeed/listings_not_modified") == 3
    assert _rows(first.archive, "select min(times_seen), max(times_seen) from teasers") == [(1, 1)]


def test_crawl_is_polite(first: Crawled, demo_site: DemoSite) -> None:
    requests = first.requests
    paths = [path for _, path, _ in requests]
    assert "/robots.txt" in paths
    assert not [p for p in paths if p.startswith("/private/")]
    assert not [p for p in paths if "utm_" in p]  # tracking variants are not fetched
    cross = demo_site.special.cross_listed
    assert paths.count(cross) == 1
    agents = {agent for _, _, agent in requests}
    assert len(agents) == 1
    assert agents.pop().startswith("teaserfeed/")


def test_removed_boilerplate_is_audited_with_readable_text(first: Crawled) -> None:
    rows = _rows(first.archive, "select rule, text from removed where rule = 'newsletter'")
    assert len(rows) == 103
    assert all(str(text).startswith(f"{NEWSLETTER_HEADING} {NEWSLETTER_TEXT}") for _, text in rows)
    appeals = _rows(first.archive, "select text from removed where rule = 'donation-appeal'")
    assert all(str(text).startswith(APPEAL_TEXT) for (text,) in appeals)


def _stored(path: Path, run_id: int, skip: str) -> list[tuple[object, ...]]:
    """What a crawl archived of each article, by URL (text, metadata, images, removed), and
    the run's fetch rows; none of URL `skip`."""
    articles = (
        "select url, title, lead, body, authors, published, published_from, language, "
        "word_count, canonical_url from articles"
    )
    images = (
        "select a.url, i.url, i.caption, i.credit from images i "
        "join articles a on a.id = i.article_id"
    )
    removed = "select a.url, r.rule, r.text from removed r join articles a on a.id = r.article_id"
    fetches = "select url, kind, status, error_kind, error from fetches where run_id = ?"
    rows = [row for sql in (articles, images, removed) for row in sorted(_rows(path, sql))]
    rows += sorted(_rows(path, fetches, run_id))
    return [row for row in rows if row[0] != skip]


@deferred_f_from_coro_f
async def test_inline_extraction_archives_what_the_workers_archive(
    first: Crawled,
    demo_configs: list[SiteConfig],
    demo_server: DemoServer,
    demo_site: DemoSite,
    tmp_path: Path,
) -> None:
    # the canonical copy and its target fold into one row: which text it keeps, and whether
    # the target is fetched at all, depends on which page came in first, in any crawl
    skip = demo_server.url + demo_site.special.canonical_target
    assert first.stats["teaserfeed/extraction_workers"] == 2
    inline = await crawl(demo_configs, tmp_path / "inline.db", TEASERFEED_WORKERS=0)
    assert inline.stats["teaserfeed/extraction_workers"] == 0
    for crawled in (first, inline):
        assert "teaserfeed/extraction_worker_lost" not in crawled.stats
    stored = _stored(first.archive, first.run_id, skip)
    assert _stored(inline.archive, inline.run_id, skip) == stored
    assert len(stored) > 2 * 103
