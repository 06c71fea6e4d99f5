"""Regression pages for the causes that made the detector drop whole listings (issue 16):
two links per card, article URLs without a slug, off-site teasers, headlines without their
own link, and the fallback that never returns nothing. Every page is generated here."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from urllib.parse import urljoin

import pytest

from archive import open_archive
from crawlers.extract.autodetect import FALLBACK_GROUP_CONFIDENCE, FALLBACK_LINK_CONFIDENCE
from crawlers.extract.listing import Teaser, find_teasers
from crawlers.extract.suggest import check_site, suggest_selectors
from crawlers.items import TeaserItem
from crawlers.sites import parse_sites
from tests.test_archive_store import make_fetch, make_teaser

SITE = "https://paper.example.org"
WORDS = [
    "harbour",
    "lantern",
    "council",
    "orchard",
    "ferry",
    "glacier",
    "museum",
    "rail",
    "bakery",
    "river",
    "festival",
    "archive",
    "bridge",
    "market",
    "library",
    "tunnel",
    "garden",
    "vineyard",
    "school",
    "beacon",
    "meadow",
    "quarry",
    "workshop",
    "canal",
]


def headline(i: int, n: int = 6) -> str:
    """A generated headline of n words, different for every i."""
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n)).capitalize()


def lead(i: int) -> str:
    """A generated standfirst sentence."""
    return f"The {WORDS[i % len(WORDS)]} and the {WORDS[(i + 5) % len(WORDS)]} " + (
        "were discussed at length by residents who came to the evening meeting."
    )


def page(body: str) -> str:
    nav = "".join(f'<li><a href="/{w}">{w.title()}</a></li>' for w in WORDS[:5])
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Paper</title></head>'
        f"<body><header><nav><ul>{nav}</ul></nav></header><main>{body}</main>"
        f'<footer><a href="/about">About us</a> <a href="/privacy">Privacy policy</a></footer>'
        "</body></html>"
    )


def sidebar(n: int = 3) -> str:
    items = "".join(
        f'<li><a href="/2026/03/{WORDS[i]}-{WORDS[i + 1]}-{WORDS[i + 2]}">{headline(90 + i)}</a></li>'
        for i in range(n)
    )
    return f'<aside class="sidebar"><h3>Most read</h3><ul>{items}</ul></aside>'


def fallback_page() -> str:
    """Two teasers only, in differently shaped boxes: no link group passes the tests."""
    return page(
        f'<div class="a"><p><a href="{SITE}/read/alpha">{headline(1)}</a></p></div>'
        f'<section class="b"><span><a href="{SITE}/read/beta">{headline(2)}</a></span></section>'
    )


def main_teasers(html: str, url: str = SITE + "/") -> list[Teaser]:
    return [t for t in find_teasers(html, url) if t.region == "main"]


def test_image_link_and_title_link_in_sibling_boxes_are_one_teaser() -> None:
    urls = [f"{SITE}/2026/03/{i}/{WORDS[i]}-{WORDS[i + 1]}-story" for i in range(6)]
    cards = "".join(
        f'<div class="card"><div class="pic"><a href="{u}"><img src="/img/{i}.jpg" alt=""></a>'
        f'</div><div class="txt"><a href="{u}">{headline(i)}</a><p>{lead(i)}</p></div></div>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(f'<section class="grid">{cards}</section>{sidebar()}'))
    assert [t.url for t in found] == urls
    assert [t.title for t in found] == [headline(i) for i in range(6)]
    assert all(t.image and t.excerpt == lead(i) for i, t in enumerate(found))


def test_comment_count_inside_the_headline_does_not_split_the_listing() -> None:
    urls = [f"{SITE}/story/{i}/{WORDS[i]}-{WORDS[i + 2]}-{WORDS[i + 4]}" for i in range(5)]
    items = "".join(
        f'<article><h2><span><a href="{u}">{headline(i)}</a></span> '
        f'<span><a href="{u}#comments">{i + 3}</a></span></h2><p>{lead(i)}</p></article>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(f"<div>{items}</div>{sidebar()}"))
    assert [t.url for t in found] == urls
    assert [t.title for t in found] == [headline(i) for i in range(5)]


def test_article_urls_without_a_slug_are_learnt_from_the_page() -> None:
    opaque = [f"{SITE}/news/articles/c{i}x7q{i}rk2v{i}z" for i in range(5)]
    one_word = [f"{SITE}/notes/{WORDS[i]}" for i in range(8)]
    first = "".join(
        f'<div class="item"><a href="{u}"><h3>{headline(i)}</h3></a><p>{lead(i)}</p></div>'
        for i, u in enumerate(opaque)
    )
    second = "".join(
        f'<p class="entry"><a href="{u}">{headline(20 + i)}</a></p><p class="sum">{lead(i)}</p>'
        for i, u in enumerate(one_word)
    )
    assert [t.url for t in main_teasers(page(f"<section>{first}</section>"))] == opaque
    found = main_teasers(page(f"<h1>Notes</h1><div>{second}</div>"))
    assert [t.url for t in found] == one_word
    assert [t.title for t in found] == [headline(20 + i) for i in range(8)]


def test_off_site_teasers_of_an_aggregator_are_main() -> None:
    urls = [f"https://site{i}.example.net/{2020 + i}/{WORDS[i]}-{WORDS[i + 3]}" for i in range(7)]
    urls.append("https://site7.example.net/")  # a project's front page is an item too
    rows = "".join(
        f'<li><span class="rank">{i + 1}.</span> <a href="{u}">{headline(i)}</a> '
        f'<span class="src">(site{i}.example.net)</span><br><span class="sub">{i * 7} points | '
        f'<a href="/item?id={1000 + i}">{i + 2} comments</a></span></li>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(f"<ol>{rows}</ol>{sidebar()}"))
    assert [t.url for t in found] == urls
    assert all(t.confidence == 1.0 for t in found)


@pytest.mark.parametrize(
    "more", ["Full Story", "Weiterlesen", "Lire la suite", "Leer más", "3 Kommentare", "Comments"]
)
def test_unlinked_headlines_take_the_full_story_link(more: str) -> None:
    urls = [f"{SITE}/Articles/{5000 + i}/" for i in range(5)]
    blocks = "".join(
        f'<h2 class="headline">{headline(i)}</h2><div class="blurb"><span>Posted by someone</span>'
        f'<p>{lead(i)}</p><p><a href="{u}">{more}</a> '
        f'(<a href="{u}#Comments">comments: {i}</a>)</p></div>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(f'<div class="front">{blocks}</div>'))
    assert [t.url for t in found] == urls
    assert [t.title for t in found] == [headline(i) for i in range(5)]
    assert all(lead(i) in (t.excerpt or "") for i, t in enumerate(found))


def test_overlay_anchor_over_a_card_with_a_plain_text_title() -> None:
    urls = [f"{SITE}/quick/{700 + i}/{WORDS[i]}-{WORDS[i + 1]}-{WORDS[i + 6]}" for i in range(6)]
    cards = "".join(
        f'<div class="post" role="article"><a class="overlay" aria-label="{headline(i)}" '
        f'href="{u}"></a><div class="meta">Staff <a href="{u}#comments">{i}</a></div>'
        f'<div class="title">{headline(i)}</div><p>{lead(i)}</p></div>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(f'<div class="stream">{cards}</div>'))
    assert [t.url for t in found] == urls
    assert [t.title for t in found] == [headline(i) for i in range(6)]


def test_no_listing_falls_back_to_the_best_links_with_a_low_confidence() -> None:
    found = main_teasers(fallback_page())
    assert [t.url for t in found] == [f"{SITE}/read/alpha", f"{SITE}/read/beta"]
    assert {t.confidence for t in found} <= {FALLBACK_GROUP_CONFIDENCE, FALLBACK_LINK_CONFIDENCE}
    assert all(t.confidence < 1 for t in found)


def test_fallback_finds_nothing_on_a_page_of_navigation() -> None:
    assert main_teasers(page("<p>Nothing to read here.</p>")) == []


def test_confidence_is_recorded_in_the_archive(tmp_path: Path) -> None:
    teaser = Teaser(f"{SITE}/read/alpha", headline(1), None, None, None, False, 1, "main", 0.3)
    item = TeaserItem.from_teaser(teaser, source="paper", listing_url=SITE + "/", seen_at="t")
    with open_archive(tmp_path / "news.db", create=True) as store:
        store.upsert_teaser(asdict(item))
        row = store.db.execute("SELECT confidence FROM teasers").fetchone()
    assert row[0] == 0.3


def test_sites_check_and_suggest_say_when_teasers_are_a_fallback_guess() -> None:
    config = parse_sites(f'[sites.paper]\nstart_urls = ["{SITE}/"]\n')["paper"]
    report = check_site(config, fallback_page())
    assert report.ok
    assert any("fallback" in problem for problem in report.problems)
    assert any("fallback" in note for note in suggest_selectors(fallback_page(), SITE + "/").notes)


def test_suggest_says_why_when_every_teaser_is_secondary() -> None:
    notes = suggest_selectors(page(sidebar(4)), SITE + "/").notes
    assert any("only secondary teasers (4)" in note and "sidebars" in note for note in notes)


def test_menu_of_section_names_is_no_teaser_but_a_widget_menu_is_secondary() -> None:
    def menu_items(first: int) -> str:
        return "".join(
            f'<li><a href="{SITE}/{WORDS[i]}-{WORDS[i + 1]}-{4000 + i}">{WORDS[i].title()} '
            f"{WORDS[i + 1]}</a></li>"
            for i in range(first, first + 6)
        )

    urls = [f"{SITE}/{WORDS[i]}-{WORDS[i + 2]}-{WORDS[i + 4]}-{5000 + i}" for i in range(5)]
    cards = "".join(
        f'<div class="card"><h3><a href="{u}">{headline(i)}</a></h3><p>{lead(i)}</p></div>'
        for i, u in enumerate(urls)
    )
    widget = f'<aside class="sidebar"><div class="widget"><ul class="menu">{menu_items(10)}</ul></div></aside>'
    html = page(f'<div class="megamenu"><ul>{menu_items(0)}</ul></div><div>{cards}</div>{widget}')
    found = find_teasers(html, SITE + "/")
    assert [t.url for t in found if t.region == "main"] == urls
    # the header menu is dropped; the same links in a sidebar widget stay secondary
    secondary = [t.url for t in found if t.region == "secondary"]
    assert secondary == [f"{SITE}/{WORDS[i]}-{WORDS[i + 1]}-{4000 + i}" for i in range(10, 16)]


def test_sponsored_items_and_paid_boxes_are_not_teasers() -> None:
    urls = [f"{SITE}/2026/04/{WORDS[i]}-{WORDS[i + 3]}-{WORDS[i + 5]}" for i in range(6)]

    def card(i: int, url: str, label: str = "", rel: str = "") -> str:
        mark = f'<span class="label">{label}</span>' if label else ""
        return (
            f'<li class="item">{mark}<h3><a href="{url}"{rel}>{headline(i)}</a></h3>'
            f"<p>{lead(i)}</p></li>"
        )

    ads = [
        card(10, f"{SITE}/2026/04/partner-offer-one", "Sponsored"),
        card(11, f"{SITE}/spons/cloud-offer-for-teams/9001"),
        card(12, f"{SITE}/2026/04/vendor-offer-two", rel=' rel="sponsored"'),
    ]
    items = [card(i, u) for i, u in enumerate(urls)]
    listing = "".join(items[:2] + ads[:1] + items[2:4] + ads[1:] + items[4:])
    paid = "".join(
        card(20 + i, f"{SITE}/2026/04/{WORDS[i + 8]}-{WORDS[i + 9]}-{WORDS[i + 2]}")
        for i in range(4)
    )
    html = page(
        f'<section><ul class="feed">{listing}</ul></section>'
        f'<section><div class="head"><span>Paid content</span><h2>From our partners</h2></div>'
        f'<div class="box"><ul class="feed">{paid}</ul></div></section>'
    )
    assert [t.url for t in find_teasers(html, SITE + "/")] == urls


def test_small_cards_inside_a_hero_block_are_teasers_of_their_own() -> None:
    def url(i: int) -> str:
        return f"{SITE}/news/articles/c{i}q8w{i}e7r{i}t"

    small = "".join(
        f'<div class="small"><h3><a href="{url(i)}">{headline(i)}</a></h3></div>' for i in (2, 3, 4)
    )
    blocks = "".join(
        f'<section class="block"><div class="lead"><h2><a href="{url(10 + b)}">'
        f"{headline(10 + b)}</a></h2><p>{lead(b)}</p></div>"
        + (f'<div class="row"><div class="col">{small}</div></div>' if b == 0 else "")
        + "</section>"
        for b in range(4)
    )
    found = main_teasers(page(blocks))
    assert {url(i) for i in (2, 3, 4)} <= {t.url for t in found}
    hero = next(t for t in found if t.url == url(10))
    assert hero.excerpt == lead(0)


def test_image_captions_are_no_excerpt_and_summary_paragraphs_are() -> None:
    urls = [f"{SITE}/2026/05/{WORDS[i]}-{WORDS[i + 4]}-{WORDS[i + 7]}" for i in range(5)]
    cards = "".join(
        f'<article class="item"><figure><img src="/i/{i}.jpg" alt=""><figcaption>A view of the '
        f"{WORDS[i]} at dawn, seen from the hill.</figcaption></figure>"
        f'<div class="caption-wrap"><p class="caption">Photo of the {WORDS[i]} yard.</p></div>'
        f'<h2><a href="{u}">{headline(i)}</a></h2><p>{lead(i)}</p></article>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(cards))
    assert [t.excerpt for t in found] == [lead(i) for i in range(5)]
    index = "".join(
        f'<p class="title"><a href="{SITE}/blog/{WORDS[i]}">{headline(i)}</a>, '
        f'<span class="date">{i + 1} May 2026</span></p><p class="summary">{lead(i)}</p>'
        for i in range(6)
    )
    found = main_teasers(page(f'<div id="index">{index}</div>'))
    assert [t.excerpt for t in found] == [lead(i) for i in range(6)]


def test_a_block_repeated_for_a_carousel_is_one_listing() -> None:
    urls = [f"{SITE}/2026/06/{WORDS[i]}-{WORDS[i + 2]}-{WORDS[i + 3]}" for i in range(3)]
    slides = "".join(
        f'<div class="slide"><div class="in"><a href="{u}">{headline(i)}</a></div></div>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(f'<div class="carousel">{slides}{slides}</div>'))
    assert [t.url for t in found] == urls


def test_links_resolve_as_urljoin_resolves_them() -> None:
    from lxml import etree

    from crawlers.extract.autodetect import _Page

    root = etree.fromstring("<html><body/></html>")
    hrefs = ["/p/q", "/p/q?x=1#f", "/p/../q", "/%7Ea", "/a b", "/a\tb", "/é", "/#top", "/", "q"]
    for base in ("https://a.example/x/y?q=1", "http://a.example:8080/", "https://u@a.example/"):
        resolver = _Page(root, base)
        for href in hrefs:
            url, _, fragment = urljoin(base, href).partition("#")
            assert resolver.resolve(href) == (url, fragment), (base, href)


def test_stats_flags_a_site_whose_teasers_are_all_fallback_guesses(tmp_path: Path) -> None:
    with open_archive(tmp_path / "news.db", create=True) as store:
        for site, confidence in (("guessed", FALLBACK_GROUP_CONFIDENCE), ("sure", 1.0)):
            run = store.start_run([site])
            listing = f"https://{site}.example/"
            store.record_fetch(make_fetch(listing, source=site, teasers=2), run)
            for n in range(2):
                teaser = make_teaser(f"{listing}{n}", listing, source=site, confidence=confidence)
                store.upsert_teaser(teaser, run)
            store.finish_run(run, "finished", {})
        flags = {h.site: h.flags for h in store.health()}
    assert any("fallback" in flag for flag in flags["guessed"])
    assert not any("fallback" in flag for flag in flags["sure"])


def test_the_lead_item_of_each_topic_column_is_kept() -> None:
    def url(c: int, i: int) -> str:
        return f"{SITE}/article/{WORDS[c]}-{WORDS[i + 5]}-{c}{i}a9f3e1b7c5d2"

    columns = "".join(
        f'<div class="column"><h2>{WORDS[c].title()}</h2><div class="lead"><h3><a href="{url(c, 0)}">'
        f"{headline(c * 4)}</a></h3><p>{lead(c)}</p></div><ul>"
        + "".join(
            f'<li><h4><a href="{url(c, i)}">{headline(c * 4 + i, 8)}</a></h4></li>'
            for i in (1, 2, 3)
        )
        + "</ul></div>"
        for c in range(4)
    )
    found = main_teasers(page(f'<div class="columns">{columns}</div>'))
    assert sorted(t.url for t in found) == sorted(url(c, i) for c in range(4) for i in range(4))


def test_unlinked_brief_headlines_take_the_comments_link_past_links_in_the_text() -> None:
    urls = [f"{SITE}/Articles/{6000 + i}/" for i in range(4)]
    briefs = "".join(
        f'<h2 class="headline">{headline(i, 4)}</h2><div class="blurb"><p>A reporter '
        f'<a href="https://elsewhere{i}.example/notes/{WORDS[i]}">looks at the {WORDS[i]}</a>, '
        f'and at its {WORDS[i + 1]}.</p><p><a href="{u}">Comments ({i} posted)</a></p></div>'
        for i, u in enumerate(urls)
    )
    found = main_teasers(page(f'<div class="briefs">{briefs}</div>'))
    assert [t.url for t in found] == urls
    assert [t.title for t in found] == [headline(i, 4) for i in range(4)]
