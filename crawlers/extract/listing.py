"""Teasers and the next page from a listing page, by configured selectors or automatically."""

from __future__ import annotations

import logging
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree
from parsel import Selector, SelectorList

from crawlers.extract.autodetect import (
    detect,
    detect_next_page,
    element_text,
    read_blocks,
    wordish,
)
from crawlers.extract.page import Page, bound_page, parse_page
from crawlers.extract.text import (
    absolute_http_url,
    clean_text,
    is_read_more,
    over_bounds,
    strip_read_more,
)
from crawlers.sites import SiteConfig

__all__ = ["Teaser", "extract_next_page", "extract_teasers", "find_next_page", "find_teasers"]

logger = logging.getLogger(__name__)

_HEADING_LINKS = "h1 a[href], h2 a[href], h3 a[href], h4 a[href], h5 a[href], h6 a[href]"
_SECONDARY_XPATH = (
    "ancestor-or-self::*[self::aside or self::nav or self::footer or self::header or "
    "contains(concat(' ', normalize-space(@class), ' '), ' sidebar ') or "
    "contains(concat(' ', normalize-space(@class), ' '), ' widget ')]"
)


@dataclass(frozen=True)
class Teaser:
    """A teaser as a reader sees it on a listing page.

    `position` is the 1-based place among the page's teasers: main teasers first, in page
    order, then secondary ones (automatic mode only) in page order.
    """

    url: str
    title: str | None
    excerpt: str | None
    image: str | None
    date_text: str | None
    has_read_more: bool
    position: int
    region: str = "main"
    # 1.0 for a listing that passed the detector's tests; lower for the fallback's best guess
    confidence: float = 1.0


def _text_of(node: Selector) -> str:
    if isinstance(node.root, str):
        return clean_text(node.root)
    if isinstance(node.root, etree._Element):
        return element_text(node.root)
    return clean_text(node.xpath("string()").get())


def _node_text(nodes: SelectorList[Selector]) -> str | None:
    if not nodes:
        return None
    return _text_of(nodes[0]) or None


def _field(block: Selector, css: str | None) -> str | None:
    if not css:
        return None
    return _node_text(block.css(css))


def _excerpt(block: Selector, css: str, url: str, base: str) -> str | None:
    """The text of every match (nested matches once), without short links back to url."""
    nodes = block.css(css)
    roots = [n.root for n in nodes]
    elements = {r for r in roots if isinstance(r, etree._Element)}
    texts: list[str] = []
    for node, root in zip(nodes, roots, strict=True):
        if isinstance(root, etree._Element):
            if any(a in elements for a in root.iterancestors()):
                continue

            def back_link(el: etree._Element) -> bool:
                if el.tag != "a":
                    return False
                target = absolute_http_url(el.get("href"), base)
                text = element_text(el)
                return (
                    target is not None
                    and target.split("#")[0] == url.split("#")[0]
                    and (wordish(text) <= 4 or is_read_more(text))
                )

            texts.append(element_text(root, back_link))
        else:
            texts.append(_text_of(node))
    return strip_read_more(clean_text(" ".join(texts))) or None


def _image(block: Selector, css: str, base: str) -> str | None:
    return absolute_http_url(_field(block, css), base)


def _main_link(block: Selector) -> Selector | None:
    heading = block.css(_HEADING_LINKS)
    if heading:
        return heading[0]
    best: Selector | None = None
    best_len = -1
    for a in block.css("a[href]"):
        text = _text_of(a)
        if is_read_more(text):
            continue
        if len(text) > best_len:
            best, best_len = a, len(text)
    return best


def _region(block: Selector) -> str:
    return "secondary" if block.xpath(_SECONDARY_XPATH) else "main"


def _document_base(sel: Selector, url: str) -> str:
    """The URL relative links resolve against: the page's <base href>, else its own URL."""
    href = sel.xpath("//base[@href][1]/@href").get()
    return (absolute_http_url(href, url) or url) if href else url


def _block_url(block: Selector, base: str, config: SiteConfig) -> str | None:
    if config.link:
        href = _field(block, config.link)
    else:
        link_node = _main_link(block)
        href = link_node.attrib.get("href") if link_node is not None else None
    return absolute_http_url(href, base)


def extract_teasers(
    sel: Selector | Page, url: str, config: SiteConfig | None = None
) -> list[Teaser]:
    """Teasers from an already parsed listing page (main ones first, each in page order).

    Selector mode when the config has `teaser` (and mode "selectors"): fields without a
    selector are read from the block the way the automatic mode reads them. Never raises:
    a failure is logged (and noted on a Page's errors) and gives no teasers.
    """
    try:
        return _teasers(_bounded(sel, url), url, config)
    except Exception as exc:  # extraction of web input must never raise
        _failed(sel, url, "teaser detection", exc)
        return []


def _teasers(sel: Selector, url: str, config: SiteConfig | None) -> list[Teaser]:
    if config is None or not config.selector_mode or config.teaser is None:
        return _auto_teasers(sel, url, config)
    pattern = config.url_pattern
    page_url = url.split("#")[0]
    base = _document_base(sel, url)
    found: list[tuple[Selector, str]] = []
    seen_urls: set[str] = set()
    for block in sel.css(config.teaser):
        teaser_url = _block_url(block, base, config)
        if teaser_url is None or teaser_url.split("#")[0] == page_url or teaser_url in seen_urls:
            continue
        if pattern is not None and not pattern.search(teaser_url):
            continue
        if not isinstance(block.root, etree._Element):
            continue
        seen_urls.add(teaser_url)
        found.append((block, teaser_url))
    root = sel.root
    if not found or not isinstance(root, etree._Element):
        return []
    read = read_blocks(root, url, [(block.root, teaser_url) for block, teaser_url in found])
    teasers: list[Teaser] = []
    for position, ((block, teaser_url), auto) in enumerate(zip(found, read, strict=True), 1):
        teasers.append(
            Teaser(
                url=teaser_url,
                title=_field(block, config.title) if config.title else auto.title,
                excerpt=(
                    _excerpt(block, config.excerpt, teaser_url, base)
                    if config.excerpt
                    else auto.excerpt
                ),
                image=_image(block, config.image, base) if config.image else auto.image,
                date_text=_field(block, config.date) if config.date else auto.date_text,
                has_read_more=auto.has_read_more,
                position=position,
                region=_region(block),
            )
        )
    return teasers


def _auto_teasers(sel: Selector, url: str, config: SiteConfig | None) -> list[Teaser]:
    root = sel.root
    if not isinstance(root, etree._Element):
        return []
    pattern = config.url_pattern if config is not None else None
    found = [t for t in detect(root, url).teasers if pattern is None or pattern.search(t.url)]
    return [
        Teaser(
            url=t.url,
            title=t.title,
            excerpt=t.excerpt,
            image=t.image,
            date_text=t.date_text,
            has_read_more=t.has_read_more,
            position=i,
            region=t.region,
            confidence=t.confidence,
        )
        for i, t in enumerate(found, 1)
    ]


def extract_next_page(
    sel: Selector | Page, url: str, config: SiteConfig | None = None
) -> str | None:
    """The URL of the next listing page (by the config's `next_page` or found), or None.

    Never raises: a failure is logged (and noted on a Page's errors) and gives None.
    """
    try:
        return _next_page(_bounded(sel, url), url, config)
    except Exception as exc:  # extraction of web input must never raise
        _failed(sel, url, "next-page detection", exc)
        return None


def _next_page(sel: Selector, url: str, config: SiteConfig | None) -> str | None:
    if config is not None and config.next_page:
        nxt = absolute_http_url(_field(sel, config.next_page), _document_base(sel, url))
        if nxt and nxt.split("#")[0] != url.split("#")[0]:
            return nxt
        return None
    root = sel.root
    if not isinstance(root, etree._Element):
        return None
    found = detect_next_page(root, url)
    return found.url if found is not None else None


def _bounded(sel: Selector | Page, url: str) -> Selector:
    """A Page's selector, or the selector itself, or a copy of its tree cut to the size
    bounds (the caller's tree stays whole)."""
    if isinstance(sel, Page):
        return sel.selector
    root = sel.root
    if not isinstance(root, etree._Element) or not over_bounds(root):
        return sel
    return bound_page(deepcopy(root), url).selector


def _failed(sel: Selector | Page, url: str, what: str, exc: Exception) -> None:
    if isinstance(sel, Page):
        sel.failed(what, exc)
    else:
        logger.warning("%s failed on %s: %s", what, url, exc)


def find_teasers(html: str | bytes, url: str, config: SiteConfig | None = None) -> list[Teaser]:
    """Teasers on a listing page given as HTML; automatic mode when config is None."""
    page = parse_page(html, url)
    return extract_teasers(page, url, config) if page.parsed else []


def find_next_page(html: str | bytes, url: str, config: SiteConfig | None = None) -> str | None:
    """The next listing page of a page given as HTML."""
    page = parse_page(html, url)
    return extract_next_page(page, url, config) if page.parsed else None
