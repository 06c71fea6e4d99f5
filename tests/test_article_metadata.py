"""Metadata found wrong on real pages: bylines, non-authors, site-name suffixes, title choice."""

from __future__ import annotations

import json

import pytest

from crawlers.extract.article import extract_article

URL = "https://www.valleytimes.example/news/2026/03/09/bridge-reopens/"
STORY = (
    "<p>The old stone bridge over the river reopened on Monday after eight months of repairs "
    "to its arches, its parapets and the road surface that crosses it.</p>"
    "<p>Engineers replaced more than two hundred stones and fitted new drains so that water "
    "no longer collects on the deck after heavy rain in the winter months.</p>"
)


def page(
    *,
    title: str = "Bridge reopens after repairs",
    h1: str | None = "Bridge reopens after repairs",
    og_title: str | None = None,
    headline: str | None = None,
    author_meta: str | None = None,
    ld_author: object = None,
    byline: str | None = None,
) -> str:
    ld: dict[str, object] = {"@type": "NewsArticle", "publisher": {"name": "Valley Times"}}
    if headline:
        ld["headline"] = headline
    if ld_author is not None:
        ld["author"] = ld_author
    head = f"<title>{title}</title><meta property='og:site_name' content='Valley Times'>"
    if og_title:
        head += f"<meta property='og:title' content='{og_title}'>"
    if author_meta:
        head += f"<meta name='author' content='{author_meta}'>"
    head += f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    heading = f"<h1>{h1}</h1>" if h1 else ""
    by = f"<div class='article-byline'>{byline}</div>" if byline else ""
    return f"<html><head>{head}</head><body><article>{heading}{by}{STORY}</article></body></html>"


@pytest.mark.parametrize(
    ("byline", "people"),
    [
        ("Ana Lima and Ben Okafor", ["Ana Lima", "Ben Okafor"]),
        ("Anna Muster und Bernd Beispiel, dpa", ["Anna Muster", "Bernd Beispiel"]),
        ("Xaver Huber; Yasmin Kaya", ["Xaver Huber", "Yasmin Kaya"]),
        ("Ada Alt, Bo Berg and Cy Cole", ["Ada Alt", "Bo Berg", "Cy Cole"]),
        ("By Dana Reyes", ["Dana Reyes"]),
        ("Jane Roe, MD", ["Jane Roe, MD"]),
    ],
)
def test_a_byline_with_several_people_gives_separate_authors(
    byline: str, people: list[str]
) -> None:
    assert extract_article(page(author_meta=byline), URL).authors == people
    ld_author = {"@type": "Person", "name": byline}
    assert extract_article(page(ld_author=ld_author), URL).authors == people


@pytest.mark.parametrize(
    ("byline", "people"),
    [
        ("Lena Park lena.park@valleytimes.example", ["Lena Park"]),
        ("Omar Haddad (obe)", ["Omar Haddad"]),
        ("Valley Times", ["Valley Times"]),  # the site alone: what the page says, kept
        ("Rita Moss, Valley Times", ["Rita Moss"]),
        ("dpa", ["dpa"]),  # an agency alone is the author
        ("Tom Ruiz, AFP", ["Tom Ruiz"]),  # an agency beside a person is not
        ("Center for Bridge Studies and Research", ["Center for Bridge Studies and Research"]),
    ],
)
def test_what_is_not_a_person_is_not_an_author(byline: str, people: list[str]) -> None:
    assert extract_article(page(author_meta=byline), URL).authors == people


def test_numeric_ids_are_not_authors() -> None:
    ld_author = [{"@type": "Person", "name": "40213"}, {"@type": "Person", "name": "Ivo Brandt"}]
    assert extract_article(page(ld_author=ld_author), URL).authors == ["Ivo Brandt"]


def test_a_visible_byline_names_the_author_when_markup_does_not() -> None:
    art = extract_article(page(byline="Written by Mara Lind - Mar 9, 2026"), URL)
    assert art.authors == ["Mara Lind"]


@pytest.mark.parametrize(
    "suffixed",
    [
        "Bridge reopens after repairs | Valley Times",
        "Bridge reopens after repairs - Valley Times",
        "Bridge reopens after repairs \u2013 ValleyTimes.example",
        "Valley Times | Bridge reopens after repairs",
    ],
)
def test_the_site_name_leaves_the_title_whichever_source_it_came_from(suffixed: str) -> None:
    # no visible h1: the title comes from JSON-LD, og:title or <title> in turn
    for kwargs in ({"headline": suffixed}, {"og_title": suffixed}, {"title": suffixed}):
        art = extract_article(page(h1=None, **kwargs), URL)  # type: ignore[arg-type]
        assert art.title == "Bridge reopens after repairs", kwargs


def test_a_dash_inside_the_headline_stays() -> None:
    headline = "Bridge reopens - and traffic returns to the old town"
    art = extract_article(page(h1=None, headline=headline), URL)
    assert art.title == headline


def test_the_visible_h1_wins_when_it_is_the_full_headline() -> None:
    # JSON-LD and og:title carry a shortened SEO title; the reader sees the full headline
    art = extract_article(
        page(
            h1="Old stone bridge reopens after eight months of repairs",
            headline="Bridge reopens",
            og_title="Bridge reopens | Valley Times",
        ),
        URL,
    )
    assert art.title == "Old stone bridge reopens after eight months of repairs"


def test_an_h1_that_is_not_the_headline_loses_to_the_declared_title() -> None:
    # a logo or section name in an h1 has nothing in common with the declared titles
    art = extract_article(
        page(h1="Valley Times Local News Desk", headline="Bridge reopens after repairs"), URL
    )
    assert art.title == "Bridge reopens after repairs"
    short = extract_article(page(h1="News", headline="Bridge reopens after repairs"), URL)
    assert short.title == "Bridge reopens after repairs"
