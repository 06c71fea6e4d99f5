"""Items the spider yields; the pipeline hands them to the archive as plain dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArticleItem", "FetchItem", "ImageRecord", "RemovedRecord", "TeaserItem"]


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
    seen_at: str = ""


@dataclass
class ImageRecord:
    """A content image of an article."""

    url: str
    alt: str | None = None
    caption: str | None = None
    credit: str | None = None
    position: int = 0


@dataclass
class RemovedRecord:
    """A piece of boilerplate removed from an article, and the rule that removed it."""

    rule: str
    text: str


@dataclass
class ArticleItem:
    """An article page, extracted."""

    source: str
    url: str
    final_url: str
    canonical_url: str | None = None
    title: str | None = None
    lead: str | None = None
    body: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    published_from: str | None = None
    published_raw: str | None = None
    modified: str | None = None
    modified_from: str | None = None
    modified_raw: str | None = None
    language: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    top_image: str | None = None
    word_count: int = 0
    images: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    extractor_version: str = ""
    fetched_at: str = ""
    status: int = 200
    html: bytes | None = None


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
