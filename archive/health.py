"""Crawl health per site: the latest run against the runs before it, with warning flags."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .errors import ArchiveError
from .records import SiteHealth
from .search import ARTICLE_DATE, date_clauses

__all__ = [
    "COMPLETENESS_DROP",
    "COMPLETENESS_FIELDS",
    "MIN_ARTICLES",
    "PLOT_FORMATS",
    "FailureCount",
    "articles_per_day",
    "check_plot_path",
    "failed_urls",
    "fetch_failures",
    "plot_articles_per_day",
    "site_health",
    "totals",
]

# what "complete" means per field, as SQL over an `articles` row
COMPLETENESS_FIELDS: dict[str, str] = {
    "title": "trim(coalesce(title, '')) != ''",
    "body": "trim(coalesce(body, '')) != ''",
    "date": "published IS NOT NULL",
    "author": "coalesce(authors, '[]') != '[]'",
}
# a field's share among the articles the latest run fetched this far (absolute) below its
# share among the articles the trailing runs first stored is flagged, once the latest run
# fetched at least MIN_ARTICLES articles
COMPLETENESS_DROP = 0.3
MIN_ARTICLES = 3


def site_health(db: Database, *, trailing: int = 5, site: str | None = None) -> list[SiteHealth]:
    """Health of every site the archive knows (or of `site` only), by site name."""
    if trailing < 1:
        raise ValueError(f"trailing must be at least 1, not {trailing}")
    sites = [
        name
        for (name,) in db.execute(
            """
            SELECT name FROM sources
            UNION SELECT j.value FROM runs r, json_each(r.sites) j
            UNION SELECT DISTINCT source FROM articles
            ORDER BY 1
            """
        )
    ]
    return [_site(db, name, trailing) for name in sites if site is None or name == site]


@dataclass(frozen=True)
class FailureCount:
    """Failed fetches of one site in one run that share fetch kind, error kind and status."""

    site: str | None
    run_id: int
    fetch_kind: str
    error_kind: str
    status: int | None
    count: int
    example_url: str
    example_error: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)


def fetch_failures(
    db: Database, *, run_id: int | None = None, site: str | None = None
) -> list[FailureCount]:
    """Fetches with an error kind, grouped by site, fetch kind, error kind and status, with
    one example each: of run `run_id`, or of each site's latest run."""
    params: list[Any] = []
    if run_id is not None:
        where = "f.run_id = ?"
        params.append(run_id)
    else:
        where = """f.run_id = (
            SELECT max(r.id) FROM runs r, json_each(r.sites) j WHERE j.value = f.source)"""
    if site is not None:
        where += " AND f.source = ?"
        params.append(site)
    rows = db.execute(
        f"""
        SELECT f.source, f.run_id, f.kind, f.error_kind, f.status, count(*), min(f.url),
               f.error
        FROM fetches f
        WHERE f.error_kind IS NOT NULL AND {where}
        GROUP BY f.source, f.run_id, f.kind, f.error_kind, f.status
        ORDER BY f.source, count(*) DESC, f.error_kind, f.kind
        """,
        params,
    ).fetchall()
    # SQLite takes the bare column f.error from the row that gave min(f.url)
    return [
        FailureCount(
            site=source,
            run_id=int(run),
            fetch_kind=str(kind),
            error_kind=str(error_kind),
            status=None if status is None else int(status),
            count=int(count),
            example_url=str(url),
            example_error=None if error is None else str(error),
        )
        for source, run, kind, error_kind, status, count, url, error in rows
    ]


def failed_urls(db: Database, kinds: Iterable[str]) -> list[tuple[str, str]]:
    """(error kind, URL) of every fetch that failed with one of `kinds`, each once, sorted."""
    wanted = list(kinds)
    if not wanted:
        return []
    marks = ", ".join("?" * len(wanted))
    rows = db.execute(
        f"SELECT error_kind, url FROM fetches WHERE error_kind IN ({marks}) "
        "GROUP BY error_kind, url ORDER BY error_kind, url",
        wanted,
    ).fetchall()
    return [(str(kind), str(url)) for kind, url in rows]


def totals(db: Database, counts: Mapping[str, int]) -> dict[str, int]:
    """`counts` (rows per main table) with revised articles and near-duplicate clusters."""
    clusters, clustered = db.execute(
        "SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM articles "
        "GROUP BY cluster_id HAVING count(*) > 1)"
    ).fetchone()
    revised = db.execute("SELECT count(DISTINCT article_id) FROM article_versions").fetchone()[0]
    return {
        **counts,
        "articles_revised": int(revised),
        "clusters": int(clusters),
        "clustered_articles": int(clustered),
    }


def articles_per_day(
    db: Database, *, site: str | None = None, since: str | None = None, until: str | None = None
) -> list[tuple[str, str, int]]:
    """(day, site, articles) by publication date, or first seen when undated."""
    clauses, params = date_clauses(ARTICLE_DATE, since, until)
    if site is not None:
        clauses.append("a.source = ?")
        params.append(site)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.execute(
        f"""
        SELECT substr({ARTICLE_DATE}, 1, 10) AS day, a.source, count(*)
        FROM articles a {where}
        GROUP BY day, a.source ORDER BY day, a.source
        """,
        params,
    ).fetchall()
    return [(str(day), str(source), int(count)) for day, source, count in rows]


PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def check_plot_path(path: str | os.PathLike[str]) -> Path:
    """The chart's path if one can be drawn there, else ArchiveError with one line saying why."""
    out = Path(path)
    if out.suffix.lower() not in PLOT_FORMATS:
        raise ArchiveError(
            f"{out}: cannot draw a chart as {out.suffix or 'a file without a suffix'!r}: "
            f"use {', '.join(PLOT_FORMATS)}"
        )
    directory = out.parent if str(out.parent) else Path(".")
    if not directory.is_dir():
        raise ArchiveError(f"{out}: cannot write the chart: no directory {directory}")
    if not os.access(directory, os.W_OK):
        raise ArchiveError(f"{out}: cannot write the chart: directory {directory} is read-only")
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ArchiveError("plotting needs matplotlib: pip install 'teaserfeed[plot]'") from error
    return out


def plot_articles_per_day(
    rows: Sequence[tuple[str, str, int]], path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Draw articles per day per site as bars (PNG, SVG or PDF by suffix; needs matplotlib)."""
    out = check_plot_path(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    series: dict[str, dict[date, int]] = defaultdict(dict)
    for day, site, count in rows:
        try:
            series[site][date.fromisoformat(day)] = count
        except ValueError:
            continue  # a date the page gave in a form that is not ISO 8601
    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    try:
        # one bar a day, the sites' bars stacked: counts of a day add up
        bottoms: dict[date, int] = defaultdict(int)
        for site, counts in sorted(series.items()):
            days = sorted(counts)
            axes.bar(
                days,  # type: ignore[arg-type]
                [counts[d] for d in days],
                bottom=[bottoms[d] for d in days],
                width=0.8,
                label=site,
            )
            for d in days:
                bottoms[d] += counts[d]
        axes.set_title(title or "Articles per day per site")
        axes.set_xlabel("publication date (or first seen)")
        axes.set_ylabel("articles")
        axes.set_ylim(bottom=0, top=max(bottoms.values(), default=0) * 1.1 or 1)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, axis="y", alpha=0.3)
        if series:
            axes.legend(loc="upper left")
            figure.autofmt_xdate()
        else:
            axes.set_xticks([])
            axes.set_yticks([])
            axes.text(
                0.5,
                0.5,
                "no articles in this period",
                ha="center",
                va="center",
                fontsize=14,
                color="0.4",
                transform=axes.transAxes,
            )
        figure.tight_layout()
        try:
            figure.savefig(out, format=PLOT_FORMATS[out.suffix.lower()])
        except OSError as error:
            raise ArchiveError(
                f"{out}: cannot write the chart: {error.strerror or error}"
            ) from error
    finally:
        plt.close(figure)
    return out


# ---- internals --------------------------------------------------------------------


def _site(db: Database, site: str, trailing: int) -> SiteHealth:
    runs = db.execute(
        """
        SELECT r.id, r.started, r.status FROM runs r, json_each(r.sites) j
        WHERE j.value = ? ORDER BY r.id DESC LIMIT ?
        """,
        [site, trailing + 1],
    ).fetchall()
    if not runs:
        return SiteHealth(
            site=site,
            run_id=None,
            run_started=None,
            run_status=None,
            listing_pages=0,
            teasers_found=0,
            teasers_trailing=None,
            articles_new=0,
            articles_trailing=None,
            articles_fetched=0,
            completeness=_completeness(db, site, [])[1],
            completeness_trailing=dict.fromkeys(COMPLETENESS_FIELDS),
            errors={},
            flags=[],
        )
    latest, previous = runs[0], [row[0] for row in runs[1:]]
    run_ids = [latest[0], *previous]
    marks = ", ".join("?" * len(run_ids))
    teasers: dict[int, int] = defaultdict(int)
    pages: dict[int, int] = defaultdict(int)
    not_modified: dict[int, int] = defaultdict(int)
    listing_failed: dict[int, int] = defaultdict(int)
    for run_id, found, ok_pages, unmodified, failed in db.execute(
        f"""
        SELECT run_id, coalesce(sum(teasers), 0),
               count(DISTINCT CASE WHEN error_kind IS NULL AND coalesce(status, 200) < 400
                              THEN url END),
               count(DISTINCT CASE WHEN error_kind IS NULL AND status = 304 THEN url END),
               count(DISTINCT CASE WHEN error_kind IS NOT NULL OR status >= 400 THEN url END)
        FROM fetches WHERE kind = 'listing' AND source = ? AND run_id IN ({marks})
        GROUP BY run_id
        """,
        [site, *run_ids],
    ):
        teasers[run_id], pages[run_id] = int(found), int(ok_pages)
        not_modified[run_id], listing_failed[run_id] = int(unmodified), int(failed)
    new: dict[int, int] = defaultdict(int)
    for run_id, count in db.execute(
        f"""
        SELECT first_run_id, count(*) FROM articles
        WHERE source = ? AND first_run_id IN ({marks}) GROUP BY first_run_id
        """,
        [site, *run_ids],
    ):
        new[run_id] = int(count)
    errors = dict(
        db.execute(
            """
            SELECT error_kind, count(*) FROM fetches
            WHERE run_id = ? AND source = ? AND error_kind IS NOT NULL
            GROUP BY error_kind ORDER BY error_kind
            """,
            [latest[0], site],
        ).fetchall()
    )
    fetched, completeness = _completeness(db, site, [latest[0]], "last_run_id")
    health = SiteHealth(
        site=site,
        run_id=latest[0],
        run_started=latest[1],
        run_status=latest[2],
        listing_pages=pages[latest[0]],
        teasers_found=teasers[latest[0]],
        teasers_trailing=_mean([teasers[r] for r in previous]),
        articles_new=new[latest[0]],
        articles_trailing=_mean([new[r] for r in previous]),
        # the latest run is still every article's last run: its fetches, new or again
        articles_fetched=fetched,
        completeness=completeness,
        completeness_trailing=_completeness(db, site, previous)[1],
        errors={str(kind): int(count) for kind, count in errors.items()},
        flags=[],
        listings_not_modified=not_modified[latest[0]],
        listing_failures=listing_failed[latest[0]],
        article_failures=int(
            db.execute(
                "SELECT count(*) FROM fetches WHERE run_id = ? AND source = ? "
                "AND kind = 'article' AND error_kind IS NOT NULL",
                [latest[0], site],
            ).fetchone()[0]
        ),
    )
    health.flags = _flags(health) + _fallback_flags(db, site, latest[0])
    return health


def _fallback_flags(db: Database, site: str, run_id: int) -> list[str]:
    """A flag when every main teaser of the run came from the detector's fallback."""
    seen, guessed = db.execute(
        """
        SELECT count(*), coalesce(sum(confidence < 1), 0) FROM teasers
        WHERE source = ? AND last_run_id = ? AND coalesce(region, 'main') = 'main'
        """,
        [site, run_id],
    ).fetchone()
    if seen and guessed == seen:
        return [
            f"all {seen} main teasers in run {run_id} come from the detector's fallback "
            "(no listing passed its tests): check them, or give the site selectors"
        ]
    return []


def _completeness(
    db: Database, site: str, run_ids: Sequence[int], column: str = "first_run_id"
) -> tuple[int, dict[str, float | None]]:
    # (articles, share with each field) among the site's articles whose `column` is one of
    # run_ids (all of the site's articles when run_ids is empty)
    shares = ", ".join(
        f"avg(CASE WHEN {sql} THEN 1.0 ELSE 0 END)" for sql in COMPLETENESS_FIELDS.values()
    )
    if run_ids:
        where = f"{column} IN ({', '.join('?' * len(run_ids))})"
        params: list[Any] = [site, *run_ids]
    else:
        where, params = "1", [site]
    row = db.execute(
        f"SELECT count(*), {shares} FROM articles WHERE source = ? AND {where}", params
    ).fetchone()
    if not row[0]:
        return 0, dict.fromkeys(COMPLETENESS_FIELDS)
    values = row[1:]
    return int(row[0]), {
        name: float(value) for name, value in zip(COMPLETENESS_FIELDS, values, strict=True)
    }


def _flags(health: SiteHealth) -> list[str]:
    flags = []
    # listings answered 304 carry no teasers: a run of only those found nothing new, which
    # is what a healthy incremental run does (so is a run with no listing due at all)
    parsed = health.listing_pages - health.listings_not_modified
    if health.teasers_found == 0 and parsed > 0:
        flags.append(f"0 teasers in run {health.run_id}")
    elif health.listing_pages == 0 and health.listing_failures:
        flags.append(
            f"every listing fetch failed in run {health.run_id} "
            f"({health.listing_failures} listing pages)"
        )
    if health.article_failures and health.articles_fetched == 0:
        flags.append(
            f"every article fetch failed in run {health.run_id} "
            f"({health.article_failures} failed, none stored)"
        )
    if health.errors.get("backed_off"):
        # the circuit breaker gave up on the site within the run
        flags.append(
            f"backed off in run {health.run_id} after repeated failures "
            f"({health.errors['backed_off']} requests dropped)"
        )
    if health.articles_fetched >= MIN_ARTICLES:
        for name in COMPLETENESS_FIELDS:
            now, before = health.completeness[name], health.completeness_trailing[name]
            if now is not None and before is not None and before - now >= COMPLETENESS_DROP:
                flags.append(f"{name} completeness fell: {before:.0%} -> {now:.0%}")
    return flags


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None
