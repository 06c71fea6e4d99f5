"""Ingest: the single writer of a distributed crawl, draining Redis into the archive.

Workers push messages to `teaserfeed:items`; the ingest moves a batch to a processing
list, stores it in one archive transaction and only then removes it, so a killed
ingest loses nothing: the next one stores what was left (at least once; the archive's
upserts fold repeats into the same rows, though a repeated fetch record or teaser
sighting is counted again).

Runs: one archive run per crawl generation (see crawlers.distributed.queue). The ingest opens
it at the generation's first message, with the sites of the worker that opened it,
and finishes it at the generation's "end" message, with every worker's final stats
(summed, and per worker under "workers"). Its status is "finished" when every worker
finished and none was lost, "worker_lost" when a worker vanished (killed, its
heartbeat ran out; run `teaserfeed crawl --redis … --reconcile` to fetch what it
held), else the first other reason a worker gave.

Generations and replayed snapshots: every generation has a number and a random token
(crawlers.distributed.queue), and its run records both (runs.stats generation and
generation_token). A generation is current for an archive from its opening "hello" (the
first message of a generation, queued by the worker that opened it) until its "end".
Messages of a generation the archive finished, whose opening it never stored, or numbered
below the newest generation it stored are *stale* (Redis lost writes and came back from
an older snapshot, or they belong to another archive's crawl): counted and logged, never
stored. The ingest also keeps Redis's generation numbers past the archive's newest and
marks a stale current generation ended, so workers open a new one.

Outages: while Redis is away the ingest retries with back-off (Outage) for up to
`retry_for` seconds, then raises RedisUnavailableError; what it had taken but not
stored stays in the processing list for the next pass or the next ingest.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis

from archive import (
    Archive,
    ArchiveLock,
    Batch,
    BatchItem,
    normalize_url,
    open_archive,
    outcome_counts,
)
from crawlers import redisjson
from crawlers.distributed.queue import (
    OUTAGE_ERRORS,
    ItemQueue,
    Outage,
    RedisKeys,
    RedisUnavailableError,
    SharedCrawl,
)
from crawlers.errors import TeaserfeedError

__all__ = ["Ingest", "IngestBusyError", "IngestReport"]

logger = logging.getLogger(__name__)

# A held lease is renewed every pass; another ingest may take it this long after a crash.
LEASE_SECONDS = 60
_KNOWN_CHUNK = 10_000
# How long one wait for messages blocks, so a stop request is noticed soon.
_MAX_WAIT = 1.0
_PLURAL = {"teaser": "teasers", "article": "articles", "fetch": "fetches"}
# KEYS: lease; ARGV: the holder that is gone, the new holder, seconds
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
"""


@dataclass
class _Generation:
    """What the archive knows of one generation."""

    run_id: int
    number: int
    finished: bool


def _generation_key(message: Mapping[str, Any]) -> str:
    # messages queued before generations had tokens are told apart by number alone
    token = message.get("token")
    return str(token) if token else f"gen-{int(message.get('gen') or 0)}"


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
        retry_for: float = 120.0,
    ) -> None:
        self.client = client
        self.path = Path(archive_path)
        self.batch_size = max(1, batch_size)
        self.keys = keys or RedisKeys()
        self.queue = ItemQueue(client, self.keys)
        self.crawl = SharedCrawl(client, self.keys)
        self.report = IngestReport()
        self._generations: dict[str, _Generation] = {}
        self._newest = 0
        self._stale_logged: set[str] = set()
        # host:pid:tag:ingest, so that a restarted ingest can tell its dead predecessor's
        # lease (back from a snapshot, say) from a live one
        self._lease = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}:ingest"
        self._take_over = client.register_script(_TAKE_OVER)
        self.outage = Outage(_client_url(client), retry_for, "the ingest waits")
        self._server: str | None = None
        # a batch the archive committed but Redis may not have acknowledged (an outage)
        self._unacked: list[bytes] = []

    def run(
        self, *, idle_exit: float | None = None, stop: threading.Event | None = None
    ) -> IngestReport:
        """Store messages until stopped, or until none came for `idle_exit` seconds.

        Raises ArchiveLockedError when another process writes the archive,
        IngestBusyError when another ingest drains this Redis database and
        RedisUnavailableError when Redis stayed away for longer than `retry_for`.
        """
        stop = stop or threading.Event()
        started = time.monotonic()
        lock = ArchiveLock(self.path, "ingest")
        lock.acquire()
        try:
            with open_archive(self.path, create=True) as archive:
                self._load_generations(archive)
                self._retrying(self._take_lease, stop)
                try:
                    self._drain(archive, idle_exit, stop)
                finally:
                    self._release_lease()
        finally:
            lock.release()
            self.report.seconds = time.monotonic() - started
        return self.report

    # -- the loop -----------------------------------------------------------------------

    def _retrying(self, step: Callable[[], Any], stop: threading.Event) -> bool:
        """Run `step` until Redis lets it through; False if stopped meanwhile."""
        while not stop.is_set():
            try:
                step()
            except OUTAGE_ERRORS as exc:
                self._away(exc, stop)
                continue
            self.outage.ok()
            return True
        return False

    def _away(self, exc: BaseException, stop: threading.Event) -> None:
        self.outage.failed(exc)
        self.report.counts["redis_errors"] += 1
        self.report.counts["redis_outages"] = self.outage.outages
        if self.outage.expired():
            raise RedisUnavailableError(
                f"Redis at {self.outage.url} stayed away for {self.outage.away():.0f} s "
                f"({exc}); nothing is lost: what was not stored stays queued in Redis; "
                "start the ingest again once Redis is back"
            ) from None
        stop.wait(self.outage.delay())

    def _drain(self, archive: Archive, idle_exit: float | None, stop: threading.Event) -> None:
        if not self._retrying(lambda: self._resume(archive), stop):
            return
        last = time.monotonic()
        while not stop.is_set():
            try:
                if self.outage.down:
                    self._resume(archive)
                    self.outage.ok()
                    last = time.monotonic()
                if self._pass(archive, idle_exit, last):
                    last = time.monotonic()
                elif idle_exit is not None and time.monotonic() - last >= idle_exit:
                    return
            except OUTAGE_ERRORS as exc:
                self._away(exc, stop)

    def _resume(self, archive: Archive) -> None:
        """At start and after an outage: align Redis with the archive, store leftovers."""
        self._server = self._server_id()
        if self._unacked:
            # stored before Redis went away: drop them unless the ack got through after all
            self.queue.ack_stored(self._unacked)
            self._unacked = []
        self._align()
        self._publish_known(archive)
        leftover = self.queue.claimed()
        if leftover:
            logger.info("storing %d messages taken before and never acknowledged", len(leftover))
            for start in range(0, len(leftover), self.batch_size):
                self._store_and_ack(archive, leftover[start : start + self.batch_size])

    def _store_and_ack(self, archive: Archive, batch: Sequence[bytes]) -> None:
        self._store(archive, batch)  # sets _unacked once the archive committed
        self.queue.ack(len(batch))
        self._unacked = []

    def _pass(self, archive: Archive, idle_exit: float | None, last: float) -> bool:
        """One batch stored (True), or nothing came and the idle checks ran (False)."""
        self._renew_lease()
        wait = _MAX_WAIT
        if idle_exit is not None:
            wait = min(wait, max(0.0, idle_exit - (time.monotonic() - last)))
        batch = self.queue.claim(self.batch_size, timeout=wait)
        if batch:
            self._store_and_ack(archive, batch)
            return True
        if self._server_id() != self._server:
            # Redis restarted between two commands: it may hold an older snapshot
            raise redis.ConnectionError("Redis restarted")
        return bool(self.crawl.end_if_done())  # True: an "end" message is queued now

    def _server_id(self) -> str:
        return str(self.client.info("server").get("run_id", ""))

    def _align(self) -> None:
        # generations this archive finished or found stale: none may go on in Redis
        done = [k for k, g in self._generations.items() if g.finished]
        ended = self.crawl.align(self._newest, [*done, *self._stale_logged])
        if ended:
            logger.warning(
                "generation %d in Redis is not current for this archive (finished, stale or "
                "older than its generation %d: a replayed snapshot?): marked ended, so the "
                "next worker opens a new one",
                ended, self._newest,
            )  # fmt: skip

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
        ended: list[int] = []
        stale = len(self._stale_logged)
        restore = self._snapshot()

        def fill(batch: Batch) -> None:
            # called again when the archive was busy: from the state before the batch
            restore()
            ended.clear()
            for message in messages:
                self._apply(archive, batch, message, ended)

        try:
            results = archive.store_batch(fill)
        except BaseException:
            # rolled back: so is what the batch told about runs (opened, finished)
            restore()
            raise
        self._unacked = list(raws)
        self.report.counts["messages"] += len(raws)
        self.report.counts.update(outcome_counts(results))
        known: list[str] = []
        for result in results:
            if result.error is None:
                self.report.counts[_PLURAL[result.item.kind]] += 1
                if result.item.kind == "article":
                    known.extend(_url_keys(result.item.data))
        if len(self._stale_logged) > stale:
            self._align()
        if known:
            self.client.sadd(self.keys.known, *known)
        for gen in ended:
            self.client.delete(self.keys.stats(gen))

    def _snapshot(self) -> Callable[[], None]:
        """A function that puts the runs and counts back as they are now."""
        count, newest = len(self._generations), self._newest
        running = [g for g in self._generations.values() if not g.finished]
        counts, runs = Counter(self.report.counts), dict(self.report.runs)

        def restore() -> None:
            for key in list(self._generations)[count:]:
                del self._generations[key]
            for generation in running:
                generation.finished = False
            self._newest = newest
            self.report.counts, self.report.runs = Counter(counts), dict(runs)

        return restore

    def _apply(
        self, archive: Archive, batch: Batch, message: dict[str, Any], ended: list[int]
    ) -> None:
        kind = message["type"]
        gen = int(message.get("gen") or 0)
        key = _generation_key(message)
        opening = kind == "hello" and bool(message.get("opened"))
        if self._stale(key, gen, opening):
            return
        if kind == "hello":
            batch.call(lambda: self._hello(archive, key, gen, message))
            return
        if kind == "end":
            batch.call(lambda: self._finish(archive, key, gen, int(message.get("lost") or 0)))
            ended.append(gen)
            return
        item = message.get("item")
        if kind not in _PLURAL or not isinstance(item, dict):
            logger.error("skipping a message of unknown type %r", kind)
            self.report.counts["rejected"] += 1
            return
        known = self._generations.get(key)
        # a generation's run is started at its first message, before its items are stored
        run_id = known.run_id if known else batch.call(lambda: self._run_for(archive, key, gen, []))
        batch.add(BatchItem(kind, item, run_id))

    # -- runs ---------------------------------------------------------------------------

    def _load_generations(self, archive: Archive) -> None:
        for run_id, number, token, finished in archive.generation_runs():
            self._generations[token] = _Generation(run_id, number, finished)
            self._newest = max(self._newest, number)

    def _stale(self, key: str, gen: int, opening: bool) -> bool:
        """Whether a message belongs to no generation current in this archive (counted)."""
        known = self._generations.get(key)
        if known is not None:
            why = "which this archive finished already" if known.finished else None
        elif gen < self._newest:
            why = f"older than generation {self._newest}, the archive's newest"
        elif not opening and not key.startswith("gen-"):
            # (messages from before generation tokens are taken as the old ingest did)
            why = "whose opening this archive never stored"
        else:
            why = None
        if why is None:
            return False
        self.report.counts["stale"] += 1
        if key not in self._stale_logged:
            self._stale_logged.add(key)
            logger.warning(
                "not storing messages of generation %d (%s) %s: replayed (an older Redis "
                "snapshot, or a batch stored just before an ingest was killed), or another "
                "archive's crawl",
                gen, key, why,
            )  # fmt: skip
        return True

    def _hello(self, archive: Archive, key: str, gen: int, message: Mapping[str, Any]) -> None:
        for source in message.get("sources") or []:
            archive.upsert_source(source["name"], source["start_urls"], source["config"])
        self._run_for(archive, key, gen, message.get("sites") or [])

    def _run_for(self, archive: Archive, key: str, gen: int, sites: Sequence[str]) -> int:
        known = self._generations.get(key)
        if known is not None:
            return known.run_id
        token = None if key.startswith("gen-") else key
        run_id = archive.start_run(
            list(sites), {"generation": gen, "generation_token": token or key}
        )
        self._generations[key] = _Generation(run_id, gen, False)
        self._newest = max(self._newest, gen)
        self.report.runs.setdefault(run_id, "running")
        return run_id

    def _finish(self, archive: Archive, key: str, gen: int, lost: int) -> None:
        run_id = self._run_for(archive, key, gen, [])
        workers = self.crawl.worker_stats(gen)
        reasons = [str(w.get("reason")) for w in workers.values()]
        status = "worker_lost" if lost else next((r for r in reasons if r != "finished"), None)
        status = status or "finished"
        stats: dict[str, Any] = _summed(w.get("stats") or {} for w in workers.values())
        stats.update(
            {
                "finish_reason": status,
                "generation": gen,
                "generation_token": key,
                "lost_workers": lost,
                "workers": workers,
            }
        )
        archive.finish_run(run_id, status, stats)
        self._generations[key].finished = True
        self.report.runs[run_id] = status
        if status == "finished":
            logger.info("generation %d ended: run %d finished", gen, run_id)
        else:
            logger.warning(
                "generation %d ended: run %d %s; what its workers lost is fetched by the next "
                "generation's worker that reads the archive, or now by `teaserfeed crawl "
                "--redis URL --reconcile --archive %s`",
                gen, run_id, status, self.path,
            )  # fmt: skip

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
        if self.client.set(self.keys.ingest, self._lease, nx=True, ex=LEASE_SECONDS):
            return
        holder = self._holder()
        if holder in (None, self._lease) or self._took_over(holder):
            self.client.set(self.keys.ingest, self._lease, ex=LEASE_SECONDS)
            return
        raise IngestBusyError(
            f"another ingest ({holder}) drains this Redis database; stop it "
            f"first, or wait {LEASE_SECONDS} s if it was killed"
        )

    def _renew_lease(self) -> None:
        holder = self._holder()
        if holder not in (None, self._lease) and not self._took_over(holder):
            raise IngestBusyError(f"another ingest ({holder}) took over this Redis database")
        self.client.set(self.keys.ingest, self._lease, ex=LEASE_SECONDS)

    def _took_over(self, holder: str | None) -> bool:
        """Take the lease from a holder that is provably gone: a dead process on this host."""
        if holder is None or not _gone(holder):
            return False
        args: list[str | int] = [holder, self._lease, LEASE_SECONDS]
        if not self._take_over(keys=[self.keys.ingest], args=args):
            return False
        logger.warning("took over the lease of ingest %s, which is no longer running", holder)
        return True

    def _release_lease(self) -> None:
        try:
            if self._holder() == self._lease:
                self.client.delete(self.keys.ingest)
        except redis.RedisError:
            pass  # it expires by itself


def _gone(holder: str) -> bool:
    """Whether a lease holder (host:pid:tag:ingest) is a process of this host that ended."""
    parts = holder.rsplit(":", 3)
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # another Ingest of this process (a thread): not provably gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _client_url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"redis://{host}:{port}/{db}"


def _url_keys(article: Mapping[str, Any]) -> list[str]:
    # the canonical URL too: a copy naming it is archived under it (the copy may come in
    # before the page itself, which workers then need not fetch)
    urls = {article.get("url"), article.get("final_url"), article.get("canonical_url")}
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
