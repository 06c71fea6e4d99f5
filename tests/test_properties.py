"""Hostile input for the pure functions: URL keys, teaser and article extraction, search.

Property tests (hypothesis), derandomized with bounded examples so CI runs the same cases
every time; every bug they found is pinned as an @example next to the property.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pytest
from courlan.clean import decode_punycode
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archive import (
    Archive,
    InvalidFilterError,
    SearchHit,
    SearchSyntaxError,
    clean_url,
    normalize_url,
    open_archive,
)
from crawlers.demo import build_demo_site
from crawlers.extract.article import SIZE_LIMIT_RULE, extract_article, extract_from_tree
from crawlers.extract.feeds import parse_feed
from crawlers.extract.listing import find_next_page, find_teasers
from crawlers.extract.text import (
    MAX_PAGE_ELEMENTS,
    MAX_PAGE_TEXT,
    MAX_TAG_ATTRIBUTES,
    absolute_http_url,
    bound_tree,
    has_oversized_tags,
    limit_attributes,
)

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FEW = settings(PROPERTY, max_examples=60)

# ---- strategies -------------------------------------------------------------------------

_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)
hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.sampled_from(
        ["xn--bcher-kva.de", "XN--BCHER-KVA.DE", "Example.COM.", "bücher.de", "ß.de", "127.0.0.1"]
    ),
)
ports = st.one_of(
    st.just(""),
    st.integers(0, 70000).map(lambda p: f":{p}"),
    st.sampled_from([":", ":80", ":443", ":0080", ":x"]),
)
_url_pieces = st.sampled_from(
    [
        "/", "a", "..", ".", "%2e", "%2F", "%41", "%", "%zz", "%a", "%30", "?", "&", "=", "#",
        ";jsessionid=AB12", "utm_source=x", "fbclid=1", "page=2", "é", " ", "\t", "\n", "@",
        ":", "[", "]", "\x00", "中文", "+",
    ]
)  # fmt: skip
tails = st.one_of(st.text(max_size=30), st.lists(_url_pieces, max_size=14).map("".join))
http_urls = st.builds(
    lambda scheme, user, host, port, tail: f"{scheme}://{user}{host}{port}/{tail}",
    st.sampled_from(["http", "https", "HTTP", "hTTps"]),
    st.sampled_from(["", "user@", "u:p@"]),
    hosts,
    ports,
    tails,
)
any_urls = st.one_of(st.text(), http_urls)

_TAGS = [
    "a", "div", "p", "h1", "h2", "h3", "article", "section", "li", "ul", "img", "time",
    "span", "script", "style", "title", "head", "body", "html", "meta", "link", "base",
    "nav", "aside", "footer", "header", "figure", "figcaption", "table", "tr", "td", "br",
    "noscript", "template", "svg", "iframe", "form", "main",
]  # fmt: skip
_ATTRIBUTES = [
    "href", "src", "class", "id", "rel", "datetime", "content", "property", "name", "type",
    "hidden", "style", "srcset", "alt", "lang", "charset", "itemprop", "title", "data-src",
]  # fmt: skip
_VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "next", "/a/b", "http://x.org/2024/01/02/story-of-things", "#", "javascript:x",
            "application/ld+json", "canonical", "og:title", "article:published_time",
            "2024-01-02T10:00:00Z", "display:none", "teaser", "//evil", "http://[::1",
            "http://%zz", "\x00", "..", "?p=2", "/page/2/", "&amp;", "http://a.b:99999/x",
        ]
    ),
)  # fmt: skip
_SHARDS = [
    "<", ">", "</", "<!--", "-->", "<![CDATA[", "]]>", "&", "&#0;", "&#x110000;", "\x00",
    "\x0b", "\x1f", "\ufffd", "<?xml", "<!DOCTYPE html>", "\r\n", '{"@type":"NewsArticle",',
    '"headline":"x"}', "}",
]  # fmt: skip


@st.composite
def markup_soup(
    draw: st.DrawFn,
    tags: Sequence[str],
    shards: Sequence[str],
    attributes: st.SearchStrategy[str],
    width: int,
    max_depth: int,
    text_size: int,
    depth: int = 0,
) -> str:
    """Random, often broken, markup: nested tags with hostile attributes, text and shards."""
    parts = []
    for _ in range(draw(st.integers(0, width if depth < max_depth else 0))):
        kind = draw(st.integers(0, 4))
        if kind == 0:
            parts.append(draw(st.text(max_size=text_size)))
        elif kind == 1:
            parts.append(draw(st.sampled_from(shards)))
        else:
            tag = draw(st.sampled_from(tags))
            attrs = draw(attributes)
            inner = draw(
                markup_soup(tags, shards, attributes, width, max_depth, text_size, depth + 1)
            )
            end = f"</{tag}>" if draw(st.booleans()) else ""
            parts.append(f"<{tag}{attrs}>{inner}{end}")
    return "".join(parts)


def tag_soup() -> st.SearchStrategy[str]:
    """Random, often broken, HTML."""
    attributes = st.lists(st.tuples(st.sampled_from(_ATTRIBUTES), _VALUES), max_size=3).map(
        lambda pairs: "".join(f' {name}="{value}"' for name, value in pairs)
    )
    return markup_soup(_TAGS, _SHARDS, attributes, width=5, max_depth=3, text_size=30)


html_inputs = st.one_of(
    tag_soup(),
    st.text(),
    st.binary(max_size=300),
    tag_soup().map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.tuples(tag_soup(), st.binary(max_size=8)).map(lambda t: t[0].encode() + t[1]),
)
page_urls = st.sampled_from(
    [
        "http://example.org/news/",
        "https://example.org/2024/01/list?page=1",
        "http://[::1]/",
        "http://ex%41mple.org/",
        "not a url",
        "",
        "http://x.org/a b",
    ]
)


@contextmanager
def no_swallowed_failures() -> Iterator[list[str]]:
    """Fail when an extractor hid an internal exception behind its never-raise guard."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    loggers = [
        logging.getLogger(name) for name in ("crawlers.extract.listing", "crawlers.extract.article")
    ]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    failed = [m for m in messages if "failed" in m]
    assert not failed, failed


# ---- URL keys ---------------------------------------------------------------------------


@PROPERTY
@given(any_urls)
@example("HTTP:// #")  # clean_url gave "http:// ", then "http://" when cleaned again
@example("http://0/? &")  # a blank query parameter left "?" behind, dropped on a 2nd pass
@example("http://0/%a%30")  # "%a" + "%30" decoded to the escape "%a0", then to "%A0"
@example("http://x.org/%%341")  # the same through "%" + "%34" + "1"
def test_url_keys_are_idempotent_and_never_raise(url: str) -> None:
    key = normalize_url(url)
    assert normalize_url(key) == key
    fetch = clean_url(url)
    assert clean_url(fetch) == fetch
    assert isinstance(key, str)
    assert isinstance(fetch, str)


@PROPERTY
@given(http_urls)
@example("http://xn--bcher-kva.de/a")
@example("HTTP://Example.COM.:0080/a/../b?utm_source=x#top")
def test_url_keys_keep_the_host(url: str) -> None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:  # not a URL urllib can split (e.g. "http://x[/"): nothing to keep
        return
    if not host or not host.rstrip("."):
        return
    key = normalize_url(url)
    assert urlsplit(key).hostname == decode_punycode(host.rstrip(".")).lower()
    assert urlsplit(clean_url(url)).hostname == host
    assert key.startswith(("http://", "https://"))


def test_url_key_examples() -> None:
    assert normalize_url("http://x.org/%a%30") == "http://x.org/%25a0"
    assert normalize_url("HTTP://Example.COM.:80/a/./b/../c/?utm_source=n&b=2&a=1#f") == (
        "http://example.com/a/c?a=1&b=2"
    )
    assert clean_url("http://x.org/p? &utm_medium=e&id=3") == "http://x.org/p?id=3"


@PROPERTY
@given(st.one_of(st.none(), st.text(), http_urls), page_urls)
def test_absolute_http_url_is_none_or_an_http_url(href: str | None, base: str) -> None:
    url = absolute_http_url(href, base)
    if url is not None:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https")
        assert parts.hostname


# ---- extraction -------------------------------------------------------------------------


@PROPERTY
@given(html_inputs, page_urls)
@example('<img hidden="">\x1f', "http://example.org/news/")  # lxml refused the control char
@example("<p>a\x00b</p>" * 3, "http://example.org/news/")
@example(b"\xff\xfe<\x00h\x001\x00>", "http://example.org/news/")
@example("", "")
def test_extractors_never_raise_on_hostile_html(html: str | bytes, url: str) -> None:
    with no_swallowed_failures():
        teasers = find_teasers(html, url)
        next_page = find_next_page(html, url)
        article = extract_article(html, url)
    for teaser in teasers:
        assert urlsplit(teaser.url).scheme in ("http", "https")
    assert [t.position for t in teasers] == list(range(1, len(teasers) + 1))
    assert next_page is None or urlsplit(next_page).scheme in ("http", "https")
    assert article.url == url
    assert article.word_count == len(article.body.split())


@functools.cache
def _demo_pages() -> tuple[tuple[str, bytes], ...]:
    site = build_demo_site()
    paths = [site.ok_articles[0].path, site.ok_articles[-1].path, site.listing_paths[0]]
    base = "http://demo.example"
    return tuple((base + path, site.render(path, base) or b"") for path in paths)


_edits = st.lists(
    st.tuples(
        st.sampled_from(["cut", "insert", "delete"]),
        st.floats(0, 1),
        st.sampled_from(
            [b"\x00", b"\xff\xfe", b"<", b"</div>", b"<a href='", b"\xed\xa0\x80", b"-->"]
        ),
    ),
    min_size=1,
    max_size=6,
)


@FEW
@given(st.integers(0, 2), _edits)
def test_extractors_never_raise_on_edited_real_pages(
    which: int, edits: list[tuple[str, float, bytes]]
) -> None:
    url, html = _demo_pages()[which]
    for action, where, junk in edits:
        at = int(where * len(html))
        if action == "cut":
            html = html[:at]
        elif action == "insert":
            html = html[:at] + junk + html[at:]
        else:
            html = html[:at] + html[at + 200 :]
    with no_swallowed_failures():
        find_teasers(html, url)
        find_next_page(html, url)
        article = extract_article(html, url)
    assert article.url == url


_ARTICLE = (
    "<html><head><title>Harbour wall reopens | Demo</title></head><body><article>"
    "<h1>Harbour wall reopens</h1><p>The old harbour wall reopened on Monday after eight "
    "months of work by the city and its engineers.\x1f</p>"
    '<div class="newsletter">Sign up for our newsletter today</div>\x0b'
    "<p>Engineers said the new stones should last another hundred years at least.</p>"
    "</article></body></html>"
)


def test_control_characters_do_not_cost_the_article() -> None:
    # before: removing the newsletter box wrote its tail ("\x0b") back, lxml raised, and
    # the whole page came out empty
    root = lxml.html.document_fromstring(_ARTICLE.encode(), lxml.html.HTMLParser(encoding="utf-8"))
    with no_swallowed_failures():
        article = extract_from_tree(root, "http://example.org/2024/05/harbour")
    assert article.title == "Harbour wall reopens"
    assert "eight months of work" in article.body
    assert "another hundred years" in article.body
    assert "\x1f" not in article.body


@FEW
@given(st.lists(st.sampled_from(["\x00", "\x0b", "\x1f", "\x08", "\ufffd", "é"]), max_size=6))
def test_control_characters_anywhere_keep_the_body(noise: list[str]) -> None:
    html = _ARTICLE.replace("months", "mon" + "".join(noise) + "ths")
    with no_swallowed_failures():
        article = extract_article(html, "http://example.org/2024/05/harbour")
    assert "another hundred years" in article.body


def test_oversized_pages_are_cut_with_a_recorded_reason() -> None:
    paragraph = "<p>Paragraph with some words that the extractor has to read through.</p>"
    html = f"<html><body><h1>Long page</h1>{paragraph * (MAX_PAGE_ELEMENTS + 10)}</body></html>"
    article = extract_article(html, "http://example.org/long")
    cut = [r for r in article.removed if r.rule == SIZE_LIMIT_RULE]
    assert len(cut) == 1
    assert f"{MAX_PAGE_ELEMENTS:,} elements" in cut[0].text
    assert "Paragraph with some words" in article.body
    assert article.title == "Long page"


def test_bound_tree_keeps_a_document_order_prefix() -> None:
    root = lxml.html.fromstring("<div><p>one</p><p>two<b>bold</b>tail</p><p>three</p>after</div>")
    assert bound_tree(root, max_elements=10, max_text=100) is None
    reason = bound_tree(root, max_elements=3, max_text=100)
    assert reason is not None
    assert lxml.html.tostring(root, encoding="unicode") == "<div><p>one</p><p>two</p></div>"
    root = lxml.html.fromstring("<div><p>abcdef</p><p>ghi</p></div>")
    assert bound_tree(root, max_elements=100, max_text=4) is not None
    assert root.text_content() == "abcd"
    assert MAX_PAGE_TEXT > 400_000  # the largest AEB page has 416 k characters of text


def _oversized_by_regex(html: str) -> bool:
    """A start tag of MAX_TAG_ATTRIBUTES attributes, found the slow, obvious way."""
    attribute = r"""\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?"""
    return any(
        len(re.findall(attribute, tag[0])) >= MAX_TAG_ATTRIBUTES
        for tag in re.finditer(r"<[A-Za-z][^<>]*", html)
        if len(tag[0]) > 3 * MAX_TAG_ATTRIBUTES + 1
    )


_tag_pieces = st.sampled_from(
    [
        "<", "<<", ">", "<p", "<1", "x", " ", "a" * 2999, "a" * 3000, " " * 3001,
        "<div" + " a" * 999, "<div" + " b" * 1000, "<i " + " c=1" * 1200, "<b" + " d" * 1500 + ">",
    ]
)  # fmt: skip


@FEW
@given(st.lists(_tag_pieces, max_size=8).map("".join))
@example("<div" + " a" * 1000)
@example("<" + "a" * 3001)
def test_oversized_tags_are_found_wherever_they_are(html: str) -> None:
    assert has_oversized_tags(html) == _oversized_by_regex(html)


def test_tags_with_absurd_attribute_counts_are_cut_before_parsing() -> None:
    # libxml2 checks each attribute against all before it: 200,000 took over a minute
    tag = "<a href='http://example.org/2024/story-one' " + " ".join(
        f"data-x{i}=y" for i in range(200_000)
    )
    html = f"<ul><li>{tag}>Story one is here</a></li></ul>"
    cut = limit_attributes(html)
    assert len(cut) < 30_000
    assert cut.endswith(">Story one is here</a></li></ul>")
    assert find_teasers(html, "http://example.org/") == find_teasers(cut, "http://example.org/")
    assert limit_attributes(_ARTICLE) == _ARTICLE
    page = _ARTICLE.replace("<article", "<article " + " ".join(f"d{i}=1" for i in range(5_000)))
    assert "limit:attributes" in {r.rule for r in extract_article(page, "http://e.org/a").removed}
    assert not any(r.rule.startswith("limit:") for r in extract_article(_ARTICLE, "").removed)


_FEED_TAGS = [
    "rss", "channel", "item", "link", "guid", "title", "description", "pubDate", "feed",
    "entry", "content", "summary", "urlset", "url", "loc", "news:news", "news:title",
    "image:image", "image:loc", "sitemapindex", "sitemap", "media:thumbnail", "enclosure",
    "rdf:RDF", "lastmod",
]  # fmt: skip
_FEED_ATTRIBUTES = [
    "", ' href="http://x.org/2"', ' url="//x.org/i.jpg" type="image/jpeg"', ' rel="alternate"',
    ' isPermaLink="false"', ' xmlns="http://www.w3.org/2005/Atom"',
]  # fmt: skip
_FEED_SHARDS = [
    "<![CDATA[<p>x</p>]]>", "&amp;", "&#0;", "&undefined;", "\x00", "http://x.org/a", "/rel",
    "javascript:1", "<!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>", "&b;",
]  # fmt: skip


def feed_soup() -> st.SearchStrategy[str]:
    """Random, often broken, RSS/Atom/sitemap markup."""
    attributes = st.sampled_from(_FEED_ATTRIBUTES)
    return markup_soup(_FEED_TAGS, _FEED_SHARDS, attributes, width=4, max_depth=4, text_size=20)


@contextmanager
def no_stopped_feeds() -> Iterator[None]:
    """Fail when feed parsing hid an internal exception behind its never-raise guard."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("crawlers.extract.feeds")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not [m for m in messages if "stopped early" in m], messages


@PROPERTY
@given(
    st.one_of(
        feed_soup(),
        st.text(),
        st.binary(max_size=200),
        feed_soup().map(lambda text: text.encode("utf-8", "surrogatepass")),
    ),
    st.sampled_from(["http://x.org/feed.xml", "", "not a url"]),
)
@example("<media:thumbnail>", "http://x.org/feed.xml")  # etree.QName raised: undeclared prefix
def test_feeds_never_raise(xml: str | bytes, url: str) -> None:
    with no_stopped_feeds():
        result = parse_feed(xml, url)
    assert result.kind
    for teaser in result.teasers:
        assert urlsplit(teaser.url).scheme in ("http", "https")


def test_an_undeclared_namespace_prefix_keeps_the_feed() -> None:
    # before: the first <media:thumbnail> without xmlns:media stopped the feed at item one
    feed = (
        "<rss><channel>"
        '<item><title>One</title><link>http://x.org/a</link><media:thumbnail url="/i.jpg"/></item>'
        "<item><title>Two</title><link>http://x.org/b</link></item>"
        "</channel></rss>"
    )
    with no_stopped_feeds():
        result = parse_feed(feed, "http://x.org/feed.xml")
    assert [(t.url, t.title, t.image) for t in result.teasers] == [
        ("http://x.org/a", "One", "http://x.org/i.jpg"),
        ("http://x.org/b", "Two", None),
    ]


# ---- search -----------------------------------------------------------------------------

ARTICLES = [
    ("one", "http://x.org/1", "Flood barrier reopens", "The barrier in Bilbao reopened.", "2024-01-05"),
    ("two", "http://x.org/2", "Axolotl count rises", "Scientists counted more axolotl.", "2024-02-05"),
    ("one", "http://x.org/3", "DROP TABLE articles", "On SQL; -- comments and 'quotes'.", "2024-03-05"),
]  # fmt: skip
_QUERY_WORDS = [
    "AND", "OR", "NOT", "NEAR", "NEAR(", "*", "^", "title:", "body:", "lead:", "{title body}:",
    "-", "+", '"', "'", ";", "--", "DROP TABLE articles", "(", ")", ",", "axolotl", "barrier",
    "x*", "\x00", "'; DROP TABLE articles; --", "rank", "rowid", "\\", ":", "%", "_", "é",
    "中文", "\udcff", '""', '"a"b"', "/*", "*/", "1=1", "articles_fts",
]  # fmt: skip
queries = st.one_of(
    st.text(),
    st.lists(st.sampled_from(_QUERY_WORDS), max_size=7).map(" ".join),
    st.lists(st.sampled_from(_QUERY_WORDS), max_size=7).map("".join),
)
filters = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(_QUERY_WORDS))


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    path = tmp_path_factory.mktemp("props") / "news.db"
    with open_archive(path, create=True) as archive:
        with archive.transaction():
            for source, url, title, body, published in ARTICLES:
                archive.upsert_article(
                    {
                        "source": source,
                        "url": url,
                        "title": title,
                        "body": body,
                        "published": published,
                        "language": "en",
                    }
                )
        yield archive


def _state(archive: Archive) -> tuple[Any, ...]:
    db = archive.db
    return (
        archive.counts(),
        db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall(),
        db.execute("SELECT id, title, body FROM articles ORDER BY id").fetchall(),
        db.execute("SELECT count(*) FROM articles_fts").fetchone(),
    )


def _search(
    archive: Archive, query: str, **options: Any
) -> list[SearchHit] | SearchSyntaxError | InvalidFilterError:
    """The hits, or the documented error the search raised (anything else propagates)."""
    try:
        return archive.search(query, **options)
    except (SearchSyntaxError, InvalidFilterError) as error:
        return error


def _ids(hits: list[Any]) -> list[int]:
    return [hit.article_id for hit in hits]


@PROPERTY
@given(queries, filters, filters, filters, filters, st.integers(0, 2**70), st.integers(0, 2**70))
@example("x\x00y", None, None, None, None, 20, 0)  # FTS5 read the query up to the NUL
@example("\udcff", "\udcff", None, None, None, 20, 0)  # surrogates: UnicodeEncodeError
@example("axolotl", None, None, None, None, 2**64, 2**64)  # OverflowError from SQLite
def test_literal_search_never_raises_on_user_text(
    small_archive: Archive,
    query: str,
    site: str | None,
    language: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
) -> None:
    before = _state(small_archive)
    outcome = _search(
        small_archive,
        query,
        literal=True,
        site=site,
        language=language,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    sources = {source for source, *_ in ARTICLES}
    if isinstance(outcome, InvalidFilterError):
        # a bad date, or a site or language the archive does not have
        message = str(outcome)
        if "is not a date" in message:
            assert since or until
        elif message.startswith("unknown site"):
            assert site is not None
            assert site not in sources
        else:
            assert message.startswith("no article is in language")
            assert language != "en"
    elif isinstance(outcome, SearchSyntaxError):
        # the only literal-mode errors: nothing to search for
        assert outcome.reason in ("the query is empty", "it has no words to search for")
    else:
        assert site is None or site in sources
        assert language is None or language == "en"
        for hit in outcome:
            assert site is None or hit.source == site
    assert _state(small_archive) == before


@PROPERTY
@given(queries, filters)
@example("title:", None)
@example("NEAR(", None)
@example('x\x00"y', None)
def test_fts_search_raises_only_search_syntax_errors(
    small_archive: Archive, query: str, site: str | None
) -> None:
    before = _state(small_archive)
    outcome = _search(small_archive, query, site=site, fts=True)
    if isinstance(outcome, SearchSyntaxError):
        assert outcome.query == query
        assert "fts=True" in str(outcome) or outcome.reason == "the query is empty"
    elif isinstance(outcome, InvalidFilterError):
        assert str(outcome).startswith("unknown site")  # the only filter given
    else:
        assert {hit.article_id for hit in outcome} <= {1, 2, 3}
    assert _state(small_archive) == before


@pytest.mark.parametrize(
    ("query", "literal", "expected"),
    [
        ("DROP TABLE articles", True, [3]),
        ("'; DROP TABLE articles; --", True, [3]),
        ("axolotl OR barrier", False, [1, 2]),
        ("axolotl OR barrier", True, []),  # literal: all three words must be there
        ("axolotl NOT barrier", False, [2]),
        ("(axolotl OR barrier) NOT bilbao", False, [2]),
        ("title:axolotl", False, [2]),
        ("body:drop", False, []),
        ("title:drop", False, [3]),
        ("{title body}:axolotl", False, [2]),
        ("axol*", False, [2]),
        ("^axolotl", False, [2]),  # first token of a column
        ("^scientists", False, [2]),
        ("NEAR(counted axolotl, 2)", False, [2]),
        ('"counted more"', False, [2]),
        ('"quotes', True, [3]),
        ("comments -- ", True, [3]),
        ("1' OR '1'='1", True, []),
    ],
)
def test_fts_operators_and_sql_text_give_the_right_rows(
    small_archive: Archive, query: str, literal: bool, expected: list[int]
) -> None:
    before = _state(small_archive)
    assert sorted(_ids(small_archive.search(query, literal=literal))) == expected
    assert _state(small_archive) == before


@pytest.mark.parametrize(
    "attack",
    [
        "one' OR '1'='1",
        "one; DROP TABLE articles; --",
        "one' --",
        '" OR 1=1 --',
        "') UNION SELECT name, sql FROM sqlite_master --",
    ],
)
def test_filters_are_values_not_sql(small_archive: Archive, attack: str) -> None:
    before = _state(small_archive)
    with pytest.raises(InvalidFilterError, match="unknown site"):
        small_archive.search("barrier OR axolotl OR drop", site=attack, fts=True)
    with pytest.raises(InvalidFilterError, match="no article is in language"):
        small_archive.search("barrier", language=attack)
    for name in ("since", "until"):
        with pytest.raises(InvalidFilterError, match="is not a date"):
            small_archive.search("barrier", **{name: attack})
        with pytest.raises(InvalidFilterError, match="is not a date"):
            small_archive.search("barrier", **{name: "2024-01-01' OR 1=1 --"})
    with pytest.raises(InvalidFilterError, match="unknown site"):
        small_archive.articles(site=attack)
    assert _state(small_archive) == before
    # and the archive still answers the real filters
    hits = small_archive.search("barrier OR axolotl OR drop", site="one", fts=True)
    assert sorted(_ids(hits)) == [1, 3]
    dated = small_archive.search("axolotl OR barrier", since="2024-02", until="2024-02", fts=True)
    assert _ids(dated) == [2]


def test_a_date_with_a_trailing_newline_is_not_a_date(small_archive: Archive) -> None:
    # `$` matches before a final newline: "2024\n" passed the date check
    with pytest.raises(InvalidFilterError):
        small_archive.search("barrier", since="2024\n")


def test_searching_does_not_touch_the_file(small_archive: Archive) -> None:
    path = Path(small_archive.path)
    small_archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.read_bytes()
    for query in ("'; DROP TABLE articles; --", "title:axolotl", "x\x00y"):
        _search(small_archive, query)
    small_archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.read_bytes() == before
