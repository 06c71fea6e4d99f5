"""Every command that reads or checks an archive: search, show, export, serve, diff, stats,
clusters and check."""

from __future__ import annotations

import importlib
import itertools
import json
import os
import re
import sys
from pathlib import Path

import click

from archive import (
    ARTICLE_ORDERS,
    EXPORT_COLUMNS,
    EXPORT_FORMATS,
    SEARCH_WINDOW,
    ArchiveError,
    ArchiveFileError,
    FailureCount,
    InvalidFilterError,
    NotFoundError,
    SearchSyntaxError,
    SiteHealth,
    check_archive,
    check_plot_path,
    export_columns,
    format_for_path,
    open_archive,
    plot_articles_per_day,
)
from crawlers.cli.util import DEFAULT_ARCHIVE, archive_option, fail, opened, readonly_option

__all__ = ["check", "clusters", "diff", "export", "search", "serve", "show", "stats"]

_REMOVED = re.compile(r"\[-(.*?)-\]", re.DOTALL)
_ADDED = re.compile(r"\{\+(.*?)\+\}", re.DOTALL)


@click.command(short_help="Word diff between stored versions of an article.")
@click.argument("article")
@archive_option
@readonly_option
@click.option("--from", "old", type=int, help="Older version (default: the one before --to).")
@click.option("--to", "new", type=int, help="Newer version (default: the current one).")
@click.option("--all", "every", is_flag=True, help="Diff every version against the one before.")
@click.option(
    "-U",
    "--context",
    type=click.IntRange(0, 1000),
    default=8,
    show_default=True,
    help="Unchanged words shown around each change.",
)
def diff(
    article: str,
    archive_path: Path,
    readonly: bool,
    old: int | None,
    new: int | None,
    every: bool,
    context: int,
) -> None:
    """Print a unified word diff between versions of ARTICLE (its id or any of its URLs).

    Removed words are shown as [-words-], added ones as {+words+} (coloured on a terminal).
    """
    key: int | str = int(article) if article.isdigit() else article
    with opened(archive_path, readonly=readonly) as archive:
        try:
            versions = archive.versions(key)
            if len(versions) < 2 and old is None and new is None:
                click.echo(f"{versions[0].title or article}: one version only, nothing to diff")
                return
            pairs: list[tuple[int | None, int | None]] = (
                [(v.version, w.version) for v, w in itertools.pairwise(versions)]
                if every
                else [(old, new)]
            )
            texts = [archive.diff(key, a, b, context=context) for a, b in pairs]
        except NotFoundError as exc:
            fail(str(exc), 1)
            return
    current = versions[-1]
    click.echo(f"{current.title or '(untitled)'}  ({len(versions)} versions)")
    for text in texts:
        click.echo(_colour(text or "(no difference in title, lead or body)\n"), nl=False)


@click.command(short_help="Crawl health per site, articles per day, optional PNG chart.")
@archive_option
@readonly_option
@click.option(
    "--trailing",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Earlier runs of a site the latest one is compared with.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw articles per day per site as bars into this .png, .svg or .pdf file "
    "(needs matplotlib).",
)
@click.option(
    "--site", help="Only this site, in the table and the chart (an unknown site is an error)."
)
@click.option(
    "--since",
    help="Chart from this date (YYYY-MM-DD); the table is always each site's latest run.",
)
@click.option(
    "--until",
    help="Chart up to this date (YYYY-MM-DD); the table is always each site's latest run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the per-site figures as JSON.")
@click.option("--check", is_flag=True, help="Exit with status 1 when a site is flagged.")
def stats(
    archive_path: Path,
    readonly: bool,
    trailing: int,
    plot_path: Path | None,
    site: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
    check: bool,
) -> None:
    """Per site (or only --site): teasers found and new articles in its latest run against
    the average of the runs before, the share of new articles with title, body, date and
    author, and fetch errors by kind; then the failed fetches of each site's latest run by
    kind, with an example URL and message.

    A site is flagged when its latest run fetched listing pages but found 0 teasers on
    them, every article it tried to fetch failed, a field's completeness fell sharply, or
    it was backed off after repeated failures; a run whose listings all answered 304 Not
    Modified or were unchanged (nothing new) is healthy. --since and --until shape the
    chart only.
    """
    if plot_path is not None:
        try:
            check_plot_path(plot_path)
        except ArchiveError as exc:
            fail(str(exc))
    with opened(archive_path, readonly=readonly) as archive:
        per_day = archive.articles_per_day(site=site, since=since, until=until)
        health = archive.health(trailing=trailing, site=site)
        failures = archive.fetch_failures(site=site)
        totals = _totals(archive.totals())
    if as_json:
        rows = [
            {**h.as_dict(), "failures": [f.as_dict() for f in failures if f.site == h.site]}
            for h in health
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        click.echo(totals)
        click.echo("")
        for line in _table(health):
            click.echo(line)
        for line in _failure_lines(failures):
            click.echo(line)
        flagged = [(h.site, flag) for h in health for flag in h.flags]
        click.echo("")
        if flagged:
            click.echo("flags:")
            for name, flag in flagged:
                click.echo(f"  ! {name}: {flag}")
        else:
            click.echo("flags: none")
    if plot_path is not None:
        try:
            written = plot_articles_per_day(
                per_day, plot_path, title=f"Articles per day: {site or 'all sites'}"
            )
        except ArchiveError as exc:
            fail(str(exc))
            return
        click.echo(f"chart: {written}", err=as_json)
    if check and any(h.flags for h in health):
        sys.exit(1)


@click.command(short_help="Near-duplicate clusters, largest first.")
@archive_option
@readonly_option
@click.option(
    "-n", "--limit", type=click.IntRange(1), default=20, show_default=True, help="Clusters shown."
)
@click.option("--json", "as_json", is_flag=True, help="Print clusters as JSON lines.")
def clusters(archive_path: Path, readonly: bool, limit: int, as_json: bool) -> None:
    """List clusters of articles with near-identical bodies (the same story under several
    URLs: syndication, republished copies, URL variants), largest first.
    """
    with opened(archive_path, readonly=readonly) as archive:
        found = list(archive.clusters(limit=limit))
    if as_json:
        for cluster in found:
            record = {
                "id": cluster.id,
                "size": cluster.size,
                "members": [vars(m) for m in cluster.members],
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    if not found:
        click.echo("no near-duplicate clusters")
        return
    for cluster in found:
        click.echo(f"cluster {cluster.id}: {cluster.size} articles")
        for member in cluster.members:
            click.echo(f"  {member.article_id:>6}  {member.source}  {member.url}")


@click.command(short_help="Check the archive file: integrity, foreign keys, full-text index.")
@archive_option
@click.option(
    "--no-fts", "skip_fts", is_flag=True, help="Skip the full-text index check (slow on big files)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(archive_path: Path, skip_fts: bool, as_json: bool) -> None:
    """Check an archive file without changing it: SQLite's integrity_check and
    foreign_key_check, the full-text index against the articles (FTS5 integrity-check,
    in a transaction that is rolled back) and the number of articles against the number
    of indexed documents.

    Exit status: 0 when every check passed, 1 when one found a problem (each is named),
    2 when the file is missing or not a teaserfeed archive, or when a check could not run
    for another reason than damage (a full disk, no access): "cannot verify".
    """
    if not archive_path.exists():
        fail(f"{archive_path}: no such archive; give its path with --archive")
    try:
        report = check_archive(archive_path, fts=not skip_fts)
    except ArchiveFileError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        sys.exit(1)
    if not report.verified:
        sys.exit(2)


# ---- helpers ----------------------------------------------------------------------


def _colour(text: str) -> str:
    # click.echo strips the colour codes again when the output is not a terminal
    text = _REMOVED.sub(lambda m: click.style(f"[-{m[1]}-]", fg="red"), text)
    return _ADDED.sub(lambda m: click.style(f"{{+{m[1]}+}}", fg="green"), text)


def _totals(totals: dict[str, int]) -> str:
    return (
        f"{totals['articles']} articles, {totals['teasers']} teasers, {totals['runs']} runs; "
        f"{totals['articles_revised']} articles revised "
        f"({totals['article_versions']} earlier versions); "
        f"{totals['clusters']} near-duplicate clusters ({totals['clustered_articles']} articles)"
    )


def _table(health: list[SiteHealth]) -> list[str]:
    header = (
        f"{'site':<20} {'run':>4} {'status':<10} {'teasers':>7} {'(avg)':>7} "
        f"{'new':>5} {'(avg)':>6} {'title':>5} {'body':>5} {'date':>5} {'author':>6}  errors"
    )
    lines = [header, "-" * len(header)]
    for h in health:
        shares = [_percent(h.completeness[name]) for name in ("title", "body", "date", "author")]
        errors = ", ".join(f"{kind} {count}" for kind, count in sorted(h.errors.items()))
        lines.append(
            f"{h.site[:20]:<20} {h.run_id if h.run_id is not None else '-':>4} "
            f"{(h.run_status or '-')[:10]:<10} {h.teasers_found:>7} "
            f"{_average(h.teasers_trailing):>7} {h.articles_new:>5} "
            f"{_average(h.articles_trailing):>6} {shares[0]:>5} {shares[1]:>5} {shares[2]:>5} "
            f"{shares[3]:>6}  {errors or '-'}"
        )
    return lines


def _failure_lines(failures: list[FailureCount]) -> list[str]:
    # per site: each error kind with its count and one example, latest run
    if not failures:
        return []
    lines = ["", "failed fetches in each site's latest run (kind, count, an example):"]
    site: str | None = None
    for f in failures:
        if f.site != site:
            site = f.site
            lines.append(f"  {site or '(no site)'} (run {f.run_id})")
        status = f" {f.status}" if f.status is not None else ""
        what = f"{f.fetch_kind} {f.error_kind}{status}"
        lines.append(f"    {what:<28} {f.count:>5}  {f.example_url}")
        if f.example_error:
            lines.append(f"    {'':<28} {'':>5}  {f.example_error[:100]}")
    return lines


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _average(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@click.command(short_help="Full-text search with ranked hits and snippets.")
@click.argument("query")
@archive_option
@readonly_option
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Number of hits to print (0: every hit).",
)
@click.option("--site", help="Only articles of this site (an unknown site is an error).")
@click.option("--since", help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only articles published on or before this date (YYYY-MM-DD).")
@click.option(
    "--language", help="Only articles in this language, e.g. en (an unknown one is an error)."
)
@click.option(
    "--raw",
    is_flag=True,
    help='Read QUERY as SQLite FTS5 syntax: AND, OR, NOT, "exact phrase", prefix*, '
    "NEAR(a b, 5), title:word.",
)
@click.option("--literal", is_flag=True, hidden=True)  # the default now; kept for old scripts
@click.option(
    "--window",
    type=click.IntRange(1),
    default=SEARCH_WINDOW,
    show_default=True,
    help="Rank only this many of the newest matches (ranking costs ~3 µs a match).",
)
@click.option(
    "--all-matches",
    is_flag=True,
    help="Rank every match, not only the newest --window (seconds for common words in "
    "archives of a million articles).",
)
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON lines.")
def search(
    query: str,
    archive_path: Path,
    readonly: bool,
    limit: int,
    site: str | None,
    since: str | None,
    until: str | None,
    language: str | None,
    raw: bool,
    literal: bool,
    window: int,
    all_matches: bool,
    as_json: bool,
) -> None:
    """Full-text search of the archive for the words of QUERY, as typed.

    Hyphens, apostrophes and the like are plain text (co-op, don't, C++); --raw reads
    QUERY as SQLite FTS5 syntax instead. Prints ranked hits: title, date, URL and a
    snippet. Hits are the best bm25 matches among the newest 5,000 matches (by when they
    were archived; --window, --all-matches).
    """
    if raw and literal:
        fail("--raw and --literal contradict each other: give one of them")
    with opened(archive_path, readonly=readonly) as archive:
        try:
            hits = archive.search(
                query,
                limit=limit or None,
                site=site,
                since=since,
                until=until,
                language=language,
                fts=raw,
                window=None if all_matches else window,
            )
        except SearchSyntaxError as exc:
            fail(
                f"cannot search for {exc.query!r}: {exc.reason}; put words in double quotes "
                "to search for them as written, or leave out --raw to search for the words "
                "as typed"
            )
    if as_json:
        for hit in hits:
            click.echo(json.dumps(vars(hit), ensure_ascii=False))
        return
    if not hits:
        click.echo(f"no articles match {query!r}")
        return
    for number, hit in enumerate(hits, 1):
        date = (hit.published or "")[:10] or "undated"
        click.echo(f"{number:>3}. {hit.title or '(untitled)'}")
        click.echo(f"     {date}  {hit.source or ''}  {hit.url}")
        if hit.snippet:
            click.echo(f"     {hit.snippet}")


@click.command(short_help="Print one article with the teasers that linked to it.")
@click.argument("article")
@archive_option
@readonly_option
@click.option("--json", "as_json", is_flag=True, help="Print the article as JSON.")
def show(article: str, archive_path: Path, readonly: bool, as_json: bool) -> None:
    """Print one ARTICLE (its id or any of its URLs): title, URL, date and authors, lead,
    body, then the teasers that linked to it."""
    key: int | str = int(article) if article.isdigit() else article
    with opened(archive_path, readonly=readonly) as archive:
        try:
            stored = archive.article(key)
        except NotFoundError as exc:
            fail(str(exc), 1)
            return
    if as_json:
        click.echo(json.dumps(stored.as_dict(), ensure_ascii=False, indent=2, default=str))
        return
    click.echo(stored.title or "(untitled)")
    click.echo(f"{stored.url}")
    click.echo(
        f"published {stored.published or '?'} ({stored.published_from or '-'}); "
        f"by {', '.join(stored.authors) or '?'}; {stored.word_count} words"
    )
    click.echo("")
    if stored.lead:
        click.echo(stored.lead)
        click.echo("")
    click.echo(stored.body)
    click.echo("")
    click.echo(f"teasers ({len(stored.teasers)}):")
    for teaser in stored.teasers:
        click.echo(
            f"  {teaser.listing_url} #{teaser.last_position}: {teaser.title} "
            f"(seen {teaser.times_seen}x)"
        )


@click.command(short_help="Export articles as JSON lines, JSON, CSV, text or Markdown.")
@archive_option
@readonly_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    help="jsonl: one article a line, lists as arrays; json: one array; csv: lists as JSON "
    "text; txt / markdown: each article's title, URL, date, authors, lead and body. "
    "Default: from the suffix of -o (.jsonl, .ndjson, .json, .csv, .txt, .md, .markdown), "
    "else jsonl.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
    show_default=True,
    help="File to write ('-' for standard output); its suffix gives the format.",
)
@click.option(
    "-c",
    "--column",
    "columns",
    multiple=True,
    metavar="COLUMN",
    help="Only this column, in the order given (repeatable; jsonl, json, csv), e.g. "
    f"-c id -c title. Columns: {', '.join(EXPORT_COLUMNS)}, teasers.",
)
@click.option("--site", help="Only articles of this site (an unknown site is an error).")
@click.option("--since", help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only articles published on or before this date (YYYY-MM-DD).")
@click.option(
    "--language", help="Only articles in this language, e.g. en (an unknown one is an error)."
)
@click.option(
    "--order",
    type=click.Choice(list(ARTICLE_ORDERS)),
    default="newest",
    show_default=True,
    help="newest / oldest: by publication date (or when first archived); id: archive order.",
)
@click.option(
    "--with-teasers", is_flag=True, help="Include each article's teasers (jsonl, json, csv)."
)
def export(
    archive_path: Path,
    readonly: bool,
    fmt: str | None,
    output: Path,
    columns: tuple[str, ...],
    site: str | None,
    since: str | None,
    until: str | None,
    language: str | None,
    order: str,
    with_teasers: bool,
) -> None:
    """Export articles, streamed row by row (newest first unless --order says otherwise)."""
    try:
        fmt = fmt or format_for_path(output)
        export_columns(fmt, columns, with_teasers=with_teasers)
    except InvalidFilterError as exc:
        fail(str(exc))
    with opened(archive_path, readonly=readonly) as archive:
        # the filters are checked before the output file is created
        next(
            archive.articles(site=site, since=since, until=until, language=language, limit=0), None
        )
        try:
            with click.open_file(str(output), "w", encoding="utf-8", lazy=True) as out:
                count = archive.export(
                    out,
                    format=fmt,
                    site=site,
                    since=since,
                    until=until,
                    language=language,
                    with_teasers=with_teasers,
                    columns=columns or None,
                    order=order,
                )
        except click.FileError as exc:
            fail(f"{output}: cannot be written: {exc.message}")
    click.echo(f"exported {count} articles", err=True)


@click.command(short_help="Browse archives in datasette (read-only) with teaserfeed's metadata.")
@click.argument("archive_files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--archive",
    "archive_options",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite archive file, as for every other command (repeatable; also given as "
    f"ARCHIVE_FILES; none given: $TEASERFEED_ARCHIVE or {DEFAULT_ARCHIVE}).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("-p", "--port", type=int, default=8001, show_default=True, help="Port to listen on.")
@click.option(
    "--metadata",
    "extra_metadata",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Your own datasette metadata (JSON or YAML, e.g. more canned queries), merged "
    "over teaserfeed's.",
)
@click.option(
    "--setting",
    "settings",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="A datasette setting, e.g. --setting sql_time_limit_ms 3000 (datasette --help-settings).",
)
@click.option("-o", "--open", "open_browser", is_flag=True, help="Open the browser when ready.")
def serve(
    archive_files: tuple[Path, ...],
    archive_options: tuple[Path, ...],
    host: str,
    port: int,
    extra_metadata: Path | None,
    settings: tuple[tuple[str, str], ...],
    open_browser: bool,
) -> None:
    """Open ARCHIVE_FILES (or --archive, or $TEASERFEED_ARCHIVE or news.db) in datasette
    with teaserfeed's metadata and reader pages, read-only: datasette reads them as they
    change (a crawl may write them meanwhile) and every write through datasette, a
    writable canned query included, fails.

    Plain `datasette news.db` shows and guards an archive the same way (teaserfeed's
    datasette plugin recognises it by its schema); this command adds checked --setting
    values, teaserfeed's defaults (long bodies truncated in tables) and the schema
    upgrade of an archive written by an older teaserfeed.
    """
    try:
        import datasette  # noqa: F401
    except ImportError:
        fail("datasette is not installed: pip install 'teaserfeed[datasette]'")
    given = [*archive_files, *archive_options]
    default = Path(os.environ.get("TEASERFEED_ARCHIVE", DEFAULT_ARCHIVE))
    archive_files = tuple(dict.fromkeys(given)) if given else (default,)
    for archive_file in archive_files:
        if not archive_file.exists():
            fail(f"{archive_file}: no such archive; run `teaserfeed demo` or `crawl` first")
        _upgrade_if_older(archive_file)
    options = [*_datasette_settings(settings), *(["--open"] if open_browser else [])]
    if extra_metadata is not None:
        options += ["--metadata", str(_checked_metadata(extra_metadata))]
    from archive.datasette import register as register_plugin
    from archive.datasette.readonly import register

    register(archive_files)
    register_plugin()
    from datasette.cli import cli as datasette_cli

    # In this process, not a child: a signal that stops `teaserfeed serve` stops datasette.
    datasette_cli.main(
        args=["serve", *map(str, archive_files), "--host", host, "--port", str(port), *options],
        prog_name="datasette",
    )


# what `teaserfeed serve` sets unless told otherwise
SERVE_SETTINGS = {
    # article bodies are long: tables show their start, the article page all of it
    "truncate_cells_html": "240",
}


def _datasette_settings(settings: tuple[tuple[str, str], ...]) -> list[str]:
    """`--setting NAME VALUE` arguments for datasette, each checked here with a one-line error."""
    from datasette.cli import Setting

    chosen = {**SERVE_SETTINGS, **dict(settings)}
    arguments = []
    for name, value in chosen.items():
        try:
            Setting().convert((name, value), None, None)
        except click.BadParameter as exc:
            fail(f"--setting {name} {value}: {exc.message}")
        arguments += ["--setting", name, value]
    return arguments


def _checked_metadata(path: Path) -> Path:
    """The user's datasette metadata file, once it is known to be a readable mapping."""
    yaml = importlib.import_module("yaml")  # installed with datasette; untyped
    try:
        extra = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        fail(f"{path}: cannot read datasette metadata: {exc}")
    if not isinstance(extra, dict):
        fail(f"{path}: datasette metadata must be a mapping (databases:, title:, …)")
    return path


def _upgrade_if_older(path: Path) -> None:
    """Open the archive read-only; only an older schema is upgraded (the one write)."""
    try:
        open_archive(path, readonly=True).close()
        return
    except ArchiveFileError as exc:
        if "older schema" not in exc.reason:
            fail(str(exc))
    with opened(path):
        pass  # brings an older archive up to the current schema before datasette reads it
