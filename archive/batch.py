"""The one write path for batches: items dispatched to their verbs in one transaction, a
bad item lost alone, outcomes counted, and another writer's lock waited out."""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .crawlstate import touches_article
from .errors import ArchiveBusyError, ArchiveError, InvalidItemError

if TYPE_CHECKING:
    from .store import Archive

__all__ = ["BUSY_ATTEMPTS", "ITEM_KINDS", "Batch", "BatchItem", "ItemResult", "outcome_counts"]

logger = logging.getLogger(__name__)

# a batch waits up to this many busy timeouts (10 s each) for another writer's lock
BUSY_ATTEMPTS = 30
# what a batch stores: the crawl's three kinds of item, and a re-extraction of a stored page
ITEM_KINDS = ("teaser", "article", "fetch", "extraction")

_T = TypeVar("_T")


@dataclass(frozen=True)
class BatchItem:
    """One write of a batch: its kind (see ITEM_KINDS), its fields and the run it is part of.

    An "extraction" names its article by `data["article_id"]` (see Archive.update_extraction).
    """

    kind: str
    data: Mapping[str, Any]
    run_id: int | None = None


@dataclass(frozen=True)
class ItemResult:
    """What storing one item did: its verb's outcome, or the error that lost the item.

    The outcome is "new" or "seen" for a teaser, an ArticleOutcome for an article, whether
    the text changed for an extraction and None for a fetch.
    """

    item: BatchItem
    outcome: Any = None
    error: ArchiveError | None = None


class Batch:
    """The writes of one transaction, in order; runs of articles go to the archive together
    (fetches that read no article do not break a run)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.results: list[ItemResult] = []
        self._articles: list[BatchItem] = []

    def add(self, item: BatchItem) -> None:
        """Store an item in its place in the batch; articles wait to go in a run of them."""
        if item.kind == "article":
            self._articles.append(item)
            return
        # A teaser, an extraction or a 304 may name an article added before it: those are
        # stored first. Any other fetch reads no article, and a crawl sends one before each
        # article: flushing there would store every article alone, each its own FTS5 segment.
        if item.kind != "fetch" or touches_article(item.data):
            self.flush()
        self._store_one(item)

    def call(self, write: Callable[[], _T]) -> _T:
        """Run a write of the caller's own (a run started, say) at this place in the batch."""
        self.flush()
        return write()

    def flush(self) -> None:
        """Store the articles added and not yet stored."""
        articles, self._articles = self._articles, []
        for run_id, run in itertools.groupby(articles, key=lambda item: item.run_id):
            group = list(run)
            try:
                outcomes = self.archive.upsert_articles([item.data for item in group], run_id)
            except ArchiveBusyError:
                raise
            except ArchiveError:
                # rolled back to before the call: the bad one is found item by item
                for item in group:
                    self._store_one(item)
                continue
            self.results.extend(ItemResult(i, o) for i, o in zip(group, outcomes, strict=True))

    def _store_one(self, item: BatchItem) -> None:
        try:
            outcome = self._verb(item)
        except ArchiveBusyError:
            raise
        except ArchiveError as exc:
            # One bad item is lost and logged; the rest of the batch is stored.
            logger.error("could not store a %s (%s): %s", item.kind, item.data.get("url"), exc)
            self.results.append(ItemResult(item, error=exc))
            return
        self.results.append(ItemResult(item, outcome))

    def _verb(self, item: BatchItem) -> Any:
        archive, data = self.archive, item.data
        if item.kind == "teaser":
            return archive.upsert_teaser(data, item.run_id)
        if item.kind == "article":
            return archive.upsert_article(data, item.run_id)
        if item.kind == "fetch":
            return archive.record_fetch(data, item.run_id)
        if item.kind == "extraction":
            article_id = data.get("article_id")
            if not isinstance(article_id, int):
                raise InvalidItemError(f"an extraction needs an article_id, not {article_id!r}")
            return archive.update_extraction(article_id, data)
        raise InvalidItemError(f"no such kind of item: {item.kind!r}")


def store(
    archive: Archive,
    items: Iterable[BatchItem] | Callable[[Batch], None],
    attempts: int = BUSY_ATTEMPTS,
) -> list[ItemResult]:
    """Store a batch in one transaction, waiting out another writer's lock (see store_batch)."""
    if callable(items):
        fill = items
    else:
        listed = list(items)

        def fill(batch: Batch) -> None:
            for item in listed:
                batch.add(item)

    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        batch = Batch(archive)
        try:
            with archive.transaction():
                fill(batch)
                batch.flush()
        except ArchiveBusyError as exc:
            # another writer (a reextract, say) held the lock past the busy timeout;
            # nothing of the batch was written, so it can simply go again
            if attempt == attempts:
                raise
            logger.warning("%s (attempt %d of %d)", exc, attempt, attempts)
            continue
        return batch.results
    raise AssertionError("unreachable: the last attempt returns or raises")


def outcome_counts(results: Iterable[ItemResult]) -> Counter[str]:
    """How a batch went, by counter: teasers_new, articles_updated, store_errors, …"""
    counts: Counter[str] = Counter()
    for result in results:
        kind, outcome = result.item.kind, result.outcome
        if result.error is not None:
            counts["store_errors"] += 1
        elif kind == "teaser":
            counts[f"teasers_{outcome}"] += 1
        elif kind == "article":
            counts[f"articles_{outcome.status}"] += 1
            if outcome.merged:
                counts["articles_merged"] += 1
        elif kind == "extraction":
            counts["extractions_changed" if outcome else "extractions_unchanged"] += 1
    return counts
