"""Teasers and the next page from a listing page, by configured selectors or automatically."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from parsel import Selector, SelectorList

from crawlers.sites import SiteConfig
from crawlers.textutil import READ_MORE_RE, absolute_http_url, clean_text, strip_read_more

__all__ = ["Teaser", "extract_next_page", "extract_teasers", "find_next_page", "find_teasers"]

logger = logging.getLogger(__name__)

_HEADING_LINKS = "h1 a[href], h2 a[href], h3 a[href], h4 a[href], h5 a[href], h6 a[href]"
_SECONDARY_XPATH = (
    "ancestor-or-self::*[self::aside or self::nav or self::footer or self::header or "
    "contains(concat(' ', normalize-space(@class), ' '), ' sidebar ') or "
    "contains(concat(' ', normalize-space(@class), ' '), ' widget ')]"
)
_NEXT_TEXT_RE = re.compile(
    r"^\W*(next|next\s+page|older(\s+(posts|entries|articles))?|more\s+(stories|articles)|"
    r"weiter|nächste(\s+seite)?|ältere(\s+beiträge)?|siguiente|suivant|successivo|"
    r"volgende|следующая|далее|次へ|次のページ)\W*$|^[\u203a\u00bb\u2192>]+$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Teaser:
    """A teaser as a reader sees it on a listing page."""

    url: str
    title: str | None
    excerpt: str | None
    image: str | None
    date_text: str | None
    has_read_more: bool
    position: int
    region: str = "main"


def _node_text(nodes: SelectorList[Selector]) -> str | None:
    if not nodes:
        return None
    first = nodes[0]
    if isinstance(first.root, str):
        return clean_text(first.root) or None
    return clean_text(first.xpath("string()").get()) or None


def _field(block: Selector, css: str | None) -> str | None:
    if not css:
        return None
    return _node_text(block.css(css))


def _image(block: Selector, css: str | None, base: str) -> str | None:
    if css:
        return absolute_http_url(_field(block, css), base)
    for img in block.css("img"):
        src = img.attrib.get("src") or img.attrib.get("data-src")
        if not src:
            srcset = img.attrib.get("srcset") or img.attrib.get("data-srcset") or ""
            src = srcset.split(",")[0].split(" ")[0] if srcset else None
        url = absolute_http_url(src, base)
        if url:
            return url
    return None


def _main_link(block: Selector) -> Selector | None:
    heading = block.css(_HEADING_LINKS)
    if heading:
        return heading[0]
    best: Selector | None = None
    best_len = -1
    for a in block.css("a[href]"):
        text = clean_text(a.xpath("string()").get())
        if READ_MORE_RE.match(text):
            continue
        if len(text) > best_len:
            best, best_len = a, len(text)
    return best


def _has_read_more(block: Selector) -> bool:
    return any(READ_MORE_RE.match(clean_text(a.xpath("string()").get())) for a in block.css("a"))


def _region(block: Selector) -> str:
    return "secondary" if block.xpath(_SECONDARY_XPATH) else "main"


def _teaser_from_block(
    block: Selector, base: str, config: SiteConfig | None, position: int
) -> Teaser | None:
    link_node: Selector | None = None
    if config is not None and config.link:
        href = _field(block, config.link)
    else:
        link_node = _main_link(block)
        href = link_node.attrib.get("href") if link_node is not None else None
    url = absolute_http_url(href, base)
    if url is None:
        return None
    title = _field(block, config.title) if config is not None and config.title else None
    if title is None:
        heading = block.css("h1, h2, h3, h4, h5, h6")
        title = _node_text(heading) if heading else None
    if title is None and link_node is not None:
        title = clean_text(link_node.xpath("string()").get()) or None
    excerpt_css = config.excerpt if config is not None else None
    if excerpt_css is None:
        excerpt_css = "p"
    excerpt = _field(block, excerpt_css)
    if excerpt:
        excerpt = strip_read_more(excerpt) or None
    date_css = config.date if config is not None and config.date else "time::attr(datetime)"
    date_text = _field(block, date_css)
    if date_text is None and not (config is not None and config.date):
        date_text = _field(block, "time")
    image = _image(block, config.image if config is not None else None, base)
    return Teaser(
        url=url,
        title=title,
        excerpt=excerpt,
        image=image,
        date_text=date_text,
        has_read_more=_has_read_more(block),
        position=position,
        region=_region(block),
    )


def _auto_blocks(sel: Selector) -> list[Selector]:
    """Candidate teaser blocks when no selector is configured (v1 heuristics)."""
    articles = [a for a in sel.css("article") if a.css("a[href]")]
    if len(articles) >= 3:
        return articles
    blocks: list[Selector] = []
    seen: set[int] = set()
    for link in sel.css(_HEADING_LINKS):
        node = link.xpath(
            "ancestor::*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6][1]"
        )
        block = node[0] if node else link
        # Climb while the parent still holds only this one heading.
        while True:
            parent = block.xpath("..")
            if not parent or parent[0].root.tag in ("body", "html", "main"):
                break
            if len(parent[0].css("h1, h2, h3, h4, h5, h6")) > 1:
                break
            block = parent[0]
        key = id(block.root)
        if key not in seen:
            seen.add(key)
            blocks.append(block)
    return blocks


def _same_site(url: str, base: str) -> bool:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    base_host = (urlsplit(base).hostname or "").removeprefix("www.")
    return host == base_host or host.endswith("." + base_host) or base_host.endswith("." + host)


def extract_teasers(sel: Selector, url: str, config: SiteConfig | None = None) -> list[Teaser]:
    """Teasers from an already parsed listing page, in page order."""
    teaser_css = config.teaser if config is not None else None
    automatic = teaser_css is None
    blocks = _auto_blocks(sel) if teaser_css is None else list(sel.css(teaser_css))
    pattern = config.url_pattern if config is not None else None
    page_url = url.split("#")[0]
    teasers: list[Teaser] = []
    seen_urls: set[str] = set()
    for block in blocks:
        teaser = _teaser_from_block(block, url, config, len(teasers) + 1)
        if teaser is None or teaser.url.split("#")[0] == page_url:
            continue
        if pattern is not None and not pattern.search(teaser.url):
            continue
        if automatic and not _same_site(teaser.url, url):
            continue
        if teaser.url in seen_urls:
            continue
        seen_urls.add(teaser.url)
        teasers.append(teaser)
    return teasers


def extract_next_page(sel: Selector, url: str, config: SiteConfig | None = None) -> str | None:
    """The URL of the next listing page, or None."""
    candidates: list[str | None] = []
    if config is not None and config.next_page:
        candidates.append(_field(sel, config.next_page))
    else:
        candidates.extend(sel.css("link[rel~=next]::attr(href), a[rel~=next]::attr(href)").getall())
        for a in sel.css("a[href]"):
            text = clean_text(a.xpath("string()").get()) or a.attrib.get("aria-label", "")
            if _NEXT_TEXT_RE.match(text):
                candidates.append(a.attrib.get("href"))
    page_url = url.split("#")[0]
    for href in candidates:
        nxt = absolute_http_url(href, url)
        if nxt and nxt.split("#")[0] != page_url and _same_site(nxt, url):
            return nxt
    return None


def _selector(html: str | bytes, url: str) -> Selector | None:
    try:
        if isinstance(html, bytes):
            return Selector(body=html, base_url=url, type="html")
        return Selector(text=html, base_url=url, type="html")
    except Exception as exc:  # lxml refuses some inputs outright; report, never raise
        logger.warning("could not parse listing page %s: %s", url, exc)
        return None


def find_teasers(html: str | bytes, url: str, config: SiteConfig | None = None) -> list[Teaser]:
    """Teasers on a listing page given as HTML; automatic mode when config is None."""
    sel = _selector(html, url)
    if sel is None:
        return []
    try:
        return extract_teasers(sel, url, config)
    except Exception as exc:  # extraction of web input must never raise
        logger.warning("teaser extraction failed on %s: %s", url, exc)
        return []


def find_next_page(html: str | bytes, url: str, config: SiteConfig | None = None) -> str | None:
    """The next listing page of a page given as HTML."""
    sel = _selector(html, url)
    if sel is None:
        return None
    try:
        return extract_next_page(sel, url, config)
    except Exception as exc:  # extraction of web input must never raise
        logger.warning("next-page detection failed on %s: %s", url, exc)
        return None
