"""The one way a page is parsed: decoded, cut to the work bounds, parsed and scrubbed.

The crawl (from Scrapy's decoded text), `extract_article`, `find_teasers`, `sites
suggest`/`sites check` and `reextract` all read a page through `parse_page`, so each sees
the same tree and the same cuts; `bound_page` does the part after parsing for a tree
parsed elsewhere (`extract_from_tree`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

import lxml.html
from lxml import etree
from lxml.html import HtmlElement
from parsel import Selector
from w3lib.encoding import html_to_unicode

from crawlers.extract.cleanup import Removal
from crawlers.extract.text import (
    MAX_PAGE_CHARS,
    MAX_TAG_ATTRIBUTES,
    bound_tree,
    has_oversized_tags,
    limit_attributes,
    scrub_controls,
    tree_text,
)

__all__ = [
    "ATTRIBUTES_CUT",
    "ATTRIBUTE_LIMIT_RULE",
    "SIZE_LIMIT_RULE",
    "Page",
    "bound_page",
    "parse_again",
    "parse_page",
]

logger = logging.getLogger(__name__)

# the `removed` rule that records a page cut to the extractor's size bounds
SIZE_LIMIT_RULE = "limit:page-size"
ATTRIBUTE_LIMIT_RULE = "limit:attributes"
# recorded on a page whose tags were cut by text.limit_attributes
ATTRIBUTES_CUT = Removal(
    rule=ATTRIBUTE_LIMIT_RULE, text=f"tags cut to their first {MAX_TAG_ATTRIBUTES:,} attributes"
)


@dataclass
class Page:
    """A parsed page within the work bounds, with what was cut to get there."""

    root: HtmlElement
    url: str
    # the cuts, as `removed` rows of the article extracted from the page
    removed: list[Removal] = field(default_factory=list)
    # why extraction from this page gives less than it holds (a parse failure, an exception)
    errors: list[str] = field(default_factory=list)
    # False when the page could not be parsed (or bounded): root is then an empty document
    parsed: bool = True
    # the text the tree was parsed from (parse_page), for a second parse of the page as it
    # came; None for a tree parsed elsewhere
    html: str | None = field(default=None, repr=False)

    @cached_property
    def selector(self) -> Selector:
        """A selector over the (bounded) tree, for CSS and XPath queries."""
        return Selector(root=self.root, base_url=self.url, type="html")

    def failed(self, what: str, exc: Exception) -> None:
        """Log and note an exception that cost the page (part of) its extraction."""
        logger.warning("%s failed on %s: %s", what, self.url, exc)
        self.errors.append(f"{what} failed: {type(exc).__name__}: {exc}")


def parse_page(
    html: str | bytes, url: str, content_type: str | None = None, *, encoding: str | None = None
) -> Page:
    """The page as a bounded, scrubbed tree; never raises (an unparseable page is empty).

    Bytes are decoded as Scrapy decodes a response: BOM, then `encoding` (the one a crawl
    read it with) or the Content-Type's charset, then <meta charset>, else UTF-8.
    """
    size, unit = len(html), "bytes" if isinstance(html, bytes) else "characters"
    cut = size > MAX_PAGE_CHARS
    if cut:
        logger.warning("page %s is too large: cut at %d %s", url, MAX_PAGE_CHARS, unit)
    try:
        if isinstance(html, bytes):
            header = f"charset={encoding}" if encoding else content_type
            _, html = html_to_unicode(header, html[:MAX_PAGE_CHARS])
        html = html[:MAX_PAGE_CHARS]
        many_attributes = has_oversized_tags(html)
        if many_attributes:
            # libxml2 is quadratic in a tag's attribute count: 10^5 of them stall a parse
            logger.warning("page %s has tags with thousands of attributes: cut", url)
            html = limit_attributes(html)
        root = _parse(html, url)
    except Exception as exc:  # lxml refuses some inputs outright
        page = Page(root=_parse("", url), url=url, parsed=False)
        page.failed("parsing", exc)
        return page
    page = bound_page(root, url)
    page.html = html if page.parsed else None
    if cut:
        text = f"page cut at {MAX_PAGE_CHARS:,} of its {size:,} {unit}"
        page.removed.append(Removal(rule=SIZE_LIMIT_RULE, text=text))
    if many_attributes:
        page.removed.append(ATTRIBUTES_CUT)
    return page


def parse_again(html: str, url: str) -> Page:
    """The page of a `Page.html`, parsed and bounded again as `parse_page` did the first time."""
    return bound_page(_parse(html, url), url, warn=False)  # warned of its cuts the first time


def bound_page(root: etree._Element, url: str, *, warn: bool = True) -> Page:
    """A tree parsed elsewhere, cut in place to the work bounds and scrubbed; never raises."""
    page = Page(root=cast(HtmlElement, root), url=url)
    try:
        # the text is joined once for both (a large part of their cost); the bounds go
        # first, so a cut page's control-character pass reads less
        text = tree_text(root)
        cut = bound_tree(root, text_chars=len(text))
        scrub_controls(root, text if cut is None else None)
    except Exception as exc:  # a tree lxml cannot walk: nothing can be read from it
        page.parsed = False
        page.failed("bounding the page", exc)
        return page
    if cut is not None:
        if warn:
            logger.warning("page %s is too large: %s", url, cut)
        page.removed.append(Removal(rule=SIZE_LIMIT_RULE, text=cut))
    return page


def _html_classes() -> etree.ElementNamespaceClassLookup:
    """lxml.html's element classes, looked up in C: lxml.html's own lookup is a Python
    method called for every element proxy lxml creates, a few percent of detection time."""
    fallback = etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
    lookup = etree.ElementNamespaceClassLookup(fallback)
    tags = lookup.get_namespace(None)
    for tag, cls in lxml.html.HtmlElementClassLookup._default_element_classes.items():
        tags[tag] = cls
    return lookup


_HTML_CLASSES = _html_classes()


def _parse(text: str, url: str) -> HtmlElement:
    # as parsel (so Scrapy) parses: NULs dropped, an empty page an empty document; lone
    # surrogates (str input only) pass to libxml2, which replaces them, instead of raising
    data = text.strip().replace("\x00", "").encode("utf-8", "surrogatepass") or b"<html/>"
    parser = lxml.html.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    parser.set_element_class_lookup(_HTML_CLASSES)
    root = etree.fromstring(data, parser=parser, base_url=url)
    if root is None:
        root = etree.fromstring(b"<html/>", parser=parser, base_url=url)
    return cast(HtmlElement, root)
