"""No collapse: a body implausibly small for its page is replaced by a fuller fallback."""

from __future__ import annotations

import json
import random

import pytest

import crawlers.extract.article as article_module
from crawlers.extract.article import BODY_SOURCE_RULE, extract_article
from crawlers.extract.cleanup import CleanupRule, global_rules

URL = "https://guides.example.org/2026/05/02/garden-guide/"
_WORDS = [
    "soil",
    "water",
    "seed",
    "row",
    "bed",
    "frost",
    "spring",
    "compost",
    "mulch",
    "root",
    "leaf",
    "shade",
    "sun",
    "week",
    "plant",
    "harvest",
    "grow",
    "dig",
    "rake",
    "trowel",
    "bean",
    "pea",
    "kale",
    "onion",
    "garlic",
    "crop",
    "rotate",
    "weed",
    "path",
    "fence",
]


def sentences(seed: int, count: int) -> list[str]:
    """Deterministic generated prose: `count` paragraphs of several sentences each."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(4):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(9, 15))]
            parts.append(" ".join(words).capitalize() + ".")
        out.append(" ".join(parts))
    return out


def guide(sections: list[list[str]], section_class: str = "guide-part", ld: str = "") -> str:
    """A guide page: a short intro, then sections of headings and paragraphs."""
    intro = sentences(99, 1)[0]
    blocks = "".join(
        f'<div class="{section_class}"><h2>Step {i + 1}</h2>'
        + "".join(f"<p>{p}</p>" for p in paras)
        + "</div>"
        for i, paras in enumerate(sections)
    )
    return f"""<!doctype html><html lang="en"><head><title>Garden guide | Plot Weekly</title>
{ld}</head><body><nav><a href="/">Home</a></nav><main><h1>A garden guide for the season</h1>
<p>{intro}</p>{blocks}</main><footer><p>Plot Weekly</p></footer></body></html>"""


def _overeager(name: str = "overeager") -> tuple[CleanupRule, ...]:
    # a rule that takes the story's blocks: the kind of mistake the check must survive
    return (*global_rules(), CleanupRule(name=name, classes=("guide-part",), max_chars=100000))


def test_a_rule_that_removes_the_story_falls_back_to_the_page_without_cleanup() -> None:
    sections = [sentences(seed, 3) for seed in range(4)]
    html = guide(sections)
    art = extract_article(html, URL, rules=_overeager())
    for paras in sections:
        for paragraph in paras:
            assert paragraph in art.body
    assert art.body_source == "uncleaned"
    rules = [r.rule for r in art.removed]
    assert f"{BODY_SOURCE_RULE}:uncleaned" in rules
    assert "overeager" in rules  # the audit still says what the rule took


def test_without_the_check_the_same_page_collapses(monkeypatch: pytest.MonkeyPatch) -> None:
    sections = [sentences(seed, 3) for seed in range(4)]
    monkeypatch.setattr(article_module, "_MIN_MASS", 10**9)  # the check never fires
    art = extract_article(guide(sections), URL, rules=_overeager())
    assert len(art.body) < 0.2 * sum(len(p) for paras in sections for p in paras)
    assert art.body_source == "extractor"


def test_fast_mode_picking_a_small_node_falls_back_to_the_full_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = article_module._trafilatura_paragraphs

    def fragment_when_fast(root: object, url: str, *, fast: bool = True) -> list[str]:
        found = real(root, url, fast=fast)  # type: ignore[arg-type]
        return found[:1] if fast else found

    monkeypatch.setattr(article_module, "_trafilatura_paragraphs", fragment_when_fast)
    sections = [sentences(seed, 3) for seed in range(4)]
    art = extract_article(guide(sections, section_class="entry"), URL)
    assert art.body_source == "full"
    assert all(p in art.body for paras in sections for p in paras)
    assert f"{BODY_SOURCE_RULE}:full" in [r.rule for r in art.removed]


def test_a_jsonld_body_that_is_a_fragment_never_replaces_the_story() -> None:
    sections = [sentences(seed, 3) for seed in range(3)]
    ld = json.dumps({"@type": "Article", "headline": "A guide", "articleBody": sections[0][0]})
    html = guide(
        sections, section_class="entry", ld=f'<script type="application/ld+json">{ld}</script>'
    )
    art = extract_article(html, URL)
    assert art.body_source != "jsonld"
    assert all(p in art.body for paras in sections for p in paras)


def test_a_guide_that_fast_mode_cuts_to_a_fragment_is_recovered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # headings and short sections in repeated blocks: trafilatura's fast mode keeps one block
    sections = [sentences(seed, 3) for seed in range(3)]
    html = guide(sections, section_class="entry")
    story = sum(len(p) for paras in sections for p in paras)
    art = extract_article(html, URL)
    assert art.body_source == "full"
    assert all(p in art.body for paras in sections for p in paras)
    monkeypatch.setattr(article_module, "_MIN_MASS", 10**9)
    assert len(extract_article(html, URL).body) < 0.5 * story


def test_an_unrelated_longer_candidate_is_not_taken() -> None:
    # a short story next to a long unrelated block the cleanup rightly removes (comments)
    story = sentences(1, 2)
    comments = "".join(f'<div class="comments"><p>{p}</p></div>' for p in sentences(2, 12))
    html = f"""<html><head><title>Short note</title></head><body><article><h1>Short note</h1>
{"".join(f"<p>{p}</p>" for p in story)}</article>{comments}</body></html>"""
    art = extract_article(html, URL)
    assert all(p in art.body for p in story)
    assert "comments" not in art.body_source
    for p in sentences(2, 12):
        assert p not in art.body


def test_a_page_with_little_text_is_not_checked() -> None:
    html = "<html><body><nav><ul><li><a href='/a'>News</a></li></ul></nav><p>Hi.</p></body></html>"
    art = extract_article(html, URL)
    assert art.body_source == "extractor"
    assert not [r for r in art.removed if r.rule.startswith(BODY_SOURCE_RULE + ":")]


def _fragment_when_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the fast path return only its first paragraph, as it does on some layouts."""
    real = article_module._trafilatura_paragraphs

    def fragment(root: object, url: str, *, fast: bool = True) -> list[str]:
        found = real(root, url, fast=fast)  # type: ignore[arg-type]
        return found[:1] if fast else found

    monkeypatch.setattr(article_module, "_trafilatura_paragraphs", fragment)


def test_a_story_set_in_divs_with_line_breaks_is_checked_and_recovered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no <p> at all: the page's prose is long text runs between <br>s
    _fragment_when_fast(monkeypatch)
    story = sentences(7, 8)
    runs = "<br><br>".join(story)
    html = f"""<html><head><title>Bed notes</title></head><body><main><h1>Notes on raised
beds</h1><div class="entry">{runs}</div></main></body></html>"""
    art = extract_article(html, URL)
    assert art.body_source == "full"
    assert all(p in art.body for p in story)


def test_the_rest_of_a_story_in_an_article_of_its_own_is_not_taken_for_another_post(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an introduction in one <article> (a header region), the method in another, far apart;
    # the fast path keeps the introduction only
    intro, method = sentences(3, 1), sentences(4, 6)
    real = article_module._trafilatura_paragraphs

    def intro_when_fast(root: object, url: str, *, fast: bool = True) -> list[str]:
        found = real(root, url, fast=fast)  # type: ignore[arg-type]
        return intro if fast else found

    monkeypatch.setattr(article_module, "_trafilatura_paragraphs", intro_when_fast)
    html = f"""<html><head><title>Bean stew</title></head><body><div class="top"><article>
<h1>A bean stew for the harvest</h1><p>{intro[0]}</p></article></div><div class="middle">
<section><article class="steps">{"".join(f"<p>{p}</p>" for p in method)}</article></section>
</div></body></html>"""
    art = extract_article(html, URL)
    assert art.body_source == "full"
    assert all(p in art.body for p in method)


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `fast` flag of every trafilatura pass extract_article makes, in order."""
    calls: list[bool] = []
    real = article_module._trafilatura_paragraphs

    def counted(root: object, url: str, *, fast: bool = True) -> list[str]:
        calls.append(fast)
        return real(root, url, fast=fast)  # type: ignore[arg-type]

    monkeypatch.setattr(article_module, "_trafilatura_paragraphs", counted)
    return calls


def _discussed(comment_class: str) -> tuple[str, list[str], list[str]]:
    """A short story under a comment thread longer than itself."""
    story, replies = sentences(7, 3), sentences(8, 6)
    thread = "".join(f'<li class="comment"><p>{c}</p></li>' for c in replies)
    html = f"""<!doctype html><html lang="en"><head><title>A short story</title></head>
<body><main><article><h1>A short story with a long discussion</h1>
{"".join(f"<p>{p}</p>" for p in story)}</article>
<section class="{comment_class}"><h2>Readers' views</h2><ol>{thread}</ol></section>
</main></body></html>"""
    return html, story, replies


def test_a_comment_thread_longer_than_the_story_runs_no_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every fallback leaves comments out, so they are no story the cleanup lost; the same
    # text in a block not marked as comments is held against the body, and the fallbacks run
    for comment_class, passes in (("comments", [True]), ("readers-views", [True, False])):
        calls = _calls(monkeypatch)
        html, story, replies = _discussed(comment_class)
        art = extract_article(html, URL)
        assert all(p in art.body for p in story)
        assert art.body_source == "extractor"
        assert calls == passes  # the fast pass; then the full pipeline
    # the thread marked as comments never reaches the body
    html, _, replies = _discussed("comments")
    assert not any(c in extract_article(html, URL).body for c in replies)


def test_a_story_whose_class_says_comments_is_still_held_to_its_mass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "has-comments" matches the comments rule; the block holds the story, so its text
    # still counts, and a fast pass cut to one paragraph is recovered
    _fragment_when_fast(monkeypatch)
    story = sentences(11, 8)
    html = f"""<!doctype html><html lang="en"><head><title>A story</title></head><body>
<main><article class="post has-comments"><h1>A story with its comments open</h1>
{"".join(f"<p>{p}</p>" for p in story)}</article></main></body></html>"""
    art = extract_article(html, URL)
    assert art.body_source == "full"
    assert all(p in art.body for p in story)


def test_the_uncleaned_fallback_reads_the_page_parsed_again_as_a_copy_would_have_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import copy

    import lxml.html

    from crawlers.extract.article import extract_from_tree

    sections = [sentences(seed, 3) for seed in range(4)]
    # what _extract takes out before its copy: a photo credit, a comment, inline SVG
    extra = (
        '<div class="photo"><img src="/img/bed.jpg" alt="A raised bed">'
        '<p class="image-credit">Caption of the raised bed photo, taken in the early'
        " spring light by a reader of the weekly.</p></div>"
        "<p>Before the <!-- a note --> comment the story goes on.</p>"
        '<svg viewBox="0 0 1 1"><text>icon label</text></svg>'
    )
    html = guide(sections).replace("<main>", "<main>" + extra)
    copies: list[object] = []
    deepcopy = copy.deepcopy

    def counted(tree: object) -> object:
        copies.append(tree)
        return deepcopy(tree)

    monkeypatch.setattr(article_module.copy, "deepcopy", counted)
    again = extract_article(html, URL, rules=_overeager())
    assert copies == []  # parsed again, not copied
    copied = extract_from_tree(lxml.html.fromstring(html), URL, rules=_overeager())
    assert len(copies) == 1  # a tree from elsewhere has no text to parse again
    assert again.body_source == copied.body_source == "uncleaned"
    assert again == copied
    assert "Before the comment the story goes on." in again.body
    assert "Caption of the raised bed photo" not in again.body
    assert "icon label" not in again.body
    assert again.images[0].credit == (
        "Caption of the raised bed photo, taken in the early spring light by a reader of the weekly."
    )
