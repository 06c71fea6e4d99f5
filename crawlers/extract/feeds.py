"""RSS/Atom feeds and XML sitemaps (incl. news sitemaps) as teasers, parsed without entities."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from crawlers.extract.listing import Teaser
from crawlers.extract.text import absolute_http_url, clean_text, strip_read_more

__all__ = ["FeedResult", "parse_feed"]

logger = logging.getLogger(__name__)

# No entity expansion, no DTD or network fetches, no huge trees: feeds come from strangers.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
)
MAX_ENTRIES = 2000
# A DOCTYPE with an internal subset: feeds need none, and libxml2 still evaluates the
# entities it declares (an entity bomb stops the parse at its amplification limit, losing
# every entry after it), so the whole declaration goes before parsing.
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)


@dataclass
class FeedResult:
    """The teasers of a feed or sitemap, and the child sitemaps a sitemap index names."""

    kind: str
    teasers: list[Teaser] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def _local(tag: object) -> str:
    # not etree.QName: it raises on the "media:thumbnail" a recovering parser leaves for a
    # prefix the feed never declared
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2].lower()


def _child(el: etree._Element, *names: str) -> etree._Element | None:
    for child in el:
        if _local(child.tag) in names:
            return child
    return None


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    return clean_text("".join(str(t) for t in el.itertext())) or None


def _plain(markup: str | None) -> str | None:
    """Feed summaries are often HTML: keep their text."""
    if not markup:
        return None
    if "<" in markup:
        with contextlib.suppress(etree.ParserError, ValueError):
            markup = str(lxml.html.fragment_fromstring(markup, create_parent="div").text_content())
    return strip_read_more(clean_text(markup)) or None


def _image(entry: etree._Element, base: str) -> str | None:
    for el in entry.iter():
        name = _local(el.tag)
        parent = el.getparent()
        url = None
        is_image_enclosure = name == "enclosure" and (el.get("type") or "").startswith("image/")
        if name in ("content", "thumbnail") or is_image_enclosure:
            url = el.get("url")
        elif name == "loc" and parent is not None and _local(parent.tag) == "image":
            url = _text(el)
        if url:
            return absolute_http_url(url, base)
    return None


def _rss_item(item: etree._Element, base: str, position: int) -> Teaser | None:
    link = _text(_child(item, "link"))
    if link is None:
        guid = _child(item, "guid")
        if guid is not None and guid.get("isPermaLink", "true") != "false":
            link = _text(guid)
    url = absolute_http_url(link, base)
    if url is None:
        return None
    return Teaser(
        url=url,
        title=_plain(_text(_child(item, "title"))),
        excerpt=_plain(_text(_child(item, "description", "summary"))),
        image=_image(item, base),
        date_text=_text(_child(item, "pubdate", "date", "published", "updated")),
        has_read_more=False,
        position=position,
    )


def _atom_entry(entry: etree._Element, base: str, position: int) -> Teaser | None:
    href = None
    for link in entry:
        if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate":
            href = link.get("href")
            break
    url = absolute_http_url(href, base)
    if url is None:
        return None
    return Teaser(
        url=url,
        title=_plain(_text(_child(entry, "title"))),
        excerpt=_plain(_text(_child(entry, "summary", "content"))),
        image=_image(entry, base),
        date_text=_text(_child(entry, "published", "updated")),
        has_read_more=False,
        position=position,
    )


def _sitemap_url(node: etree._Element, base: str, position: int) -> Teaser | None:
    url = absolute_http_url(_text(_child(node, "loc")), base)
    if url is None:
        return None
    news = _child(node, "news")
    title = _text(_child(news, "title")) if news is not None else None
    date = _text(_child(news, "publication_date")) if news is not None else None
    return Teaser(
        url=url,
        title=title,
        excerpt=None,
        image=_image(node, base),
        date_text=date or _text(_child(node, "lastmod")),
        has_read_more=False,
        position=position,
    )


def parse_feed(xml: bytes | str, url: str) -> FeedResult:
    """Teasers from an RSS, Atom or RDF feed or an XML sitemap; never raises on bad input."""
    try:
        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        data = _DOCTYPE_RE.sub(b"", data, count=1)
        root = etree.fromstring(data, _PARSER) if data.strip() else None
    except (etree.XMLSyntaxError, ValueError) as exc:
        logger.warning("not a feed or sitemap: %s: %s", url, exc)
        return FeedResult(kind="invalid")
    if root is None:
        return FeedResult(kind="invalid")
    kind = _local(root.tag)
    result = FeedResult(kind={"rss": "rss", "rdf": "rss", "feed": "atom"}.get(kind, kind))
    try:
        if kind == "sitemapindex":
            for node in root:
                loc = absolute_http_url(_text(_child(node, "loc")), url)
                if loc and loc != url and len(result.sitemaps) < MAX_ENTRIES:
                    result.sitemaps.append(loc)
            return result
        make: Callable[[etree._Element, str, int], Teaser | None]
        if kind == "urlset":
            nodes, make = [n for n in root if _local(n.tag) == "url"], _sitemap_url
        elif kind == "feed":
            nodes, make = [n for n in root if _local(n.tag) == "entry"], _atom_entry
        elif kind in ("rss", "rdf"):
            nodes, make = [n for n in root.iter() if _local(n.tag) == "item"], _rss_item
        else:
            result.kind = "unknown"
            return result
        seen: set[str] = set()
        for node in nodes[:MAX_ENTRIES]:
            teaser = make(node, url, len(result.teasers) + 1)
            if teaser is not None and teaser.url not in seen:
                seen.add(teaser.url)
                result.teasers.append(teaser)
    except Exception as exc:  # a feed from the web must never stop the crawl
        logger.warning("feed parsing stopped early on %s: %s", url, exc)
    return result
