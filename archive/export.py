"""JSONL and CSV export of archived articles."""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import IO, Any

from .errors import ArchiveError
from .records import StoredArticle, StoredTeaser

__all__ = ["EXPORT_COLUMNS", "FORMATS", "record", "to_dataframe", "write_articles"]

FORMATS = ("jsonl", "csv")
EXPORT_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(StoredArticle) if f.name not in ("teasers", "images", "urls", "versions")
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


def record(article: StoredArticle, *, full: bool = False) -> dict[str, Any]:
    """An article as a plain dict: the export columns, plus its children when `full`."""
    if full:
        return article.as_dict()
    return {column: getattr(article, column) for column in EXPORT_COLUMNS}


def to_dataframe(records: Iterable[dict[str, Any]]) -> Any:
    """A pandas DataFrame of records, or ArchiveError if pandas is not installed."""
    try:
        pandas = importlib.import_module("pandas")
    except ImportError as error:
        raise ArchiveError(
            "to_dataframe() needs pandas: pip install pandas (or use to_records())"
        ) from error
    return pandas.DataFrame.from_records(list(records), columns=list(EXPORT_COLUMNS))
