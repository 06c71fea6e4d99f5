"""Boilerplate rules of extractor 2.3 on generated pages: teaser cards, modals, panels, lists."""

from __future__ import annotations

from crawlers.extract.article import extract_article

URL = "https://news.example.org/2026/03/harbour-ferry-timetable"
STORY = [
    "The harbour ferry will run every twenty minutes from the first week of April, the port"
    " authority said on Tuesday after a trial season that carried more passengers than planned.",
    "Commuters on the northern shore had asked for a later last crossing for years, and the new"
    " timetable adds two evening departures that leave the pier after the theatres close.",
    "The authority expects the extra sailings to cost less than the bus replacement service it"
    " ran last winter, when storms closed the bridge on eleven days in a row.",
    "Fares stay the same until the autumn, when a review of the whole network is due to report"
    " on whether a weekly pass should replace the paper tickets still sold on board.",
    "Crew numbers rise by six, and the two older boats go back into service after a refit that"
    " replaced their engines, fitted ramps for wheelchairs and added covered space for bicycles.",
    "Residents of the island villages, who rely on the first morning crossing to reach the"
    " hospital and the secondary school, welcomed the plan but asked for a Sunday service too.",
    "The port authority said a Sunday timetable would depend on the number of passengers in the"
    " summer months, and that it would publish the figures for each route every quarter.",
    "Opposition councillors called the trial a success that had come too late, and asked why the"
    " evening crossings had been cut five years ago when the operator changed hands.",
]


def _page(inside: str = "", after: str = "") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in STORY)
    return (
        "<html><head><title>Harbour ferry gets a new timetable</title></head><body>"
        "<article><h1>Harbour ferry gets a new timetable</h1>"
        f'<div class="entry-content">{paragraphs}{inside}</div></article>{after}</body></html>'
    )


def _card(n: int) -> str:
    excerpt = (
        f"Teaser number {n} describes another local story in a long excerpt, about a market,"
        " a school fete or a road closure, written to make the reader click through to it and"
        " long enough that four of them together run well past the size of a short block."
    )
    return (
        f'<article class="loop-entry"><header><h3><a href="/story-{n}">Other story {n}</a></h3>'
        f'</header><div class="entry-content-wrap"><div class="entry-summary"><p>{excerpt}</p>'
        "</div></div></article>"
    )


def test_a_related_block_of_long_teaser_cards_goes_and_stays_gone() -> None:
    cards = "".join(_card(n) for n in range(4))
    html = _page(
        after=f'<div class="post-related-carousel"><h2>You might also like</h2>{cards}</div>'
    )
    art = extract_article(html, URL)
    assert "Teaser number" not in art.body
    assert STORY[0] in art.body
    assert STORY[-1] in art.body
    assert any(r.rule == "related" and "Teaser number 3" in r.text for r in art.removed)


def test_a_dropped_block_with_a_body_class_is_not_joined_back_into_the_story() -> None:
    # the teaser's own "entry-content" block matches the body class of the story's block
    card = (
        '<div class="more-stories"><div class="entry-content"><p>A short teaser for a story'
        " about the lighthouse keeper, with a link.</p></div></div>"
    )
    art = extract_article(_page(after=card), URL)
    assert "lighthouse keeper" not in art.body
    assert STORY[1] in art.body


def test_an_accordion_panel_of_prose_is_kept() -> None:
    panel = (
        '<div class="accordion-item"><button class="accordion-title"><h4>What changes?</h4>'
        '</button><div class="accordion-content"> From April, <a href="/timetable">the'
        " timetable</a> lists every crossing with its pier, and the two late departures are"
        " marked so that theatre-goers can plan the trip home before the show begins. </div></div>"
    )
    art = extract_article(_page(inside=panel), URL)
    assert "theatre-goers can plan the trip home" in art.body


def _links(prefix: str) -> str:
    items = "".join(
        f'<li><p><a href="https://records.example.net/{prefix}/{n}">Notice {n} on the {prefix} berths'
        " and the changes to their opening hours</a></p></li>"
        for n in range(5)
    )
    return f'<div class="list-block"><ul>{items}</ul></div>'


def test_a_link_list_the_prose_introduces_stays_and_a_teaser_list_goes() -> None:
    introduced = '<div class="para"><p>The authority published these notices:</p></div>' + _links(
        "harbour"
    )
    teasers = "<p>You might also like:</p>" + _links("elsewhere")
    art = extract_article(_page(inside=introduced + f"<p>{STORY[0]}</p>" + teasers), URL)
    assert "Notice 3 on the harbour berths" in art.body
    assert "Notice 3 on the elsewhere berths" not in art.body
    assert any(r.rule == "link-list" and "elsewhere berths" in r.text for r in art.removed)


def test_a_modal_window_with_long_terms_goes_and_is_recorded() -> None:
    terms = " ".join(
        f"Condition {n}: the offer applies to new customers only and ends without notice."
        for n in range(10)
    )
    modal = f'<div class="region-modals"><div class="offer-modal"><p>{terms}</p></div></div>'
    art = extract_article(_page(after=modal), URL)
    assert "Condition 7" not in art.body
    assert any(r.rule == "modal" and "Condition 7" in r.text for r in art.removed)
