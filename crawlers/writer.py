"""ArchiveWriter: one thread that owns the archive connection and stores items in batches."""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archive import (
    Archive,
    ArchiveBusyError,
    ArchiveError,
    ArchiveLock,
    ArticleOutcome,
    open_archive,
)

__all__ = ["ArchiveWriter", "Source"]

logger = logging.getLogger(__name__)

_STOP = object()
# a batch waits up to this many busy timeouts (10 s each) for another writer's lock
BUSY_ATTEMPTS = 30


@dataclass(frozen=True)
class Source:
    """A site as the archive records it."""

    name: str
    start_urls: Sequence[str]
    config: Mapping[str, Any]


class ArchiveWriter:
    """Store teasers, articles and fetches from a bounded queue, in a thread of its own.

    SQLite's FTS indexing and zlib run without the GIL, so storing overlaps with parsing
    in the crawler's thread; the bounded queue holds memory constant and slows the crawl
    down rather than the writer falling behind without limit.
    """

    def __init__(
        self, path: str, *, batch_size: int = 100, max_queue: int = 1000, purpose: str = "crawl"
    ) -> None:
        self.path = path
        self.lock = ArchiveLock(path, purpose)
        self.batch_size = max(1, batch_size)
        self.counts: Counter[str] = Counter()
        self.run_id: int | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, max_queue))
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._sources: list[Source] = []
        self._finish: tuple[str, Mapping[str, Any]] | None = None

    def start(self, sources: Sequence[Source]) -> int:
        """Lock the archive, open it in the writer thread, record the sites, start a run.

        Raises ArchiveLockedError when another crawl writes the archive; returns the run id.
        """
        self.lock.acquire()
        self._sources = list(sources)
        self._thread = threading.Thread(target=self._main, name="archive-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self.lock.release()
            raise self._error
        assert self.run_id is not None
        return self.run_id

    def put(self, kind: str, data: Mapping[str, Any]) -> None:
        """Queue one item ('teaser', 'article' or 'fetch'); blocks while the queue is full."""
        if self._thread is None or not self._thread.is_alive():
            raise ArchiveError(f"{self.path}: the archive writer is not running")
        self._queue.put((kind, data))

    def close(self, status: str | None = None, stats: Mapping[str, Any] | None = None) -> None:
        """Store what is queued, finish the run (when a status is given) and close."""
        if self._thread is None:
            return
        if status is not None:
            self._finish = (status, stats or {})
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None
        self.lock.release()

    # -- the writer thread ------------------------------------------------------------

    def _main(self) -> None:
        try:
            archive = open_archive(self.path)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        try:
            with archive.transaction():
                for source in self._sources:
                    archive.upsert_source(source.name, source.start_urls, source.config)
                self.run_id = archive.start_run([s.name for s in self._sources])
        except BaseException as exc:
            self._error = exc
            archive.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            self._drain(archive)
            if self._finish is not None:
                archive.finish_run(self.run_id, *self._finish)
        except Exception:
            logger.exception("the archive writer stopped")
        finally:
            archive.close()

    def _drain(self, archive: Archive) -> None:
        store: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "teaser": lambda d: archive.upsert_teaser(d, self.run_id),
            "article": lambda d: archive.upsert_article(d, self.run_id),
            "fetch": lambda d: archive.record_fetch(d, self.run_id),
        }
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            # Take what is already waiting, up to a batch, without waiting for more.
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is _STOP or _STOP in batch:
                stopping = True
                batch = [b for b in batch if b is not _STOP]
            for attempt in range(1, BUSY_ATTEMPTS + 1):
                try:
                    self._store_batch(archive, store, batch)
                    break
                except ArchiveBusyError as exc:
                    # another writer (a reextract, say) held the lock past the busy
                    # timeout; nothing of the batch was written, so it can simply go again
                    if attempt == BUSY_ATTEMPTS:
                        raise
                    logger.warning("%s (attempt %d of %d)", exc, attempt, BUSY_ATTEMPTS)

    def _store_batch(
        self,
        archive: Archive,
        store: Mapping[str, Callable[[Mapping[str, Any]], Any]],
        batch: Sequence[Any],
    ) -> None:
        with archive.transaction():
            articles: list[Mapping[str, Any]] = []
            for kind, data in batch:
                if kind == "article":
                    articles.append(data)
                    continue
                # a teaser may name an article queued before it: store those first
                self._store_articles(archive, store, articles)
                articles = []
                self._store_one(store, kind, data)
            self._store_articles(archive, store, articles)

    def _store_articles(
        self,
        archive: Archive,
        store: Mapping[str, Callable[[Mapping[str, Any]], Any]],
        articles: Sequence[Mapping[str, Any]],
    ) -> None:
        # a run of articles in one call; a bad one among them is found item by item
        if not articles:
            return
        try:
            outcomes = archive.upsert_articles(articles, self.run_id)
        except ArchiveError:
            for data in articles:
                self._store_one(store, "article", data)
            return
        for outcome in outcomes:
            self._count_article(outcome)

    def _count_article(self, outcome: ArticleOutcome) -> None:
        self.counts[f"articles_{outcome.status}"] += 1
        if outcome.merged:
            self.counts["articles_merged"] += 1

    def _store_one(
        self, store: Mapping[str, Callable[[Mapping[str, Any]], Any]], kind: str, data: Any
    ) -> None:
        try:
            outcome = store[kind](data)
        except ArchiveError as exc:
            # One bad item is lost and logged; the rest of the batch is stored.
            logger.error("could not store a %s (%s): %s", kind, data.get("url"), exc)
            self.counts["store_errors"] += 1
            return
        if kind == "teaser":
            self.counts[f"teasers_{outcome}"] += 1
        elif kind == "article":
            self._count_article(outcome)
