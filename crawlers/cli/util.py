"""What every `teaserfeed` command shares: the --archive option, errors, opening archives."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from archive import Archive, ArchiveError, InvalidFilterError, open_archive, sqlite_reason
from crawlers.settings import (
    TEASERFEED_ARCHIVE,
    TEASERFEED_EXTRACT_TIMEOUT,
    TEASERFEED_SITES,
    TEASERFEED_WORKERS,
)

__all__ = [
    "DEFAULT_ARCHIVE",
    "archive_option",
    "fail",
    "opened",
    "readonly_option",
    "records_at_log_level",
    "root_log_level_kept",
    "sites_file_option",
    "workers_option",
]

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

DEFAULT_ARCHIVE = TEASERFEED_ARCHIVE
_F = TypeVar("_F", bound=Callable[..., Any])

archive_option = click.option(
    "--archive",
    "archive_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("TEASERFEED_ARCHIVE", DEFAULT_ARCHIVE),
    show_default=f"$TEASERFEED_ARCHIVE or {DEFAULT_ARCHIVE}",
    help="SQLite archive file.",
)

readonly_option = click.option(
    "--readonly",
    is_flag=True,
    help="Open the archive read-only: never upgrade its schema nor write beside it "
    "(also used by itself when the file or its directory is not writable).",
)

sites_file_option = click.option(
    "--sites",
    "sites_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=TEASERFEED_SITES,
    show_default=True,
    help="Site configuration file (TOML, see README).",
)


def workers_option(lost: str) -> Callable[[_F], _F]:
    """--workers N: extraction processes; `lost` says what becomes of a page whose worker
    dies or overruns TEASERFEED_EXTRACT_TIMEOUT."""
    return click.option(
        "--workers",
        type=click.IntRange(min=0),
        metavar="N",
        help="Extract pages in N worker processes (default: one per core, here "
        f"{TEASERFEED_WORKERS}; 0: inline, in this process). A worker that dies or takes "
        f"longer than {TEASERFEED_EXTRACT_TIMEOUT:g} s on a page "
        f"(TEASERFEED_EXTRACT_TIMEOUT) is replaced; {lost}",
    )


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `teaserfeed: message` on stderr and exit with code (2: usage or input error)."""
    click.echo(f"teaserfeed: {message}", err=True)
    sys.exit(code)


@contextmanager
def opened(path: Path, *, must_exist: bool = True, readonly: bool = False) -> Iterator[Archive]:
    """The archive at path, or a clear error and exit; closed afterwards.

    SQLite errors met while the archive is in use become one line and exit 2: a damaged
    file points at `teaserfeed check`, any other names the cause; so does an
    InvalidFilterError (an unknown site or language, a bad date). A missing file is an
    error unless `must_exist` is False, when a new archive is created there.
    """
    if must_exist and not path.exists():
        fail(f"{path}: no such archive; run `teaserfeed crawl` or `teaserfeed demo` first")
    if not readonly and must_exist and not _writable(path):
        readonly = True
    try:
        archive = open_archive(path, readonly=readonly, create=not must_exist)
    except ArchiveError as exc:
        fail(str(exc))
    try:
        yield archive
    except sqlite3.DatabaseError as exc:
        fail(f"{path}: {sqlite_reason(exc, path)}")
    except InvalidFilterError as exc:
        # a filter the archive cannot apply (an unknown site, a bad date): the user's mistake
        fail(str(exc))
    finally:
        archive.close()


def _writable(path: Path) -> bool:
    directory = path.parent if str(path.parent) else Path(".")
    return os.access(path, os.W_OK) and os.access(directory, os.W_OK)


def records_at_log_level(crawler: Crawler) -> None:
    """From the crawl's start, loggers make no records below its LOG_LEVEL.

    Scrapy's handler drops such records anyway, but building them ("Crawled (200)" and
    "Scraped from" per page and item, trafilatura's debug lines) is ~3-5 % of a crawl's
    main thread. Scrapy resets the root logger's level as a crawler starts, and its logging
    config sets its own "scrapy" logger to DEBUG, hence both at engine_started; run the
    crawls inside `root_log_level_kept`.
    """
    from scrapy import signals

    from crawlers.logformatter import log_level

    def started() -> None:
        level = log_level(crawler.settings.get("LOG_LEVEL"))
        logging.getLogger().setLevel(level)
        scrapy_log = logging.getLogger("scrapy")
        if scrapy_log.level < level:  # a level set above the crawl's stays
            scrapy_log.setLevel(level)

    crawler.signals.connect(started, signals.engine_started, weak=False)


@contextmanager
def root_log_level_kept() -> Iterator[None]:
    """The root and "scrapy" loggers' levels are what they were once the block ends."""
    loggers = [logging.getLogger(), logging.getLogger("scrapy")]
    before = [log.level for log in loggers]
    try:
        yield
    finally:
        for log, level in zip(loggers, before, strict=True):
            log.setLevel(level)
