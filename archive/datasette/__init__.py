"""The teaserfeed datasette plugin: metadata, reader pages and clear errors for archives.

Registered under the `datasette` entry-point group, so plain `datasette news.db` loads it
(as does `teaserfeed serve`). It recognises a teaserfeed archive by its schema (rows of the
`teaserfeed` migration set in `_sqlite_migrations`), whatever the file is called, and then
supplies the bundled metadata under the database's real name, serves it read-only (as
`teaserfeed serve` does), lists tables in reader order, shows an article as an article,
and keeps navigation on error pages. Other
databases in the same datasette are left as datasette shows them. Everything is rendered
from plain text with Jinja's autoescaping; nothing stored is treated as HTML.
"""

from __future__ import annotations

import copy
import json
import re
import sqlite3
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from datasette import hookimpl
from markupsafe import Markup, escape

from ..metadata import TEMPLATE_DATABASE, datasette_metadata
from ..schema import MIGRATION_SET

__all__ = ["PLUGIN_NAME", "archive_databases", "is_archive_file", "paragraphs", "register"]

PLUGIN_NAME = "teaserfeed"

# FTS5 markers of the `search` canned query's snippet column (shown highlighted)
SNIPPET_MARK = re.compile(r"\[([^\[\]\n]{1,200})\]")
# columns of a query row that link to the article named by its `article_id`
TITLE_COLUMNS = ("title", "article_title", "atom_title")
# article_versions rows shown on an article page
VERSIONS_SHOWN = 50
# teasers shown on an article page
TEASERS_SHOWN = 100

_archive_files: dict[str, bool] = {}


def is_archive_file(path: str | Path) -> bool:
    """True if the SQLite file at `path` holds teaserfeed's schema (cached per file)."""
    key = str(path)
    if key not in _archive_files:
        _archive_files[key] = _has_teaserfeed_migrations(key)
    return _archive_files[key]


def _has_teaserfeed_migrations(path: str) -> bool:
    """Look for teaserfeed's migrations in a read-only connection; False when unreadable."""
    try:
        conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute(
            "SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? LIMIT 1", [MIGRATION_SET]
        ).fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None


def archive_databases(datasette: Any) -> list[str]:
    """Names of the databases of this datasette that are teaserfeed archives."""
    return [
        name
        for name, db in datasette.databases.items()
        if db.path is not None and is_archive_file(db.path)
    ]


@cache
def _template() -> dict[str, Any]:
    """The bundled metadata with its placeholder database name (parsed once)."""
    return datasette_metadata(TEMPLATE_DATABASE)


def reader_order() -> list[str]:
    """Tables and views in the order metadata.yml lists them: reading tables first."""
    tables = _template()["databases"][TEMPLATE_DATABASE]["tables"]
    return [name for name, table in tables.items() if not table.get("hidden")]


def paragraphs(text: str | None) -> list[str]:
    """A plain-text body as its paragraphs (blank lines or single newlines split them)."""
    return [part.strip() for part in re.split(r"\n\s*", text or "") if part.strip()]


@hookimpl  # type: ignore[untyped-decorator]
def startup(datasette: Any) -> None:
    """Serve every archive read-only, as `teaserfeed serve` does: the crawler is its only
    writer (a writable canned query or a write plugin would go around its dedup, versions
    and locks); it is still read live, so a running crawl's commits show up."""
    from .readonly import make_readonly

    make_readonly(datasette, is_archive_file)


@hookimpl  # type: ignore[untyped-decorator]
def get_metadata(datasette: Any, key: str | None, database: str | None, table: str | None) -> Any:
    """teaserfeed's metadata for every archive, keyed by the name datasette gives it."""
    names = archive_databases(datasette)
    if not names:
        return None
    template = _template()
    # a copy each call: datasette merges other metadata into what plugins return
    metadata = {k: v for k, v in template.items() if k != "databases"}
    metadata["databases"] = {
        name: copy.deepcopy(template["databases"][TEMPLATE_DATABASE]) for name in names
    }
    return metadata


def _is_archive(datasette: Any, database: str | None) -> bool:
    return database is not None and database in archive_databases(datasette)


@hookimpl  # type: ignore[untyped-decorator]
def extra_template_vars(
    template: str, database: str | None, table: str | None, datasette: Any, request: Any
) -> dict[str, Any]:
    """What the templates in templates/ need: which databases are archives, an article."""
    archives = archive_databases(datasette)

    async def article(pk: str) -> dict[str, Any] | None:
        return await _article_view(datasette, str(database), pk)

    async def reader_rows(display_rows: Iterable[Any], search: str | None) -> list[dict[str, Any]]:
        return await _reader_rows(datasette, str(database), display_rows, search)

    return {
        "teaserfeed_archives": archives,
        "teaserfeed_archive": database in archives,
        "teaserfeed_reader_order": reader_order(),
        "teaserfeed_article": article,
        "teaserfeed_reader_rows": reader_rows,
    }


async def _rows(datasette: Any, database: str, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    result = await datasette.get_database(database).execute(sql, params)
    return [dict(row) for row in result.rows]


async def _article_view(datasette: Any, database: str, pk: str) -> dict[str, Any] | None:
    """The article with id `pk` and what belongs to it: images, teasers, versions."""
    found = await _rows(datasette, database, "SELECT * FROM articles WHERE id = ?", [pk])
    if not found:
        return None
    article = found[0]
    article_id = article["id"]
    return {
        **article,
        "authors": _json_list(article.get("authors")),
        "tags": _json_list(article.get("tags")),
        "paragraphs": paragraphs(article.get("body")),
        "images": await _rows(
            datasette,
            database,
            "SELECT url, alt, caption, credit FROM images WHERE article_id = ? ORDER BY position",
            [article_id],
        ),
        "teasers": await _rows(
            datasette,
            database,
            "SELECT id, source, listing_url, title, excerpt, first_seen, last_seen, times_seen"
            " FROM teasers WHERE article_id = ? ORDER BY first_seen, id LIMIT ?",
            [article_id, TEASERS_SHOWN],
        ),
        "versions": await _rows(
            datasette,
            database,
            "SELECT version, fetched_at, superseded_at, title, changed_fields"
            " FROM article_versions WHERE article_id = ? ORDER BY version LIMIT ?",
            [article_id, VERSIONS_SHOWN],
        ),
    }


async def _reader_rows(
    datasette: Any, database: str, display_rows: Iterable[Any], search: str | None
) -> list[dict[str, Any]]:
    """The articles table's rows as a reader sees them: headline, source, date, lead or match."""
    rows = [{cell["column"]: cell["raw"] for cell in row} for row in display_rows]
    found = await _snippets(datasette, database, [row["id"] for row in rows], search or "")
    return [
        {**row, "text": found.get(int(row["id"])) or row.get("lead") or _start(row.get("body"))}
        for row in rows
    ]


def _start(body: str | None, length: int = 240) -> str:
    """The start of a body, cut at a word."""
    text = " ".join((body or "").split())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + " …"


async def _snippets(
    datasette: Any, database: str, ids: Iterable[Any], query: str
) -> dict[int, Markup]:
    """Highlighted FTS5 snippets of the articles `ids` for `query`; empty if it fails."""
    wanted = [int(i) for i in ids]
    if not wanted or not query.strip():
        return {}
    marks = ", ".join("?" for _ in wanted)
    try:
        rows = await _rows(
            datasette,
            database,
            "SELECT rowid AS id, snippet(articles_fts, -1, '[', ']', '…', 24) AS snippet"
            f" FROM articles_fts WHERE articles_fts MATCH ? AND rowid IN ({marks})",
            [query, *wanted],
        )
    except Exception:  # a query the table view could run but not this one: no snippets
        return {}
    return {row["id"]: highlight(row["snippet"]) for row in rows}


def highlight(snippet: str | None) -> Markup:
    """A snippet with FTS5's [match] markers as <mark>, everything else escaped."""
    escaped = str(escape(snippet or ""))
    return Markup(SNIPPET_MARK.sub(r"<mark>\1</mark>", escaped))


def _json_list(value: Any) -> list[str]:
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return [str(value)]
    return [str(item) for item in items] if isinstance(items, list) else []


@hookimpl  # type: ignore[untyped-decorator]
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Markup | None:
    """In archive queries: snippets highlighted, titles linked to their article."""
    if table is not None or value is None or not _is_archive(datasette, database):
        return None
    if column == "snippet":
        return highlight(str(value))
    # a sqlite3.Row: `in` would look at its values
    if column in TITLE_COLUMNS and "article_id" in row.keys() and row["article_id"]:  # noqa: SIM118
        href = datasette.urls.row(database, "articles", str(row["article_id"]))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    return None


@hookimpl  # type: ignore[untyped-decorator]
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    """An error on an archive's HTML page keeps the navigation and explains bad searches."""
    path = request.path.split("?")[0]
    parts = [part for part in path.split("/") if part]
    if not parts or path.endswith(".json") or parts[0] not in archive_databases(datasette):
        return None
    status = getattr(exception, "status", 500)
    if not 400 <= status < 500:
        return None

    async def inner() -> Any:
        from datasette.utils.asgi import Response

        search = request.args.get("_search") or request.args.get("q")
        html = await datasette.render_template(
            ["teaserfeed/error.html"],
            {
                "database": parts[0],
                "table": parts[1] if len(parts) > 1 else None,
                "status": status,
                "title": getattr(exception, "title", None),
                "error": getattr(exception, "message", None) or str(exception),
                "search": search,
            },
            request=request,
        )
        return Response.html(html, status=status)

    return inner


@hookimpl  # type: ignore[untyped-decorator]
def asgi_wrapper(datasette: Any) -> Callable[[Any], Any]:
    """A plain search of an archive's articles table goes to the ranked `search` query."""

    def wrap(app: Any) -> Any:
        async def ranked_search(scope: dict[str, Any], receive: Any, send: Any) -> None:
            target = await ranked_search_url(datasette, scope)
            if target is None:
                await app(scope, receive, send)
                return
            headers = [(b"location", target.encode("utf-8")), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 302, "headers": headers})
            await send({"type": "http.response.body", "body": b""})

        return ranked_search

    return wrap


async def ranked_search_url(datasette: Any, scope: dict[str, Any]) -> str | None:
    """Where `articles?_search=Q` of an archive is sent: `search?q=Q`, best match first
    with snippets (datasette 0.65's table view can only sort by a column, not by rank).

    Left to the table (newest first, snippets, facets): a search with filters, facets or
    a sort, other formats than HTML, and a query FTS5 cannot parse (the table's error
    page says what to fix)."""
    if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD"):
        return None
    args = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
    if set(args) != {"_search"} or len(args["_search"]) != 1 or not args["_search"][0].strip():
        return None
    path = scope.get("path", "")
    names = [
        name
        for name in archive_databases(datasette)
        if urlsplit(datasette.urls.table(name, "articles")).path == path
    ]
    if not names:
        return None
    query = args["_search"][0]

    def parses(conn: sqlite3.Connection) -> bool:
        try:
            conn.execute("SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? LIMIT 1", [query])
        except sqlite3.Error:  # not FTS5 syntax: the table view explains it
            return False
        return True

    if not await datasette.get_database(names[0]).execute_fn(parses):
        return None
    return f"{datasette.urls.query(names[0], 'search')}?{urlencode({'q': query})}"


def register() -> None:
    """Load this plugin into this process's datasette unless its entry point already did."""
    import sys

    from datasette.plugins import pm

    module = sys.modules[__name__]
    if not pm.is_registered(module):
        pm.register(module, name=PLUGIN_NAME)
