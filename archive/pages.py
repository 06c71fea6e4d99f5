"""Raw article pages kept in the archive, and writing the results of re-extracting them."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from . import clusters as _clusters
from .dedup import content_hash

__all__ = ["EXTRACTION_FIELDS", "StoredPage", "iter_pages", "update_extraction", "version_key"]

# article columns that re-extraction rewrites (images and removed are replaced as well)
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
_TEXT_FIELDS = ("title", "lead", "body")
_JSON_FIELDS = ("authors", "tags")
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


def update_extraction(db: Database, article_id: int, fields: Mapping[str, Any]) -> bool:
    """Rewrite an article's extracted fields, images and removals; True if its text changed.

    Title, lead and body are written only when they differ (writing them re-indexes the
    article in FTS through the update trigger). A re-extraction is not a new revision of the
    story: `version`, `last_fetched` and article_versions stay as they are.
    """
    old = db.execute("SELECT title, lead, body FROM articles WHERE id = ?", [article_id]).fetchone()
    if old is None:
        raise KeyError(article_id)
    changes: dict[str, Any] = {}
    for name in EXTRACTION_FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if name in _JSON_FIELDS:
            value = json.dumps(list(value or []), ensure_ascii=False, sort_keys=True)
        changes[name] = value
    body = changes.get("body", old[2]) or ""
    changes["body"] = body
    changes["word_count"] = changes.get("word_count") or len(body.split())
    changes["content_hash"] = content_hash(changes.get("title", old[0]), body)
    text_changed = False
    for i, name in enumerate(_TEXT_FIELDS):
        if name in changes and changes[name] == old[i]:
            del changes[name]
        elif name in changes:
            text_changed = True
    db.execute(
        f"UPDATE articles SET {', '.join(f'{name} = ?' for name in changes)} WHERE id = ?",
        [*changes.values(), article_id],
    )
    if "body" in changes:
        _clusters.assign(db, article_id, body)
    if "images" in fields:
        db.execute("DELETE FROM images WHERE article_id = ?", [article_id])
        db.conn.executemany(
            "INSERT INTO images (article_id, url, alt, caption, credit, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    article_id,
                    image.get("url"),
                    image.get("alt"),
                    image.get("caption"),
                    image.get("credit"),
                    image.get("position", position),
                )
                for position, image in enumerate(fields["images"] or [])
            ],
        )
    if "removed" in fields:
        db.execute("DELETE FROM removed WHERE article_id = ?", [article_id])
        db.conn.executemany(
            "INSERT INTO removed (article_id, rule, text) VALUES (?, ?, ?)",
            [(article_id, r.get("rule"), r.get("text")) for r in fields["removed"] or []],
        )
    return text_changed
