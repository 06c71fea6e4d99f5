"""A datasette plugin for `teaserfeed serve`: the archive is read live and never written.

(teaserfeed's main plugin, archive/datasette/__init__.py, does the same for every archive
it recognises by its schema, so plain `datasette news.db` is read-only too.)

datasette 0.65 reads a mutable database through `mode=ro` connections but opens a plain
read-write connection for writes (writable canned queries, plugins). This plugin swaps
the archive's database for one whose every connection, the write one included, is
`mode=ro` with `PRAGMA query_only`, so any write fails with "attempt to write a readonly
database" and the file stays as the crawler left it.

Not `--immutable`: immutable=1 tells SQLite the file never changes, so it takes no locks
and reads no WAL; while a crawl writes the archive that shows stale rows or fails on
half-written pages, and datasette would cache table counts for good. Nor `--nolock`,
which drops the locks WAL readers rely on. `mode=ro` readers take WAL read locks: each
query sees the last committed state, and new rows show up as the crawl commits them.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.database import Database
from datasette.plugins import pm

__all__ = ["PLUGIN_NAME", "ReadOnlyDatabase", "make_readonly", "register", "startup"]

PLUGIN_NAME = "teaserfeed-readonly-archive"


class ReadOnlyDatabase(Database):  # type: ignore[misc]
    """A database file datasette reads with change detection and can never write."""

    def connect(self, write: bool = False) -> sqlite3.Connection:
        """A `mode=ro`, query-only connection, also when datasette asks for a writer."""
        conn: sqlite3.Connection = super().connect(write=False)
        conn.execute("PRAGMA query_only = 1")
        return conn


# the archive files to swap; datasette plugins are modules, so this one keeps them here
_PATHS: set[Path] = set()


@hookimpl  # type: ignore[untyped-decorator]
def startup(datasette: Any) -> None:
    """Swap each archive's database for a ReadOnlyDatabase before the first request."""
    make_readonly(datasette, lambda path: path.resolve() in _PATHS)


def make_readonly(datasette: Any, wanted: Callable[[Path], bool]) -> list[str]:
    """Swap the mutable file databases `wanted` takes for ReadOnlyDatabases; their names.

    Immutable ones (`datasette -i`) are left as they are: SQLite cannot write them either."""
    swapped = []
    for name, db in list(datasette.databases.items()):
        if db.path is None or not db.is_mutable or isinstance(db, ReadOnlyDatabase):
            continue
        if not wanted(Path(db.path)):
            continue
        datasette.remove_database(name)
        datasette.add_database(
            ReadOnlyDatabase(datasette, path=db.path, is_mutable=True),
            name=name,
            route=db.route,
        )
        swapped.append(name)
    return swapped


def register(paths: Iterable[str | Path]) -> None:
    """Register this plugin for these archive files in this process's datasette."""
    _PATHS.update(Path(path).resolve() for path in paths)
    if pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(sys.modules[__name__], name=PLUGIN_NAME)
