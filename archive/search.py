"""Full-text search over articles: FTS5, bm25-ranked, with snippets and filters."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from sqlite_utils import Database

from .errors import InvalidFilterError, SearchSyntaxError
from .records import SearchHit

__all__ = [
    "HIGHLIGHT",
    "SEARCH_WINDOW",
    "SQLITE_MAX_INT",
    "check_known",
    "date_clauses",
    "search",
    "sql_limit",
    "sql_text",
]

HIGHLIGHT = ("[", "]")
SNIPPET_TOKENS = 16
# the date an article is filed under: its publication date, else when it was first archived
ARTICLE_DATE = "coalesce(a.published, a.first_seen)"
# bm25 ranks the newest this-many matches (in archive order) unless told to rank them all:
# ranking costs ~3 µs a match, and a common word matches most of a million articles
SEARCH_WINDOW = 5_000

# SQLite messages that mean the MATCH expression itself is malformed
_FTS_SYNTAX_MESSAGES = (
    "fts5:",
    "unterminated string",
    "unknown special query",
    "expected integer",
    "no such column",
)


SQLITE_MAX_INT = 2**63 - 1
# lone surrogates (undecodable bytes of a command line) cannot be encoded for SQLite
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

_DATE_PREFIX = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])([T ]\d{2}(:\d{2}(:\d{2}([.,]\d+)?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)


def sql_text(value: str) -> str:
    """A user's string as SQLite can take it: lone surrogates become U+FFFD."""
    return _SURROGATE_RE.sub("\ufffd", value)


def sql_limit(value: int, name: str = "limit") -> int:
    """A row count for LIMIT: at least 0; past SQLite's largest integer it means "all"."""
    if value < 0:
        raise ValueError(f"{name} must be >= 0, not {value}")
    return min(value, SQLITE_MAX_INT)


def date_clauses(expr: str, since: str | None, until: str | None) -> tuple[list[str], list[Any]]:
    """SQL conditions for `since <= expr <= until`, `until` inclusive at its own precision."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, value in (("since", since), ("until", until)):
        if value and not _DATE_PREFIX.fullmatch(value):
            raise InvalidFilterError(
                f"{name} {value!r} is not a date: use YYYY, YYYY-MM, YYYY-MM-DD "
                "or an ISO 8601 date and time"
            )
    if since:
        clauses.append(f"{expr} >= ?")
        params.append(since)
    if until:
        # "2024-05" keeps everything on any day of May: compare against the prefix
        clauses.append(f"{expr} < ?")
        params.append(until + "\uffff")
    return clauses, params


def check_known(db: Database, *, site: str | None = None, language: str | None = None) -> None:
    """InvalidFilterError, naming the known ones, for a site or language the archive lacks."""
    if site is not None and not _site_known(db, sql_text(site)):
        sites = [
            str(name)
            for (name,) in db.execute(
                "SELECT name FROM sources UNION SELECT j.value FROM runs r, json_each(r.sites) j "
                "UNION SELECT DISTINCT source FROM articles WHERE source IS NOT NULL ORDER BY 1"
            )
        ]
        raise InvalidFilterError(f"unknown site {site!r}: {_known('sites', sites)}")
    if language is not None:
        found = db.execute(
            "SELECT 1 FROM articles WHERE language = ? LIMIT 1", [sql_text(language)]
        ).fetchone()
        if found is None:
            languages = [
                str(code)
                for (code,) in db.execute(
                    "SELECT DISTINCT language FROM articles WHERE language IS NOT NULL ORDER BY 1"
                )
            ]
            raise InvalidFilterError(
                f"no article is in language {language!r}: {_known('languages', languages)}"
            )


def _site_known(db: Database, site: str) -> bool:
    """Whether a site is configured, crawled or has articles (index lookups, no scan)."""
    return bool(
        db.execute(
            "SELECT EXISTS (SELECT 1 FROM sources WHERE name = :s) "
            "OR EXISTS (SELECT 1 FROM articles WHERE source = :s) "
            "OR EXISTS (SELECT 1 FROM runs r, json_each(r.sites) j WHERE j.value = :s)",
            {"s": site},
        ).fetchone()[0]
    )


def _known(what: str, names: list[str]) -> str:
    if not names:
        return f"the archive has no {what} yet"
    shown = ", ".join(names[:20]) + (f", … ({len(names)} in all)" if len(names) > 20 else "")
    return f"the archive's {what} are {shown}"


def search(
    db: Database,
    query: str,
    *,
    limit: int | None = 20,
    offset: int = 0,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    language: str | None = None,
    fts: bool = False,
    window: int | None = SEARCH_WINDOW,
) -> list[SearchHit]:
    """Articles matching the query's words (raw FTS5 syntax when `fts`), best bm25 rank first.

    Like sqlite-utils and datasette, the words are searched as typed (hyphens, apostrophes,
    `C++` and all) unless `fts` asks for FTS5 syntax (AND, OR, "phrase", pre*, NEAR).
    `limit=None` returns every hit. Only the newest `window` matches (by when they were
    archived) are ranked; None ranks every match, which takes seconds for a common word in
    a big archive.
    """
    if not isinstance(query, str) or not query.replace("\x00", " ").strip():
        raise SearchSyntaxError(str(query), "the query is empty", "give a word to search for")
    limit = SQLITE_MAX_INT if limit is None else sql_limit(limit)
    offset = sql_limit(offset, "offset")
    # SQLite would bind larger numbers only to overflow; no archive holds that many rows
    # FTS5 reads the query as a C string: a NUL would cut it short (unterminated quotes)
    text = sql_text(query.replace("\x00", " "))
    match = text if fts else db.quote_fts(text)
    if not match.strip():
        raise SearchSyntaxError(query, "it has no words to search for", "give a word to search for")

    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1 or None, not {window}")
    # site and dates through their index, without reading article rows (a body each)
    clauses: list[str] = []
    params: list[Any] = []
    if site is not None:
        clauses.append("a.source = ?")
        params.append(sql_text(site))
    date_sql, date_params = date_clauses(ARTICLE_DATE, since, until)
    clauses += date_sql
    params += date_params
    where = "articles_fts MATCH ?"
    if clauses:
        # unary + keeps the rowid test out of FTS5's plan: a filter on the matches it
        # streams, not one index probe per filtered article
        where += f" AND +f.rowid IN (SELECT a.id FROM articles a WHERE {' AND '.join(clauses)})"
    if language is not None:
        where += " AND (SELECT a.language FROM articles a WHERE a.id = f.rowid) = ?"
        params.append(sql_text(language))
    if window is None:
        # FTS5 ranks every match itself when rank is the order
        top = f"""
            SELECT f.rowid AS id, f.rank AS rank FROM articles_fts f
            WHERE {where} ORDER BY f.rank LIMIT ? OFFSET ?"""
        window_args: list[Any] = []
    else:
        # newest matches first, rank computed for those only, then the best of them
        top = f"""
            SELECT id, rank FROM (
                SELECT f.rowid AS id, f.rank AS rank FROM articles_fts f
                WHERE {where} ORDER BY f.rowid DESC LIMIT ?)
            ORDER BY rank LIMIT ? OFFSET ?"""
        window_args = [min(max(window, limit + offset), SQLITE_MAX_INT)]
    # snippet() only for the rows kept; CROSS JOIN makes SQLite look each one up by rowid
    # instead of scanning every match a second time
    sql = f"""
        WITH top AS ({top})
        SELECT a.id, a.url, a.title, a.published, a.source, top.rank,
               snippet(articles_fts, -1, ?, ?, '…', {SNIPPET_TOKENS}) AS snippet
        FROM top
        CROSS JOIN articles_fts ON articles_fts.rowid = top.id
        JOIN articles a ON a.id = top.id
        WHERE articles_fts MATCH ?
        ORDER BY top.rank, a.id"""
    args = [match, *params, *window_args, limit, offset, *HIGHLIGHT, match]
    try:
        rows = db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as error:
        message = str(error)
        if not message.startswith(_FTS_SYNTAX_MESSAGES):
            raise
        raise SearchSyntaxError(query, _explain(message)) from error
    if not rows:
        # no hits: say so when a filter names a site or language the archive does not have
        check_known(db, site=site, language=language)
    return [
        SearchHit(
            article_id=row[0],
            url=row[1],
            title=row[2],
            published=row[3],
            source=row[4],
            rank=row[5],
            snippet=row[6] or "",
        )
        for row in rows
    ]


def _explain(message: str) -> str:
    if message.startswith("no such column: "):
        column = message.removeprefix("no such column: ")
        return (
            f"{column!r} is read as a column name (columns are title, lead and body): "
            "':' and '-' are FTS5 syntax"
        )
    return f"SQLite says: {message}"
