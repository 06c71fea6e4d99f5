"""Article extraction v1 on pages written for these tests."""

from __future__ import annotations

import json
import random
from datetime import datetime

from htmldate import find_date
from htmldate.extractors import regex_parse

from crawlers.extract.article import extract_article
from crawlers.extract.pagedate import written_date
from crawlers.sites import parse_sites

URL = "https://news.example.org/science/2026/11/04/glacier-survey/"

PARAS = [
    "Surveyors measured the northern glacier for the ninth year running, walking the same "
    "transect of stakes that the first team drilled into the ice in the autumn of the project.",
    "The tongue of the glacier has retreated by forty metres since the last count, the team "
    "said, while the snow line moved higher than in any year on the station's record.",
    "Volunteers from the valley school helped carry instruments to the upper camp and logged "
    "meltwater temperatures every hour during the three days of fieldwork.",
]


def page(jsonld: object | None, head_extra: str = "", body_extra: str = "") -> str:
    ld = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    first, *rest = (f"<p>{p}</p>" for p in PARAS)
    return f"""<!doctype html><html lang="en-GB"><head>
<title>Glacier survey finds faster retreat | Valley Times</title>
<link rel="canonical" href="/science/2026/11/04/glacier-survey/">
{ld}{head_extra}</head><body>
<header><nav><a href="/">Home</a> <a href="/science/">Science</a></nav></header>
<article>
 <h1>Glacier survey finds faster retreat</h1>
 <p class="byline">By <a rel="author" href="/a/ines">Ines Vale</a></p>
 <figure><img src="/img/glacier.jpg" alt="Ice field">
  <figcaption>Stakes mark the survey line on the ice. <span class="credit">Photo: Tomas Ray/Valley Times</span></figcaption>
 </figure>
 {first}
 <div class="newsletter"><p>Sign up for our weekly science newsletter and never miss a story.</p></div>
 {"".join(rest)}
 <div class="donate-box"><p>We have a small favour to ask. Readers like you keep us going. Continue</p></div>
 {body_extra}
 <section class="related"><h2>Read more</h2><ul><li><a href="/x">Another story about snow</a></li></ul></section>
</article>
<footer>© Valley Times</footer></body></html>"""


def test_jsonld_graph_metadata_and_clean_body() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Valley Times"},
            {
                "@type": "NewsArticle",
                "headline": "Glacier survey finds faster retreat",
                "description": "The ice retreated forty metres in a year.",
                "datePublished": "2026-11-04T09:15:00+01:00",
                "dateModified": "2026-11-04T12:00:00Z",
                "author": [{"@type": "Person", "name": "Ines Vale"}, {"name": "Tomas Ray"}],
                "articleSection": "Science",
                "keywords": ["glaciers", "climate"],
                "image": {"@type": "ImageObject", "url": "https://cdn.example.org/glacier-big.jpg"},
            },
        ],
    }
    art = extract_article(page(ld), URL)
    assert art.title == "Glacier survey finds faster retreat"
    assert art.lead == "The ice retreated forty metres in a year."
    assert art.authors == ["Ines Vale", "Tomas Ray"]
    assert (art.published, art.published_from) == ("2026-11-04T09:15:00+01:00", "jsonld")
    assert art.published_raw == "2026-11-04T09:15:00+01:00"
    assert (art.modified, art.modified_from) == ("2026-11-04T12:00:00+00:00", "jsonld")
    assert art.section == "Science"
    assert art.tags == ["glaciers", "climate"]
    assert art.language == "en"
    assert art.canonical_url == URL
    assert art.top_image == "https://cdn.example.org/glacier-big.jpg"
    assert art.body.split("\n\n") == PARAS
    assert art.word_count == sum(len(p.split()) for p in PARAS)
    for junk in (
        "newsletter",
        "small favour",
        "Another story",
        "Photo:",
        "Stakes mark",
        "Ines Vale",
    ):
        assert junk not in art.body
    assert art.images[0].url == "https://news.example.org/img/glacier.jpg"
    assert art.images[0].alt == "Ice field"
    assert art.images[0].caption == "Stakes mark the survey line on the ice."
    assert art.images[0].credit == "Photo: Tomas Ray/Valley Times"
    rules = {r.rule for r in art.removed}
    assert {"newsletter", "donation-appeal", "related"} <= rules
    appeal = next(r for r in art.removed if r.rule == "donation-appeal")
    assert appeal.text.startswith("We have a small favour to ask")


def test_meta_dates_and_authors_without_jsonld() -> None:
    head = (
        '<meta property="article:published_time" content="2026-11-04T08:00:00+00:00">'
        '<meta property="og:title" content="Glacier survey finds faster retreat">'
        '<meta name="author" content="Ines Vale">'
    )
    art = extract_article(page(None, head), URL)
    assert (art.published, art.published_from) == ("2026-11-04T08:00:00+00:00", "meta")
    assert art.modified is None
    assert art.authors == ["Ines Vale"]


def test_time_element_then_url_date() -> None:
    with_time = page(None, body_extra='<time datetime="2026-11-03">3 November</time>')
    art = extract_article(with_time, URL)
    assert (art.published, art.published_from) == ("2026-11-03", "time")
    art = extract_article(page(None), URL)
    assert (art.published, art.published_from) == ("2026-11-04", "url")
    assert art.authors == ["Ines Vale"]  # from rel=author
    assert art.title == "Glacier survey finds faster retreat"  # from h1


def test_site_strip_rules_are_applied_and_recorded() -> None:
    config = parse_sites(
        '[sites.vt]\nstart_urls = ["https://news.example.org/"]\nstrip = [".promo"]'
    )["vt"]
    html = page(
        None,
        body_extra='<div class="promo"><p>Buy the printed annual for your shelf today and save.</p></div>',
    )
    art = extract_article(html, URL, config)
    assert "printed annual" not in art.body
    assert any(r.rule == "site:vt" and "printed annual" in r.text for r in art.removed)
    assert "printed annual" in extract_article(html, URL).body


def test_non_utf8_bytes_with_declared_charset() -> None:
    html = page(None).replace("Surveyors measured", "Surveyors at the Café Zürich measured")
    html = html.replace("<head>", '<head><meta charset="windows-1252">')
    art = extract_article(html.encode("cp1252"), URL)
    assert "Café Zürich" in art.body


def test_hostile_input_returns_empty_article() -> None:
    for junk in ["", "\x00", "<html>", b"\xff\xfe\xfa", "<p>" * 5000]:
        art = extract_article(junk, URL)
        assert art.url == URL
        assert isinstance(art.body, str)


def test_attribute_selector_groups_match_what_cssselect_matches() -> None:
    import lxml.html
    from lxml.cssselect import CSSSelector

    from crawlers.extract.cleanup import _attribute_scan, _attribute_test, _group_xpath

    page = lxml.html.fromstring(
        "<html><body><div role='navigation'><p hidden>a</p></div><div role='main'>b</div>"
        "<span role='banner' hidden='hidden'>c</span><p data-x='1'>d</p><div>e</div>"
        "<section role='dialog'><div role='complementary'>f</div></section></body></html>"
    )

    def css(group: list[str]) -> list[object]:
        return list(CSSSelector(", ".join(group), translator="html")(page))

    group = ["[role=navigation]", "[role=banner]", "[role=dialog]", "[role=complementary]"]
    group.append("[hidden]")
    test = _attribute_test(group)
    assert test is not None
    scan = _attribute_scan([test])
    assert scan is not None
    assert scan.path.startswith("(descendant-or-self::*/@hidden | descendant-or-self::*/@role[")
    found = [el for el in scan(page) if test.matches(el)]
    assert [el.text_content() for el in found] == ["a", "a", "c", "f", "f"]
    assert found == css(group)
    # one scan for two rules' groups: each group's test keeps its own elements only
    other = ["[data-x='1']", "[role=main]"]
    other_test = _attribute_test(other)
    assert other_test is not None
    both = _attribute_scan([test, other_test])
    assert both is not None
    assert [el for el in both(page) if test.matches(el)] == css(group)
    assert [el.text_content() for el in both(page) if other_test.matches(el)] == ["b", "d"]
    assert [el for el in both(page) if other_test.matches(el)] == css(other)
    # anything but attribute-only selectors keeps cssselect's own translation
    assert _attribute_test(["[hidden]", "div > p"]) is None
    mixed = _group_xpath(["[hidden]", "div > p"])
    assert mixed.path == CSSSelector("[hidden], div > p", translator="html").path


def test_contains_selectors_with_more_tests_read_the_attribute_axis() -> None:
    import lxml.html
    from lxml.cssselect import CSSSelector

    from crawlers.extract.cleanup import _group_xpath

    page = lxml.html.fromstring(
        "<html><body><div class='related-box'><article><h2><a>one</a></h2></article></div>"
        "<div class='box related'><p>two</p></div><section class='unrelated'><article>"
        "<h3><a>three</a></h3></article></section><div><article><h2><a>four</a></h2>"
        "</article></div><ul class='related'><li class='related'>five</li></ul></body></html>"
    )
    for selector in [
        "[class*=related]:has(article h2 a, article h3 a)",
        "[class*=related]:has(li)",
        "[class*=related]:not(ul)",
        "[class*=related]:first-child",
    ]:
        fast = _group_xpath([selector])
        assert fast.path.startswith("descendant-or-self::*/@class["), selector
        assert fast(page) == CSSSelector(selector, translator="html")(page), selector
    assert [el.get("class") for el in _group_xpath(["[class*=related]:has(a)"])(page)] == [
        "related-box",
        "unrelated",
    ]


def test_required_literals_are_runs_every_match_holds() -> None:
    from crawlers.extract.cleanup import _required_literal

    cases = {
        r"\bwords\b on a row": " on a row",  # s breaks a run: U+017F matches it
        r"[\w.'\s-]{2,80}\s+contributed\s+(to\s+)?this": "contr",  # so does i: U+0131
        r"ⓒ": None,  # a letter with case beyond ASCII: no test of `in`
        r"MORE Stories": "more ",
        r"(?=[^©]{0,200}©).{0,200}\b(photos?|images?)\s+?©": "©",
        r"ab?cd": "cd",  # b may be absent
        r"x{2}yz\.com": "yz.com",
        r"[a\]b]cd": "cd",
        r"read more|related": None,  # a run of one branch is not in the other's matches
        r"\u00e9tude": None,
        r"(?x)a b": None,
        r"\d{1,2}\.?\s+\d{4}": None,
    }
    for pattern, expected in cases.items():
        found = _required_literal(pattern)
        assert found == expected, pattern


def test_text_patterns_gated_by_their_literal_match_as_without_the_gate() -> None:
    import dataclasses

    from crawlers.extract.cleanup import _combine, _matcher, global_rules

    gated = _matcher(global_rules())
    assert sum(need is not None for need in gated.needs) >= 2
    ungated = dataclasses.replace(gated, needs=(None,) * len(gated.anywhere), compiled={}, seen={})
    texts = [
        "Alex Smith and Kim Roe contributed to this report.",
        "ALEX SMITH CONTRIBUTED REPORTING",
        "Alex Smith contr\u0131buted to this report",  # a dotless i matches i
        "© 2024 Example Media Group",
        "Top photo © Sam Doe",
        "Montag, 3. März 2025",
        "  12 de marzo de 2024, a las 10:30",
        "© 2019 The Example Post",
        "The council contributed funds to the school",
        "Read more",
        "A paragraph of the story that no rule matches at all.",
    ]
    # and as one regex of every pattern would: no text is filed under the wrong letter
    every = {entry for entries in gated.by_first.values() for entry in entries}
    brute = _combine(sorted(every | set(gated.anywhere)))
    assert brute is not None
    found = {}
    for text in texts:
        match, expected = gated._match_text(text), ungated._match_text(text)
        tried = brute.match(text)
        assert gated.text_rule(text) == (gated.rule(match) if match else None), text
        assert gated.text_rule(text) is gated.seen[text]  # the rule kept, not the match
        assert (match and gated.rule(match).name) == (tried and gated.rule(tried).name), text
        assert (match and (gated.rule(match).name, match.group())) == (
            expected and (ungated.rule(expected).name, expected.group())
        ), text
        found[text] = gated.rule(match).name if match else None
    assert found["Alex Smith and Kim Roe contributed to this report."] == "contributor-line"
    assert found["ALEX SMITH CONTRIBUTED REPORTING"] == "contributor-line"
    assert found["Top photo © Sam Doe"] == "photo-credit"
    assert found["© 2024 Example Media Group"] == "reprints"
    assert found["Montag, 3. März 2025"] == "byline-and-dates"
    assert found["  12 de marzo de 2024, a las 10:30"] == "byline-and-dates"
    assert found["A paragraph of the story that no rule matches at all."] is None


def test_text_patterns_are_filed_under_the_first_word_character_they_can_match() -> None:
    from crawlers.extract.cleanup import _first_letters

    assert _first_letters(r",?\s+?\d{1,2}\.") == frozenset("0123456789")
    assert _first_letters(r"©\s+?(19|20)\d\d") == frozenset("12")
    assert _first_letters(r"(mon|tues)day,?\s+\d") == frozenset("mt")
    assert _first_letters(r"-{2,}\W*next") == frozenset("n")
    assert _first_letters(r".x") is None  # a dot matches a word character
    assert _first_letters(r"\_x") is None


def test_the_matcher_of_a_rule_set_is_its_own_when_sets_alternate() -> None:
    from crawlers.extract.cleanup import CleanupRule, _matcher, global_rules

    shipped = global_rules()
    mine = (CleanupRule(name="mine", classes=("promo-box",)),)
    first = _matcher(shipped)
    assert _matcher(shipped) is first
    assert [rule.name for rule in _matcher(mine).rules] == ["mine"]
    assert _matcher(shipped) is first  # compiled once, found again after another set
    assert _matcher(tuple(mine)) is _matcher(mine)


def _undated_page(last: str, footer: str) -> str:
    """A story whose markup names no date: six paragraphs, then `last`, then a footer."""
    story = "".join(
        f"<p>Paragraph {i} of the survey report on the glacier, with its stakes and its "
        "measurements of the ice along the valley, as the team wrote them down.</p>"
        for i in range(6)
    )
    return (
        "<html><head><title>Glacier survey</title></head><body>"
        f"<article><h1>Glacier survey</h1>{story}<p>{last}</p></article>"
        f"<footer><p>{footer}</p></footer></body></html>"
    )


UNDATED_URL = "https://news.example.org/science/glacier-survey"


def test_a_copyright_year_is_no_publication_date() -> None:
    # htmldate alone turns the footer's year into 1 January; the archive stores no date
    html = _undated_page("The team will return next year.", "© 2024 Valley Times")
    assert find_date(html, original_date=True, url=UNDATED_URL) == "2024-01-01"
    art = extract_article(html, UNDATED_URL)
    assert (art.published, art.published_from) == (None, None)
    # and htmldate called by anyone else afterwards still searches the whole page
    assert find_date(html, original_date=True, url=UNDATED_URL) == "2024-01-01"


def test_a_date_written_out_in_the_story_is_the_publication_day() -> None:
    # found only by the whole-page search, the one part of it that is kept
    last = "The team walked the survey line again on 17 July 2025 and found every stake."
    art = extract_article(_undated_page(last, "© 2025 Valley Times"), UNDATED_URL)
    assert (art.published, art.published_from) == ("2025-07-17", "text")


def test_the_written_date_search_finds_what_htmldate_regex_finds_on_any_text() -> None:
    # the spans it reads must hold every match of htmldate's regex: compared on generated
    # text of dates, near-dates, markup and long runs of characters a date can hold
    rng = random.Random(7)

    def date() -> str:
        day = rng.choice(["5", "5th", "31", "29", "07"])
        month, year = (
            rng.choice(["March", "mars", "Okt.", "Feb", "Smith"]),
            rng.choice(["2025", "2031", "1999", "1989"]),
        )
        if rng.random() < 0.5:
            return f"{month}{rng.choice([' ', chr(10)])}{day}{rng.choice([',', ''])} {year}"
        return f"{day}{rng.choice(['', '.'])} {rng.choice(['', 'of '])}{month}{rng.choice(',. ')} {year}"

    noise = [" ", ",", ".", "\n", "<p>", "</p>", ">", "-", "_", "x" * 310, "é", "on", "5", "2024"]
    for _ in range(3000):
        parts = [date() if rng.random() < 0.3 else rng.choice(noise) for _ in range(20)]
        text = "".join(parts)
        assert written_date(text) == regex_parse(text), text
    # a glued word runs on for more than the look-back before its month ("…xxMarch 5, 2025")
    glued = "<p>" + "x" * 400 + "March 5, 2025</p>"
    assert written_date(glued) == regex_parse(glued) == datetime(2025, 3, 5)
    long_run = "<p>" + "word " * 80 + "on 17 July 2025 and 3 May 2024</p>"
    assert written_date(long_run) == regex_parse(long_run) == datetime(2025, 7, 17)
    assert written_date("<p>© 2024 Valley Times</p><p>Sitemap 2025</p>") is None


def test_a_label_run_on_into_its_link_is_dropped_from_the_body() -> None:
    # "<b>Read more</b>: <a>…</a>": the label's run alone is no rule's text, the paragraph is
    label = '<p><b>Read more</b>: <a href="/snow">Snow closes the mountain pass</a></p>'
    story = [
        f"<p>Paragraph {i} of the survey report on the glacier, with its stakes and its "
        "measurements of the ice along the valley, as the team wrote them down.</p>"
        for i in range(6)
    ]
    html = (
        "<html><head><title>Glacier survey</title></head><body><article><h1>Glacier survey</h1>"
        f"{''.join(story[:3])}{label}{''.join(story[3:])}</article></body></html>"
    )
    art = extract_article(html, UNDATED_URL)
    assert "Paragraph 5 of the survey report" in art.body
    assert "Snow closes" not in art.body
    assert "Read more" not in art.body
    assert any(r.rule == "related" and "Snow closes" in r.text for r in art.removed)


def test_markup_patterns_judge_class_words_as_they_judge_whole_values() -> None:
    import random
    import re

    from crawlers.extract.article import _BODY_CLASS_RE, _DECK_RE, _matching_keys
    from crawlers.extract.cleanup import image_rules

    words = ["dek", "deck-x", "sub-head", "subheadline", "xsummary", "summary_2", "post-body"]
    words += ["entry__content", "wp-caption", "photo-credit", "credits", "img", "caption9", "a"]
    rng = random.Random(7)
    keys = {" ".join(rng.choices(words, k=rng.randint(1, 4))) for _ in range(2000)}
    for pattern in (_DECK_RE, _BODY_CLASS_RE, image_rules().any):
        assert _matching_keys(pattern, keys) == {k for k in keys if pattern.search(k)}
    assert 0 < len(_matching_keys(_DECK_RE, keys)) < len(keys)
    assert _matching_keys(_DECK_RE, {"post-body", "a img"}) == set()
    # a pattern that can match across words is searched in the whole value
    across = re.compile(r"sub title|(?<![a-z])lead$")
    assert _matching_keys(across, {"sub title", "lead x", "x lead"}) == {"sub title", "x lead"}


def test_page_date_hands_dateparser_its_listed_languages_only() -> None:
    import htmldate
    import lxml.html

    from crawlers.extract.pagedate import page_date

    def page(date: str) -> lxml.html.HtmlElement:
        html = f"<html><body><article><h1>Ffair</h1><p>{date}</p><p>Testun.</p></article>"
        return lxml.html.fromstring(html + "</body></html>")

    def theirs(date: str) -> str | None:
        return htmldate.find_date(page(date), extensive_search=True, original_date=True)

    url = "https://example.org/ffair"
    # dates that only dateparser reads: English is a listed language, Welsh and Tagalog not
    assert page_date(page("Feb. 27, 2025"), url) == "2025-02-27"
    assert page_date(page("2/24/2026"), url) == "2026-02-24"
    assert page_date(page("14 Gorffennaf 2024"), url) is None
    # htmldate called by anyone else keeps every language, whoever parsed a string first
    assert theirs("14 Gorffennaf 2024") == "2024-07-14"
    assert page_date(page("14 Gorffennaf 2024"), url) is None
    assert page_date(page("3 Hulyo 2024"), url) is None
    assert theirs("3 Hulyo 2024") == "2024-07-03"
