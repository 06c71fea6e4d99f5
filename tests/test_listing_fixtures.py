"""Automatic mode on hand-made listing pages of many shapes: exact teasers, regions, next page.

Each tests/fixtures/listings/NAME.html has NAME.json with the page URL, the expected next
page and the expected teasers in order (main ones first, then secondary ones); a teaser's
`image`, `date_text` and `has_read_more` are checked where the JSON gives them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawlers.extract.listing import find_next_page, find_teasers

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "listings"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
OPTIONAL = ("image", "date_text", "has_read_more")


def load(name: str) -> tuple[str, dict[str, Any]]:
    html = (FIXTURES / f"{name}.html").read_text(encoding="utf-8")
    expected: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return html, expected


def test_there_are_enough_fixtures() -> None:
    assert len(NAMES) >= 10


@pytest.mark.parametrize("name", NAMES)
def test_teasers_match_expected(name: str) -> None:
    html, expected = load(name)
    teasers = find_teasers(html, expected["url"])
    assert [(t.url, t.region) for t in teasers] == [
        (t["url"], t["region"]) for t in expected["teasers"]
    ]
    for got, want in zip(teasers, expected["teasers"], strict=True):
        assert got.title == want["title"], got.url
        assert got.excerpt == want["excerpt"], got.url
        for key in OPTIONAL:
            if key in want:
                assert getattr(got, key) == want[key], (got.url, key)
    assert [t.position for t in teasers] == list(range(1, len(teasers) + 1))


@pytest.mark.parametrize("name", NAMES)
def test_next_page_matches_expected(name: str) -> None:
    html, expected = load(name)
    assert find_next_page(html, expected["url"]) == expected["next_page"]


@pytest.mark.parametrize("name", NAMES)
def test_bytes_give_the_same_teasers(name: str) -> None:
    html, expected = load(name)
    as_text = find_teasers(html, expected["url"])
    as_bytes = find_teasers(html.encode("utf-8"), expected["url"])
    assert as_bytes == as_text


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("en", "Read more »"),
        ("en-rest", "Read the rest of this entry »"),
        ("de", "Weiterlesen →"),
        ("es", "Leer más"),
        ("es-sigue", "Sigue leyendo..."),
        ("fr", "Lire la suite"),
        ("ru", "Подробнее"),
        ("ja", "続きを読む"),
        ("id", "Baca selengkapnya"),
    ],
)
def test_read_more_links_in_many_languages(label: str, text: str) -> None:
    cards = "".join(
        f'<div class="item"><h3><a href="/story/{n}-a-slug-for-story-{n}">Headline number {n} for {label}</a></h3>'
        f'<p>Lead text of story {n}, long enough to be a lead. <a href="/story/{n}-a-slug-for-story-{n}">{text}</a></p></div>'
        for n in range(1, 4)
    )
    html = f"<html><body><main>{cards}</main></body></html>"
    teasers = find_teasers(html, "https://site.example/list/")
    assert [t.has_read_more for t in teasers] == [True, True, True]
    assert [t.excerpt for t in teasers] == [
        f"Lead text of story {n}, long enough to be a lead." for n in range(1, 4)
    ]


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        ('<a href="/list/page/2/">Older posts</a>', "https://site.example/list/page/2/"),
        ('<a href="/list/page/2/">Next \u203a</a>', "https://site.example/list/page/2/"),
        ('<a href="/list/seite/2/">Ältere Beiträge</a>', "https://site.example/list/seite/2/"),
        ('<a href="/list/pagina/2/">Siguiente »</a>', "https://site.example/list/pagina/2/"),
        ('<a href="/list/page/2/">« Entradas anteriores</a>', "https://site.example/list/page/2/"),
        ('<a href="/list/?PAGEN_1=2">Следующая →</a>', "https://site.example/list/?PAGEN_1=2"),
        ('<a href="/list/?page=2">次へ</a>', "https://site.example/list/?page=2"),
        ('<a href="/list/page/2/">Berikutnya</a>', "https://site.example/list/page/2/"),
        ('<a href="/list/page/2/" class="next page-numbers">»</a>', "https://site.example/list/page/2/"),
        ('<span class="current">1</span> <a href="/list/p/2">2</a> <a href="/list/p/3">3</a>', "https://site.example/list/p/2"),
        ('<a href="/list/page/9/">Last »</a>', None),
        ('<a href="/list/">Newer posts</a>', None),
    ],
)  # fmt: skip
def test_next_page_without_a_selector(anchor: str, expected: str | None) -> None:
    html = f'<html><body><p>Story list</p><div class="nav">{anchor}</div></body></html>'
    assert find_next_page(html, "https://site.example/list/") == expected


def test_next_page_counts_on_from_the_current_page() -> None:
    html = (
        '<html><body><ul class="pager"><li><a href="/l/?page=1">1</a></li>'
        '<li class="active"><a href="/l/?page=2">2</a></li><li><a href="/l/?page=3">3</a></li>'
        "</ul></body></html>"
    )
    assert (
        find_next_page(html, "https://site.example/l/?page=2") == "https://site.example/l/?page=3"
    )


def test_secondary_teasers_never_leak_into_main() -> None:
    html, expected = load("magazine-home")
    teasers = find_teasers(html, expected["url"])
    main = {t.url for t in teasers if t.region == "main"}
    secondary = {t.url for t in teasers if t.region == "secondary"}
    assert main
    assert secondary
    assert not main & secondary
    assert all("southcoast" not in url for url in main)


def test_bytes_in_a_legacy_encoding_are_decoded_by_their_meta_charset() -> None:
    html, expected = load("russian-news")
    legacy = html.replace('<meta charset="utf-8">', '<meta charset="windows-1251">')
    teasers = find_teasers(legacy.encode("cp1251"), expected["url"])
    assert [t.title for t in teasers] == [t["title"] for t in expected["teasers"]]


def test_an_article_page_has_no_main_teasers_only_its_related_box() -> None:
    related = "".join(
        f'<li><a href="/news/2026/11/{n}/another-story-about-the-harbour-{n}/">Another story '
        f"about the harbour, part {n}</a></li>"
        for n in range(10, 14)
    )
    html = (
        "<html><body><article><h1>The harbour story</h1><p>Body text of the article, "
        'long enough to read as prose, with a <a href="/news/2026/11/01/an-earlier-report/">'
        "link to an earlier report</a> in the middle of a sentence.</p></article>"
        f'<section class="more"><h2>Read more</h2><ul>{related}</ul></section></body></html>'
    )
    teasers = find_teasers(html, "https://port.example/news/2026/11/20/the-harbour-story/")
    assert [t.region for t in teasers] == ["secondary"] * 4
