"""Plain records the archive hands back to callers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

__all__ = [
    "ArticleOutcome",
    "ArticleVersion",
    "Cluster",
    "ClusterMember",
    "RunRecord",
    "SearchHit",
    "SiteHealth",
    "StoredArticle",
    "StoredTeaser",
]

ArticleStatus = Literal["new", "updated", "unchanged"]


@dataclass(frozen=True)
class ArticleOutcome:
    """What upsert_article did with one article page."""

    article_id: int
    status: ArticleStatus
    # this fetch reached an article already stored under a different URL key
    merged: bool = False


@dataclass
class StoredTeaser:
    """A distinct teaser (listing, link, headline, excerpt) and when it was seen."""

    id: int
    source: str
    listing_url: str
    url: str
    url_key: str
    article_id: int | None
    title: str | None
    excerpt: str | None
    image: str | None
    date_text: str | None
    has_read_more: bool
    region: str | None
    teaser_key: str
    first_seen: str
    last_seen: str
    times_seen: int
    last_position: int | None
    first_run_id: int | None
    last_run_id: int | None
    confidence: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredTeaser:
        """Build from a `teasers` row."""
        return cls(**{**_known(cls, row), "has_read_more": bool(row["has_read_more"])})

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)


@dataclass
class StoredArticle:
    """An archived article; `teasers`, `images`, `urls` and `versions` are filled on request."""

    id: int
    url: str
    canonical_url: str | None
    source: str
    title: str | None
    lead: str | None
    body: str
    authors: list[str]
    published: str | None
    published_from: str | None
    published_raw: str | None
    modified: str | None
    modified_from: str | None
    modified_raw: str | None
    language: str | None
    section: str | None
    tags: list[str]
    top_image: str | None
    word_count: int | None
    content_hash: str
    extractor_version: str | None
    first_seen: str
    last_fetched: str
    version: int
    cluster_id: int | None
    first_run_id: int | None
    last_run_id: int | None
    teasers: list[StoredTeaser] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    # earlier states of the text, oldest first (filled by Archive.article / with_history)
    versions: list[ArticleVersion] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredArticle:
        """Build from an `articles` row (JSON columns decoded)."""
        return cls(
            **{
                **_known(cls, row),
                "authors": _json_list(row["authors"]),
                "tags": _json_list(row["tags"]),
            }
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field, teasers included."""
        return asdict(self)


@dataclass(frozen=True)
class SearchHit:
    """One full-text search result; `snippet` marks matches with [ and ]."""

    article_id: int
    url: str
    title: str | None
    published: str | None
    source: str
    snippet: str
    rank: float


@dataclass
class RunRecord:
    """A crawl run and the counters the archive kept while it ran."""

    id: int
    started: str
    finished: str | None
    status: str
    sites: list[str]
    stats: dict[str, Any]
    teasers_seen: int
    teasers_new: int
    articles_new: int
    articles_updated: int
    articles_unchanged: int
    articles_merged: int
    duplicates_merged: int | None
    articles_known: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        """Build from a `runs` row (JSON columns decoded)."""
        stats = json.loads(row["stats"] or "{}")
        return cls(
            **{
                **_known(cls, row),
                "sites": _json_list(row["sites"]),
                "stats": stats if isinstance(stats, dict) else {},
            }
        )


@dataclass
class ArticleVersion:
    """One state of an article's text; the highest version is the current row of `articles`."""

    article_id: int
    version: int
    fetched_at: str
    last_fetched: str
    superseded_at: str | None
    content_hash: str
    title: str | None
    lead: str | None
    body: str
    changed_fields: list[str]
    current: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class ClusterMember:
    """An article in a near-duplicate cluster."""

    article_id: int
    url: str
    source: str
    title: str | None
    published: str | None
    first_seen: str


@dataclass(frozen=True)
class Cluster:
    """Articles with near-identical bodies; `id` is the id of its oldest article."""

    id: int
    size: int
    members: list[ClusterMember]


@dataclass
class SiteHealth:
    """How one site did in its latest run, against the average of its runs before."""

    site: str
    run_id: int | None
    run_started: str | None
    run_status: str | None
    listing_pages: int
    teasers_found: int
    teasers_trailing: float | None
    articles_new: int
    articles_trailing: float | None
    # articles the latest run stored or stored again
    articles_fetched: int
    # share of articles with each field (title, body, date, author): those the latest run
    # fetched, and those the trailing runs first stored; None when there were none
    completeness: dict[str, float | None]
    completeness_trailing: dict[str, float | None]
    errors: dict[str, int]
    flags: list[str]
    # listing fetches of the latest run answered 304 Not Modified, and failed
    listings_not_modified: int = 0
    listing_failures: int = 0
    # article fetches of the latest run that failed (any error kind)
    article_failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)


def _known(cls: type, row: dict[str, Any]) -> dict[str, Any]:
    # columns added by later migrations do not break older record types
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in row.items() if key in names}


def _json_list(text: str | None) -> list[str]:
    value = json.loads(text) if text else []
    return [str(item) for item in value] if isinstance(value, list) else []
