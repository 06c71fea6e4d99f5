"""Opening archive files through SQLite only: never a plain open() of a database file.

Under POSIX (fcntl) locking, closing *any* descriptor of a file drops *all* of the
process's locks on it. One `open(path).read(16)` to sniff the header while the process
already has a connection to that file leaves the connection unlocked, and the next
process to close its own connection believes it is the last one: it checkpoints and
deletes the WAL under the running writer, and the archive is corrupted. So nothing here
opens the file itself: sizes come from stat(), the header is judged by SQLite.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

from .errors import ArchiveFileError

__all__ = [
    "connect_readonly",
    "create_atomically",
    "damaged_reason",
    "existing_size",
    "is_damage",
    "is_full",
    "sqlite_reason",
]


def existing_size(path: Path) -> int | None:
    """The file's size in bytes, None when it does not exist (stat only, no descriptor)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ArchiveFileError(path, f"cannot be read: {error.strerror}") from error
    if not stat.S_ISREG(info.st_mode):
        raise ArchiveFileError(path, "is not a regular file")
    if info.st_size == 0 and not Path(f"{path}-wal").exists():
        # SQLite would silently make an empty file a new database: refuse to take it over
        raise ArchiveFileError(
            path,
            "is an empty file (0 bytes), not a teaserfeed archive: remove it, and "
            "teaserfeed creates a new archive there",
        )
    return info.st_size


def sqlite_reason(error: sqlite3.Error, path: object = None) -> str:
    """A plain-words reason for an SQLite error met while opening or reading an archive."""
    code = getattr(error, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_NOTADB:
        return "is not a SQLite database"
    if code == sqlite3.SQLITE_CORRUPT or is_damage(str(error)):
        return damaged_reason(str(error), path)
    if is_full(error):
        return f"cannot be written: {error}; free space and try again"
    return f"cannot be read: {error}{_disk_full_hint(path)}"


def is_full(error: sqlite3.Error) -> bool:
    """Whether SQLite failed for want of disk space."""
    code = getattr(error, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or (code is None and "disk is full" in str(error))


def is_damage(message: object) -> bool:
    """Whether an SQLite error message (as text, e.g. from crawl stats) says the file is damaged."""
    return isinstance(message, str) and "malformed" in message


def damaged_reason(message: str, path: object = None) -> str:
    """What to say of a damaged archive: SQLite's words and the command that names the damage."""
    where = f" --archive {path}" if path is not None else ""
    return f"is damaged (SQLite: {message}): see `teaserfeed check{where}`"


def _disk_full_hint(path: object) -> str:
    # reading a WAL archive needs room for its -shm file: a full disk shows as an I/O error
    if path is None:
        return ""
    try:
        free = shutil.disk_usage(Path(str(path)).resolve().parent).free
    except OSError:
        return ""
    return f" (its disk is full: {free:,} bytes free)" if free < 1024 * 1024 else ""


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; in a read-only directory, an immutable one if no WAL is left.

    SQLite needs to create the -shm file to read a WAL archive; where the directory is
    read-only and no writer left a -wal file, no writer can be at work, so reading the
    file as immutable is safe.
    """
    base = path.resolve().as_uri()
    conn = sqlite3.connect(f"{base}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        return conn
    except sqlite3.OperationalError as error:
        conn.close()
        directory = path.resolve().parent
        if os.access(directory, os.W_OK) or Path(f"{path}-wal").exists():
            raise ArchiveFileError(path, sqlite_reason(error, path)) from error
    except sqlite3.DatabaseError as error:
        conn.close()
        raise ArchiveFileError(path, sqlite_reason(error, path)) from error
    conn = sqlite3.connect(f"{base}?mode=ro&immutable=1", uri=True)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as error:
        conn.close()
        raise ArchiveFileError(path, sqlite_reason(error, path)) from error
    return conn


def create_atomically(path: Path, initialise: Callable[[sqlite3.Connection], None]) -> None:
    """Make a new archive at `path` that never exists half made.

    The database is built under a temporary name beside it and linked into place, so a
    crash leaves no empty or half-migrated file, and of two processes creating the same
    archive at once one wins and the other opens the winner's file.
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    try:
        conn = sqlite3.connect(str(temp))
        try:
            initialise(conn)
        finally:
            conn.close()
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError:
            # a filesystem without hard links: rename, unless someone made it meanwhile
            if not path.exists():
                os.replace(temp, path)
    finally:
        for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
            leftover.unlink(missing_ok=True)
