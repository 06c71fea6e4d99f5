"""`parse_page`, the one way a page is read, and the never-raises guard of listing extraction
in the crawl: a detector that fails costs the page's teasers, not the listing's fetch row."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

import crawlers.extract.listing
from crawlers.extract.article import extract_article, extract_from_page, extract_from_tree
from crawlers.extract.page import (
    ATTRIBUTES_CUT,
    SIZE_LIMIT_RULE,
    bound_page,
    parse_page,
)
from crawlers.extract.text import MAX_PAGE_ELEMENTS
from crawlers.items import ArticleItem, FetchItem, TeaserItem
from crawlers.sites import SiteConfig
from crawlers.spiders.teasers import TeaserSpider
from tests.conftest import PROJECT_SETTINGS, drained

URL = "https://harbour.example.org/news/"
LISTING = (
    "<html><body><main>"
    + "".join(
        f'<article><h2><a href="/2024/05/story-{n}">Story number {n} of the harbour news</a>'
        f"</h2><p>What happened at the harbour today, part {n} of the series.</p></article>"
        for n in range(6)
    )
    + '</main><a rel="next" href="/news/page/2/">Next page</a></body></html>'
)


def test_a_page_is_parsed_as_scrapy_parses_it() -> None:
    response = HtmlResponse(url=URL, body=LISTING.encode("utf-8"))
    page = parse_page(response.text, URL)
    assert page.parsed
    assert page.removed == []
    assert page.errors == []
    assert page.selector.get() == response.selector.get()
    # bytes are decoded as Scrapy decodes them; NULs go as in parsel
    cp1251 = '<html><head><meta charset="windows-1251"></head><body><p>Привет</p></body></html>'
    assert parse_page(cp1251.encode("cp1251"), URL).root.text_content() == "Привет"
    assert parse_page(b"<p>one\x00two</p>", URL).root.text_content() == "onetwo"


def test_a_page_records_its_cuts_in_the_order_extraction_always_gave() -> None:
    tag = "<article " + " ".join(f"d{i}=1" for i in range(5_000)) + ">"
    long = "<html><body>" + tag + "<p>Some words in a paragraph.</p>" * (MAX_PAGE_ELEMENTS + 5)
    page = parse_page(long, URL)
    assert [r.rule for r in page.removed] == [SIZE_LIMIT_RULE, ATTRIBUTES_CUT.rule]
    assert page.removed[1] == ATTRIBUTES_CUT
    article = extract_from_page(page)
    assert article.removed[-2:] == page.removed
    assert extract_article(long, URL).removed == article.removed


def test_a_long_tag_with_few_attributes_is_not_cut() -> None:
    # SVG paths, srcsets and view state make tags of thousands of characters: only a tag
    # with MAX_TAG_ATTRIBUTES attributes is cut (and recorded as cut)
    path = '<svg><path d="' + "M1 2L3 4 " * 600 + '"/></svg>'
    page = parse_page(f"<html><body>{path}<p>Text</p></body></html>", URL)
    assert page.removed == []
    assert len(page.root.xpath("//path/@d")[0]) > 5_000
    crowded = "<p " + " ".join(f"d{i}=1" for i in range(1_200)) + ">Text</p>"
    assert parse_page(f"<html><body>{crowded}</body></html>", URL).removed == [ATTRIBUTES_CUT]
    assert parse_page(crowded.replace(" d", "d", 300), URL).removed == []


@pytest.mark.parametrize("html", ["", "   ", b"", b"\x00\x00"])
def test_an_empty_page_is_an_empty_document(html: str | bytes) -> None:
    # before: extract_article gave up on it ("Document is empty") while the crawl read
    # Scrapy's empty document; now both read the empty document (a URL date, no body)
    page = parse_page(html, URL + "2024/05/03/story")
    assert page.parsed
    assert page.root.tag == "html"
    article = extract_article(html, URL + "2024/05/03/story")
    assert (article.body, article.published, article.published_from) == ("", "2024-05-03", "url")
    crawl = HtmlResponse(url=URL + "2024/05/03/story", body=b"")
    assert extract_from_tree(crawl.selector.root, crawl.url) == article


def test_bound_page_cuts_a_tree_parsed_elsewhere() -> None:
    response = HtmlResponse(url=URL, body=b"<p>x\x0by</p>" * (MAX_PAGE_ELEMENTS + 5))
    page = bound_page(response.selector.root, URL)
    assert [r.rule for r in page.removed] == [SIZE_LIMIT_RULE]
    assert "\x0b" not in page.root.text_content()


# ---- the guard in the crawl ----------------------------------------------------------


def _spider() -> TeaserSpider:
    config = SiteConfig(name="harbour", start_urls=(URL,))
    # inline: the detectors these tests break are this process's
    crawler = get_crawler(TeaserSpider, {**PROJECT_SETTINGS, "TEASERFEED_WORKERS": 0})
    spider: TeaserSpider = TeaserSpider.from_crawler(crawler, configs=[config])
    return spider


def _listing(spider: TeaserSpider) -> list[Any]:
    request = Request(URL, meta={"tf_site": "harbour", "tf_kind": "listing", "tf_page": 1})
    response = HtmlResponse(url=URL, body=LISTING.encode("utf-8"), request=request)
    return drained(spider.parse_listing(response))


def _boom(*args: object, **kwargs: object) -> Any:
    raise RecursionError("maximum recursion depth exceeded")


def test_a_failing_teaser_detector_still_records_the_listing_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # before: the spider called the detector unguarded, so the exception ended the callback
    # before the listing's fetch row was yielded (no row, no listing state, no next page)
    spider = _spider()
    monkeypatch.setattr(crawlers.extract.listing, "detect", _boom)
    out = _listing(spider)
    fetch = out[0]
    assert isinstance(fetch, FetchItem)
    assert (fetch.kind, fetch.url, fetch.teasers, fetch.error_kind) == ("listing", URL, 0, None)
    assert (
        fetch.error == "teaser detection failed: RecursionError: maximum recursion depth exceeded"
    )
    assert not any(isinstance(item, TeaserItem) for item in out)
    # the callback ran to its end (a listing without teasers pages no further)
    assert not any(isinstance(item, Request) for item in out)
    assert spider.crawler.stats is not None
    assert spider.crawler.stats.get_value("teaserfeed/listing_pages") == 1
    assert spider.crawler.stats.get_value("teaserfeed/extraction_errors") == 1


def test_a_failing_next_page_detector_keeps_the_teasers(monkeypatch: pytest.MonkeyPatch) -> None:
    spider = _spider()
    monkeypatch.setattr(crawlers.extract.listing, "detect_next_page", _boom)
    out = _listing(spider)
    fetch = out[0]
    assert isinstance(fetch, FetchItem)
    assert (fetch.teasers, fetch.error) == (6, None)
    assert sum(isinstance(item, TeaserItem) for item in out) == 6
    requests = [r for r in out if isinstance(r, Request)]
    assert len(requests) == 6  # the six articles, and no next page
    assert all(r.meta["tf_kind"] == "article" for r in requests)
    assert spider.crawler.stats is not None
    assert spider.crawler.stats.get_value("teaserfeed/extraction_errors") == 1


def test_the_article_records_its_own_attribute_cut() -> None:
    # before: the spider appended the `limit:attributes` row to the engine's article itself
    spider = _spider()
    tag = '<article class="x" ' + " ".join(f"d{i}=1" for i in range(5_000)) + ">"
    body = f"<html><body>{tag}<h1>Harbour</h1>{'<p>The harbour wall was rebuilt.</p>' * 8}"
    request = Request(URL + "a", meta={"tf_site": "harbour", "tf_kind": "article"})
    response = HtmlResponse(url=URL + "a", body=body.encode(), request=request)
    fetch, article = drained(spider.parse_article(response))
    assert isinstance(fetch, FetchItem)
    assert fetch.error is None
    assert isinstance(article, ArticleItem)
    assert [r for r in article.removed if r.rule.startswith("limit:")] == [ATTRIBUTES_CUT]
