"""Re-run article extraction on the pages kept in an archive, with no network at all."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any

from archive import Archive, BatchItem, StoredPage, outcome_counts
from crawlers.extract.article import EXTRACTOR_VERSION
from crawlers.extract.cleanup import CleanupRule
from crawlers.jobs import ArticleJob, ArticleResult, extract_article_page
from crawlers.pool import ExtractionPool, PoolError
from crawlers.settings import (
    TEASERFEED_EXTRACT_TIMEOUT,
    TEASERFEED_WORKER_NICE,
    TEASERFEED_WORKERS,
)
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
    # pages whose extraction worker died or overran the time bound: the stored row was kept
    failed: int = 0

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
    workers: int | None = None,
    timeout: float | None = None,
) -> ReextractStats:
    """Extract every stored page again and update its article in place (text, FTS, images…).

    `since`: only articles whose extractor_version is older than this version (dotted
    numbers; an article without a version counts as oldest); None takes every article that
    has a stored page. `configs` give each source's `strip` selectors (default: as stored in
    the archive); `rules` replace the global cleanup rules (default: crawlers/extract/rules.toml).
    `workers` extraction processes (default TEASERFEED_WORKERS, one per core; 0: inline),
    each page within `timeout` seconds (default TEASERFEED_EXTRACT_TIMEOUT), at niceness
    TEASERFEED_WORKER_NICE; results are written in page order, in batches. A page whose
    re-extraction finds no body, or whose worker died or overran, leaves its article as it
    was. Never fetches.
    """
    count = TEASERFEED_WORKERS if workers is None else workers
    site_configs = dict(configs) if configs is not None else stored_configs(archive)
    stats = ReextractStats()
    bound = TEASERFEED_EXTRACT_TIMEOUT if timeout is None else timeout
    with ExtractionPool(count, bound, nice=TEASERFEED_WORKER_NICE) as pool:
        jobs = (
            # decoded as the crawl decoded it: BOM, the encoding it was read with, <meta>
            (
                page,
                ArticleJob(
                    page.url, page.html, page.encoding, site_configs.get(page.source), rules
                ),
            )
            for page in archive.stored_pages(before_version=since, source=source)
        )
        # pages extracted ahead of the one written next: the workers go on while a batch is stored
        results = _in_order(pool, jobs, ahead=_BATCH + 8 * count)
        while batch := list(itertools.islice(results, _BATCH)):
            _store(archive, batch, stats, progress)
    return stats


def _in_order(
    pool: ExtractionPool, jobs: Iterator[tuple[StoredPage, ArticleJob]], ahead: int
) -> Iterator[tuple[StoredPage, ArticleResult | None]]:
    """Each page with its extraction (None: its worker was lost), in page order, with up to
    `ahead` pages submitted before the first one still waiting."""
    waiting: collections.deque[tuple[StoredPage, Future[ArticleResult]]] = collections.deque()
    for page, job in jobs:
        waiting.append((page, pool.submit(extract_article_page, job)))
        while len(waiting) > ahead or (waiting and waiting[0][1].done()):
            yield _settle(*waiting.popleft())
    while waiting:
        yield _settle(*waiting.popleft())


def _settle(
    page: StoredPage, future: Future[ArticleResult]
) -> tuple[StoredPage, ArticleResult | None]:
    try:
        return page, future.result()
    except PoolError:  # logged by the pool, counted by _store: the stored row stays
        return page, None


def _store(
    archive: Archive,
    extracted: list[tuple[StoredPage, ArticleResult | None]],
    stats: ReextractStats,
    progress: Callable[[ReextractStats], None] | None,
) -> None:
    """One batch of re-extractions, written in one transaction."""
    items = [
        BatchItem(
            "extraction",
            {**asdict(result.article), "article_id": page.article_id, "minhash": result.minhash},
        )
        for page, result in extracted
        if result is not None and result.article.body
    ]
    results = archive.store_batch(items)
    failed = next((result.error for result in results if result.error is not None), None)
    if failed is not None:
        # a write the archive refused stops the re-extraction, as it always has
        raise failed
    counts = outcome_counts(results)
    lost = sum(1 for _page, article in extracted if article is None)
    stats.pages += len(extracted)
    stats.failed += lost
    stats.skipped += len(extracted) - len(items) - lost
    stats.changed += counts["extractions_changed"]
    stats.unchanged += counts["extractions_unchanged"]
    if progress is not None:
        progress(stats)
