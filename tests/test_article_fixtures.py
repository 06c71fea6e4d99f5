"""Article extraction on stored pages written for these tests (tests/fixtures/articles)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import lxml.html
import pytest
from scrapy.http import HtmlResponse

from crawlers.extract.article import Article, Image, extract_article, extract_from_tree
from crawlers.extract.cleanup import Removal, load_rules

FIXTURES = Path(__file__).parent / "fixtures" / "articles"
BASE = "https://news.example.org"


def extract(name: str, url: str | None = None) -> Article:
    return extract_article((FIXTURES / name).read_bytes(), url or f"{BASE}/{name[:-5]}/")


def paragraphs(article: Article) -> list[str]:
    return article.body.split("\n\n")


def rules_of(article: Article) -> list[str]:
    return [r.rule for r in article.removed]


# -- boilerplate kinds -------------------------------------------------------------------


def test_donation_appeals_by_text_and_by_class() -> None:
    art = extract("appeal.html")
    assert paragraphs(art) == [
        "The old car ferry that links the two halves of the lake sailed again on Monday "
        "morning, four months after it was lifted into dry dock with a cracked propeller "
        "shaft.",
        "Skipper Jonas Brandt said the first crossing carried eleven cars, a tractor and a "
        "class of schoolchildren who had been promised a trip since the autumn.",
        "The repairs cost the lake authority more than it had planned, and the summer "
        "timetable will start a week late so that the crew can finish the safety drills.",
    ]
    assert art.removed == [
        Removal(
            rule="donation-appeal",
            text="We have a small favour to ask. More people are reading the Courier than "
            "ever, but advertising revenue is falling. If you value our reporting, please "
            "support us with a small contribution. Continue",
        ),
        Removal(
            rule="donation-appeal",
            text="Become a supporter today and help keep local news free for everyone.",
        ),
    ]
    assert art.title == "Harbour ferry returns after winter repairs"
    assert art.authors == ["Mara Lind"]


def test_newsletter_boxes_in_two_languages() -> None:
    art = extract("newsletter.html")
    assert paragraphs(art) == [
        "Die Stadtbibliothek öffnet ab dem ersten April auch am Sonntagnachmittag, wie der "
        "Kulturausschuss am Dienstagabend einstimmig beschlossen hat.",
        "Für die zusätzlichen Stunden werden zwei Teilzeitstellen geschaffen. Die Kosten "
        "trägt zur Hälfte ein Förderverein, der seit Jahren für längere Öffnungszeiten wirbt.",
        "Die Leiterin der Bibliothek rechnet vor allem mit Familien und Studierenden, die "
        "unter der Woche keine Zeit für einen Besuch finden.",
    ]
    assert rules_of(art) == ["newsletter", "newsletter"]
    assert art.removed[0].text.startswith("Unser Morgen-Newsletter Melden Sie sich")
    assert art.removed[1].text.startswith("Sign up for our weekly culture newsletter")
    assert (art.language, art.authors) == ("de", ["Lena Vogt"])


def test_read_more_related_and_most_read_lists() -> None:
    art = extract("related.html")
    assert paragraphs(art) == [
        "El mercado central de la ciudad volvió a abrir sus puertas el sábado después de dos "
        "años de obras que renovaron el techo, los pasillos y las cámaras de frío.",
        "Los comerciantes, que durante la reforma vendieron en carpas en la plaza, regresaron "
        "a sus puestos con nuevas balanzas y carteles pintados a mano.",
        "La municipalidad estima que el mercado recibirá unas cuatro mil visitas diarias "
        "durante el primer mes, sobre todo los fines de semana.",
    ]
    assert art.removed == [
        Removal("related", "Te puede interesar: La plaza recupera sus árboles"),
        Removal("related", "Read more"),
        Removal(
            "link-list",
            "The river festival moves to June New bus line connects the north "
            "School kitchens buy from local farms",
        ),
        Removal("related", "Most read Storm closes the coastal road A bakery turns one hundred"),
    ]


def test_share_prompts_cookie_notice_and_comments() -> None:
    art = extract("share_cookie_comments.html")
    assert paragraphs(art) == [
        "La ligne de tramway sera prolongée de trois stations jusqu'à la gare, a annoncé "
        "jeudi le conseil de la métropole après un vote serré.",
        "Les travaux doivent commencer à l'automne et durer deux ans. Les commerçants de "
        "l'avenue craignent une baisse de fréquentation pendant le chantier.",
        "Le maire promet des indemnités pour les boutiques touchées et un service de navettes "
        "gratuites pendant la fermeture de la rue principale.",
    ]
    assert rules_of(art) == ["cookie-notice", "share", "share", "comments"]
    assert art.removed[2].text == "Partager cet article sur les réseaux sociaux"
    assert art.removed[3].text.startswith("3 Comments Enfin !")
    assert art.language == "fr"


# -- images --------------------------------------------------------------------------------


def test_captions_and_credits_go_to_images_not_body() -> None:
    art = extract("captions.html")
    assert paragraphs(art) == [
        "The valley's beekeepers say this spring brought the largest swarms they have seen in "
        "twenty years, after a mild winter and an early flowering of the cherry trees.",
        "The association lent out forty spare boxes to members who ran out of room, and its "
        "honey extractor is booked every weekend until July.",
        "Older members warn that a good spring can be followed by a hard summer if the "
        "meadows are mown too early.",
    ]
    assert art.images == [
        Image(
            url=f"{BASE}/img/hives.jpg",
            alt="Rows of beehives",
            caption="Hives on the orchard slope above the village.",
            credit="Photo: Ada Moss/Valley Press",
            position=0,
        ),
        Image(
            url=f"{BASE}/img/queen.jpg",
            alt="A marked queen bee",
            caption="A queen bee marked with a dot of white paint.",
            credit="Image: Tom Reed",
            position=1,
        ),
        Image(
            url=f"{BASE}/img/jars.jpg",
            alt=None,
            caption="Jars of the first harvest, labelled by hand",
            credit="© Valley Press",
            position=2,
        ),
    ]
    assert art.top_image == f"{BASE}/img/hives-large.jpg"


# -- dates and authors ---------------------------------------------------------------------


def test_jsonld_dates_win_and_authors_resolve_graph_references() -> None:
    art = extract("dates_jsonld.html")
    assert (art.published, art.published_from, art.published_raw) == (
        "2026-01-21T08:15:00+01:00",
        "jsonld",
        "2026-01-21T08:15:00+01:00",
    )
    assert (art.modified, art.modified_from, art.modified_raw) == (
        "2026-01-22T09:00:00+00:00",
        "jsonld",
        "2026-01-22T09:00:00Z",
    )
    assert art.authors == ["Ella Stone", "Omar Haddad"]
    assert (art.section, art.tags, art.language) == (
        "Transport",
        ["rail", "night trains", "north"],
        "en",
    )
    assert art.lead == "Sleeper services run three nights a week from March."


def test_meta_dates_keep_the_zone_and_split_authors() -> None:
    art = extract("dates_meta.html")
    assert (art.published, art.published_from, art.published_raw) == (
        "2026-04-03T14:20:00+02:00",
        "meta",
        "2026-04-03 14:20:00 +0200",
    )
    assert (art.modified, art.modified_from) == ("2026-04-04T10:05:00+02:00", "meta")
    assert art.authors == ["Ana Ruiz", "Pedro Gil"]
    assert art.title == "Swimming pool gets a solar roof"


def test_time_elements_give_published_and_modified_apart() -> None:
    art = extract("dates_time.html")
    assert (art.published, art.published_from) == ("2026-05-06T11:30:00-04:00", "time")
    assert (art.modified, art.modified_from) == ("2026-05-07T08:00:00-04:00", "time")
    assert art.authors == ["Karl Ode"]
    assert "Updated May 7" not in art.body


def test_url_date_when_the_page_names_none() -> None:
    art = extract("dates_url.html", f"{BASE}/culture/2026/01/31/choir-wins/")
    assert (art.published, art.published_from, art.published_raw) == (
        "2026-01-31",
        "url",
        "2026-01-31",
    )
    assert art.modified is None
    assert art.authors == ["Ines Vale"]
    assert "Ines Vale" not in art.body


def test_date_from_text_as_a_last_resort() -> None:
    art = extract("dates_text.html")
    assert (art.published, art.published_from) == ("2026-03-03", "text")
    assert "Published 3 March" not in art.body


# -- charsets, broken markup, no article ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "first", "removed"),
    [
        (
            "cp1251.html",
            "В парке открыли новый каток",  # noqa: RUF001
            "В городском парке в субботу открыли новый каток с искусственным льдом, на котором "  # noqa: RUF001
            "можно кататься до конца марта.",
            [Removal("related", "Читайте также: Зимний фестиваль начнётся в пятницу")],
        ),
        (
            "shift_jis.html",
            "駅前に新しい図書館が開館",
            "駅前の再開発ビルに新しい市立図書館が開館し、初日には多くの家族連れが訪れました。",
            [Removal("related", "関連記事")],
        ),
        (
            "latin1.html",
            "La fête du village déménage au bord du lac",
            "La fête du village, qui se tenait depuis toujours sur la place de l'église, aura "
            "lieu cette année au bord du lac, a décidé le comité des fêtes.",
            [
                Removal(
                    "donation-appeal",
                    "Soutenez notre journalisme local : abonnez-vous dès aujourd'hui.",
                )
            ],
        ),
    ],
)
def test_declared_charsets(name: str, title: str, first: str, removed: list[Removal]) -> None:
    art = extract(name)
    assert art.title == title
    assert len(paragraphs(art)) == 2
    assert paragraphs(art)[0] == first
    assert art.removed == removed


def test_scrapy_tree_gives_the_same_article() -> None:
    body = (FIXTURES / "cp1251.html").read_bytes()
    url = f"{BASE}/cp1251/"
    response = HtmlResponse(url=url, body=body)
    assert response.encoding == "cp1251"
    assert extract_from_tree(response.selector.root, url) == extract_article(body, url)


def test_broken_jsonld_is_read_leniently_or_skipped() -> None:
    art = extract("broken_jsonld.html")
    # raw newlines inside strings and a trailing comma: still read
    assert (art.published, art.published_from) == ("2026-06-01T09:00:00+02:00", "jsonld")
    assert art.authors == ["Rosa Klein"]
    assert art.lead == "A landscape missing since 1931 turned up behind a crate."
    # the page's text is more complete than articleBody, which stops after one sentence
    assert paragraphs(art) == [
        "Staff clearing the attic of the town museum found a landscape painting that had been "
        "missing since 1931, wrapped in a blanket behind a crate of old fire buckets.",
        "Restorers say the canvas is dirty but whole, and the museum hopes to show it in the "
        "summer next to the sketches the painter made for it.",
    ]


def test_page_without_an_article_gives_an_empty_body() -> None:
    art = extract("no_article.html")
    assert art.body == ""
    assert art.word_count == 0
    assert art.title == "Page not found"
    assert art.published is None


def test_jsonld_article_body_fills_in_when_the_page_text_is_missing() -> None:
    html = """<html><head><script type="application/ld+json">
    {"@type": "BlogPosting", "headline": "Kiln fired", "articleBody": "First line of it.\\n\\nSecond line of it."}
    </script></head><body><div id="app"></div></body></html>"""
    art = extract_article(html, f"{BASE}/kiln/")
    assert paragraphs(art) == ["First line of it.", "Second line of it."]


def test_a_changed_rule_set_changes_the_body() -> None:
    own = load_rules('[[rule]]\nname = "ferry"\ntexts = ["skipper jonas"]\n')
    art = extract_article((FIXTURES / "appeal.html").read_bytes(), f"{BASE}/a/", rules=own)
    assert "Skipper Jonas" not in art.body
    # without the shipped rules the appeal stays in
    assert "small favour" in art.body
    assert rules_of(art) == ["ferry"]


def test_class_patterns_match_a_whole_value_or_each_word() -> None:
    # shipped patterns are searched word by word (with a cache across pages); a pattern
    # that spans a space or anchors at the value's ends is searched in the whole value
    story = "<p>The ferry left the harbour at dawn with the mail and ninety passengers.</p>" * 4
    html = (
        "<html><body><article><h1>Ferry</h1>"
        f'<div class="promo card"><p>Buy a season pass for the island ferry.</p></div>'
        f'<div class="card promo"><p>Win a weekend on the island.</p></div>{story}'
        "</article></body></html>"
    )
    for pattern, gone, kept in [
        ("promo card", ["season pass"], ["weekend"]),
        ("^card", ["weekend"], ["season pass"]),
        ("promo$", ["weekend"], ["season pass"]),
        ("promo", ["season pass", "weekend"], []),
    ]:
        own = load_rules(f'[[rule]]\nname = "ads"\nclasses = ["{pattern}"]\n')
        body = extract_article(html, f"{BASE}/ferry/", rules=own).body
        assert "ninety passengers" in body, pattern
        assert [t for t in gone if t in body] == [], pattern
        assert [t for t in kept if t not in body] == [], pattern


def test_words_matching_finds_in_one_scan_what_a_search_of_each_word_finds() -> None:
    import re

    from crawlers.extract.cleanup import matches_within_words, words_matching

    rng = random.Random(11)
    pieces = ["ad", "promo", "x", "side", "bar", "-", "_", "9", "related", "nav", "é", "Ad"]
    words = ["".join(rng.choices(pieces, k=rng.randint(1, 3))) for _ in range(300)]
    values = [
        "".join(w + rng.choice([" ", "  ", "\t", "\n "]) for w in rng.choices(words, k=3))
        for _ in range(500)
    ]
    # named groups as in the rules' combined class pattern, whose group names the rule
    patterns = [
        r"(?<![a-z0-9])(?:(?P<r0>promo)|(?P<r1>ad(?![a-z]))|(?P<r2>related))",
        r"(?<=-)nav|side(?=bar)",
        r"(?<!_)related|x*",  # one that matches the empty string at every position
    ]
    assert all(matches_within_words(p) for p in ("(?<=-)nav|side(?=bar)", "(?<!_)related|x*"))
    assert not matches_within_words(r"é[a-z]?$")  # anchored at the value's end: searched whole
    every = {w for v in values for w in v.split()}
    for source in patterns:
        pattern = re.compile(source)
        hits = words_matching(pattern, values)
        assert set(hits) == {w for w in every if pattern.search(w)}, source
        for word, match in hits.items():
            alone = pattern.search(word)
            assert alone is not None
            assert (match[0], match.lastgroup) == (alone[0], alone.lastgroup)
    assert set(words_matching(re.compile("promo"), ["a\tpromo-x", "side"])) == {"promo-x"}


def test_invalid_rules_are_rejected_with_the_rule_name() -> None:
    with pytest.raises(ValueError, match=r"'bad'.*selector"):
        load_rules('[[rule]]\nname = "bad"\nselectors = ["div[["]\n')
    with pytest.raises(ValueError, match=r"'worse'.*pattern"):
        load_rules('[[rule]]\nname = "worse"\ntexts = ["(unclosed"]\n')
    with pytest.raises(ValueError, match="unknown keys"):
        load_rules('[[rule]]\nname = "odd"\ncolour = "red"\n')


def test_never_raises_on_mangled_pages() -> None:
    rng = random.Random(20261123)
    url = f"{BASE}/2026/01/02/mangled/"
    for path in sorted(FIXTURES.iterdir()):
        data = path.read_bytes()
        for _ in range(6):
            cut = rng.randrange(len(data))
            noise = bytes(rng.randrange(256) for _ in range(64))
            for variant in (data[:cut], data[cut:], data[:cut] + noise + data[cut:]):
                art = extract_article(variant, url)
                assert isinstance(art.body, str), path.name
                assert art.url == url


def test_odd_jsonld_values_and_odd_trees() -> None:
    ld = {
        "@type": ["NewsArticle", "Thing"],
        "headline": {"@value": "Odd values"},
        "author": [1, None, {"name": ["First Author"]}, "Second Author", {"@id": "#nobody"}],
        "datePublished": 20260101,
        "dateModified": "not a date",
        "keywords": [1, {"a": 1}, "kept"],
        "image": [{"url": ["https://img.example.org/a.jpg"]}],
        "articleBody": ["a list", "of strings"],
        "inLanguage": {"@type": "Language", "name": "English"},
    }
    html = (
        f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head>'
        "<body><p>Short.</p></body></html>"
    )
    art = extract_article(html, f"{BASE}/odd/")
    assert art.title == "Odd values"
    assert art.authors == ["First Author", "Second Author"]
    assert art.modified is None
    assert "kept" in art.tags
    for root in (
        lxml.html.fragment_fromstring("<p>A fragment, not a document.</p>"),
        lxml.html.fromstring("<div><!-- only a comment --></div>"),
    ):
        assert isinstance(extract_from_tree(root, f"{BASE}/fragment/").body, str)
