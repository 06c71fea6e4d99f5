"""Commands over an archive: `teaserfeed diff`, `stats`, `clusters` and `check`."""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path

import click

from archive import (
    Archive,
    ArchiveError,
    ArchiveFileError,
    NotFoundError,
    SiteHealth,
    check_archive,
)
from archive.health import FailureCount, check_plot_path, fetch_failures, plot_articles_per_day
from crawlers.cliutil import archive_option, fail, opened, readonly_option

__all__ = ["check", "clusters", "diff", "stats"]

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
        failures = fetch_failures(archive.db, site=site)
        totals = _totals(archive)
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


def _totals(archive: Archive) -> str:
    counts = archive.counts()
    clustered = archive.db.execute(
        "SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM articles "
        "GROUP BY cluster_id HAVING count(*) > 1)"
    ).fetchone()
    changed = archive.db.execute(
        "SELECT count(DISTINCT article_id) FROM article_versions"
    ).fetchone()[0]
    return (
        f"{counts['articles']} articles, {counts['teasers']} teasers, {counts['runs']} runs; "
        f"{changed} articles revised ({counts['article_versions']} earlier versions); "
        f"{clustered[0]} near-duplicate clusters ({clustered[1]} articles)"
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
