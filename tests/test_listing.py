"""Teasers and next pages from listing pages, in selector mode and automatic mode."""

from __future__ import annotations

from crawlers.extract.listing import find_next_page, find_teasers
from crawlers.sites import SiteConfig, parse_sites

BASE = "https://news.example.org/world/"

LISTING = """<!doctype html><html><head><title>World</title></head><body>
<header><nav><a href="/world/">World</a> <a href="/tech/">Tech</a> <a href="/about/">About us</a></nav></header>
<main>
  <div class="card">
    <h2><a href="/2026/11/03/river-ferry-service-resumes/">River ferry service resumes after repairs</a></h2>
    <p class="lead">The ferry between the two harbour districts runs again from Monday … Read more</p>
    <time datetime="2026-11-03T07:00:00+01:00">3 Nov</time>
    <img data-src="/img/ferry.jpg" alt="ferry">
    <a class="more" href="/2026/11/03/river-ferry-service-resumes/">Read more</a>
  </div>
  <div class="card">
    <h2><a href="/2026/11/02/library-opens-late/?utm_source=home#top">Library opens late on Thursdays</a></h2>
    <p class="lead">Longer opening hours start next week.</p>
    <img src="https://cdn.example.org/lib.jpg">
  </div>
  <div class="card">
    <h2><a href="/2026/11/01/council-votes-on-budget/">Council votes on budget</a></h2>
    <p class="lead">A narrow majority is expected.</p>
  </div>
  <div class="card"><h2><a href="javascript:void(0)">Broken teaser</a></h2></div>
  <nav class="pagination"><a href="/world/">1</a> <a href="/world/page/2/">2</a>
  <a href="/world/page/2/" class="older">Older posts</a></nav>
</main>
<aside class="sidebar"><h3>Most read</h3>
  <ul><li><h4><a href="/2026/10/30/old-bridge-closed/">Old bridge closed</a></h4></li></ul>
</aside>
<footer><a href="/imprint/">Imprint</a></footer>
</body></html>"""

CONFIG = parse_sites(
    """
[sites.ex]
start_urls = ["https://news.example.org/world/"]
teaser = "div.card"
title = "h2"
excerpt = "p.lead"
date = "time::attr(datetime)"
next_page = "a.older::attr(href)"
"""
)["ex"]


def test_selector_mode_reads_every_field() -> None:
    teasers = find_teasers(LISTING, BASE, CONFIG)
    assert [t.url for t in teasers] == [
        "https://news.example.org/2026/11/03/river-ferry-service-resumes/",
        "https://news.example.org/2026/11/02/library-opens-late/?utm_source=home#top",
        "https://news.example.org/2026/11/01/council-votes-on-budget/",
    ]
    first = teasers[0]
    assert first.title == "River ferry service resumes after repairs"
    assert first.excerpt == "The ferry between the two harbour districts runs again from Monday"
    assert first.date_text == "2026-11-03T07:00:00+01:00"
    assert first.image == "https://news.example.org/img/ferry.jpg"
    assert first.has_read_more
    assert [t.position for t in teasers] == [1, 2, 3]
    assert teasers[1].image == "https://cdn.example.org/lib.jpg"
    assert not teasers[1].has_read_more
    assert teasers[2].date_text is None
    assert all(t.region == "main" for t in teasers)


def test_url_pattern_filters_teasers() -> None:
    config = parse_sites(
        '[sites.ex]\nstart_urls = ["https://news.example.org/"]\nteaser = "div.card"\n'
        'article_url_pattern = "/2026/11/0[23]/"'
    )["ex"]
    urls = [t.url for t in find_teasers(LISTING, BASE, config)]
    assert len(urls) == 2
    assert all("/2026/11/01/" not in u for u in urls)


def test_automatic_mode_finds_teasers_and_marks_sidebar_secondary() -> None:
    teasers = find_teasers(LISTING, BASE)
    main = [t for t in teasers if t.region == "main"]
    secondary = [t for t in teasers if t.region == "secondary"]
    assert [t.title for t in main] == [
        "River ferry service resumes after repairs",
        "Library opens late on Thursdays",
        "Council votes on budget",
    ]
    assert [t.url for t in secondary] == ["https://news.example.org/2026/10/30/old-bridge-closed/"]
    assert main[0].excerpt == "The ferry between the two harbour districts runs again from Monday"


def test_next_page_by_selector_rel_and_text() -> None:
    assert find_next_page(LISTING, BASE, CONFIG) == "https://news.example.org/world/page/2/"
    assert find_next_page(LISTING, BASE) == "https://news.example.org/world/page/2/"
    rel = '<html><head><link rel="next" href="?page=3"></head><body></body></html>'
    assert find_next_page(rel, "https://x.org/list?page=2") == "https://x.org/list?page=3"
    german = '<html><body><a href="/seite/2">Ältere Beiträge</a></body></html>'
    assert find_next_page(german, "https://x.de/") == "https://x.de/seite/2"
    assert find_next_page("<html><body><p>end</p></body></html>", BASE) is None


def test_garbage_never_raises() -> None:
    for junk in ["", "\x00\x00", "<<<>>>", "<a href='http://[::1'>x</a>" * 3, b"\xff\xfe\x00<h2>"]:
        assert find_teasers(junk, BASE) == []
        assert find_next_page(junk, BASE) is None


def test_mode_auto_detects_teasers_even_with_a_teaser_selector() -> None:
    config = SiteConfig(name="ex", start_urls=(BASE,), teaser="div.nothing", mode="auto")
    assert find_teasers(LISTING, BASE, config) == find_teasers(LISTING, BASE)


def test_selector_mode_reads_fields_without_selectors_like_automatic_mode() -> None:
    config = parse_sites(
        '[sites.ex]\nstart_urls = ["https://news.example.org/"]\nteaser = "div.card"'
    )["ex"]
    first = find_teasers(LISTING, BASE, config)[0]
    auto = find_teasers(LISTING, BASE)[0]
    assert first.url == auto.url
    assert (first.title, first.excerpt, first.image, first.date_text, first.has_read_more) == (
        "River ferry service resumes after repairs",
        "The ferry between the two harbour districts runs again from Monday",
        "https://news.example.org/img/ferry.jpg",
        "3 Nov",
        True,
    )
    assert (auto.title, auto.excerpt, auto.image, auto.date_text) == (
        first.title,
        first.excerpt,
        first.image,
        first.date_text,
    )
