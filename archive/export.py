"""JSONL and CSV export of archived articles."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import IO, Any

from .records import StoredArticle, StoredTeaser

__all__ = ["EXPORT_COLUMNS", "FORMATS", "write_articles"]

FORMATS = ("jsonl", "csv")
EXPORT_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(StoredArticle) if f.name not in ("teasers", "images", "urls")
)


def write_articles(
    out: IO[str],
    articles: Iterable[StoredArticle],
    *,
    format: str = "jsonl",
    teasers: Callable[[int], list[StoredTeaser]] | None = None,
) -> int:
    """Write articles as JSONL (one object a line) or CSV; return the number of rows."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    columns = [*EXPORT_COLUMNS, "teasers"] if teasers else list(EXPORT_COLUMNS)
    writer = None
    if format == "csv":
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
    count = 0
    for article in articles:
        record: dict[str, Any] = {column: getattr(article, column) for column in EXPORT_COLUMNS}
        if teasers:
            record["teasers"] = [teaser.as_dict() for teaser in teasers(article.id)]
        if writer is None:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            # CSV cells are flat: lists and nested records as JSON text
            writer.writerow(
                {
                    key: json.dumps(value, ensure_ascii=False)
                    if isinstance(value, list | dict)
                    else value
                    for key, value in record.items()
                }
            )
        count += 1
    return count
