"""`teaserfeed extract`: article text from saved pages, like trafilatura's command line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from archive import as_text
from crawlers.cli.util import fail
from crawlers.extract.article import Article
from crawlers.extract.files import ExtractFileError, article_record, extract_file, html_files

__all__ = ["extract"]

SUFFIX = {"txt": ".txt", "json": ".json", "markdown": ".md"}


@click.command(short_help="Extract article text from saved HTML files or a folder of pages.")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--input-dir",
    "input_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Also every .html/.htm/.xhtml/.shtml file in this folder and its subfolders, in "
    "name order (repeatable).",
)
@click.option(
    "--format",
    "--output-format",
    "fmt",
    type=click.Choice(list(SUFFIX)),
    default="txt",
    show_default=True,
    help="txt: title, URL, date and authors, then lead and body; markdown: the same as "
    "Markdown; json: every extracted field, one JSON object a line.",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per page into this folder (page name with .txt, .json or .md) "
    "instead of printing to standard output.",
)
@click.option(
    "--url",
    help="The address the page was saved from, for relative links and dates in the URL "
    "(one FILE only; default: the file's file:// URL).",
)
@click.option("-v", "--verbose", is_flag=True, help="Also print the extractor's warnings.")
def extract(
    files: tuple[Path, ...],
    input_dirs: tuple[Path, ...],
    fmt: str,
    output_dir: Path | None,
    url: str | None,
    verbose: bool,
) -> None:
    """Extract the article from each saved page FILE (and each page in --input-dir) with
    the same extractor as a crawl: metadata from JSON-LD and meta tags, the body cleaned of
    boilerplate. Nothing is fetched and no archive is touched.

    A file that cannot be read gets one line on standard error and the others go on.
    Exit status: 0 when every page gave article text, 1 when some gave none, 2 when a file
    or folder could not be read (or for a usage error).
    """
    if not files and not input_dirs:
        fail("give saved pages (FILE …) or a folder of them (--input-dir DIR)")
    if url and (len(files) != 1 or input_dirs):
        fail("--url names the address of one page: give exactly one FILE with it")
    if output_dir is not None and not output_dir.is_dir():
        fail(f"{output_dir}: no such directory (create it first)")
    pages = list(files)
    unreadable = False
    for directory in input_dirs:
        try:
            found = list(html_files(directory))
        except ExtractFileError as exc:
            click.echo(f"teaserfeed: {exc}", err=True)
            unreadable = True
            continue
        if not found:
            click.echo(f"teaserfeed: {directory}: no .html or .htm files in it", err=True)
        pages += found
    # an unparseable page is reported in one line; the extractor's own log adds noise
    with _quiet_logs(("crawlers", "trafilatura"), enabled=not verbose):
        _extract_pages(pages, url, fmt, output_dir, unreadable)


@contextmanager
def _quiet_logs(names: tuple[str, ...], enabled: bool) -> Iterator[None]:
    """Show only errors of these loggers for the block, then restore their levels."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    try:
        if enabled:
            for logger in loggers:
                logger.setLevel(logging.ERROR)
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _extract_pages(
    pages: list[Path], url: str | None, fmt: str, output_dir: Path | None, unreadable: bool
) -> None:
    """Extract and write each page; exit 2 if one was unreadable, 1 if one had no text."""
    empty = False
    printed = 0
    for page in pages:
        try:
            article = extract_file(page, url)
        except ExtractFileError as exc:
            click.echo(f"teaserfeed: {exc}", err=True)
            unreadable = True
            continue
        except Exception as exc:  # a saved page must never stop the others
            click.echo(f"teaserfeed: {page}: extraction failed: {exc}", err=True)
            unreadable = True
            continue
        if not article.body.strip():
            click.echo(f"teaserfeed: {page}: no article text found", err=True)
            empty = True
            continue
        text = _render(article, fmt)
        if output_dir is None:
            click.echo(("\n" if printed and fmt != "json" else "") + text, nl=False)
            printed += 1
        else:
            target = output_dir / (page.stem + SUFFIX[fmt])
            try:
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                fail(f"{target}: cannot be written: {exc.strerror or exc}")
    if unreadable:
        sys.exit(2)
    if empty:
        sys.exit(1)


def _render(article: Article, fmt: str) -> str:
    """One article in the chosen output format, ending in a newline."""
    record = article_record(article)
    if fmt == "json":
        return json.dumps(record, ensure_ascii=False) + "\n"
    shown = {**record, "url": article.canonical_url or article.url}
    return as_text(shown, markdown=fmt == "markdown")
