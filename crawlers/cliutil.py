"""What every `teaserfeed` command shares: the --archive option, errors, opening archives."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from archive import Archive, ArchiveError, open_archive

__all__ = ["DEFAULT_ARCHIVE", "archive_option", "fail", "opened", "sites_file_option"]

DEFAULT_ARCHIVE = "news.db"

archive_option = click.option(
    "--archive",
    "archive_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("TEASERFEED_ARCHIVE", DEFAULT_ARCHIVE),
    show_default=f"$TEASERFEED_ARCHIVE or {DEFAULT_ARCHIVE}",
    help="SQLite archive file.",
)

sites_file_option = click.option(
    "--sites",
    "sites_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default="sites.toml",
    show_default=True,
    help="Site configuration file (TOML, see README).",
)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `teaserfeed: message` on stderr and exit with code (2: usage or input error)."""
    click.echo(f"teaserfeed: {message}", err=True)
    sys.exit(code)


@contextmanager
def opened(path: Path, *, must_exist: bool = True) -> Iterator[Archive]:
    """The archive at path, or a clear error and exit; closed afterwards."""
    if must_exist and not path.exists():
        fail(f"{path}: no such archive; run `teaserfeed crawl` or `teaserfeed demo` first")
    try:
        archive = open_archive(path)
    except ArchiveError as exc:
        fail(str(exc))
    try:
        yield archive
    finally:
        archive.close()
