"""Ingest: the single writer of a distributed crawl, draining Redis into the archive.

Workers push messages to `teaserfeed:items`; the ingest moves a batch to a processing
list, stores it in one archive transaction and only then removes it, so a killed
ingest loses nothing: the next one stores what was left (at least once; the archive's
upserts fold repeats into the same rows, though a repeated fetch record or teaser
sighting is counted again).

Runs: one archive run per crawl generation (see crawlers.redisqueue). The ingest opens
it at the generation's first message, with the sites of the worker that opened it,
and finishes it at the generation's "end" message, with every worker's final stats
(summed, and per worker under "workers"). Its status is "finished" when every worker
finished and none was lost, "worker_lost" when a worker vanished (killed, its
heartbeat ran out; run `teaserfeed crawl --redis … --reconcile` to fetch what it
held), else the first other reason a worker gave.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis

from archive import Archive, ArchiveError, ArchiveLock, NotFoundError, normalize_url, open_archive
from crawlers import redisjson
from crawlers.errors import TeaserfeedError
from crawlers.redisqueue import ItemQueue, RedisKeys, SharedCrawl, worker_id

__all__ = ["Ingest", "IngestBusyError", "IngestReport"]

logger = logging.getLogger(__name__)

# A held lease is renewed every pass; another ingest may take it this long after a crash.
LEASE_SECONDS = 60
_KNOWN_CHUNK = 10_000
# How long one wait for messages blocks, so a stop request is noticed soon.
_MAX_WAIT = 1.0
_PLURAL = {"teaser": "teasers", "article": "articles", "fetch": "fetches"}


class IngestBusyError(TeaserfeedError):
    """Another ingest process is draining the same Redis database."""


@dataclass
class IngestReport:
    """What one ingest did: message and item counts, runs touched, time taken."""

    counts: Counter[str] = field(default_factory=Counter)
    runs: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def messages(self) -> int:
        """Messages taken from the queue (items and control messages)."""
        return self.counts["messages"]


class Ingest:
    """Drain the Redis item queue into the archive in batches, one transaction each."""

    def __init__(
        self,
        client: redis.Redis,
        archive_path: str | Path,
        *,
        batch_size: int = 100,
        keys: RedisKeys | None = None,
    ) -> None:
        self.client = client
        self.path = Path(archive_path)
        self.batch_size = max(1, batch_size)
        self.keys = keys or RedisKeys()
        self.queue = ItemQueue(client, self.keys)
        self.crawl = SharedCrawl(client, self.keys)
        self.report = IngestReport()
        # runs of this archive are told apart from other archives' in teaserfeed:runs
        self._archive_tag = hashlib.sha1(str(self.path.resolve()).encode()).hexdigest()[:12]
        self._runs: dict[int, int] = {}
        self._lease = f"{worker_id()}:ingest"

    def run(
        self, *, idle_exit: float | None = None, stop: threading.Event | None = None
    ) -> IngestReport:
        """Store messages until stopped, or until none came for `idle_exit` seconds.

        Raises ArchiveLockedError when another process writes the archive and
        IngestBusyError when another ingest drains this Redis database.
        """
        stop = stop or threading.Event()
        started = time.monotonic()
        lock = ArchiveLock(self.path, "ingest")
        lock.acquire()
        try:
            self._take_lease()
            try:
                with open_archive(self.path) as archive:
                    self._publish_known(archive)
                    self._drain(archive, idle_exit, stop)
            finally:
                self._release_lease()
        finally:
            lock.release()
            self.report.seconds = time.monotonic() - started
        return self.report

    # -- the loop -----------------------------------------------------------------------

    def _drain(self, archive: Archive, idle_exit: float | None, stop: threading.Event) -> None:
        leftover = self.queue.claimed()
        if leftover:
            logger.info("storing %d messages an earlier ingest took", len(leftover))
            for start in range(0, len(leftover), self.batch_size):
                chunk = leftover[start : start + self.batch_size]
                self._store(archive, chunk)
                self.queue.ack(len(chunk))
        last = time.monotonic()
        while not stop.is_set():
            self._renew_lease()
            wait = _MAX_WAIT
            if idle_exit is not None:
                wait = min(wait, max(0.0, idle_exit - (time.monotonic() - last)))
            batch = self.queue.claim(self.batch_size, timeout=wait)
            if batch:
                self._store(archive, batch)
                self.queue.ack(len(batch))
                last = time.monotonic()
                continue
            if self.crawl.end_if_done():
                continue  # an "end" message is queued now
            if idle_exit is not None and time.monotonic() - last >= idle_exit:
                return

    def _store(self, archive: Archive, raws: Sequence[bytes]) -> None:
        messages = []
        for raw in raws:
            try:
                message = redisjson.loads(raw)
                if not isinstance(message, dict) or "type" not in message:
                    raise ValueError("not a teaserfeed message")
            except ValueError as exc:
                logger.error("unreadable message kept in %s: %s", self.keys.failed, exc)
                self.queue.reject(raw)
                self.report.counts["rejected"] += 1
                continue
            messages.append(message)
        known: list[str] = []
        ended: list[int] = []
        with archive.transaction():
            for message in messages:
                self._apply(archive, message, known, ended)
        self.report.counts["messages"] += len(raws)
        if known:
            self.client.sadd(self.keys.known, *known)
        for gen in ended:
            self.client.delete(self.keys.stats(gen))

    def _apply(
        self, archive: Archive, message: dict[str, Any], known: list[str], ended: list[int]
    ) -> None:
        kind = message["type"]
        gen = int(message.get("gen") or 0)
        if kind == "hello":
            for source in message.get("sources") or []:
                archive.upsert_source(source["name"], source["start_urls"], source["config"])
            self._run_for(archive, gen, message.get("sites") or [])
            return
        if kind == "end":
            self._finish(archive, gen, int(message.get("lost") or 0))
            ended.append(gen)
            return
        item = message.get("item")
        store: dict[str, Callable[[Mapping[str, Any], int], Any]] = {
            "teaser": archive.upsert_teaser,
            "article": archive.upsert_article,
            "fetch": archive.record_fetch,
        }
        if kind not in store or not isinstance(item, dict):
            logger.error("skipping a message of unknown type %r", kind)
            self.report.counts["rejected"] += 1
            return
        run_id = self._run_for(archive, gen, [])
        try:
            outcome = store[kind](item, run_id)
        except ArchiveError as exc:
            # One bad item is lost and logged; the rest of the batch is stored.
            logger.error("could not store a %s (%s): %s", kind, item.get("url"), exc)
            self.report.counts["store_errors"] += 1
            return
        self.report.counts[_PLURAL[kind]] += 1
        if kind == "teaser":
            self.report.counts[f"teasers_{outcome}"] += 1
        elif kind == "article":
            self.report.counts[f"articles_{outcome.status}"] += 1
            known.extend(_url_keys(item))

    # -- runs ---------------------------------------------------------------------------

    def _run_for(self, archive: Archive, gen: int, sites: Sequence[str]) -> int:
        if gen in self._runs:
            return self._runs[gen]
        field_name = f"{self._archive_tag}:{gen}"
        stored = self.client.hget(self.keys.runs, field_name)
        run_id: int | None = int(stored) if stored is not None else None
        if run_id is not None:
            try:
                archive.run(run_id)
            except NotFoundError:
                run_id = None
        if run_id is None:
            run_id = archive.start_run(list(sites))
            self.client.hset(self.keys.runs, field_name, run_id)
        self._runs[gen] = run_id
        self.report.runs.setdefault(run_id, "running")
        return run_id

    def _finish(self, archive: Archive, gen: int, lost: int) -> None:
        run_id = self._run_for(archive, gen, [])
        workers = self.crawl.worker_stats(gen)
        reasons = [str(w.get("reason")) for w in workers.values()]
        status = "worker_lost" if lost else next((r for r in reasons if r != "finished"), None)
        status = status or "finished"
        stats: dict[str, Any] = _summed(w.get("stats") or {} for w in workers.values())
        stats.update(
            {
                "finish_reason": status,
                "generation": gen,
                "lost_workers": lost,
                "workers": workers,
            }
        )
        archive.finish_run(run_id, status, stats)
        self.report.runs[run_id] = status
        logger.info("generation %d ended: run %d %s", gen, run_id, status)

    # -- known articles, for workers that cannot read the archive -----------------------

    def _publish_known(self, archive: Archive) -> None:
        # Built aside and renamed at once: workers never see a half-filled set.
        building = f"{self.keys.known}:building"
        self.client.delete(building)
        keys = _archived_url_keys(archive)
        for start in range(0, len(keys), _KNOWN_CHUNK):
            self.client.sadd(building, *keys[start : start + _KNOWN_CHUNK])
        if keys:
            self.client.rename(building, self.keys.known)
        else:
            self.client.delete(self.keys.known)

    # -- the lease: one ingest per Redis database ---------------------------------------

    def _holder(self) -> str | None:
        holder = self.client.get(self.keys.ingest)
        return holder.decode() if isinstance(holder, bytes) else holder

    def _take_lease(self) -> None:
        if not self.client.set(self.keys.ingest, self._lease, nx=True, ex=LEASE_SECONDS):
            raise IngestBusyError(
                f"another ingest ({self._holder()}) drains this Redis database; stop it "
                f"first, or wait {LEASE_SECONDS} s if it was killed"
            )

    def _renew_lease(self) -> None:
        holder = self._holder()
        if holder is not None and holder != self._lease:
            raise IngestBusyError(f"another ingest ({holder}) took over this Redis database")
        self.client.set(self.keys.ingest, self._lease, ex=LEASE_SECONDS)

    def _release_lease(self) -> None:
        try:
            if self._holder() == self._lease:
                self.client.delete(self.keys.ingest)
        except redis.RedisError:
            pass  # it expires by itself


def _url_keys(article: Mapping[str, Any]) -> list[str]:
    urls = {article.get("url"), article.get("final_url")}
    return [normalize_url(u) for u in urls if isinstance(u, str) and u]


def _archived_url_keys(archive: Archive) -> list[str]:
    return list(archive.url_keys())


def _summed(stats: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for one in stats:
        for key, value in one.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = cast(float, total.get(key, 0)) + value
    return total
