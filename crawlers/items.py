"""Items the spider yields; the pipeline hands them to the archive as plain dicts."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, fields
from typing import Any

from crawlers.extract.article import Article
from crawlers.extract.listing import Teaser

__all__ = ["ITEM_TYPES", "ArticleItem", "FetchItem", "TeaserItem", "item_type"]


def _base64(value: bytes | None) -> str | None:
    """Bytes as base64 text, for exporters that write JSON, CSV or XML."""
    return None if value is None else base64.b64encode(value).decode("ascii")


@dataclass
class TeaserItem:
    """One sighting of a teaser on a listing page."""

    source: str
    listing_url: str
    url: str
    position: int
    title: str | None = None
    excerpt: str | None = None
    image: str | None = None
    date_text: str | None = None
    has_read_more: bool = False
    region: str = "main"
    confidence: float = 1.0
    seen_at: str = ""

    @classmethod
    def from_teaser(cls, teaser: Teaser, **sighting: Any) -> TeaserItem:
        """The item for a detected teaser, with the sighting's fields (source, listing_url, …)."""
        data = {f.name: getattr(teaser, f.name) for f in fields(Teaser)}
        data.update(sighting)
        return cls(**data)


@dataclass
class ArticleItem(Article):
    """An extracted article page plus how and when it was fetched."""

    source: str = ""
    final_url: str = ""
    fetched_at: str = ""
    status: int = 200
    # raw page bytes; Scrapy feed exports (`-o items.jl`, scrapyd's items_dir) get base64
    html: bytes | None = field(default=None, metadata={"serializer": _base64})
    # the charset the page was decoded with (HTTP header, BOM or <meta>), kept with the HTML
    encoding: str | None = None
    # archive.minhash_signature(body), computed by the extraction worker; never exported
    minhash: bytes | None = None

    @classmethod
    def from_article(cls, article: Article, **crawl: Any) -> ArticleItem:
        """The item for an extracted article, with the crawl's fields (source, final_url, …)."""
        data = {f.name: getattr(article, f.name) for f in fields(Article)}
        data.update(crawl)
        return cls(**data)


@dataclass
class FetchItem:
    """One HTTP fetch (or a request that never got a response), for the `fetches` table."""

    url: str
    kind: str
    source: str | None = None
    status: int | None = None
    final_url: str | None = None
    bytes: int = 0
    ms: int | None = None
    error_kind: str | None = None
    error: str | None = None
    teasers: int | None = None
    fetched_at: str = ""
    # listing/feed/sitemap fetches: the state kept in the `listings` table
    page: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    teaser_hash: str | None = None
    changed: bool | None = None
    next_due: str | None = None


# each item class and the name of its type (the archive writer's kinds, feed exports' item_type)
ITEM_TYPES: tuple[tuple[type, str], ...] = (
    (TeaserItem, "teaser"),
    (ArticleItem, "article"),
    (FetchItem, "fetch"),
)


def item_type(item: object) -> str | None:
    """ "teaser", "article" or "fetch" for a teaserfeed item, else None."""
    return next((name for cls, name in ITEM_TYPES if isinstance(item, cls)), None)
