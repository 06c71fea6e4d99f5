"""Re-run article extraction on the pages kept in an archive, with no network at all."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from archive import Archive, BatchItem, StoredPage, outcome_counts
from crawlers.extract.article import EXTRACTOR_VERSION, Article, extract_from_page
from crawlers.extract.cleanup import CleanupRule
from crawlers.extract.page import parse_page
from crawlers.sites import SiteConfig

__all__ = ["ReextractStats", "reextract", "stored_configs"]


# articles written per transaction: one commit per article is several times slower
_BATCH = 100


@dataclass
class ReextractStats:
    """What a re-extraction did, in exact numbers."""

    extractor_version: str = EXTRACTOR_VERSION
    pages: int = 0  # stored pages read and re-extracted
    changed: int = 0  # articles whose title, lead or body changed
    unchanged: int = 0  # articles whose text stayed the same (metadata may have changed)
    skipped: int = 0  # pages whose re-extraction found no body: the stored row was kept

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the numbers."""
        return asdict(self)


def stored_configs(archive: Archive) -> dict[str, SiteConfig]:
    """Site configurations as the archive recorded them at their last crawl (for `strip`)."""
    configs = {}
    for row in archive.sources():
        config = row.get("config") or {}
        strip = config.get("strip") or []
        configs[row["name"]] = SiteConfig(
            name=row["name"],
            start_urls=tuple(row.get("start_urls") or ()),
            strip=tuple(s for s in strip if isinstance(s, str)),
        )
    return configs


def reextract(
    archive: Archive,
    since: str | None = None,
    *,
    source: str | None = None,
    configs: Mapping[str, SiteConfig] | None = None,
    rules: Sequence[CleanupRule] | None = None,
    progress: Callable[[ReextractStats], None] | None = None,
) -> ReextractStats:
    """Extract every stored page again and update its article in place (text, FTS, images…).

    `since`: only articles whose extractor_version is older than this version (dotted
    numbers; an article without a version counts as oldest); None takes every article that
    has a stored page. `configs` give each source's `strip` selectors (default: as stored in
    the archive); `rules` replace the global cleanup rules (default: crawlers/extract/rules.toml).
    A page whose re-extraction finds no body leaves its article as it was. Never fetches.
    """
    site_configs = dict(configs) if configs is not None else stored_configs(archive)
    stats = ReextractStats()
    pages = archive.stored_pages(before_version=since, source=source)
    while chunk := list(itertools.islice(pages, _BATCH)):
        # extracted before the transaction: the write lock is held for the writes only,
        # not for seconds of parsing while a crawl waits to store its items
        extracted = [(page, _extract(page, site_configs.get(page.source), rules)) for page in chunk]
        items = [
            BatchItem("extraction", {**asdict(article), "article_id": page.article_id})
            for page, article in extracted
            if article.body
        ]
        results = archive.store_batch(items)
        failed = next((result.error for result in results if result.error is not None), None)
        if failed is not None:
            # a write the archive refused stops the re-extraction, as it always has
            raise failed
        counts = outcome_counts(results)
        stats.pages += len(extracted)
        stats.skipped += len(extracted) - len(items)
        stats.changed += counts["extractions_changed"]
        stats.unchanged += counts["extractions_unchanged"]
        if progress is not None:
            progress(stats)
    return stats


def _extract(
    page: StoredPage, config: SiteConfig | None, rules: Sequence[CleanupRule] | None
) -> Article:
    # decoded as the crawl decoded it: BOM, then the encoding it was read with, then <meta>
    parsed = parse_page(page.html, page.url, encoding=page.encoding)
    return extract_from_page(parsed, config, rules=rules)
