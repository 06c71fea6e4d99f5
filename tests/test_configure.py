"""`suggest_selectors` and `check_site` on HTML: suggested selectors reproduce the automatic
mode's teasers in selector mode, and the dry run reports what each selector finds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawlers.demo import DemoSite, build_demo_site, demo_sites_toml
from crawlers.extract.listing import Teaser, find_teasers
from crawlers.extract.suggest import check_site, site_name_for, suggest_selectors
from crawlers.sites import SiteConfig, parse_sites

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "listings"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
DEMO = "http://127.0.0.1:8000"
# Pages whose teasers are a heading followed by loose paragraphs: no block selector holds them.
FLAT = {"definition-list", "flat-headings"}


def page(name: str) -> tuple[str, str]:
    expected = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return (FIXTURES / f"{name}.html").read_text(encoding="utf-8"), expected["url"]


def fields(teasers: list[Teaser]) -> list[tuple[object, ...]]:
    return [
        (t.url, t.title, t.excerpt, t.image, t.date_text, t.has_read_more)
        for t in teasers
        if t.region == "main"
    ]


@pytest.fixture(scope="module")
def demo_site() -> DemoSite:
    return build_demo_site()


@pytest.mark.parametrize("name", NAMES)
def test_suggested_block_round_trips_on_fixtures(name: str) -> None:
    html, url = page(name)
    suggestion = suggest_selectors(html, url)
    configs = parse_sites(suggestion.toml("fixture"))
    config = configs["fixture"]
    assert config.start_urls == (url,)
    assert fields(find_teasers(html, url, config)) == fields(find_teasers(html, url))
    assert suggestion.reproduced == len(suggestion.auto)
    if name == "no-teasers":
        assert config.mode == "auto"
        assert "found no teasers" in suggestion.toml()
    elif name in FLAT:
        assert config.mode == "auto"
    else:
        assert config.mode == "selectors"
        assert config.teaser


def test_suggestion_names_every_field_on_a_regular_blog() -> None:
    html, url = page("blog-list")
    suggestion = suggest_selectors(html, url)
    assert suggestion.selectors == {
        "teaser": "article.post",
        "link": "h2.entry-title > a::attr(href)",
        "title": "h2.entry-title",
        "excerpt": "div.entry-summary > p",
        "date": "time.entry-date",
        "next_page": "div.nav-previous > a::attr(href)",
    }
    assert suggestion.next_page == "https://allotment-diary.example.net/page/3/"
    assert suggestion.notes == ()


@pytest.mark.parametrize("path", ["/science/", "/world/", "/world/page/2/"])
def test_suggested_block_round_trips_on_the_demo_site(demo_site: DemoSite, path: str) -> None:
    html = demo_site.render(path, DEMO)
    assert html is not None
    url = DEMO + path
    suggestion = suggest_selectors(html, url)
    config = parse_sites(suggestion.toml("demo"))["demo"]
    assert config.mode == "selectors"
    selector_mode = find_teasers(html, url, config)
    assert fields(selector_mode) == fields(find_teasers(html, url))
    assert {t.url for t in selector_mode} == {DEMO + t.href for t in demo_site.teasers_on(path)}
    assert suggestion.selectors["teaser"] == "article.teaser"
    assert suggestion.next_page is not None
    assert "/page/" in suggestion.next_page


def test_toml_block_is_valid_and_commented() -> None:
    html, url = page("german-blog")
    text = suggest_selectors(html, url).toml()
    assert text.startswith("[sites.kuechenzettel-example-de]\n")
    assert 'start_urls = ["https://kuechenzettel.example.de/"]' in text
    assert "# these selectors find 4 teasers; 4 of the 4" in text
    assert list(parse_sites(text)) == ["kuechenzettel-example-de"]


def test_site_name_from_host() -> None:
    assert site_name_for("https://www.news.example.org/world/") == "news-example-org"
    assert site_name_for("http://127.0.0.1:8000/x") == "127-0-0-1"


def test_check_reports_selector_hits_and_empty_selectors(demo_site: DemoSite) -> None:
    html = demo_site.render("/world/", DEMO)
    assert html is not None
    config = parse_sites(demo_sites_toml(DEMO))["demo-news"]
    report = check_site(config, html, DEMO + "/world/")
    assert report.ok
    assert report.mode == "selectors"
    assert report.teasers == 12 == report.with_title == report.with_excerpt == report.with_date
    assert {f.key: f.hits for f in report.fields} == {
        "teaser": 12,
        "link": 12,
        "title": 12,
        "excerpt": 12,
        "date": 12,
        "image": 12,
        "next_page": 1,
    }
    assert report.next_page == DEMO + "/world/page/2/"
    assert report.problems == ()

    broken = SiteConfig(
        name="broken",
        start_urls=(DEMO + "/world/",),
        teaser="main article.teaser",
        excerpt="p.no-such-class",
        next_page="a.nope::attr(href)",
    )
    report = check_site(broken, html)
    assert report.ok  # teasers still come; the empty selectors are flagged
    assert report.with_excerpt == 0
    assert list(report.problems) == [
        "excerpt selector 'p.no-such-class' matches nothing",
        "next_page selector 'a.nope::attr(href)' matches nothing",
    ]
    assert any("<- matches nothing" in line for line in report.lines())


def test_check_fails_a_site_without_teasers() -> None:
    html, url = page("no-teasers")
    report = check_site(SiteConfig.for_url(url), html)
    assert not report.ok
    assert report.mode == "auto"
    assert report.problems == ("no teasers found on the first listing page",)
    assert report.lines()[0] == f"{site_name_for(url)}: FAILED (auto mode) {url}"


def test_check_in_auto_mode_counts_main_and_secondary() -> None:
    html, url = page("magazine-home")
    report = check_site(SiteConfig.for_url(url), html)
    assert report.ok
    assert (report.teasers, report.secondary) == (12, 6)
    assert report.next_page == "https://www.northlight-magazine.example.com/news/page/2/"


def _stories(count: int, junk_on: int | None = None) -> str:
    """A listing of `count` stories; story `junk_on` has 100,000 attributes before its href."""
    items = []
    for n in range(count):
        junk = " ".join(f"data-x{i}=y" for i in range(100_000)) + " " if n == junk_on else ""
        items.append(
            f'<article class="story"><h2><a {junk}href="/2024/05/story-{n}">Story number {n} '
            f"of the harbour news</a></h2><p>What happened at the harbour, part {n}.</p></article>"
        )
    return f"<html><body><main>{''.join(items)}</main></body></html>"


def test_suggest_and_check_parse_within_the_attribute_bound() -> None:
    # before: `sites suggest`/`sites check` parsed the page as is (libxml2 needs tens of
    # seconds for 100,000 attributes) and so saw a link the crawl, which cuts the tag to its
    # first 1,000 attributes, never sees
    url = "https://harbour.example.org/news/"
    html = _stories(6, junk_on=5)
    crawl = [t.url for t in find_teasers(html, url) if t.region == "main"]
    assert len(crawl) == 5
    suggestion = suggest_selectors(html, url)
    assert [t.url for t in suggestion.auto] == crawl
    config = SiteConfig(name="harbour", start_urls=(url,), teaser="article.story")
    report = check_site(config, html.encode("utf-8"), url)
    assert report.teasers == len(find_teasers(html, url, config)) == 5


def test_check_counts_selector_hits_within_the_size_bound() -> None:
    # before: the teasers were read from a copy cut to MAX_PAGE_ELEMENTS, but the selector
    # hits from the whole page: 3,000 blocks "found" for 2,499 teasers
    url = "https://harbour.example.org/news/"
    html = _stories(3_000)
    config = SiteConfig(name="harbour", start_urls=(url,), teaser="article.story")
    report = check_site(config, html, url)
    hits = {f.key: f.hits for f in report.fields}["teaser"]
    assert report.teasers == len(find_teasers(html, url, config)) == 2_499
    # the block cut at the bound keeps its <article> but lost its link
    assert hits == report.teasers + 1
