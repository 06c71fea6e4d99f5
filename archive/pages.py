"""Raw article pages kept in the archive, read back for re-extraction."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

__all__ = ["StoredPage", "iter_pages", "version_key"]

_VERSION_PART_RE = re.compile(r"\d+|[^\d.]+")


@dataclass(frozen=True)
class StoredPage:
    """The raw HTML of an article's latest fetch, as kept in the `pages` table."""

    article_id: int
    url: str
    source: str
    fetched_at: str
    html: bytes
    encoding: str | None
    extractor_version: str | None


def version_key(version: str | None) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a dotted version ("2.10" after "2.9"); no version sorts first."""
    if not version:
        return ()
    parts: list[tuple[int, int | str]] = []
    for part in _VERSION_PART_RE.findall(version):
        # numbers sort after words of the same place: "2.0rc1" < "2.0.1"
        parts.append((1, int(part)) if part.isdigit() else (0, part))
    return tuple(parts)


def iter_pages(
    db: Database,
    *,
    before_version: str | None = None,
    source: str | None = None,
    article_ids: Sequence[int] | None = None,
) -> Iterator[StoredPage]:
    """Each article's latest stored page, by article id; decompressed one at a time."""
    clauses = ["EXISTS (SELECT 1 FROM pages p WHERE p.article_id = a.id)"]
    params: list[Any] = []
    if source is not None:
        clauses.append("a.source = ?")
        params.append(source)
    wanted = set(article_ids) if article_ids is not None else None
    rows = db.execute(
        f"SELECT a.id, a.extractor_version FROM articles a WHERE {' AND '.join(clauses)} "
        "ORDER BY a.id",
        params,
    ).fetchall()
    limit = version_key(before_version) if before_version is not None else None
    # ids first, pages one by one: the caller may write to articles while iterating
    for article_id, version in rows:
        if wanted is not None and article_id not in wanted:
            continue
        if limit is not None and version_key(version) >= limit:
            continue
        row = db.execute(
            """
            SELECT p.url, a.source, p.fetched_at, p.content, p.encoding, a.extractor_version
            FROM pages p JOIN articles a ON a.id = p.article_id
            WHERE p.article_id = ? ORDER BY p.fetched_at DESC, p.id DESC LIMIT 1
            """,
            [article_id],
        ).fetchone()
        if row is None or row[3] is None:
            continue
        yield StoredPage(
            article_id=article_id,
            url=row[0],
            source=row[1],
            fetched_at=row[2],
            html=zlib.decompress(row[3]),
            encoding=row[4],
            extractor_version=row[5],
        )
