"""trafilatura's guarded expressions: the same elements as its own, and only in our calls."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import lxml.html
import pytest
import trafilatura
import trafilatura.xpaths
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from crawlers.extract.article import extract_article
from crawlers.extract.xpathguard import (
    REGEXP_NS,
    GuardedXPath,
    guard_path,
    guarded,
    install,
    selects_elements,
)

FIXTURES = Path(__file__).parent / "fixtures"


def installed() -> list[GuardedXPath]:
    """Every guarded expression in trafilatura's loaded modules, once each."""
    found: dict[int, GuardedXPath] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith("trafilatura"):
            continue
        for value in vars(module).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, GuardedXPath):
                    found[id(item)] = item
    return list(found.values())


def test_a_test_of_attributes_gets_a_presence_check_in_front() -> None:
    assert guard_path(".//div[re:test(@class, 'nav|menu')]") == (
        ".//div[((@class) and re:test(@class, 'nav|menu'))]"
    )
    assert guard_path(".//*[re:test(@id|@class, \"cookie\", 'i') or @role]") == (
        ".//*[((@id or @class) and re:test(@id|@class, \"cookie\", 'i')) or @role]"
    )
    assert guard_path(".//*[not(re:test(@id, '^ad-'))]") == (
        ".//*[not(((@id) and re:test(@id, '^ad-')))]"
    )


@pytest.mark.parametrize(
    "path",
    [
        ".//div[re:test(@class, 'nav|')]",  # the empty alternative matches ""
        ".//div[re:test(@class, 'x*')]",
        ".//div[re:test(@class, '^')]",
        ".//div[re:test(@class, '(unclosed')]",  # an error trafilatura would raise stays
        ".//div[re:test(text(), 'nav')]",  # not an attribute
        ".//div[contains(@class, 'nav')]",
    ],
)
def test_a_test_that_an_absent_attribute_could_pass_is_left_as_it_is(path: str) -> None:
    assert guard_path(path) == path


def test_why_a_pattern_that_matches_nothing_is_not_guarded() -> None:
    # without a class the original tests "" and selects the <div>: a guard would not
    page = etree.fromstring("<html><body><div>plain</div></body></html>", etree.HTMLParser())
    original = etree.XPath(".//div[re:test(@class, 'x*')]", namespaces={"re": REGEXP_NS})
    assert [el.text for el in original(page)] == ["plain"]
    assert guard_path(original.path) == original.path


def test_trafilatura_runs_the_twins_inside_our_calls_only() -> None:
    page = etree.fromstring("<html><body><a>1</a><b>2</b></body></html>", etree.HTMLParser())
    expression = GuardedXPath(etree.XPath("//a"), etree.XPath("//b"))  # told apart on purpose
    assert [el.tag for el in expression(page)] == ["a"]
    seen: list[str] = []
    with guarded():
        assert [el.tag for el in expression(page)] == ["b"]
        # another thread is another caller: it keeps trafilatura's own expression
        thread = threading.Thread(target=lambda: seen.extend(el.tag for el in expression(page)))
        thread.start()
        thread.join()
    assert seen == ["a"]
    assert [el.tag for el in expression(page)] == ["a"]


def test_trafilaturas_discard_and_body_expressions_are_guarded_once() -> None:
    guards = installed()
    assert all(isinstance(x, GuardedXPath) for x in trafilatura.xpaths.OVERALL_DISCARD_XPATH)
    assert any(isinstance(x, GuardedXPath) for x in trafilatura.xpaths.BODY_XPATH)
    assert len(guards) >= 15
    assert install() == 0  # installed at import; a second call finds nothing left to wrap
    assert len(installed()) == len(guards)


@pytest.mark.parametrize(
    ("path", "elements"),
    [
        (".//div[re:test(@class, 'a[b]') or @id]", True),
        ("(.//article)[1]", True),
        (".//*[@x][.//h1[@y]]//p", True),
        ("//a[re:test(@class, 'x')]/@href", False),
        ("//p[@class]/text()", False),
        ("//a['[']/@b", False),
    ],
)
def test_an_expression_selects_elements_unless_a_step_of_its_own_takes_text(
    path: str, elements: bool
) -> None:
    assert selects_elements(path) is elements


def test_install_wraps_module_expressions_and_lists_and_keeps_smart_strings_where_used() -> None:
    module = types.ModuleType("trafilatura._guard_test")
    module.HREFS = etree.XPath("//a[re:test(@class, 'x')]/@href", namespaces={"re": REGEXP_NS})
    module.LINKS = [etree.XPath("//a[re:test(@class, 'x')]", namespaces={"re": REGEXP_NS})]
    module.PLAIN = etree.XPath("//a[contains(@class, 'x')]")
    sys.modules[module.__name__] = module
    try:
        assert install() == 2
    finally:
        del sys.modules[module.__name__]
    assert isinstance(module.HREFS, GuardedXPath)
    assert isinstance(module.LINKS[0], GuardedXPath)
    assert type(module.PLAIN) is etree.XPath  # nothing to guard
    page = etree.fromstring(
        '<html><body><a class="x" href="/1">1</a><a href="/2">2</a></body></html>',
        etree.HTMLParser(),
    )
    with guarded():
        hrefs = module.HREFS(page)
        assert [el.text for el in module.LINKS[0](page)] == ["1"]
    assert hrefs == ["/1"]
    assert hrefs[0].getparent().text == "1"  # an attribute result keeps its element


def _same_elements(tree: etree._Element) -> None:
    for expression in installed():
        assert expression.twin(tree) == expression.original(tree), expression.path


@pytest.mark.parametrize(
    "page", sorted(FIXTURES.glob("*/*.html")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_the_twins_select_what_trafilaturas_own_select_on_stored_pages(page: Path) -> None:
    tree = lxml.html.fromstring(page.read_bytes())
    _same_elements(tree)
    # and on the tree as trafilatura's extraction has it (its own tag names: list, item, head)
    from trafilatura.htmlprocessing import convert_tags, tree_cleaning
    from trafilatura.settings import Extractor

    _same_elements(convert_tags(tree_cleaning(tree, Extractor()), Extractor()))


_TOKENS = [
    *("", " ", "nav", "Nav", "menu", "share", "cookie", "COOKIE", "author", "ad-x", "x-ad"),
    *("hidden", "hide-me", "display:none", "comment", "comments", "reply-1", "entry-content"),
    *("article-body", "post", "main", "teaser", "caption", "bottom", "link", "tags", "x"),
]
_VALUES = st.lists(st.sampled_from(_TOKENS), max_size=3).map(" ".join)
_ATTRIBUTES = st.dictionaries(
    st.sampled_from(["id", "class", "style", "role", "itemprop", "aria-hidden", "data-x"]),
    _VALUES,
    max_size=4,
)
_TAGS = st.sampled_from(["div", "p", "section", "span", "article", "main", "ul", "li", "a"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_TAGS, _ATTRIBUTES, st.integers(0, 3)), min_size=1, max_size=25))
def test_the_twins_select_what_trafilaturas_own_select_on_any_attributes(
    elements: list[tuple[str, dict[str, str], int]],
) -> None:
    root = etree.Element("html")
    body = etree.SubElement(root, "body")
    opened = [body]
    for tag, attributes, depth in elements:
        parent = opened[min(depth, len(opened) - 1)]
        el = etree.SubElement(parent, tag, attributes)
        el.text = "some text"
        opened = [*opened[: opened.index(parent) + 1], el]
    _same_elements(root)


def test_an_extraction_reads_the_same_text_inside_and_outside_the_guard() -> None:
    html = (FIXTURES / "articles" / "appeal.html").read_text()
    plain = trafilatura.extract(html)
    with guarded():
        assert trafilatura.extract(html) == plain
    assert plain
    assert "car ferry" in plain
    assert "car ferry" in extract_article(html, "https://news.example.org/appeal/").body
