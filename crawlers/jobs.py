"""What an extraction worker does with one page: a listing's teasers or an article.

Each job is raw bytes in (decoded as the crawl read them: BOM, the response's encoding,
then <meta>) and plain picklable results out, so the same functions run inline or in
`crawlers.pool.ExtractionPool`'s worker processes. Never raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from archive.clusters import minhash_signature
from crawlers.extract.article import Article, extract_from_page
from crawlers.extract.cleanup import CleanupRule
from crawlers.extract.listing import Teaser, extract_next_page, extract_teasers
from crawlers.extract.page import Page, parse_page
from crawlers.sites import SiteConfig

__all__ = [
    "ArticleJob",
    "ArticleResult",
    "ListingJob",
    "ListingResult",
    "extract_article_page",
    "extract_listing_page",
]


@dataclass(frozen=True)
class ListingJob:
    """A listing page to read teasers and the next page's URL from."""

    url: str
    body: bytes
    encoding: str | None = None
    config: SiteConfig | None = None


@dataclass
class ListingResult:
    """A listing's teasers and next page, with what went wrong finding each."""

    teasers: list[Teaser]
    next_url: str | None
    errors: list[str] = field(default_factory=list)  # parsing and teaser detection
    next_errors: list[str] = field(default_factory=list)  # next-page detection


@dataclass(frozen=True)
class ArticleJob:
    """An article page to extract; `rules` replace the global cleanup rules."""

    url: str
    body: bytes
    encoding: str | None = None
    config: SiteConfig | None = None
    rules: Sequence[CleanupRule] | None = None


@dataclass
class ArticleResult:
    """The extracted article, with what went wrong extracting it."""

    article: Article
    errors: list[str] = field(default_factory=list)
    # archive.minhash_signature(article.body): signed here, the archive's writer only stores
    minhash: bytes | None = None


def _page(url: str, body: bytes, encoding: str | None) -> Page:
    return parse_page(body, url, encoding=encoding)


def extract_listing_page(job: ListingJob) -> ListingResult:
    """Teasers and the next page's URL (both found, the spider decides what it follows)."""
    page = _page(job.url, job.body, job.encoding)
    teasers = extract_teasers(page, job.url, job.config)
    errors = list(page.errors)
    page.errors.clear()
    next_url = extract_next_page(page, job.url, job.config)
    return ListingResult(teasers, next_url, errors, list(page.errors))


def extract_article_page(job: ArticleJob) -> ArticleResult:
    """The article of a page."""
    page = _page(job.url, job.body, job.encoding)
    article = extract_from_page(page, job.config, rules=job.rules)
    errors = list(page.errors)
    try:
        signature = minhash_signature(article.body) if article.body else None
    except Exception as exc:  # the writer signs the body itself when this is missing
        signature = None
        errors.append(f"near-duplicate signature failed: {type(exc).__name__}: {exc}")
    return ArticleResult(article, errors, signature)
