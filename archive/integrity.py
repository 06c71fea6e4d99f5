"""Is the archive file sound? SQLite's own checks, foreign keys and the full-text index."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import ArchiveFileError, ArchiveLockedError
from .files import connect_readonly, existing_size
from .lock import ArchiveLock

__all__ = ["CheckReport", "check_archive", "check_connection"]

# integrity_check stops after this many problems; more say nothing new
_MAX_ERRORS = 20
# how long the full-text check waits for a writer before it says the archive is busy
_FTS_BUSY_MS = 2_000
_REBUILD_SQL = "INSERT INTO articles_fts(articles_fts) VALUES('rebuild')"


@dataclass
class CheckReport:
    """What `check` found: one entry per check, and the problems named in plain words."""

    path: str
    integrity: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)
    fts: str = "not checked"
    articles: int | None = None
    fts_rows: int | None = None
    missing_from_fts: list[int] = field(default_factory=list)
    extra_in_fts: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # checks that could not run for a reason other than damage (a full disk, no access)
    unverified: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check found a problem (a skipped check is a note, not a problem)."""
        return not self.problems

    @property
    def verified(self) -> bool:
        """True when every check could run (so `ok` speaks for the whole file)."""
        return not self.unverified

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with `ok`."""
        return {"ok": self.ok, "verified": self.verified, **asdict(self)}

    def lines(self) -> list[str]:
        """The report as short lines for a terminal."""
        articles = "?" if self.articles is None else f"{self.articles:,}"
        indexed = "?" if self.fts_rows is None else f"{self.fts_rows:,}"
        integrity = "ok" if self.integrity == ["ok"] else f"{len(self.integrity)} problem(s)"
        foreign = "ok" if not self.foreign_keys else f"{len(self.foreign_keys)} problem(s)"
        if not self.integrity:
            foreign = "not run"
        lines = [
            f"archive: {self.path}",
            f"  integrity_check    {integrity if self.integrity else 'not run'}",
            f"  foreign_key_check  {foreign}",
            f"  full-text index    {self.fts}",
            f"  articles           {articles} rows, {indexed} in the full-text index",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  cannot verify: {reason}" for reason in self.unverified]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems]
        if not self.ok:
            lines.append(f"{len(self.problems)} problem(s) found")
        else:
            lines.append("OK" if self.verified else "no problem found, but not fully verified")
        return lines


def check_archive(path: str | os.PathLike[str], *, fts: bool = True) -> CheckReport:
    """Check the archive file at `path` without opening it for writing.

    Raises ArchiveFileError when the path is missing or not a teaserfeed archive. The
    full-text check is a write statement to SQLite: it runs in a transaction that is rolled
    back, on a connection of its own, while holding the archive lock so no crawl starts
    meanwhile; when a crawl holds the lock it is skipped, with a note.
    """
    file = Path(path)
    _check_file(file)
    try:
        conn = connect_readonly(file)
    except ArchiveFileError as error:
        if not isinstance(error.__cause__, sqlite3.OperationalError):
            raise
        # not damage: SQLite could not read it here (a full disk, an I/O error, no access)
        report = CheckReport(path=str(file))
        report.unverified.append(f"the file could not be opened: {error.reason}")
        return report
    try:
        conn.execute(f"PRAGMA busy_timeout = {_FTS_BUSY_MS}")
        _require_archive(conn, file)
        return check_connection(conn, file, fts=fts, readonly=True)
    finally:
        conn.close()


def check_connection(
    conn: sqlite3.Connection,
    path: str | os.PathLike[str],
    *,
    fts: bool = True,
    readonly: bool = False,
) -> CheckReport:
    """Run every check on an open connection of the archive at `path`.

    The full-text check runs inside a savepoint that is rolled back, or, when the
    connection is read-only, on a brief read-write connection of its own.
    """
    report = CheckReport(path=str(path))
    try:
        report.integrity = [
            str(row[0]) for row in conn.execute(f"PRAGMA integrity_check({_MAX_ERRORS})").fetchall()
        ]
    except sqlite3.OperationalError as error:
        # not damage: the file could not be read (no access, I/O, a full disk for temp space)
        report.unverified.append(f"integrity_check could not run: {error}")
        return report
    except sqlite3.DatabaseError as error:
        report.integrity = [f"SQLite: {error}"]
    if report.integrity != ["ok"]:
        report.problems.append(
            "PRAGMA integrity_check: " + "; ".join(report.integrity[:5])
            + (" …" if len(report.integrity) > 5 else "")
        )  # fmt: skip
    try:
        rows = conn.execute("PRAGMA foreign_key_check").fetchall()
        report.foreign_keys = [
            f"{table} row {rowid} names a missing {parent} row" for table, rowid, parent, _ in rows
        ]
    except sqlite3.DatabaseError as error:
        report.foreign_keys = [f"SQLite: {error}"]
    if report.foreign_keys:
        report.problems.append(
            f"PRAGMA foreign_key_check: {len(report.foreign_keys)} row(s), e.g. "
            + "; ".join(report.foreign_keys[:3])
        )
    _count_fts(conn, report)
    if not fts or report.articles is None:
        return report
    if readonly:
        _fts_check_on_file(Path(path), report)
    else:
        try:
            conn.execute("SAVEPOINT teaserfeed_check")
        except sqlite3.DatabaseError as error:
            report.notes.append(f"full-text check skipped: {error}")
            return report
        try:
            _fts_integrity(conn, report)
        finally:
            conn.execute("ROLLBACK TO teaserfeed_check")
            conn.execute("RELEASE teaserfeed_check")
    return report


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise ArchiveFileError(path, "is a directory, not an archive file")
    if existing_size(path) is None:
        raise ArchiveFileError(path, "does not exist")


def _require_archive(conn: sqlite3.Connection, path: Path) -> None:
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError:
        return  # a damaged first page: the checks will name it
    if not {"articles", "articles_fts"} <= names:
        raise ArchiveFileError(path, "is a SQLite database but not a teaserfeed archive")


def _count_fts(conn: sqlite3.Connection, report: CheckReport) -> None:
    """Articles against the documents in the full-text index (its docsize table)."""
    try:
        report.articles = int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        report.fts_rows = int(
            conn.execute("SELECT count(*) FROM articles_fts_docsize").fetchone()[0]
        )
        report.missing_from_fts = [
            int(row[0])
            for row in conn.execute(
                "SELECT a.id FROM articles a LEFT JOIN articles_fts_docsize d ON d.id = a.id "
                "WHERE d.id IS NULL ORDER BY a.id LIMIT 10"
            )
        ]
        report.extra_in_fts = [
            int(row[0])
            for row in conn.execute(
                "SELECT d.id FROM articles_fts_docsize d LEFT JOIN articles a ON a.id = d.id "
                "WHERE a.id IS NULL ORDER BY d.id LIMIT 10"
            )
        ]
    except sqlite3.DatabaseError as error:
        report.problems.append(f"cannot count the articles and the full-text index: {error}")
        report.articles = report.fts_rows = None
        return
    if report.articles != report.fts_rows or report.missing_from_fts or report.extra_in_fts:
        detail = []
        if report.missing_from_fts:
            detail.append(f"not indexed: article ids {_ids(report.missing_from_fts)}")
        if report.extra_in_fts:
            detail.append(f"indexed but gone: ids {_ids(report.extra_in_fts)}")
        report.problems.append(
            f"{report.articles:,} articles but {report.fts_rows:,} documents in the "
            f"full-text index ({'; '.join(detail) or 'ids differ'})"
        )
        _rebuild_hint(report)


def _rebuild_hint(report: CheckReport) -> None:
    hint = f'to rebuild the full-text index: sqlite3 {report.path} "{_REBUILD_SQL}"'
    if hint not in report.notes:
        report.notes.append(hint)


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids)) + (" …" if len(ids) >= 10 else "")


def _fts_integrity(conn: sqlite3.Connection, report: CheckReport) -> None:
    # rank 1: the index is also compared with the articles it was built from
    try:
        conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.OperationalError as error:
        report.fts = "not checked"
        report.unverified.append(f"the full-text check could not run: {error}")
        return
    except sqlite3.DatabaseError as error:
        report.fts = "DAMAGED"
        report.problems.append(f"the full-text index does not match the articles (SQLite: {error})")
        _rebuild_hint(report)
        return
    report.fts = "ok"


def _fts_check_on_file(path: Path, report: CheckReport) -> None:
    """The full-text check on a connection of its own, under the archive lock."""
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        report.notes.append("full-text check skipped: the file is read-only to this user")
        return
    lock = ArchiveLock(path, "check")
    try:
        lock.acquire()
    except ArchiveLockedError as error:
        report.notes.append(f"full-text check skipped: {error}")
        return
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {_FTS_BUSY_MS}")
            conn.execute("BEGIN")
            try:
                _fts_integrity(conn, report)
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as error:
        report.notes.append(f"full-text check skipped: {error}")
    finally:
        lock.release()
