"""ArchiveWriter: one thread that owns the archive connection and stores items in batches."""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archive import Archive, ArchiveError, ArchiveLock, BatchItem, open_archive, outcome_counts
from archive.files import is_full

__all__ = ["ArchiveWriteError", "ArchiveWriter", "Source", "free_disk"]

logger = logging.getLogger(__name__)

_STOP = object()
# how often a filling batch looks at the queue
_POLL_SECONDS = 0.05


class ArchiveWriteError(ArchiveError):
    """The archive cannot be written (a full disk, an I/O error): the crawl must stop."""

    def __init__(self, path: str, cause: str) -> None:
        self.path = path
        self.cause = cause
        super().__init__(f"cannot write the archive {path}: {cause}")

    def advice(self, not_stored: int) -> str:
        """The one line for the operator: the file, the cause, what was lost, what to do."""
        lost = f" ({not_stored} items not stored)" if not_stored else ""
        fix = "free space" if "full" in self.cause or "free" in self.cause else "check the disk"
        return f"{self}{lost}; {fix} and run the crawl again — it resumes"


def free_disk(path: str | os.PathLike[str]) -> int:
    """Bytes free to an unprivileged writer on the file system that holds path."""
    target = os.fspath(path)
    directory = target if os.path.isdir(target) else os.path.dirname(os.path.abspath(target))
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def _cause(exc: BaseException) -> str:
    """What went wrong, as an operator reads it: SQLite's or the OS's own words."""
    if isinstance(exc, ArchiveWriteError):
        return exc.cause
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, (sqlite3.Error, ArchiveError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


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

    A write that fails for the archive's sake (a full disk, an I/O error), not an item's,
    stops storing: `failure` says why, `on_failure` is called once (from the writer
    thread), and what is queued or put afterwards is counted in `not_stored`, not kept.
    """

    def __init__(
        self,
        path: str,
        *,
        batch_size: int = 100,
        batch_seconds: float = 0.0,
        max_queue: int = 1000,
        purpose: str = "crawl",
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.lock = ArchiveLock(path, purpose)
        self.batch_size = max(1, batch_size)
        self.batch_seconds = max(0.0, batch_seconds)
        self.counts: Counter[str] = Counter()
        self.run_id: int | None = None
        self.failure: str | None = None
        self.on_failure = on_failure
        self._owns_lock = True
        self._refused = 0  # items put() turned away after a failure (the caller's thread)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, max_queue))
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._sources: list[Source] = []
        self._finish: tuple[str, Mapping[str, Any]] | None = None
        self._stopping = False  # close() was called: a filling batch stops waiting

    @property
    def not_stored(self) -> int:
        """Items lost to a failed write: the batch in flight, the queue, those put later."""
        return self.counts["not_stored"] + self._refused

    def start(
        self, sources: Sequence[Source], *, lock: ArchiveLock | None = None, min_free: int = 0
    ) -> int:
        """Lock the archive, open it in the writer thread, record the sites, start a run.

        `lock` is the archive's lock when the caller already holds it (for the whole run);
        it is used, not taken or released. Raises ArchiveLockedError when another crawl
        writes the archive, ArchiveWriteError when the archive's file system has less than
        `min_free` bytes free or the run cannot be recorded; returns the run id.
        """
        if lock is not None:
            if not lock.holds(self.path):
                raise ArchiveError(f"{self.path}: the lock handed to the writer is not held")
            self.lock, self._owns_lock = lock, False
        else:
            self.lock.acquire()
        try:
            self._check_free(min_free)
            self._sources = list(sources)
            self._thread = threading.Thread(target=self._main, name="archive-writer", daemon=True)
            self._thread.start()
            self._ready.wait()
            if self._error is not None:
                self._thread.join()
                self._thread = None
                raise self._error
        except BaseException:
            self._release()
            raise
        assert self.run_id is not None
        return self.run_id

    def put(self, kind: str, data: Mapping[str, Any]) -> bool:
        """Queue one item ('teaser', 'article' or 'fetch'); blocks while the queue is full.

        Returns False, storing nothing, once a write has failed.
        """
        if self._thread is None:
            raise ArchiveError(f"{self.path}: the archive writer is not running")
        if self.failure is not None:
            self._refused += 1
            return False
        self._queue.put((kind, data))
        return True

    def close(self, status: str | None = None, stats: Mapping[str, Any] | None = None) -> None:
        """Store what is queued, finish the run (when a status is given) and close."""
        if self._thread is None:
            return
        if status is not None:
            self._finish = (status, stats or {})
        self._stopping = True
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None
        self._release()

    def _release(self) -> None:
        if self._owns_lock:
            self.lock.release()

    def _check_free(self, min_free: int) -> None:
        if min_free <= 0:
            return
        try:
            free = free_disk(self.path)
        except OSError:
            return  # no such directory, say: opening the archive says so, naming the file
        if free < min_free:
            raise ArchiveWriteError(
                self.path,
                f"only {free / 1e6:.1f} MB free on its file system, "
                f"less than the {min_free / 1e6:g} MB a crawl needs (TEASERFEED_MIN_FREE_DISK)",
            )

    def _fail(self, exc: BaseException) -> None:
        """Stop storing, once: remember why and tell on_failure."""
        if self.failure is not None:
            return
        if not isinstance(exc, (sqlite3.Error, OSError, ArchiveError)):
            # not the archive's trouble but a bug: its traceback is the way to find it
            logger.error("the archive writer stopped", exc_info=exc)
        self.failure = _cause(exc)
        if self.on_failure is not None:
            self.on_failure(self.failure)

    # -- the writer thread ------------------------------------------------------------

    def _main(self) -> None:
        try:
            archive = open_archive(self.path, create=True)
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
            self._error = (
                ArchiveWriteError(self.path, _cause(exc)) if isinstance(exc, sqlite3.Error) else exc
            )
            archive.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            self._drain(archive)
            self._finish_run(archive)
        finally:
            archive.close()

    def _finish_run(self, archive: Archive) -> None:
        if self._finish is None or self.run_id is None:
            return
        status, stats = self._finish
        if self.failure is not None:
            # items were lost: the run failed, whatever the crawl's own reason to stop
            status = "failed"
            stats = {**stats, "archive_error": self.failure, "items_not_stored": self.not_stored}
        try:
            archive.finish_run(self.run_id, status, stats)
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                self._fail(exc)
                return
            # a full disk: the WAL's committed pages into the file and the WAL truncated
            # frees its space for the run's one row
            try:
                archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                archive.finish_run(self.run_id, status, stats)
            except Exception as again:
                # still 'running' in the archive: the next run's start marks it 'interrupted'
                self._fail(again)
        except Exception as exc:
            # still 'running' in the archive: the next run's start marks it 'interrupted'
            self._fail(exc)

    def _drain(self, archive: Archive) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            # Up to a batch, waiting at most batch_seconds (polled) for it to fill: a commit
            # has a fixed cost (FTS5 writes a segment, every index touched writes its
            # pages), so a crawl's trickle of items goes in a few large transactions.
            deadline = time.monotonic() + self.batch_seconds
            while self._queue.qsize() < self.batch_size - 1 and not self._stopping:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                time.sleep(min(wait, _POLL_SECONDS))
            while len(batch) < self.batch_size and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is _STOP or _STOP in batch:
                stopping = True
                batch = [b for b in batch if b is not _STOP]
            if self.failure is None:
                items = [BatchItem(kind, data, self.run_id) for kind, data in batch]
                try:
                    results = archive.store_batch(items)
                except Exception as exc:
                    self._fail(exc)
                else:
                    self.counts.update(outcome_counts(results))
                    continue
            # the batch was rolled back, or came after the failure: taken off, not stored
            self.counts["not_stored"] += len(batch)
