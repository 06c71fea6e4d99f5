"""Exceptions raised by the archive."""

from __future__ import annotations

__all__ = [
    "ArchiveBusyError",
    "ArchiveError",
    "ArchiveFileError",
    "ArchiveLockedError",
    "InvalidFilterError",
    "InvalidItemError",
    "NotFoundError",
    "SearchSyntaxError",
]


class ArchiveError(Exception):
    """Base class of every error the archive raises on purpose."""


class ArchiveFileError(ArchiveError):
    """The archive path cannot be used: not SQLite, not writable, a directory, too new."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class SearchSyntaxError(ArchiveError, ValueError):
    """A search query that SQLite FTS5 cannot parse."""

    # raised for raw FTS5 queries only (the words of a plain query are always escaped)
    default_hint = (
        "put words in double quotes to search for them as written, "
        "or search without FTS5 syntax (the default: leave out fts=True)"
    )

    def __init__(self, query: str, reason: str, hint: str | None = None) -> None:
        self.query = query
        self.reason = reason
        self.hint = self.default_hint if hint is None else hint
        super().__init__(f"cannot search for {query!r}: {reason}; {self.hint}")


class NotFoundError(ArchiveError, LookupError):
    """No article, run or other row matches the key asked for."""


class InvalidItemError(ArchiveError, ValueError):
    """An item handed to the archive lacks a required field or has one of the wrong type."""


class InvalidFilterError(ArchiveError, ValueError):
    """A filter value (such as a date) that the archive cannot compare with."""


class ArchiveLockedError(ArchiveError):
    """Another process is writing this archive (a crawl, ingest or reextract)."""

    def __init__(self, path: str, holder: dict[str, object]) -> None:
        self.path = path
        self.holder = holder
        who = f"PID {holder.get('pid', '?')}"
        if holder.get("host"):
            who += f" on {holder['host']}"
        what = holder.get("purpose", "process")
        since = f" since {holder['since']}" if holder.get("since") else ""
        super().__init__(
            f"{path} is locked by a running {what} ({who}{since}); "
            "wait for it to finish, or stop that process"
        )


class ArchiveBusyError(ArchiveError):
    """Another connection held SQLite's write lock for longer than the busy timeout."""

    def __init__(self, path: str, seconds: float) -> None:
        self.path = path
        self.seconds = seconds
        super().__init__(
            f"{path}: another process kept the archive locked for writing for over "
            f"{seconds:g} s; nothing was written by this call, try again when it has finished"
        )
