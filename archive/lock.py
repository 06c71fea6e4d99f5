"""One writer per archive: an OS file lock beside the archive, released even by kill -9."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .errors import ArchiveFileError, ArchiveLockedError

__all__ = ["ArchiveLock", "lock_holder"]


def _lock_path(archive_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(archive_path)}.lock")


# a holder writes its record just after taking the lock: a second process that finds the
# lock taken and the record not written yet reads again for this long before giving up
_RECORD_WAIT_SECONDS = 1.0
_RECORD_POLL_SECONDS = 0.01


def _read_holder(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _written_holder(handle: IO[str]) -> dict[str, Any]:
    """The holder's record, waited for a moment if the lock was taken an instant ago."""
    deadline = time.monotonic() + _RECORD_WAIT_SECONDS
    holder = _read_holder(handle)
    while not holder and time.monotonic() < deadline:
        time.sleep(_RECORD_POLL_SECONDS)
        holder = _read_holder(handle)
    return holder


class ArchiveLock:
    """Held while one process writes an archive; a second holder gets ArchiveLockedError.

    The kernel drops the lock when its process dies, however it dies, so a lock left by a
    crashed or killed crawl never blocks the next one; the file only says who held it last.
    """

    def __init__(self, archive_path: str | os.PathLike[str], purpose: str = "crawl") -> None:
        self.path = _lock_path(archive_path)
        self.archive_path = os.fspath(archive_path)
        self.purpose = purpose
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock now or raise ArchiveLockedError naming its holder."""
        try:
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise ArchiveFileError(
                self.path, f"cannot create the lock file: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _written_holder(handle)
            handle.close()
            raise ArchiveLockedError(self.archive_path, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    "purpose": self.purpose,
                    "command": " ".join(sys.argv)[:300],
                }
            )
        )
        handle.flush()
        self._handle = handle

    def holds(self, archive_path: str | os.PathLike[str]) -> bool:
        """Whether this lock is held now and is the lock of the archive at archive_path."""
        return self._handle is not None and (
            self.path.resolve() == _lock_path(archive_path).resolve()
        )

    def release(self) -> None:
        """Give the lock up (the file stays, as a record of the last holder)."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_holder(archive_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Who holds the archive's lock right now (pid, host, since, purpose), or None."""
    lock = ArchiveLock(archive_path)
    if not lock.path.exists():
        return None
    try:
        lock.acquire()
    except ArchiveLockedError as exc:
        return exc.holder
    lock.release()
    return None
