"""`teaserfeed reextract`: extract the archived pages again, offline, and update in place."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive import ArchiveError, open_archive
from crawlers.cli.util import archive_option, fail, workers_option
from crawlers.errors import TeaserfeedError
from crawlers.extract.article import EXTRACTOR_VERSION
from crawlers.extract.cleanup import CleanupRule, load_rules
from crawlers.reextract import ReextractStats
from crawlers.reextract import reextract as run_reextract
from crawlers.sites import SiteConfig, load_sites

__all__ = ["reextract"]


def _rules(path: Path | None) -> tuple[CleanupRule, ...] | None:
    if path is None:
        return None
    try:
        return load_rules(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        fail(f"{path}: {exc}")


def _configs(path: Path | None) -> dict[str, SiteConfig] | None:
    if path is None:
        return None
    try:
        return load_sites(path)
    except TeaserfeedError as exc:
        fail(str(exc))


@click.command("reextract", short_help="Extract the stored pages again (no network).")
@archive_option
@click.option(
    "--since",
    metavar="VERSION",
    help="Only articles extracted by an extractor older than VERSION (e.g. 2.0); "
    "articles with no recorded version count as oldest. Default: every stored page.",
)
@click.option("--source", metavar="NAME", help="Only articles of this site.")
@click.option(
    "--sites",
    "sites_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Take the sites' `strip` selectors from this sites.toml instead of the "
    "configuration stored in the archive at the last crawl.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Use this rules file instead of the global boilerplate rules shipped with teaserfeed "
    "(same format as crawlers/extract/rules.toml), e.g. to try a rule before changing it.",
)
@workers_option("the page's article keeps its stored row and is counted as failed.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def reextract(
    archive_path: Path,
    since: str | None,
    source: str | None,
    sites_path: Path | None,
    rules_path: Path | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Run article extraction again on the raw pages kept in the archive.

    Every article with a stored page (the `pages` table keeps the HTML of each article's
    latest fetch) is extracted again with this version of teaserfeed, and its row is
    updated in place: title, lead, body, metadata, images, removed boilerplate and
    extractor_version, with the full-text index following. Nothing is fetched. The
    article's `version` and its stored revisions are not touched: a re-extraction is not a
    new revision of the story. A page whose re-extraction finds no body keeps its row.
    Pages are extracted in --workers processes (one per core by default) and written in
    order, 100 per transaction.

    \b
    Examples:
      teaserfeed reextract --archive news.db
      teaserfeed reextract --since 2.0            # only what older extractors wrote
      teaserfeed reextract --rules my-rules.toml  # try changed boilerplate rules
      teaserfeed reextract --workers 0            # inline, in this process
    """
    rules = _rules(rules_path)
    configs = _configs(sites_path)
    if not archive_path.exists():
        fail(f"{archive_path}: no such archive")
    try:
        archive = open_archive(archive_path)
    except ArchiveError as exc:
        fail(str(exc))

    def progress(stats: ReextractStats) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{stats.pages} pages…", nl=False, err=True)

    try:
        stats = run_reextract(
            archive,
            since,
            source=source,
            configs=configs,
            rules=rules,
            progress=progress,
            workers=workers,
        )
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    if as_json:
        click.echo(json.dumps(stats.as_dict(), sort_keys=True))
        return
    if sys.stderr.isatty():
        click.echo("\r", nl=False, err=True)
    click.echo(
        f"re-extracted {stats.pages} stored pages with extractor {EXTRACTOR_VERSION}: "
        f"{stats.changed} changed, {stats.unchanged} unchanged, "
        f"{stats.skipped} kept as they were (no body found)"
        + (f", {stats.failed} kept (extraction worker lost: see the log)" if stats.failed else "")
    )
