"""RSS, Atom and sitemaps as teasers; entity bombs and garbage never expand or raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.extract.feeds import parse_feed

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
BASE = "https://news.example.org/feed.xml"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_rss_items_become_teasers() -> None:
    result = parse_feed(load("rss.xml"), BASE)
    assert result.kind == "rss"
    assert [(t.url, t.title, t.excerpt) for t in result.teasers] == [
        ("https://news.example.org/2026/11/03/ferry/", "Ferry service resumes after repairs",
         "The ferry runs again from Monday."),
        ("https://news.example.org/2026/11/02/library/", "Library opens late",
         "Longer hours start next week."),
    ]  # fmt: skip
    first = result.teasers[0]
    assert first.image == "https://cdn.example.org/ferry.jpg"
    assert first.date_text == "Tue, 03 Nov 2026 07:00:00 +0100"
    assert [t.position for t in result.teasers] == [1, 2]


def test_atom_entries_use_the_alternate_link() -> None:
    result = parse_feed(load("atom.xml"), BASE)
    assert result.kind == "atom"
    [teaser] = result.teasers
    assert teaser.url == "https://news.example.org/2026/11/01/budget/"
    assert teaser.excerpt == "A narrow majority is expected."
    assert teaser.date_text == "2026-11-01T09:00:00Z"


def test_news_sitemap_titles_dates_and_images() -> None:
    result = parse_feed(load("news-sitemap.xml"), "https://news.example.org/news-sitemap.xml")
    assert result.kind == "urlset"
    news, about = result.teasers
    assert news.title == "Glacier survey finds faster retreat"
    assert news.date_text == "2026-11-04T09:15:00+01:00"
    assert news.image == "https://cdn.example.org/glacier.jpg"
    assert (about.url, about.title, about.date_text) == (
        "https://news.example.org/about/",
        None,
        "2026-01-01",
    )


def test_sitemap_index_lists_children_but_not_itself() -> None:
    url = "https://news.example.org/sitemap-index.xml"
    result = parse_feed(load("sitemap-index.xml"), url)
    assert result.kind == "sitemapindex"
    assert result.sitemaps == ["https://news.example.org/news-sitemap.xml"]
    assert result.teasers == []


def test_entity_bomb_is_not_expanded() -> None:
    result = parse_feed(load("entity-bomb.xml"), BASE)
    # the DOCTYPE is dropped before parsing: the entry survives, its title unexpanded
    assert [t.url for t in result.teasers] == ["https://news.example.org/bomb/"]
    assert all(len(t.title or "") < 100 for t in result.teasers)


@pytest.mark.parametrize(
    "junk", [b"", b"\x00\xff", b"<html><body>not a feed</body></html>", b"<rss><channel><item>",
             "<rss><channel><item><link>javascript:alert(1)</link></item></channel></rss>"],
)  # fmt: skip
def test_garbage_returns_no_teasers(junk: bytes | str) -> None:
    assert parse_feed(junk, BASE).teasers == []
