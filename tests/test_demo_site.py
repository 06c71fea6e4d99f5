"""The bundled demo site: what the loopback server sends matches the manifest, special cases too."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest
from parsel import Selector

from crawlers.demo import (
    APPEAL_TEXT,
    DEMO_SITE_NAME,
    NEWSLETTER_TEXT,
    RELATED_HEADING,
    SHARE_TEXT,
    TRACKING_QUERY,
    DemoArticle,
    DemoServer,
    DemoSite,
    build_demo_site,
    demo_sites_toml,
    serve_demo,
)

BOILERPLATE = (APPEAL_TEXT, NEWSLETTER_TEXT, SHARE_TEXT)


@dataclass(frozen=True)
class Fetched:
    """Status, headers and raw body of one HTTP response."""

    status: int
    headers: Message
    body: bytes


def fetch(url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None) -> Fetched:
    """Fetch with urllib, turning HTTP errors into ordinary responses."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return Fetched(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, error.headers, error.read())


def page_selector(fetched: Fetched, charset: str = "utf-8") -> Selector:
    """Parse an HTML response body."""
    return Selector(text=fetched.body.decode(charset))


def text_of(selector: Selector) -> str:
    """The string value of one element, whitespace-normalised."""
    return " ".join("".join(selector.xpath("string()").getall()).split())


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer() as running:
        yield running


@pytest.fixture(scope="module")
def site(server: DemoServer) -> DemoSite:
    return server.site


@pytest.fixture(scope="module")
def article_pages(server: DemoServer, site: DemoSite) -> dict[str, Selector]:
    """Every article served with 200, fetched once and parsed."""
    pages = {}
    for article in site.ok_articles:
        fetched = fetch(server.url + article.path)
        assert fetched.status == 200, article.path
        pages[article.path] = page_selector(fetched, article.charset)
    return pages


# --- the server -------------------------------------------------------------------------


def test_server_url_and_lifecycle(site: DemoSite) -> None:
    server = serve_demo(site=site)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.port > 0
        assert fetch(server.url + "/").status == 200
    finally:
        server.close()
    server.close()  # idempotent
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url + "/", timeout=2)


def test_robots_txt(server: DemoServer, site: DemoSite) -> None:
    fetched = fetch(server.url + "/robots.txt")
    assert fetched.status == 200
    assert fetched.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert fetched.body == b"User-agent: *\nDisallow: /private/\n"
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(fetched.body.decode().splitlines())
    assert not robots.can_fetch("teaserfeed", server.url + site.special.robots_blocked)
    blocked = {a.path for a in site.articles if not robots.can_fetch("teaserfeed", a.path)}
    assert blocked == {site.special.robots_blocked}
    assert all(robots.can_fetch("teaserfeed", server.url + p) for p in site.listing_paths)


def test_robots_blocked_article_is_still_served(server: DemoServer, site: DemoSite) -> None:
    article = site.article(site.special.robots_blocked)
    assert article.robots_blocked
    assert article.path.startswith("/private/")
    fetched = fetch(server.url + article.path)
    assert fetched.status == 200
    assert text_of(page_selector(fetched).css("h1")[0]) == article.title


def test_unknown_path_and_missing_article_are_404(server: DemoServer, site: DemoSite) -> None:
    for path in ("/no/such/page/", site.special.missing):
        fetched = fetch(server.url + path)
        assert fetched.status == 404
        assert fetched.headers["Content-Type"] == "text/html; charset=utf-8"
        assert int(fetched.headers["Content-Length"]) == len(fetched.body)
        assert text_of(page_selector(fetched).css("h1")[0]) == "Page not found"
    assert site.article(site.special.missing).status == 404
    assert site.special.missing not in site.pages
    assert fetch(server.url + "/nope", method="HEAD").status == 404


def test_head_matches_get(server: DemoServer, site: DemoSite) -> None:
    url = server.url + site.start_paths[0]
    got, head = fetch(url), fetch(url, method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(got.body))
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert head.headers["ETag"] == got.headers["ETag"]


def test_conditional_get(server: DemoServer, site: DemoSite) -> None:
    url = server.url + site.articles[0].path
    first = fetch(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag
    assert last_modified
    assert fetch(url, headers={"If-None-Match": etag}).status == 304
    assert fetch(url, headers={"If-None-Match": '"other"'}).status == 200
    assert fetch(url, headers={"If-Modified-Since": last_modified}).status == 304
    old = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert fetch(url, headers={"If-Modified-Since": old}).status == 200


def test_missing_trailing_slash_redirects(server: DemoServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/world?x=1")
        response = connection.getresponse()
        response.read()
        assert response.status == 301
        assert response.getheader("Location") == "/world/?x=1"
    finally:
        connection.close()


def test_images_are_served_as_jpeg(server: DemoServer, site: DemoSite) -> None:
    for path in (site.teasers[0].image, site.ok_articles[0].image):
        fetched = fetch(server.url + path)
        assert fetched.status == 200
        assert fetched.headers["Content-Type"] == "image/jpeg"
        assert fetched.body.startswith(b"\xff\xd8")
        assert fetched.body.endswith(b"\xff\xd9")


def test_main_module_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawlers.demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        assert match, "no URL printed"
        assert b"Disallow: /private/" in fetch(match.group() + "/robots.txt").body
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Traceback" not in stderr


# --- listings ---------------------------------------------------------------------------


def test_homepage_links_the_sections(server: DemoServer, site: DemoSite) -> None:
    selector = page_selector(fetch(server.url + "/"))
    links = set(selector.css("main a::attr(href)").getall())
    assert set(site.start_paths) <= links
    assert "/" not in site.start_paths
    assert site.start_paths == ("/world/", "/business/", "/science/")


def test_listing_pages_match_manifest(server: DemoServer, site: DemoSite) -> None:
    assert len(site.listing_paths) == 9
    for listing in site.listing_paths:
        fetched = fetch(server.url + listing)
        assert fetched.status == 200
        assert fetched.headers["Content-Type"] == "text/html; charset=utf-8"
        assert int(fetched.headers["Content-Length"]) == len(fetched.body)
        assert fetched.body == site.pages[listing].render(server.url)
        selector = page_selector(fetched)
        nav = selector.css("header nav a::attr(href)").getall()
        assert nav == [*site.start_paths, "/about/", "/contact/"]
        expected = site.teasers_on(listing)
        blocks = selector.css("main article.teaser")
        assert len(blocks) == len(expected) == 12
        for block, teaser in zip(blocks, expected, strict=True):
            assert block.css("h2.teaser-title a::attr(href)").get() == teaser.href
            assert block.css("a.thumb::attr(href)").get() == teaser.href
            assert block.css("a.read-more::attr(href)").get() == teaser.href
            assert text_of(block.css("h2")[0]) == teaser.title
            assert text_of(block.css("p.lead")[0]) == teaser.lead
            assert block.css("time::attr(datetime)").get() == teaser.date_iso
            assert text_of(block.css("time")[0]) == teaser.date_text
            assert block.css("img::attr(src)").get() == teaser.image
        most_read = selector.css("aside.sidebar a::attr(href)").getall()
        assert len(most_read) == 5
        assert all(site.article(href).status == 200 for href in most_read)
        assert not set(most_read) & {t.article_path for t in expected}


def test_pagination_links(server: DemoServer, site: DemoSite) -> None:
    for section in site.sections:
        visited, path = [], section.listing_paths[0]
        while path:
            visited.append(path)
            selector = page_selector(fetch(server.url + path))
            numbered = selector.css("nav.pagination a:not([rel])")
            assert len(numbered) == 2  # the current page is a span
            assert {a.attrib["href"] for a in numbered} | {path} == set(section.listing_paths)
            assert text_of(selector.css("nav.pagination .current")[0]) == str(len(visited))
            path = selector.css("nav.pagination a[rel=next]::attr(href)").get() or ""
            assert len(visited) <= 3
        assert tuple(visited) == section.listing_paths


# --- the manifest -----------------------------------------------------------------------


def test_build_is_deterministic(site: DemoSite) -> None:
    first, second = build_demo_site(), build_demo_site()
    assert first == second == site
    assert dict(first.pages) == dict(second.pages)


def test_manifest_counts_and_links(site: DemoSite) -> None:
    paths = [a.path for a in site.articles]
    assert len(paths) == len(set(paths)) == 106
    assert len(site.teasers) == 108
    assert len(site.ok_articles) == 105
    for section in site.sections:
        assert sum(1 for t in site.teasers if t.listing_path in section.listing_paths) == 36
    linked = [t.article_path for t in site.teasers]
    assert set(linked) == set(paths)
    repeated = {p for p in linked if linked.count(p) > 1}
    assert repeated == {site.special.cross_listed}
    for teaser in site.teasers:
        assert teaser.href.split("?")[0] == teaser.article_path
        assert teaser.position == site.teasers_on(teaser.listing_path).index(teaser) + 1
    for article in site.articles:
        shown = {t.title for t in site.teasers_for(article.path)}
        assert set(article.teaser_titles) == shown
        if article.status == 200:
            page = site.pages[article.path]
            assert page.status == 200
            assert page.content_type == f"text/html; charset={article.charset}"
        else:
            assert article.path not in site.pages


def test_article_text_properties(site: DemoSite) -> None:
    for article in site.ok_articles:
        assert 5 <= len(article.paragraphs) <= 9, article.path
        for paragraph in article.paragraphs:
            assert 40 <= len(paragraph.split()) <= 90, paragraph
        body = article.body_text
        for text in (*BOILERPLATE, RELATED_HEADING, article.caption, article.credit):
            assert text not in body
        assert article.credit.startswith("Photo: ")
        assert "/" in article.credit
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+01:00", article.published)
        assert article.published[:10].replace("-", "/") in article.path
        assert article.published < "2026-11-20"
        if article.modified is not None:
            assert article.published < article.modified < "2026-11-20"
    captions = [a.caption for a in site.ok_articles if a.canonical is None]
    assert len(captions) == len(set(captions))


def test_article_pages_match_manifest(
    server: DemoServer, site: DemoSite, article_pages: dict[str, Selector]
) -> None:
    without_canonical = 0
    for article in site.ok_articles:
        selector = article_pages[article.path]
        story = selector.css("article.story")[0]
        assert text_of(story.css("h1")[0]) == article.title
        assert selector.css("title::text").get() == f"{article.title} | Demo Daily"
        assert selector.css("html::attr(lang)").get() == article.language
        assert selector.css('meta[name="description"]::attr(content)').get() == article.lead
        assert selector.css('meta[property="og:title"]::attr(content)').get() == article.title
        assert selector.css('meta[property="og:type"]::attr(content)').get() == "article"
        og_image = selector.css('meta[property="og:image"]::attr(content)').get()
        assert og_image == server.url + article.image
        assert text_of(story.css("p.standfirst")[0]) == article.lead
        assert text_of(story.css("p.byline a[rel=author]")[0]) == article.author
        assert story.css("time.published::attr(datetime)").get() == article.published
        assert [text_of(p) for p in story.css(".story-body > p")] == list(article.paragraphs)
        assert text_of(story.css("figcaption .caption")[0]) == article.caption
        assert text_of(story.css("figcaption .credit")[0]) == article.credit
        assert story.css("figure.lead-image img::attr(src)").get() == article.image
        # The boilerplate is really on the page, so extraction tests mean something.
        assert text_of(story.css(".newsletter-box p")[0]) == NEWSLETTER_TEXT
        assert text_of(story.css(".support-appeal p")[0]) == APPEAL_TEXT
        assert text_of(story.css(".share-buttons")[0]).startswith(SHARE_TEXT)
        assert text_of(selector.css("section.related h2")[0]) == RELATED_HEADING
        related = selector.css("section.related a::attr(href)").getall()
        assert len(related) == 4
        assert article.path not in related
        assert all(site.article(href).status == 200 for href in related)

        published_meta = selector.css('meta[property="article:published_time"]::attr(content)')
        modified_meta = selector.css('meta[property="article:modified_time"]::attr(content)')
        if article.has_meta_dates:
            assert published_meta.get() == article.published
            assert modified_meta.get() == article.modified
        else:
            assert not published_meta
            assert not modified_meta
        jsonld = selector.css('script[type="application/ld+json"]::text').getall()
        if article.has_jsonld:
            data: dict[str, Any] = json.loads(jsonld[0])
            assert data["@type"] == "NewsArticle"
            assert data["headline"] == article.title
            assert data["description"] == article.lead
            assert data["datePublished"] == article.published
            assert data.get("dateModified") == article.modified
            assert data["author"] == {
                "@type": "Person",
                "name": article.author,
                "url": data["author"]["url"],
            }
            assert data["image"] == server.url + article.image
            assert data["inLanguage"] == article.language
            canonical_path = article.canonical or article.path
            assert data["mainEntityOfPage"]["@id"] == server.url + canonical_path
        else:
            assert jsonld == []
        canonical = selector.css('link[rel="canonical"]::attr(href)').getall()
        if article.has_canonical_link:
            assert canonical == [server.url + (article.canonical or article.path)]
        else:
            assert canonical == []
            without_canonical += 1
    assert without_canonical >= 1


# --- special cases ----------------------------------------------------------------------


def test_cross_listed_article(server: DemoServer, site: DemoSite) -> None:
    path = site.special.cross_listed
    teasers = site.teasers_for(path)
    assert sorted(t.listing_path for t in teasers) == sorted(site.start_paths)
    hrefs = {t.listing_path: t.href for t in teasers}
    assert hrefs["/world/"] == hrefs["/business/"] == path
    assert hrefs["/science/"] == f"{path}?utm_source=newsletter&utm_medium=email"
    assert TRACKING_QUERY == "utm_source=newsletter&utm_medium=email"
    assert site.article(hrefs["/science/"]).path == path
    assert fetch(server.url + hrefs["/science/"]).body == fetch(server.url + path).body


def test_canonical_pair(server: DemoServer, site: DemoSite) -> None:
    copy = site.article(site.special.canonical_copy)
    target = site.article(site.special.canonical_target)
    assert copy.path != target.path
    assert copy.path.startswith("/business/")
    assert target.path.startswith("/world/")
    assert copy.canonical == target.path
    assert target.canonical is None
    assert copy.title == target.title
    assert copy.paragraphs == target.paragraphs
    assert site.teasers_for(copy.path)
    assert site.teasers_for(target.path)
    assert [a.path for a in site.articles if a.canonical] == [copy.path]
    # The absolute canonical URL follows the Host header, whatever port is in use.
    other_host = f"localhost:{server.port}"
    fetched = fetch(server.url + copy.path, headers={"Host": other_host})
    href = page_selector(fetched).css('link[rel="canonical"]::attr(href)').get()
    assert href == f"http://{other_host}{target.path}"
    assert b"{base}" not in fetched.body


def test_articles_without_jsonld(server: DemoServer, site: DemoSite) -> None:
    no_jsonld = [a for a in site.ok_articles if not a.has_jsonld]
    assert len(no_jsonld) >= 3
    meta_only = site.article(site.special.no_jsonld_meta_only)
    assert not meta_only.has_jsonld
    assert meta_only.has_meta_dates
    assert meta_only.modified is None
    bare = site.article(site.special.no_jsonld_no_meta)
    assert not bare.has_jsonld
    assert not bare.has_meta_dates
    selector = page_selector(fetch(server.url + bare.path))
    assert selector.css("article time.published::attr(datetime)").get() == bare.published
    assert re.search(r"/(\d{4})/(\d{2})/(\d{2})/", bare.path)
    assert bare.published.startswith("-".join(bare.path.split("/")[2:5]))
    assert not selector.css('meta[property^="article:"][property$="_time"]')


def test_non_utf8_article(server: DemoServer, site: DemoSite) -> None:
    article = site.article(site.special.non_utf8)
    assert article.charset == "windows-1252"
    fetched = fetch(server.url + article.path)
    assert fetched.headers["Content-Type"] == "text/html; charset=windows-1252"
    assert b'<meta charset="windows-1252">' in fetched.body
    assert article.title.encode("cp1252") in fetched.body
    with pytest.raises(UnicodeDecodeError):
        fetched.body.decode("utf-8")
    text = fetched.body.decode("cp1252")
    everything = " ".join((article.title, article.lead, *article.paragraphs))
    for word in (
        "Caf\u00e9",
        "Z\u00fcrich",
        "fa\u00e7ade",
        "na\u00efve",
        "\u20ac",
        "\u201c",
        "\u2019",
    ):
        assert word in everything
    assert all(paragraph in text.replace("&quot;", '"') for paragraph in article.paragraphs)


def test_unique_terms(site: DemoSite, article_pages: dict[str, Selector]) -> None:
    assert set(site.unique_terms) == {"Kazakhstan", "Svalbard", "axolotl"}
    assert site.unique_terms["Kazakhstan"] == site.special.kazakhstan
    assert "Kazakhstan" in site.article(site.special.kazakhstan).title
    for term, path in site.unique_terms.items():
        pattern = re.compile(re.escape(term), re.IGNORECASE)
        mentioning = [
            a.path
            for a in site.ok_articles
            if pattern.search(" ".join((a.title, a.lead, *a.paragraphs)))
        ]
        assert mentioning == [path]
        assert len(pattern.findall(site.article(path).body_text)) >= 2
        # Not even in another article's related links or other page furniture.
        other_pages = [p for p, sel in article_pages.items() if p != path and term in sel.get()]
        assert other_pages == []


def test_headline_changes_between_teaser_and_article(site: DemoSite) -> None:
    changed = site.special.headline_changed
    assert len(changed) == 3
    for path in changed:
        article = site.article(path)
        (shown,) = article.teaser_titles
        assert shown != article.title
        assert article.title.startswith(shown)
    same = [a for a in site.articles if a.path not in changed]
    assert all(a.teaser_titles == (a.title,) for a in same)


# --- sites.toml -------------------------------------------------------------------------


def test_demo_sites_toml_selectors_match(server: DemoServer, site: DemoSite) -> None:
    config = tomllib.loads(demo_sites_toml(server.url + "/"))
    assert list(config["sites"]) == [DEMO_SITE_NAME] == ["demo-news"]
    demo = config["sites"][DEMO_SITE_NAME]
    assert demo["start_urls"] == [server.url + p for p in site.start_paths]
    assert demo["max_pages"] == 5
    for listing in site.listing_paths:
        selector = page_selector(fetch(server.url + listing))
        blocks = selector.css(demo["teaser"])
        expected = site.teasers_on(listing)
        assert len(blocks) == len(expected)
        for block, teaser in zip(blocks, expected, strict=True):
            assert block.css(demo["link"]).getall() == [teaser.href]
            assert text_of(block.css(demo["title"])[0]) == teaser.title
            assert text_of(block.css(demo["excerpt"])[0]) == teaser.lead
            assert block.css(demo["date"]).getall() == [teaser.date_iso]
            assert block.css(demo["image"]).getall() == [teaser.image]
        next_pages = selector.css(demo["next_page"]).getall()
        assert len(next_pages) == (0 if listing.endswith("/page/3/") else 1)


def test_strip_rules_remove_all_boilerplate(
    site: DemoSite, article_pages: dict[str, Selector]
) -> None:
    strip = tomllib.loads(demo_sites_toml("http://x"))["sites"][DEMO_SITE_NAME]["strip"]
    for article in site.ok_articles[:10]:
        selector = Selector(text=article_pages[article.path].get())
        for rule in strip:
            matches = selector.css(rule)
            assert len(matches) == 1, (article.path, rule)
            matches.drop()
        remaining = text_of(selector.css("main")[0])
        assert all(text not in remaining for text in BOILERPLATE)
        assert RELATED_HEADING not in remaining
        assert all(paragraph in remaining for paragraph in article.paragraphs)


def test_teaser_article_helper_accepts_urls(site: DemoSite) -> None:
    article: DemoArticle = site.articles[5]
    assert site.article(f"http://127.0.0.1:9/{article.path.lstrip('/')}?a=b") is article
    with pytest.raises(KeyError):
        site.article("/nowhere/")
