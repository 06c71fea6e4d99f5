"""The Archive: one SQLite file, written and read through verbs on one object."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from sqlite_utils import Database

from . import batch as _batch
from . import clusters as _clusters
from . import crawlstate as _crawlstate
from . import export as _export
from . import health as _health
from . import history as _history
from . import integrity as _integrity
from . import pages as _pages
from . import search as _search
from .batch import Batch, BatchItem, ItemResult
from .crawlstate import ListingState
from .dedup import content_hash, normalize_url, teaser_key
from .errors import (
    ArchiveBusyError,
    ArchiveError,
    ArchiveFileError,
    InvalidItemError,
    NotFoundError,
)
from .files import connect_readonly, create_atomically, existing_size, sqlite_reason
from .health import FailureCount
from .integrity import CheckReport
from .pages import StoredPage
from .records import (
    ArticleOutcome,
    ArticleVersion,
    Cluster,
    RunRecord,
    SearchHit,
    SiteHealth,
    StoredArticle,
    StoredTeaser,
)
from .schema import MAIN_TABLES, known_migrations, migrations

__all__ = ["EXTRACTION_FIELDS", "RUN_SUMMARY_KEYS", "Archive", "open_archive"]

BUSY_TIMEOUT_MS = 10_000
ERROR_MESSAGE_MAX = 500
# zlib level 1: the writer's cheapest page compression for a few % more bytes (per page,
# levels 1/3/6: AEB's 181 real pages, 170 KB, 1.21/1.61/3.22 ms at ratio 0.235/0.221/0.197;
# sitegen's 60 KB pages 0.20/0.25/0.43 ms at 0.158/0.152/0.144; benchmarks/README.md)
PAGE_ZLIB_LEVEL = 1
# page cache of a read-write connection (SQLite's default is 2 MiB): the writer's band
# lookups and index inserts land all over their B-trees, and with 2 MiB their pages were
# read again from the OS for every article (A/B at 8,000 articles: 0.1-0.2 ms less SQL CPU
# per article, ~10 %); allocated as used, so a small archive stays small in memory
WRITER_CACHE_KIB = 64 * 1024
# WAL pages after which a writer's commit copies them into the file (SQLite's default is
# 1,000): the LSH band rows and index entries of every batch land on random pages, and a
# page written by several batches between checkpoints is copied once (articles 4,001-8,000,
# A/B: the COMMIT's CPU 0.18 -> 0.11 ms per article); the WAL file grows to ~40 MiB
WRITER_CHECKPOINT_PAGES = 10_000
# new articles per multi-row INSERT: FTS5 costs more per row in longer statements (articles
# 40,001-45,000: batches of 1,000 in one statement 0.42 ms/article, of 500 in five 0.26, of
# 100 0.27), while a larger batch's one COMMIT still shares its dirtied pages (COMMIT 0.24
# at 100, 0.14 at 500; benchmarks/README.md, issue 19 round 3)
_FTS_ROWS = 100
ARTICLE_ORDERS = {
    "newest": "coalesce(a.published, a.first_seen) DESC, a.id DESC",
    "oldest": "coalesce(a.published, a.first_seen) ASC, a.id ASC",
    "id": "a.id ASC",
}
# article columns an extraction fills, from an ArticleItem or a re-extraction (images and
# removed, in tables of their own, are replaced as well)
EXTRACTION_FIELDS = (
    "title",
    "lead",
    "body",
    "canonical_url",
    "authors",
    "published",
    "published_from",
    "published_raw",
    "modified",
    "modified_from",
    "modified_raw",
    "language",
    "section",
    "tags",
    "top_image",
    "word_count",
    "extractor_version",
)
# written only when they changed: writing them re-indexes the article in articles_fts
_TEXT_FIELDS = ("title", "lead", "body")
# lists of strings, kept as JSON arrays
_JSON_FIELDS = ("authors", "tags")
# article columns written from an ArticleItem besides the text
_ARTICLE_FIELDS = (
    *(name for name in EXTRACTION_FIELDS if name not in _TEXT_FIELDS),
    "content_hash",
    "last_fetched",
    "last_run_id",
)
_SQL_VARIABLES_PER_QUERY = 500

RUN_SUMMARY_KEYS: dict[str, str] = {
    "run_id": "the run's id",
    "status": "running, finished, failed, interrupted, or the crawler's finish reason",
    "started": "when the run started (UTC, ISO 8601)",
    "finished": "when finish_run was called, None while running",
    "sites": "site names the run crawled",
    "listing_pages": "distinct listing URLs fetched in the run without error (status < 400)",
    "teasers_seen": "upsert_teaser calls in the run: every sighting, repeats included",
    "teasers_new": "sightings that created a new teaser row (new link or new headline)",
    "articles_new": "upsert_article calls in the run that created an article",
    "articles_updated": "upsert_article calls that changed a stored article's title or body",
    "articles_unchanged": "upsert_article calls that found the title and body unchanged",
    "articles_merged": "upsert_article calls that joined an article stored under another URL",
    "articles_known": (
        "articles linked from the run's teasers that were archived before and not fetched "
        "in the run (frozen at finish_run)"
    ),
    "duplicates_merged": (
        "distinct raw teaser URLs of the run that lead to an article, minus the distinct "
        "articles they lead to: URL variants folded into one article (frozen at finish_run)"
    ),
    "errors": "fetches of the run with an error_kind, counted by error_kind",
    "requests": "fetches recorded in the run (every HTTP request but robots.txt)",
    "listings_not_modified": "listing/feed/sitemap fetches answered 304 Not Modified",
    "listings_unchanged": "listings fetched whose teasers were the same as last time",
    "listings_not_due": "listings not polled because their next poll is not due yet",
    "stopped_at_seen": "listing chains whose paging stopped at a page of known teasers",
    "revisits": "archived articles fetched again because a revisit was due",
    "articles_recovered": "teasers of earlier runs whose article was fetched at last",
    "teasers_offsite": (
        "main teasers linking outside their site's allowed_domains: recorded, not followed"
    ),
}
# run_summary keys read from the crawler's stats (teaserfeed/<key>), 0 when absent
_STATS_KEYS = (
    "listings_unchanged",
    "listings_not_due",
    "stopped_at_seen",
    "revisits",
    "articles_recovered",
    "teasers_offsite",
)


def open_archive(
    path: str | os.PathLike[str], *, readonly: bool = False, create: bool = False
) -> Archive:
    """Open the archive at `path` (upgrading its schema unless readonly); a missing file is
    an ArchiveFileError unless `create` asks for a new, empty archive there."""
    return Archive(path, readonly=readonly, create=create)


class Archive:
    """A teaserfeed archive in one SQLite file (WAL); the single writer of that file."""

    path: Path
    db: Database
    readonly: bool

    def __init__(
        self, path: str | os.PathLike[str], *, readonly: bool = False, create: bool = False
    ) -> None:
        """Open the archive at `path`, migrating it unless readonly; `create` makes a new one."""
        self.path = Path(path)
        self.readonly = readonly
        self.db = _connect(self.path, readonly, create)
        try:
            _prepare(self.db, self.path, readonly)
        except BaseException:
            self.db.close()
            raise

    def __repr__(self) -> str:
        return f"<Archive {str(self.path)!r}{' readonly' if self.readonly else ''}>"

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run several writes as one transaction: commit at exit, roll back on error."""
        with self._writing():
            yield

    # ---- writes -------------------------------------------------------------------

    def upsert_source(
        self, name: str, start_urls: Sequence[str], config: Mapping[str, Any]
    ) -> None:
        """Record a configured site and its current configuration."""
        config_json = _dumps(config)
        now = _now()
        with self._writing():
            self.db.execute(
                """
                INSERT INTO sources (name, start_urls, config, config_hash, first_seen, last_seen)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET
                  start_urls = excluded.start_urls, config = excluded.config,
                  config_hash = excluded.config_hash, last_seen = excluded.last_seen
                """,
                [name, _dumps(list(start_urls)), config_json, _sha256(config_json), now, now],
            )

    def start_run(self, sites: Sequence[str], stats: Mapping[str, Any] | None = None) -> int:
        """Open a crawl run (status 'running', with initial `stats`) and return its id.

        Runs still marked 'running' were cut short (one crawl per archive holds the lock):
        they are marked 'interrupted'.
        """
        with self._writing():
            self.db.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            cursor = self.db.execute(
                "INSERT INTO runs (started, status, sites, stats) VALUES (?, 'running', ?, ?)",
                [_now(), _dumps(list(sites)), _dumps(dict(stats or {}))],
            )
        return _lastrowid(cursor)

    def generation_runs(self) -> list[tuple[int, int, str, bool]]:
        """(run id, generation, token, finished) of each run of a distributed crawl."""
        rows = self.db.execute(
            """
            SELECT id, json_extract(stats, '$.generation'),
                   json_extract(stats, '$.generation_token'), finished IS NOT NULL
            FROM runs WHERE json_extract(stats, '$.generation_token') IS NOT NULL
            ORDER BY id
            """
        ).fetchall()
        return [(int(r), int(g or 0), str(t), bool(f)) for r, g, t, f in rows]

    def finish_run(self, run_id: int, status: str, stats: Mapping[str, Any]) -> None:
        """Close a run with its final status and stats; freezes its duplicate count."""
        with self._writing():
            cursor = self.db.execute(
                """
                UPDATE runs SET finished = ?, status = ?, stats = ?, duplicates_merged = ?,
                  articles_known = ?
                WHERE id = ?
                """,
                [
                    _now(),
                    status,
                    _dumps(stats),
                    self._duplicates_merged(run_id),
                    self._articles_known(run_id),
                    run_id,
                ],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id}")

    def record_fetch(self, fetch: Mapping[str, Any], run_id: int | None = None) -> None:
        """Log one HTTP fetch; a 'listing' fetch also updates that listing's state."""
        _require(fetch, ("url", "kind"), "fetch")
        run_id = run_id if run_id is not None else fetch.get("run_id")
        fetched_at = fetch.get("fetched_at") or _now()
        error = fetch.get("error")
        if error is not None:
            error = str(error)[:ERROR_MESSAGE_MAX]
        row = [
            run_id,
            fetch["url"],
            fetch["kind"],
            fetch.get("source"),
            fetch.get("status"),
            fetch.get("final_url"),
            fetch.get("bytes"),
            fetch.get("ms"),
            fetch.get("error_kind"),
            error,
            fetch.get("teasers"),
            fetched_at,
        ]
        with self._writing():
            self.db.execute(
                """
                INSERT INTO fetches (run_id, url, kind, source, status, final_url, bytes, ms,
                                     error_kind, error, teasers, fetched_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                row,
            )
            if fetch["kind"] in _crawlstate.LISTING_KINDS:
                _crawlstate.record_listing(self.db, fetch, fetched_at)
            elif _crawlstate.touches_article(fetch):
                _crawlstate.touch_article(self.db, fetch["url"], fetched_at, run_id)

    def upsert_teaser(
        self, teaser: Mapping[str, Any], run_id: int | None = None
    ) -> Literal["new", "seen"]:
        """Record one sighting of a teaser: "new" for a new teaser row, else "seen"."""
        _require(teaser, ("source", "listing_url", "url"), "teaser")
        url_key = normalize_url(teaser["url"])
        key = teaser_key(teaser["listing_url"], url_key, teaser.get("title"), teaser.get("excerpt"))
        seen_at = teaser.get("seen_at") or _now()
        display = [
            teaser.get("image"),
            teaser.get("date_text"),
            int(bool(teaser.get("has_read_more"))),
            teaser.get("region"),
            teaser.get("confidence"),
        ]
        with self._writing():
            article_id = self._article_for_key(url_key)
            cursor = self.db.execute(
                """
                INSERT INTO teasers (source, listing_url, url, url_key, article_id, title,
                  excerpt, image, date_text, has_read_more, region, confidence, teaser_key,
                  first_seen, last_seen, times_seen, last_position, first_run_id, last_run_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
                ON CONFLICT (teaser_key) DO NOTHING
                """,
                [
                    teaser["source"],
                    teaser["listing_url"],
                    teaser["url"],
                    url_key,
                    article_id,
                    teaser.get("title"),
                    teaser.get("excerpt"),
                    *display,
                    key,
                    seen_at,
                    seen_at,
                    teaser.get("position"),
                    run_id,
                    run_id,
                ],
            )
            outcome: Literal["new", "seen"] = "new" if cursor.rowcount == 1 else "seen"
            teaser_id = _lastrowid(cursor) if outcome == "new" else None
            if outcome == "seen":
                self.db.execute(
                    """
                    UPDATE teasers SET
                      image = ?, date_text = ?, has_read_more = ?, region = ?, confidence = ?,
                      last_seen = max(last_seen, ?), times_seen = times_seen + 1,
                      last_position = ?, last_run_id = coalesce(?, last_run_id),
                      article_id = coalesce(article_id, ?)
                    WHERE teaser_key = ?
                    """,
                    [*display, seen_at, teaser.get("position"), run_id, article_id, key],
                )
                teaser_id = self.db.execute(
                    "SELECT id FROM teasers WHERE teaser_key = ?", [key]
                ).fetchone()[0]
            assert teaser_id is not None
            _history.record_sighting(self.db, teaser_id, teaser.get("position"), seen_at, run_id)
            self._count(run_id, "teasers_seen", "teasers_new" if outcome == "new" else None)
        return outcome

    def upsert_article(
        self, article: Mapping[str, Any], run_id: int | None = None
    ) -> ArticleOutcome:
        """Store an extracted article page, folding every URL form of it into one row."""
        return self.upsert_articles([article], run_id)[0]

    def knows_url(self, url: str) -> bool:
        """Whether this URL, in any of its forms, belongs to a stored article."""
        return self._article_for_key(normalize_url(url)) is not None

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """The subset of `urls` (as given) that belong to stored articles."""
        by_key: dict[str, list[str]] = {}
        for url in urls:
            by_key.setdefault(normalize_url(url), []).append(url)
        found = self._articles_for_keys(list(by_key))
        return {url for key in found for url in by_key[key]}

    # ---- reads --------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int | None = 20,
        offset: int = 0,
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
        language: str | None = None,
        fts: bool = False,
        window: int | None = _search.SEARCH_WINDOW,
        literal: bool | None = None,
    ) -> list[SearchHit]:
        """Full-text search of the words as typed (FTS5 syntax with `fts=True`), best rank first.

        Hits are ordered by bm25 rank among the newest `window` matches (default 5,000);
        `window=None` ranks every match (slow for common words in big archives) and
        `limit=None` returns every hit. An unknown `site` or `language` is an
        InvalidFilterError naming the known ones. `literal` is the old name of `not fts`.
        """
        if literal is not None:
            fts = not literal
        return _search.search(
            self.db,
            query,
            limit=limit,
            offset=offset,
            site=site,
            since=since,
            until=until,
            language=language,
            fts=fts,
            window=window,
        )

    def articles(
        self,
        *,
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
        language: str | None = None,
        order: str = "newest",
        limit: int | None = None,
        full: bool = False,
    ) -> Iterator[StoredArticle]:
        """Stored articles by site, date and language, newest first unless `order` says
        otherwise, streamed; `full` loads their children. An unknown site or language is an
        InvalidFilterError naming the known ones."""
        if order not in ARTICLE_ORDERS:
            raise ValueError(f"unknown order {order!r}: use one of {', '.join(ARTICLE_ORDERS)}")
        _search.check_known(self.db, site=site, language=language)
        clauses, params = _search.date_clauses(_search.ARTICLE_DATE, since, until)
        for column, value in (("source", site), ("language", language)):
            if value is not None:
                clauses.append(f"a.{column} = ?")
                params.append(_search.sql_text(value))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT a.* FROM articles a {where} ORDER BY {ARTICLE_ORDERS[order]}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(_search.sql_limit(limit))
        return self._stream(self.db.execute(sql, params), full)

    def article(self, key: int | str) -> StoredArticle:
        """One article by id or by any URL form, with its teasers, images, URLs and versions."""
        article_id = self._resolve_article_key(key)
        row = self._one("SELECT * FROM articles WHERE id = ?", [article_id])
        if row is None:
            raise NotFoundError(f"no article with id {article_id}")
        return self._fill(StoredArticle.from_row(row))

    def teasers(self, article_id: int) -> list[StoredTeaser]:
        """Every distinct teaser that linked to an article, oldest first."""
        return [
            StoredTeaser.from_row(row)
            for row in self._rows(
                "SELECT * FROM teasers WHERE article_id = ? ORDER BY first_seen, id", [article_id]
            )
        ]

    def page(self, article_id: int) -> bytes | None:
        """The latest raw HTML kept for an article, decompressed, or None."""
        row = self._one(
            "SELECT content FROM pages WHERE article_id = ? ORDER BY fetched_at DESC, id DESC",
            [article_id],
        )
        return zlib.decompress(row["content"]) if row and row["content"] is not None else None

    def stored_pages(
        self,
        *,
        before_version: str | None = None,
        source: str | None = None,
        article_ids: Sequence[int] | None = None,
    ) -> Iterator[StoredPage]:
        """Each article's latest raw page, by article id, for re-extraction.

        `before_version` keeps articles whose extractor_version sorts before it (dotted
        numbers: "2.10" after "2.9"); an article with no recorded version counts as oldest.
        Pages are read one at a time, so the caller may update articles while iterating.
        """
        return _pages.iter_pages(
            self.db, before_version=before_version, source=source, article_ids=article_ids
        )

    def update_extraction(self, article_id: int, fields: Mapping[str, Any]) -> bool:
        """Store a re-extraction of an article in one transaction; True if its text changed.

        `fields` holds any of the extracted article columns (title, lead, body, authors,
        dates, language, …, extractor_version) and `images` and `removed` as lists of dicts,
        which replace the stored ones. FTS follows through its triggers; this is not a new
        revision, so `version` and article_versions are left alone.
        """
        with self._writing():
            return self._store_extraction(article_id, fields)

    def sources(self) -> list[dict[str, Any]]:
        """The configured sites the archive has seen, with their start URLs and config."""
        return [
            {
                **row,
                "start_urls": json.loads(row["start_urls"]),
                "config": json.loads(row["config"]),
            }
            for row in self._rows("SELECT * FROM sources ORDER BY name", [])
        ]

    def run(self, run_id: int) -> RunRecord:
        """One run by id."""
        row = self._one("SELECT * FROM runs WHERE id = ?", [run_id])
        if row is None:
            raise NotFoundError(f"no run with id {run_id}")
        return RunRecord.from_row(row)

    def last_run(self) -> RunRecord | None:
        """The most recently started run, if any."""
        row = self._one("SELECT * FROM runs ORDER BY id DESC LIMIT 1", [])
        return RunRecord.from_row(row) if row else None

    def run_summary(self, run_id: int) -> dict[str, Any]:
        """What one run did, in exact numbers; RUN_SUMMARY_KEYS defines each key."""
        run = self.run(run_id)
        listing_pages = self.db.execute(
            """
            SELECT count(DISTINCT url) FROM fetches
            WHERE run_id = ? AND kind = 'listing' AND error_kind IS NULL
              AND (status IS NULL OR status < 400)
            """,
            [run_id],
        ).fetchone()[0]
        errors = dict(
            self.db.execute(
                """
                SELECT error_kind, count(*) FROM fetches
                WHERE run_id = ? AND error_kind IS NOT NULL
                GROUP BY error_kind ORDER BY error_kind
                """,
                [run_id],
            ).fetchall()
        )
        requests, not_modified = self.db.execute(
            """
            SELECT count(*), coalesce(sum(kind IN ('listing', 'feed', 'sitemap')
                                          AND status = 304), 0)
            FROM fetches WHERE run_id = ?
            """,
            [run_id],
        ).fetchone()
        stats = run.stats if isinstance(run.stats, Mapping) else {}
        duplicates = run.duplicates_merged
        if duplicates is None:
            duplicates = self._duplicates_merged(run_id)
        known = run.articles_known
        if known is None:
            known = self._articles_known(run_id)
        return {
            "run_id": run.id,
            "status": run.status,
            "started": run.started,
            "finished": run.finished,
            "sites": run.sites,
            "listing_pages": listing_pages,
            "teasers_seen": run.teasers_seen,
            "teasers_new": run.teasers_new,
            "articles_new": run.articles_new,
            "articles_updated": run.articles_updated,
            "articles_unchanged": run.articles_unchanged,
            "articles_merged": run.articles_merged,
            "articles_known": known,
            "duplicates_merged": duplicates,
            "errors": errors,
            "requests": requests,
            "listings_not_modified": not_modified,
            **{key: int(stats.get(f"teaserfeed/{key}") or 0) for key in _STATS_KEYS},
        }

    def listing_states(self, urls: Iterable[str]) -> dict[str, ListingState]:
        """The stored crawl state of each of these listing/feed URLs fetched before."""
        return _crawlstate.listing_states(self.db, urls)

    def due_revisits(
        self,
        source: str,
        schedule: Sequence[float],
        *,
        now: datetime | None = None,
        limit: int = 1000,
    ) -> list[tuple[str, str]]:
        """(URL, last fetched) of a site's articles due for a revisit (schedule in seconds)."""
        return _crawlstate.due_revisits(self.db, source, now or datetime.now(UTC), schedule, limit)

    def unfetched_teasers(
        self,
        sources: Sequence[str] | None = None,
        *,
        limit: int = 1000,
        accept: Callable[[str], bool] | None = None,
        now: datetime | None = None,
        retry_gone: float = _crawlstate.RETRY_GONE,
    ) -> list[tuple[str, str]]:
        """(site, URL) of teasers whose article never arrived and may still be fetched
        (only URLs `accept` takes, when given; none found gone within `retry_gone` s)."""
        return _crawlstate.unfetched_teasers(self.db, sources, limit, accept, now, retry_gone)

    def gone_urls(
        self,
        urls: Iterable[str],
        *,
        now: datetime | None = None,
        retry_after: float = _crawlstate.RETRY_GONE,
    ) -> set[str]:
        """The article URLs among these found gone (404/410, unknown host) not long ago."""
        return _crawlstate.gone_urls(self.db, urls, now or datetime.now(UTC), retry_after)

    def interrupted_sites(self, sites: Sequence[str], before_run: int | None = None) -> set[str]:
        """The sites among these whose last run (before `before_run`) did not finish."""
        return _crawlstate.interrupted_sites(self.db, sites, before_run)

    def url_keys(self) -> Iterator[str]:
        """The normalised URL key of every URL form of every stored article."""
        for (key,) in self.db.execute("SELECT url_key FROM article_urls"):
            yield key

    def reset_site(self, source: str) -> int:
        """Forget a site's listing state so its next crawl starts afresh; rows removed.

        A site the archive does not know is an InvalidFilterError naming the known ones."""
        _search.check_known(self.db, site=source)
        with self._writing():
            return _crawlstate.reset_site(self.db, source)

    def counts(self) -> dict[str, int]:
        """Number of rows in each main table."""
        return {
            table: self.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
            for table in MAIN_TABLES
        }

    def export(
        self,
        out: IO[str],
        *,
        format: str = "jsonl",
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
        language: str | None = None,
        with_teasers: bool = False,
        columns: Sequence[str] | None = None,
        order: str = "newest",
    ) -> int:
        """Stream articles (newest first) to `out` as jsonl, json (an array), csv, txt or
        markdown; `columns` picks the columns of the first three. Return articles written."""
        _export.export_columns(format, columns, with_teasers=with_teasers)  # before any row
        return _export.write_articles(
            out,
            self.articles(site=site, since=since, until=until, language=language, order=order),
            format=format,
            teasers=self.teasers if with_teasers else None,
            columns=columns,
        )

    # ---- research -----------------------------------------------------------------

    def versions(self, key: int | str) -> list[ArticleVersion]:
        """Every state of an article's text, oldest first; the last one is the current row."""
        article_id = self._resolve_article_key(key)
        versions = _history.article_versions(self.db, article_id)
        if not versions:
            raise NotFoundError(f"no article with id {article_id}")
        return versions

    def diff(
        self,
        key: int | str,
        old: int | None = None,
        new: int | None = None,
        *,
        context: int = 8,
    ) -> str:
        """Word diff of two versions of an article (default: the one before current → current)."""
        versions = {version.version: version for version in self.versions(key)}
        new = max(versions) if new is None else new
        old = max((v for v in versions if v < new), default=new) if old is None else old
        for number in (old, new):
            if number not in versions:
                raise NotFoundError(
                    f"article {key} has no version {number} (versions: "
                    f"{', '.join(map(str, sorted(versions)))})"
                )
        return _history.format_diff(versions[old], versions[new], context=context)

    def front_page_history(
        self, key: int | str | None = None, *, site: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Where teasers stood on each listing over time (position 0 = top): of one article
        (id or URL) or of all, by article, listing and time (the `front_page_history` view)."""
        return self._view("front_page_history", key, site, limit)

    def headline_changes(
        self, key: int | str | None = None, *, site: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Teasers whose headline differs from their article's title, newest first (the
        `headline_changes` view), of one article (id or URL) or of all."""
        return self._view("headline_changes", key, site, limit)

    def teaser_headline_changes(
        self, key: int | str | None = None, *, site: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Headlines rewritten on a listing (old_title -> new_title), newest first (the
        `teaser_headline_changes` view), of one article (id or URL) or of all."""
        return self._view("teaser_headline_changes", key, site, limit)

    def clusters(self, *, min_size: int = 2, limit: int | None = None) -> Iterator[Cluster]:
        """Near-duplicate clusters (the same story under different URLs), largest first."""
        return _clusters.clusters(self.db, min_size=min_size, limit=limit)

    def near_duplicates(self, key: int | str) -> list[tuple[int, float]]:
        """(article id, estimated Jaccard similarity) of an article's near-duplicates."""
        return _clusters.near_duplicates(self.db, self._resolve_article_key(key))

    def recluster(self) -> int:
        """Rebuild every cluster from the signatures; return the number of clusters (size ≥ 2)."""
        with self._writing():
            return _clusters.recluster(self.db)

    def check(self, *, fts: bool = True) -> CheckReport:
        """Check the file: SQLite integrity, foreign keys, the full-text index against articles."""
        return _integrity.check_connection(self.db.conn, self.path, fts=fts, readonly=self.readonly)

    def health(self, *, trailing: int = 5, site: str | None = None) -> list[SiteHealth]:
        """Per site (or `site` only): its latest run against the average of the `trailing`
        runs before, flagged."""
        _search.check_known(self.db, site=site)
        return _health.site_health(self.db, trailing=trailing, site=site)

    def fetch_failures(
        self, *, run_id: int | None = None, site: str | None = None
    ) -> list[FailureCount]:
        """Failed fetches grouped by site, fetch kind, error kind and status, an example each:
        of run `run_id`, or of each site's latest run."""
        _search.check_known(self.db, site=site)
        return _health.fetch_failures(self.db, run_id=run_id, site=site)

    def failed_urls(self, kinds: Iterable[str]) -> list[tuple[str, str]]:
        """(error kind, URL) of every fetch that failed with one of `kinds`, each once."""
        return _health.failed_urls(self.db, kinds)

    def totals(self) -> dict[str, int]:
        """counts() with `articles_revised`, near-duplicate `clusters`, `clustered_articles`."""
        return _health.totals(self.db, self.counts())

    def articles_per_day(
        self, *, site: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[tuple[str, str, int]]:
        """(day, site, articles) by publication date (or first seen), oldest day first."""
        _search.check_known(self.db, site=site)
        return _health.articles_per_day(self.db, site=site, since=since, until=until)

    def to_records(
        self,
        *,
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
        language: str | None = None,
        full: bool = False,
        order: str = "newest",
    ) -> Iterator[dict[str, Any]]:
        """Articles as plain dicts (newest first, streamed); `full` adds teasers and versions."""
        articles = self.articles(
            site=site, since=since, until=until, language=language, order=order, full=full
        )
        return (_export.record(article, full=full) for article in articles)

    def to_dataframe(
        self,
        *,
        site: str | None = None,
        since: str | None = None,
        until: str | None = None,
        language: str | None = None,
        columns: Sequence[str] | None = None,
        order: str = "newest",
    ) -> Any:
        """The articles as a pandas DataFrame, newest first, dates as UTC datetimes (needs
        pandas: pip install pandas)."""
        return _export.to_dataframe(
            self.to_records(site=site, since=since, until=until, language=language, order=order),
            columns,
        )

    # ---- internals ----------------------------------------------------------------

    def _stream(self, cursor: sqlite3.Cursor, full: bool) -> Iterator[StoredArticle]:
        names = [column[0] for column in cursor.description]
        for row in cursor:
            article = StoredArticle.from_row(dict(zip(names, row, strict=True)))
            yield self._fill(article) if full else article

    def _fill(self, stored: StoredArticle) -> StoredArticle:
        article_id = stored.id
        stored.teasers = self.teasers(article_id)
        stored.images = self._rows(
            "SELECT url, alt, caption, credit, position FROM images "
            "WHERE article_id = ? ORDER BY position, id",
            [article_id],
        )
        stored.urls = [
            row["url"]
            for row in self._rows(
                "SELECT url FROM article_urls WHERE article_id = ? ORDER BY first_seen, rowid",
                [article_id],
            )
        ]
        stored.versions = _history.article_versions(self.db, article_id)[:-1]
        return stored

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if self.readonly:
            raise ArchiveError(f"{self.path} was opened read-only")
        try:
            with self.db.atomic() if self.db.conn.in_transaction else _immediate(self.db):
                yield
        except sqlite3.IntegrityError as error:
            # e.g. a run_id that names no run; the write is rolled back, the archive intact
            raise InvalidItemError(f"the archive rejected this write: {error}") from error

    def _view(
        self, view: str, key: int | str | None, site: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        """Rows of a research view, by article and site, in the view's own order."""
        _search.check_known(self.db, site=site)
        clauses: list[str] = []
        params: list[Any] = []
        if key is not None:
            clauses.append("article_id = ?")
            params.append(self._resolve_article_key(key))
        if site is not None:
            clauses.append("article_id IN (SELECT id FROM articles WHERE source = ?)")
            params.append(_search.sql_text(site))
        sql = f"SELECT * FROM [{view}]" + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(_search.sql_limit(limit))
        return self._rows(sql, params)

    def _rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def _one(self, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([column[0] for column in cursor.description], row, strict=True))

    def _count(self, run_id: int | None, *counters: str | None) -> None:
        names = [name for name in counters if name]
        if run_id is None or not names:
            return
        sets = ", ".join(f"{name} = {name} + 1" for name in names)
        self.db.execute(f"UPDATE runs SET {sets} WHERE id = ?", [run_id])

    def _duplicates_merged(self, run_id: int) -> int:
        # raw teaser URLs of this run that lead to an article also reached under another URL
        row = self.db.execute(
            """
            SELECT count(DISTINCT url) - count(DISTINCT article_id) FROM teasers
            WHERE last_run_id = ? AND article_id IS NOT NULL
            """,
            [run_id],
        ).fetchone()
        return int(row[0] or 0)

    def _articles_known(self, run_id: int) -> int:
        # articles linked from this run's teasers that this run did not fetch: archived before
        row = self.db.execute(
            """
            SELECT count(DISTINCT t.article_id) FROM teasers t
            JOIN articles a ON a.id = t.article_id
            WHERE t.last_run_id = ? AND a.last_run_id IS NOT ?
            """,
            [run_id, run_id],
        ).fetchone()
        return int(row[0] or 0)

    def _article_for_key(self, url_key: str) -> int | None:
        row = self.db.execute(
            "SELECT article_id FROM article_urls WHERE url_key = ?", [url_key]
        ).fetchone()
        return int(row[0]) if row else None

    def _articles_for_keys(self, keys: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), _SQL_VARIABLES_PER_QUERY):
            chunk = keys[start : start + _SQL_VARIABLES_PER_QUERY]
            found.update(
                self.db.execute(
                    "SELECT url_key, article_id FROM article_urls "
                    f"WHERE url_key IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        return found

    def _resolve_article_key(self, key: int | str) -> int:
        if isinstance(key, int) and not isinstance(key, bool):
            return _article_id(key)
        text = str(key).strip()
        if text.isascii() and text.isdigit():
            return _article_id(int(text))
        article_id = self._article_for_key(normalize_url(text))
        if article_id is None:
            raise NotFoundError(
                f"no article stored under {text!r} (looked up as {normalize_url(text)!r})"
            )
        return article_id

    def _update_article(
        self,
        article_id: int,
        values: dict[str, Any],
        title: str | None,
        lead: str | None,
        body: str,
        canonical: str | None,
    ) -> Literal["updated", "unchanged"]:
        old = self._one(
            "SELECT content_hash, title, lead, body, authors, published, modified, version, "
            "first_seen, last_fetched FROM articles WHERE id = ?",
            [article_id],
        )
        assert old is not None
        changes = dict(values)
        if canonical:
            changes["url"] = canonical
        status: Literal["updated", "unchanged"]
        revised = old["content_hash"] != values["content_hash"]
        if revised and _history.is_boring_change(old["title"], old["body"], title, body):
            # only timestamps or a share widget's order moved: not a revision (the stored
            # text and its hash stay, so FTS is not touched either)
            del changes["content_hash"]
            revised = False
        if revised:
            # the old state is kept in article_versions before it is overwritten
            new = {**values, "title": title, "lead": lead, "body": body}
            changed = _history.changed_fields(old, new)
            _history.save_version(self.db, article_id, old, values["last_fetched"], changed)
            changes.update(title=title, lead=lead, body=body, version=old["version"] + 1)
            status = "updated"
        else:
            if lead != old["lead"]:
                changes["lead"] = lead
            status = "unchanged"
        # title and body are only written when they changed: writing them re-indexes FTS
        self.db.execute(
            f"UPDATE articles SET {', '.join(f'{name} = ?' for name in changes)} WHERE id = ?",
            [*changes.values(), article_id],
        )
        return status

    def _absorb(self, article_id: int, other: int) -> None:
        # `other` is the same story stored earlier under a URL now known to be an alias:
        # its URLs and teasers move over; its content is superseded by this fetch
        _clusters.absorb(self.db, article_id, other)
        self.db.execute(
            "UPDATE article_urls SET article_id = ? WHERE article_id = ?", [article_id, other]
        )
        self.db.execute(
            "UPDATE teasers SET article_id = ? WHERE article_id = ?", [article_id, other]
        )
        for table in ("images", "removed", "pages"):
            self.db.execute(f"DELETE FROM {table} WHERE article_id = ?", [other])
        self.db.execute("DELETE FROM articles WHERE id = ?", [other])

    def _store_extraction(self, article_id: int, fields: Mapping[str, Any]) -> bool:
        # the work of update_extraction inside the caller's transaction
        _check_article_shape(fields)
        old = self._one("SELECT title, lead, body FROM articles WHERE id = ?", [article_id])
        if old is None:
            raise NotFoundError(f"no article with id {article_id}")
        changes = {
            name: _column(name, fields[name]) for name in EXTRACTION_FIELDS if name in fields
        }
        body = changes.get("body", old["body"]) or ""
        changes["body"] = body
        changes["word_count"] = changes.get("word_count") or len(body.split())
        changes["content_hash"] = content_hash(changes.get("title", old["title"]), body)
        text_changed = False
        for name in _TEXT_FIELDS:
            if name in changes and changes[name] == old[name]:
                del changes[name]
            elif name in changes:
                text_changed = True
        self.db.execute(
            f"UPDATE articles SET {', '.join(f'{name} = ?' for name in changes)} WHERE id = ?",
            [*changes.values(), article_id],
        )
        if "body" in changes:
            signature = _clusters.signature_of(body, fields.get("minhash"))
            _clusters.assign_signed(self.db, article_id, signature)
        self._replace_children(article_id, fields)
        return text_changed

    def _replace_children(self, article_id: int, article: Mapping[str, Any]) -> None:
        # an item without the key says nothing about them; an empty list replaces them
        for table in ("images", "removed"):
            if table in article:
                self.db.execute(f"DELETE FROM {table} WHERE article_id = ?", [article_id])
        self._insert_children(_image_rows(article_id, article), _removed_rows(article_id, article))

    def _insert_children(
        self, images: Sequence[tuple[Any, ...]], removed: Sequence[tuple[Any, ...]]
    ) -> None:
        if images:
            self.db.conn.executemany(
                "INSERT INTO images (article_id, url, alt, caption, credit, position) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                images,
            )
        if removed:
            self.db.conn.executemany(
                "INSERT INTO removed (article_id, rule, text) VALUES (?, ?, ?)", removed
            )

    def _replace_page(
        self, article_id: int, article: Mapping[str, Any], final_url: str, fetched_at: str
    ) -> None:
        # the raw page of this fetch replaces the one kept; an item without html keeps it
        row = _page_row(article_id, article, final_url, fetched_at)
        if row is None:
            return
        self.db.execute("DELETE FROM pages WHERE article_id = ?", [article_id])
        self.db.execute(_INSERT_PAGE, row)

    def _resolve_teasers(self, keys: Sequence[str]) -> None:
        # teasers seen before their article was stored now lead to it, by its URL keys
        for start in range(0, len(keys), _SQL_VARIABLES_PER_QUERY):
            chunk = keys[start : start + _SQL_VARIABLES_PER_QUERY]
            self.db.execute(
                f"""
                UPDATE teasers SET article_id = (
                  SELECT article_id FROM article_urls u WHERE u.url_key = teasers.url_key
                )
                WHERE url_key IN ({", ".join("?" * len(chunk))}) AND article_id IS NULL
                """,
                chunk,
            )

    def upsert_articles(
        self, articles: Iterable[Mapping[str, Any]], run_id: int | None = None
    ) -> list[ArticleOutcome]:
        """Store many article pages in one transaction, as upsert_article would one by one.

        All or nothing: a bad item raises InvalidItemError and none of the batch is stored.
        """
        with self._writing():
            prepared = [_prepare_article(article, run_id) for article in articles]
            outcomes = _BatchWrite(self, prepared, run_id).store()
            self._count_outcomes(run_id, outcomes)
        return outcomes

    def store_batch(
        self,
        items: Iterable[BatchItem] | Callable[[Batch], None],
        *,
        attempts: int = _batch.BUSY_ATTEMPTS,
    ) -> list[ItemResult]:
        """Store teasers, articles, fetches and re-extractions in one transaction, in order
        (a fetch that reads no article may go in before articles added ahead of it).

        A bad item (an ArchiveError of its own) is logged and lost alone; its ItemResult
        holds the error. Any other error rolls the whole batch back and is raised. While
        another process holds the write lock past the busy timeout the batch waits and goes
        again, up to `attempts` times, then raises ArchiveBusyError. `items` may instead be
        a function that adds them to the Batch itself (and runs writes of its own in
        between, through Batch.call); it is called again for each attempt.
        """
        return _batch.store(self, items, attempts)

    def _count_outcomes(self, run_id: int | None, outcomes: Sequence[ArticleOutcome]) -> None:
        # the run's article counters, one UPDATE for a whole batch
        if run_id is None or not outcomes:
            return
        counts = Counter(f"articles_{outcome.status}" for outcome in outcomes)
        counts["articles_merged"] = sum(outcome.merged for outcome in outcomes)
        names = [name for name, count in counts.items() if count]
        self.db.execute(
            f"UPDATE runs SET {', '.join(f'{name} = {name} + ?' for name in names)} WHERE id = ?",
            [*(counts[name] for name in names), run_id],
        )


def _image_rows(article_id: int, article: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            article_id,
            image.get("url"),
            image.get("alt"),
            image.get("caption"),
            image.get("credit"),
            image.get("position", position),
        )
        for position, image in enumerate(article.get("images") or [])
    ]


def _removed_rows(article_id: int, article: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (article_id, item.get("rule"), item.get("text")) for item in article.get("removed") or []
    ]


_INSERT_PAGE = (
    "INSERT INTO pages (article_id, url, fetched_at, content, encoding) VALUES (?, ?, ?, ?, ?)"
)


def _page_row(
    article_id: int, article: Mapping[str, Any], final_url: str, fetched_at: str
) -> tuple[Any, ...] | None:
    # the pages row of an item's raw HTML, compressed; None for an item without html
    html = article.get("html")
    if html is None:
        return None
    encoding = article.get("encoding")
    if isinstance(html, str):
        html, encoding = html.encode("utf-8"), "utf-8"
    return (
        article_id,
        final_url,
        fetched_at,
        zlib.compress(bytes(html), PAGE_ZLIB_LEVEL),
        encoding,
    )


@dataclass
class _PreparedArticle:
    """An article item checked, with its URL keys, column values and text, before storing."""

    article: Mapping[str, Any]
    final_url: str
    preferred: str | None  # the canonical URL when it is usable
    forms: dict[str, tuple[str, str]]  # url_key -> (raw URL, kind), the preferred form first
    values: dict[str, Any]
    title: str | None
    lead: str | None
    body: str
    fetched_at: str


def _prepare_article(article: Mapping[str, Any], run_id: int | None) -> _PreparedArticle:
    """Check an article item and compute what it is stored by: URL keys, hash, counts."""
    _require(article, ("source", "url"), "article")
    _check_article_shape(article)
    final_url = article.get("final_url") or article["url"]
    canonical = article.get("canonical_url") or None
    keys: dict[str, str] = {}  # raw URL -> url_key: the fetched and final URL are often one

    def key_of(url: str) -> str:
        if url not in keys:
            keys[url] = normalize_url(url)
        return keys[url]

    forms: dict[str, tuple[str, str]] = {}
    preferred = (
        canonical if canonical and _usable_canonical(key_of(canonical), key_of(final_url)) else None
    )
    if preferred:
        forms[key_of(preferred)] = (preferred, "canonical")
    forms.setdefault(key_of(final_url), (final_url, "final"))
    forms.setdefault(key_of(article["url"]), (article["url"], "fetched"))
    fetched_at = article.get("fetched_at") or _now()
    body = article.get("body") or ""
    title = article.get("title")
    words = body.split()  # once, for the word count and the content hash
    values: dict[str, Any] = {
        **{
            name: _column(name, article.get(name))
            for name in EXTRACTION_FIELDS
            if name not in _TEXT_FIELDS
        },
        "canonical_url": canonical,
        "word_count": article.get("word_count") or len(words),
        "content_hash": content_hash(title, body, body_words=words),
        "last_fetched": fetched_at,
        "last_run_id": run_id,
    }
    return _PreparedArticle(
        article, final_url, preferred, forms, values, title, article.get("lead"), body, fetched_at
    )


class _BatchWrite:
    """The articles of one upsert_articles call, stored in order inside its transaction.

    What can be done for the whole batch at once is: one URL-key lookup, one MinHash pass
    over the bodies of the articles that look new and bring no signature of their own,
    one max(id), and the rows of each run of new articles, written together at the next
    article that is not new (or at the end): one multi-row articles INSERT, whose FTS5
    trigger then writes one index segment instead of one per article (FTS5 writes its
    pending terms out at every statement savepoint), and one executemany per table.
    """

    def __init__(
        self, archive: Archive, prepared: Sequence[_PreparedArticle], run_id: int | None
    ) -> None:
        self.archive = archive
        self.db = archive.db
        self.prepared = prepared
        self.run_id = run_id
        # url_key -> article id as stored before the batch; exact until the batch writes the
        # key (touched) or folds an article into another (absorbed: its keys move)
        self.known = archive._articles_for_keys(
            list(dict.fromkeys(key for item in prepared for key in item.forms))
        )
        self.touched: set[str] = set()
        self.absorbed = False
        self.next_id: int | None = None
        self.signatures: dict[int, _clusters.Signature | None] = {}
        unsigned = []
        for i, item in enumerate(prepared):
            if self.known.keys() & item.forms:
                continue  # an update: signed if and when its text changed
            given, signature = _clusters.precomputed(item.article.get("minhash"), item.body)
            if given:
                self.signatures[i] = signature
            else:
                unsigned.append(i)
        if unsigned:
            signed = _clusters.minhash_many([prepared[i].body for i in unsigned])
            self.signatures.update(zip(unsigned, signed, strict=True))
        # the new articles placed in their clusters whose rows are not written yet
        self.pending = _clusters.Pending()
        self.new: list[tuple[int, _PreparedArticle]] = []
        self.new_keys: set[str] = set()

    def store(self) -> list[ArticleOutcome]:
        """Store every article of the batch; their outcomes in order."""
        outcomes = [self._store(index, item) for index, item in enumerate(self.prepared)]
        self._flush()
        # once for the batch: by now every URL key of it leads to its article's final id
        self.archive._resolve_teasers(sorted(self.touched))
        return outcomes

    def _lookup(self, forms: Mapping[str, Any]) -> dict[str, int]:
        if not self.new_keys.isdisjoint(forms):
            self._flush()  # an article of this batch again: it is written first
        if self.absorbed or not self.touched.isdisjoint(forms):
            return self.archive._articles_for_keys(list(forms))
        return {key: self.known[key] for key in forms if key in self.known}

    def _new_id(self) -> int:
        # the id SQLite would give a new row (max + 1), counted on instead of asked again
        if self.next_id is None:
            self.next_id = int(
                self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()[0]
            )
        article_id, self.next_id = self.next_id, self.next_id + 1
        return article_id

    def _signature(self, index: int, item: _PreparedArticle) -> _clusters.Signature | None:
        if index in self.signatures:
            return self.signatures[index]
        return _clusters.signature_of(item.body, item.article.get("minhash"))

    def _store(self, index: int, item: _PreparedArticle) -> ArticleOutcome:
        archive, db, forms = self.archive, self.db, item.forms
        known = self._lookup(forms)
        self.touched.update(forms)
        # the canonical key's article wins, then the final URL's, then the requested one's
        target = next((known[key] for key in forms if key in known), None)
        if target is None:
            article_id = self._new_id()
            self.pending.place(db, article_id, self._signature(index, item))
            self.new.append((article_id, item))
            self.new_keys.update(forms)
            return ArticleOutcome(article_id=article_id, status="new", merged=False)
        self._flush()  # what follows may read or move the batch's new rows
        article_id = target
        for other in sorted(set(known.values()) - {target}):
            archive._absorb(article_id, other)
            # its URLs moved, and max(id) may have gone with it
            self.absorbed, self.next_id = True, None
        merged = any(known.get(key) != target for key in forms)
        status = archive._update_article(
            article_id, item.values, item.title, item.lead, item.body, item.preferred
        )
        if status != "unchanged":
            # constant work: a few band-bucket lookups, whatever the archive's size
            _clusters.assign_signed(db, article_id, self._signature(index, item))
        archive._replace_children(article_id, item.article)
        archive._replace_page(article_id, item.article, item.final_url, item.fetched_at)
        self._insert_urls([(article_id, item)])
        return ArticleOutcome(article_id=article_id, status=status, merged=merged)

    def _flush(self) -> None:
        # the rows of the new articles placed so far, a statement per table
        if not self.new:
            return
        new, self.new, self.new_keys = self.new, [], set()
        pending, self.pending = self.pending, _clusters.Pending()
        run_id, db = self.run_id, self.db
        rows = [
            (article_id, item.preferred or item.final_url, item.article["source"], item.title,
             item.lead, item.body, item.fetched_at, run_id, 1, pending.clusters[article_id],
             *(item.values[name] for name in _ARTICLE_FIELDS))
            for article_id, item in new
        ]  # fmt: skip
        per_statement = min(_FTS_ROWS, max(1, _sql_variables(db) // len(rows[0])))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            db.execute(_insert_articles_sql(len(chunk)), [v for row in chunk for v in row])
        signatures, bands = pending.rows()
        db.conn.executemany(
            "INSERT INTO article_minhash (article_id, signature) VALUES (?, ?)", signatures
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)", bands
        )
        images: list[tuple[Any, ...]] = []
        removed: list[tuple[Any, ...]] = []
        pages: list[tuple[Any, ...]] = []
        for article_id, item in new:
            images += _image_rows(article_id, item.article)
            removed += _removed_rows(article_id, item.article)
            page = _page_row(article_id, item.article, item.final_url, item.fetched_at)
            if page is not None:
                pages.append(page)
        self.archive._insert_children(images, removed)
        if pages:
            db.conn.executemany(_INSERT_PAGE, pages)
        self._insert_urls(new)

    def _insert_urls(self, articles: Sequence[tuple[int, _PreparedArticle]]) -> None:
        self.db.conn.executemany(
            """
            INSERT INTO article_urls (url_key, article_id, url, kind, first_seen)
            VALUES (?, ?, ?, ?, ?) ON CONFLICT (url_key) DO NOTHING
            """,
            [
                (key, article_id, raw, kind, item.fetched_at)
                for article_id, item in articles
                for key, (raw, kind) in item.forms.items()
            ],
        )


def _sql_variables(db: Database) -> int:
    return min(db.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 32_766)


@functools.lru_cache(maxsize=8)
def _insert_articles_sql(rows: int) -> str:
    columns = (
        "id, url, source, title, lead, body, first_seen, first_run_id, version, cluster_id, "
        + ", ".join(_ARTICLE_FIELDS)
    )
    one = f"({', '.join('?' * (10 + len(_ARTICLE_FIELDS)))})"
    return f"INSERT INTO articles ({columns}) VALUES {', '.join([one] * rows)}"


@contextmanager
def _immediate(db: Database) -> Iterator[None]:
    """A write transaction that takes the write lock first, waiting up to busy_timeout.

    A plain (deferred) BEGIN reads first; when another process commits before this one's
    first write, SQLite cannot upgrade the stale read and fails at once with "database is
    locked", without waiting: a crawl and a reextract writing together hit exactly that.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        path = db.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
        waited = db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        raise ArchiveBusyError(path, waited) from error
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        db.conn.rollback()
        raise


# ---- opening ----------------------------------------------------------------------


def _connect(path: Path, readonly: bool, create: bool) -> Database:
    if path.is_dir():
        raise ArchiveFileError(path, "is a directory, not an archive file")
    size = existing_size(path)
    if size is None and (readonly or not create):
        # research code reading a mistyped path gets an error, not a new empty archive
        raise ArchiveFileError(
            path, "does not exist" + ("" if readonly else " (create=True makes a new archive)")
        )
    if readonly:
        return Database(connect_readonly(path), execute_plugins=False)
    if size is not None:
        if not os.access(path, os.R_OK | os.W_OK):
            raise ArchiveFileError(path, "is not writable (open it read-only to read it)")
    elif not path.parent.is_dir():
        raise ArchiveFileError(path, f"cannot be created: {path.parent} is not a directory")
    directory = path.parent if str(path.parent) else Path(".")
    if not os.access(directory, os.W_OK):
        # SQLite in WAL mode writes -wal and -shm files next to the archive
        raise ArchiveFileError(path, f"cannot be written: directory {directory} is read-only")
    try:
        if size is None:
            create_atomically(
                path, lambda conn: _prepare(Database(conn, execute_plugins=False), path, False)
            )
        return Database(sqlite3.connect(str(path)), execute_plugins=False)
    except sqlite3.Error as error:
        raise ArchiveFileError(path, f"cannot be opened: {error}") from error


def _prepare(db: Database, path: Path, readonly: bool) -> None:
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        applied = [m.name for m in migrations.applied(db)]
        tables = [name for name in db.table_names() if not name.startswith("_sqlite_")]
    except sqlite3.DatabaseError as error:
        raise ArchiveFileError(path, sqlite_reason(error, path)) from error
    if not applied and (tables or readonly):
        raise ArchiveFileError(path, "is a SQLite database but not a teaserfeed archive")
    unknown = sorted(set(applied) - set(known_migrations()))
    if unknown:
        raise ArchiveFileError(
            path, f"was written by a newer teaserfeed (unknown migrations: {', '.join(unknown)})"
        )
    if readonly:
        if len(applied) < len(known_migrations()):
            raise ArchiveFileError(
                path, "has an older schema: open it once read-write to upgrade it"
            )
        return
    try:
        db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption on crash
        db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")
        db.execute("PRAGMA temp_store = MEMORY")
        db.enable_wal()
        if migrations.pending(db):
            # IMMEDIATE: a second process opening the same new file waits, then finds
            # nothing pending, instead of racing to create the same tables
            db.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(db)
            except BaseException:
                db.rollback()
                raise
            db.commit()
    except sqlite3.OperationalError as error:
        raise ArchiveFileError(path, f"cannot be written: {error}") from error


# ---- helpers ----------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lastrowid(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:
        raise ArchiveError("SQLite reported no row id for an insert")
    return cursor.lastrowid


def _require(item: Mapping[str, Any], keys: Sequence[str], what: str) -> None:
    missing = [key for key in keys if not str(item.get(key) or "").strip()]
    if missing:
        raise InvalidItemError(f"{what} lacks {', '.join(missing)}: {dict(item)!r:.200}")


def _check_article_shape(article: Mapping[str, Any]) -> None:
    for name in ("images", "removed"):
        value = article.get(name)
        if value is None:
            continue
        if not isinstance(value, list | tuple) or not all(
            isinstance(entry, Mapping) for entry in value
        ):
            raise InvalidItemError(f"article {name} must be a list of dicts, not {value!r:.100}")
    html = article.get("html")
    if html is not None and not isinstance(html, bytes | bytearray | memoryview | str):
        raise InvalidItemError(f"article html must be bytes or None, not {type(html).__name__}")
    signature = article.get("minhash")
    if signature is not None and not _clusters.is_signature_blob(signature):
        raise InvalidItemError(
            "article minhash must be archive.minhash_signature(body) (bytes), "
            f"not {signature!r:.60}"
        )


def _article_id(number: int) -> int:
    # SQLite's rowids are 64-bit: a larger number names no article (not an OverflowError)
    if not 0 < number <= _search.SQLITE_MAX_INT:
        raise NotFoundError(f"no article with id {number}")
    return number


def _column(name: str, value: Any) -> Any:
    """An extracted field's value as its article column holds it."""
    return _dumps(_string_list(value)) if name in _JSON_FIELDS else value


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _usable_canonical(key: str, final_key: str) -> bool:
    # (url keys of the canonical and the final URL) a canonical pointing at a site's home
    # page from an article page is a CMS mistake; trusting it would fold every article of
    # the site into one
    if not key.startswith(("http://", "https://")):
        return False
    return not (_is_root(key) and not _is_root(final_key))


def _is_root(url_key: str) -> bool:
    return url_key.split("://", 1)[-1].count("/") == 1 and url_key.endswith("/")
