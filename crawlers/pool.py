"""ExtractionPool: page extraction in worker processes, off the crawl's reactor thread.

Each worker runs one page at a time, within a time bound, with the next one (if small)
already waiting in its pipe. A worker that overruns its bound is killed, one that dies (a
segfault, the OOM killer, `kill -9`) is noticed by its exit; either is replaced, its page's
future fails with `WorkerLost`, which says why, and the page waiting behind it goes to the
replacement. Workers start from a fork server (never a fork of the crawl, which runs
threads), ignore Ctrl-C (the crawl shuts them down once the pages in flight are done) and
exit by themselves when the crawl's process is gone. With 0 workers the same calls run
inline in the calling thread.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any, TypeVar

from crawlers.errors import TeaserfeedError

__all__ = [
    "ExtractionPool",
    "JobFailed",
    "PoolClosed",
    "PoolError",
    "WorkerLost",
    "default_workers",
]

logger = logging.getLogger(__name__)

_A = TypeVar("_A")
_R = TypeVar("_R")

# what the fork server imports once, so each worker it forks starts warm
_PRELOAD = ["crawlers.jobs"]
# seconds a worker asked to stop may take before it is killed
_STOP_GRACE = 2.0
# the largest job that waits in a busy worker's pipe (a socket's default buffer holds ~180 KB)
_QUEUED_BYTES = 96 * 1024


def default_workers() -> int:
    """The cores this process may run on (the CPU affinity mask, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class PoolError(TeaserfeedError):
    """A page the pool could not extract; the message says why."""


class WorkerLost(PoolError):
    """The worker running the page died or overran the time bound; it was replaced."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


class JobFailed(PoolError):
    """The job raised (extraction functions never do; this is the pool's safety net)."""


class PoolClosed(PoolError):
    """The pool was closed before the page was extracted."""


_Job = tuple[Future[Any], Callable[[Any], Any], Any]


@dataclass
class _Worker:
    process: Any  # multiprocessing's process object of the start method in use
    conn: Connection
    # sent and not answered yet: the first is running, a second waits in the worker's pipe
    jobs: collections.deque[_Job] = field(default_factory=collections.deque)
    deadline: float | None = None  # the running job's
    pages: int = field(default=0)


class ExtractionPool:
    """`workers` processes running `fn(arg)` calls, each within `timeout` seconds.

    `nice` is added to the workers' scheduling niceness: the thread that feeds them (the
    crawl's reactor) then gets a core whenever it has work, and the workers take the rest.

    `submit` never blocks; bound the pages in flight yourself (the spider and `reextract`
    keep a few per worker). `close` ends the workers; pages still waiting fail with
    PoolClosed. Thread-safe; use as a context manager or call `close`.
    """

    def __init__(
        self,
        workers: int,
        timeout: float | None = None,
        *,
        log_level: int = logging.WARNING,
        start_method: str = "forkserver",
        nice: int = 0,
    ) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 (inline) or more, not {workers}")
        if not 0 <= nice <= 19:
            raise ValueError(f"nice must be 0 to 19 (added to the workers' niceness), not {nice}")
        self.workers = workers
        self.timeout = timeout if timeout and timeout > 0 else None
        self.log_level = log_level
        self.nice = nice
        self.lost = 0  # workers that died or overran and were replaced
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(_PRELOAD)
        self._lock = threading.Lock()
        self._pending: collections.deque[_Job] = collections.deque()
        self._pool: list[_Worker] = []
        self._closing = False
        # the pickle of a page put back for being too large to wait in a pipe, kept for its
        # next try (by the job's future) so it is not pickled again at every dispatch
        self._encoded: tuple[Future[Any], Any] | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        if workers:
            self._thread = threading.Thread(
                target=self._run, name="teaserfeed-extraction-pool", daemon=True
            )
            self._thread.start()

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (those started so far)."""
        with self._lock:
            return [w.process.pid for w in self._pool if w.process.pid is not None]

    def submit(self, fn: Callable[[_A], _R], arg: _A, *, first: bool = False) -> Future[_R]:
        """`fn(arg)` in a worker (inline with 0 workers); `fn` must be a module-level function.

        `first` puts the job ahead of those waiting (a listing page, whose links the crawl's
        frontier waits for)."""
        future: Future[_R] = Future()
        if not self.workers:
            if self._closing:
                future.set_exception(PoolClosed("the extraction pool is closed"))
                return future
            try:
                future.set_result(fn(arg))
            except Exception as exc:
                future.set_exception(JobFailed(f"{type(exc).__name__}: {exc}"))
            return future
        with self._lock:
            if self._closing:
                future.set_exception(PoolClosed("the extraction pool is closed"))
                return future
            if first:
                self._pending.appendleft((future, fn, arg))
            else:
                self._pending.append((future, fn, arg))
        self._wake()
        return future

    def close(self) -> None:
        """Stop the workers (idle ones are asked, busy ones killed); fail what is waiting."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        if self._thread is not None:
            self._wake()
            self._thread.join()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # ---- the manager thread ---------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _run(self) -> None:
        try:
            while not self._closing:
                self._fill()
                self._dispatch()
                self._step()
        except Exception:  # the pool must not die silently with pages waiting on it
            logger.exception("the extraction pool failed")
        finally:
            self._shutdown()

    def _fill(self) -> None:
        """Start workers up to the pool's size (at start, and to replace lost ones)."""
        while len(self._pool) < self.workers and not self._closing:
            parent, child = self._context.Pipe(duplex=True)
            process = self._context.Process(  # type: ignore[attr-defined]
                target=_serve,
                args=(child, self.log_level, self.nice),
                name="teaserfeed-extraction",
                daemon=True,
            )
            try:
                with _main_not_rerun():
                    process.start()
            except OSError as exc:
                logger.error("cannot start an extraction worker: %s", exc)
                parent.close()
                child.close()
                time.sleep(0.5)
                return
            child.close()
            with self._lock:
                self._pool.append(_Worker(process, parent))

    def _dispatch(self) -> None:
        """Hand waiting jobs to idle workers, then a second one to each busy worker.

        The second waits in the worker's pipe and starts the moment the first is done: without
        it a worker idles from sending a result until this thread, which shares the crawl's
        cores and GIL, has read it and sent the next page (~3 ms a page, measured)."""
        for depth in (1, 2):
            for worker in list(self._pool):
                if len(worker.jobs) < depth and not self._send_next(worker):
                    return

    def _send_next(self, worker: _Worker) -> bool:
        """Send `worker` the next waiting job; False when none waits or it must wait."""
        while True:
            with self._lock:
                if not self._pending:
                    return False
                job = self._pending.popleft()
            future, fn, arg = job
            # a job put back (its worker died before taking it) is running already
            if not future.running() and not future.set_running_or_notify_cancel():
                continue
            encoded, self._encoded = self._encoded, None
            if encoded is not None and encoded[0] is future:
                data = encoded[1]
            else:
                try:
                    data = ForkingPickler.dumps((fn, arg))
                except Exception as exc:  # an argument pickle cannot carry
                    _fail(future, JobFailed(f"cannot send the page: {exc}"))
                    continue
            if worker.jobs and len(data) > _QUEUED_BYTES:
                # too large to wait in the pipe: the send would block this thread (and with
                # it every other worker's results and time bounds) until the worker is free
                with self._lock:
                    self._pending.appendleft(job)
                self._encoded = (future, data)
                return False
            try:
                worker.conn.send_bytes(data)
            except (OSError, EOFError):
                # died: the page never reached it, so it waits for the next worker; a result
                # it sent before is read, and the page it was running fails with its exit status
                with self._lock:
                    self._pending.appendleft(job)
                with contextlib.suppress(OSError, EOFError):
                    while worker in self._pool and worker.jobs and worker.conn.poll(0):
                        self._receive(worker)
                if worker in self._pool:
                    self._lose(worker, self._death(worker) if worker.jobs else None)
                return True
            worker.jobs.append(job)
            if len(worker.jobs) == 1:
                worker.deadline = time.monotonic() + self.timeout if self.timeout else None
            return True

    def _step(self) -> None:
        """Wait for a result, a worker's exit, a deadline or a submit; handle what came."""
        deadlines = [w.deadline for w in self._pool if w.deadline is not None]
        wait_for = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        conns = {w.conn: w for w in self._pool if w.jobs}
        sentinels = {w.process.sentinel: w for w in self._pool}
        ready = wait([self._wake_r, *conns, *sentinels], timeout=wait_for)
        if self._wake_r in ready:
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 4096)
        for conn, worker in conns.items():
            if conn in ready:
                self._receive(worker)
        for sentinel, worker in sentinels.items():
            if sentinel in ready and worker in self._pool:
                self._lose(worker, self._death(worker))
        now = time.monotonic()
        for worker in list(self._pool):
            if worker.deadline is not None and worker.deadline <= now and worker.jobs:
                worker.process.kill()
                worker.process.join(_STOP_GRACE)
                self._lose(
                    worker,
                    f"extraction took longer than {self.timeout:g} s "
                    "(TEASERFEED_EXTRACT_TIMEOUT); its worker was killed and replaced",
                    timed_out=True,
                )

    def _receive(self, worker: _Worker) -> None:
        try:
            ok, value, records = worker.conn.recv()
        except (OSError, EOFError):
            # the worker died with the page: its exit status says how
            self._lose(worker, self._death(worker))
            return
        except Exception as exc:  # a result pickle cannot rebuild here
            ok, value, records = False, f"cannot read the result: {exc}", []
        for record in records:
            logging.getLogger(record.name).handle(record)
        future = worker.jobs.popleft()[0]
        # the next job started as this one ended: its time bound runs from now
        worker.deadline = time.monotonic() + self.timeout if self.timeout and worker.jobs else None
        worker.pages += 1
        if ok:
            future.set_result(value)
        else:
            future.set_exception(JobFailed(str(value)))

    def _death(self, worker: _Worker) -> str:
        """How a worker whose pipe broke ended (killed now if it somehow lives on)."""
        worker.process.join(1.0)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join(_STOP_GRACE)
        return _exit_reason(worker.process.exitcode)

    def _lose(self, worker: _Worker, reason: str | None, *, timed_out: bool = False) -> None:
        """Drop a dead (or killed) worker; fail the page it held with the reason."""
        with self._lock:
            if worker in self._pool:
                self._pool.remove(worker)
        worker.conn.close()
        if worker.jobs:
            future, _fn, arg = worker.jobs.popleft()
            self.lost += 1
            text = reason or "extraction worker lost"
            logger.warning("%s: %s", _url(arg), text)
            _fail(future, WorkerLost(text, timed_out=timed_out))
            # the job waiting behind it never started: it goes to the next worker, first
            with self._lock:
                self._pending.extendleft(reversed(worker.jobs))
            worker.jobs.clear()

    def _shutdown(self) -> None:
        self._encoded = None
        with self._lock:
            self._closing = True
            pending, self._pending = list(self._pending), collections.deque()
            workers, self._pool = list(self._pool), []
        for future, _fn, _arg in pending:
            _fail(future, PoolClosed("the extraction pool is closed"))
        for worker in workers:
            if not worker.jobs:
                with contextlib.suppress(OSError, EOFError, ValueError):
                    worker.conn.send(None)
            else:
                worker.process.kill()
        deadline = time.monotonic() + _STOP_GRACE
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join(_STOP_GRACE)
            worker.conn.close()
            for future, _fn, _arg in worker.jobs:
                _fail(future, PoolClosed("the extraction pool is closed"))
            worker.jobs.clear()


@contextlib.contextmanager
def _main_not_rerun() -> Iterator[None]:
    """Start a worker without multiprocessing's re-run of the main script in it: the jobs
    import what they need, and the crawl's script (`teaserfeed`: the CLI, Scrapy) costs a
    second of CPU and tens of MB in every worker for nothing. A script's main module is
    known to multiprocessing by its __file__ alone; hidden for the start, it is not re-run.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    with _MAIN_LOCK:
        del main.__file__
        try:
            yield
        finally:
            main.__file__ = path


_MAIN_LOCK = threading.Lock()


def _fail(future: Future[Any], exc: PoolError) -> None:
    """Fail a future in whatever state it is (waiting, running); a done one stays done."""
    if future.done() or (not future.running() and not future.set_running_or_notify_cancel()):
        return
    future.set_exception(exc)


def _url(arg: Any) -> str:
    return str(getattr(arg, "url", "a page"))


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the extraction worker was killed by {name} on this page; it was replaced"
    return f"the extraction worker exited (status {code}) on this page; it was replaced"


# ---- the worker process ---------------------------------------------------------------


class _Collect(logging.Handler):
    """Log records of the job at hand, sent back with its result and logged by the crawl."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.msg += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def _exit_with_parent(fd: int) -> None:
    """Exit when the crawl's end of the pipe closes, even in the middle of a page."""
    rdhup = getattr(select, "POLLRDHUP", 0)
    if rdhup:
        poller = select.poll()
        poller.register(fd, rdhup)
        while not poller.poll():
            pass
    else:  # no peer-close event: poll the parent's id
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(1.0)
    os._exit(1)


def _serve(conn: Connection, log_level: int, nice: int = 0) -> None:
    """A worker's life: run each (fn, arg) sent, reply (ok, result or message, log records)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the crawl's to handle
    if nice > 0:
        with contextlib.suppress(OSError):
            os.nice(nice)
    threading.Thread(target=_exit_with_parent, args=(conn.fileno(),), daemon=True).start()
    collect = _Collect()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(collect)
    root.setLevel(log_level)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, arg = message
        reply: tuple[bool, Any, list[logging.LogRecord]]
        try:
            reply = (True, fn(arg), collect.records)
        except Exception as exc:
            reply = (False, f"{type(exc).__name__}: {exc}", collect.records)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # a result pickle cannot carry
            conn.send((False, f"cannot send the result: {exc}", []))
        collect.records = []
