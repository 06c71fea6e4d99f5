"""Export of archived articles: JSON lines, a JSON array, CSV, plain text and Markdown."""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import PurePath
from typing import IO, Any

from .errors import ArchiveError, InvalidFilterError
from .records import StoredArticle, StoredTeaser

__all__ = [
    "DATE_COLUMNS",
    "EXPORT_COLUMNS",
    "FORMATS",
    "SUFFIXES",
    "TABLE_FORMATS",
    "as_text",
    "export_columns",
    "format_for_path",
    "record",
    "to_dataframe",
    "write_articles",
]

# formats with columns (one record per article) and formats of article texts
TABLE_FORMATS = ("jsonl", "json", "csv")
FORMATS = (*TABLE_FORMATS, "txt", "markdown")
SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".txt": "txt",
    ".md": "markdown",
    ".markdown": "markdown",
}
EXPORT_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(StoredArticle) if f.name not in ("teasers", "images", "urls", "versions")
)
# ISO 8601 text columns that DataFrames get as timezone-aware (UTC) datetimes
DATE_COLUMNS = ("published", "modified", "first_seen", "last_fetched")


def format_for_path(path: str | PurePath) -> str:
    """The export format a file name asks for by its suffix (`-` and no suffix: jsonl)."""
    if str(path) == "-":
        return "jsonl"
    suffix = PurePath(path).suffix.lower()
    if not suffix:
        return "jsonl"
    if suffix not in SUFFIXES:
        raise InvalidFilterError(
            f"cannot tell the export format from the suffix {suffix!r} of {str(path)!r}: "
            f"use {', '.join(SUFFIXES)} or give the format ({', '.join(FORMATS)})"
        )
    return SUFFIXES[suffix]


def export_columns(
    format: str, columns: Sequence[str] | None = None, *, with_teasers: bool = False
) -> list[str]:
    """The columns an export writes, checked: the given ones in order, else every column."""
    if format not in FORMATS:
        raise InvalidFilterError(
            f"unknown export format {format!r}: use one of {', '.join(FORMATS)}"
        )
    known = [*EXPORT_COLUMNS, "teasers"]
    if format not in TABLE_FORMATS:
        if columns or with_teasers:
            raise InvalidFilterError(
                f"the {format} format writes each article's title, lead and body: choosing "
                f"columns or adding teasers works with {', '.join(TABLE_FORMATS)}"
            )
        return []
    if not columns:
        return known if with_teasers else list(EXPORT_COLUMNS)
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InvalidFilterError(
            f"unknown column {unknown[0]!r}: the columns are {', '.join(known)}"
        )
    chosen = list(dict.fromkeys(columns))
    if with_teasers and "teasers" not in chosen:
        chosen.append("teasers")
    return chosen


def write_articles(
    out: IO[str],
    articles: Iterable[StoredArticle],
    *,
    format: str = "jsonl",
    teasers: Callable[[int], list[StoredTeaser]] | None = None,
    columns: Sequence[str] | None = None,
) -> int:
    """Write articles in one of FORMATS, streamed; return the number of articles written.

    `columns` picks and orders the columns of jsonl, json and csv ("teasers" among them
    needs `teasers`, the function that reads an article's teasers).
    """
    chosen = export_columns(format, columns, with_teasers=teasers is not None)
    if "teasers" in chosen and teasers is None:
        raise InvalidFilterError("the teasers column needs with_teasers=True (--with-teasers)")
    writer = None
    if format == "csv":
        writer = csv.DictWriter(out, fieldnames=chosen)
        writer.writeheader()
    elif format == "json":
        out.write("[")
    count = 0
    for article in articles:
        if format not in TABLE_FORMATS:
            out.write(
                ("\n" if count else "") + as_text(record(article), markdown=format == "markdown")
            )
            count += 1
            continue
        row: dict[str, Any] = {
            column: getattr(article, column) for column in chosen if column != "teasers"
        }
        if "teasers" in chosen and teasers is not None:
            row["teasers"] = [teaser.as_dict() for teaser in teasers(article.id)]
        if writer is not None:
            # CSV cells are flat: lists and nested records as JSON text
            writer.writerow(
                {
                    key: json.dumps(value, ensure_ascii=False)
                    if isinstance(value, list | dict)
                    else value
                    for key, value in row.items()
                }
            )
        elif format == "json":
            out.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    if format == "json":
        out.write("\n]\n" if count else "]\n")
    return count


def as_text(article: Mapping[str, Any], *, markdown: bool = False) -> str:
    """An article's title, lead and body as plain text or Markdown (with URL, date, authors)."""
    title = str(article.get("title") or "").strip()
    lead = str(article.get("lead") or "").strip()
    paragraphs = [p.strip() for p in str(article.get("body") or "").split("\n") if p.strip()]
    if paragraphs and paragraphs[0] == lead:
        paragraphs = paragraphs[1:]  # a body that repeats the lead shows it once
    about = [
        str(value)
        for value in (
            article.get("url"),
            (article.get("published") or "")[:10] or None,
            ", ".join(article.get("authors") or []) or None,
        )
        if value
    ]
    if markdown:
        blocks = [f"# {title}" if title else "", " · ".join(about), lead and f"**{lead}**"]
        blocks += paragraphs
        return "\n\n".join(b for b in blocks if b) + "\n"
    # plain text, as trafilatura prints it: paragraphs a line each, blank line after the head
    head = "\n".join(line for line in (title, *about) if line)
    return "\n\n".join(b for b in (head, lead, "\n".join(paragraphs)) if b) + "\n"


def record(article: StoredArticle, *, full: bool = False) -> dict[str, Any]:
    """An article as a plain dict: the export columns, plus its children when `full`."""
    if full:
        return article.as_dict()
    return {column: getattr(article, column) for column in EXPORT_COLUMNS}


def to_dataframe(records: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> Any:
    """A pandas DataFrame of records, date columns as UTC datetimes; ArchiveError without pandas."""
    try:
        pandas = importlib.import_module("pandas")
    except ImportError as error:
        raise ArchiveError(
            "to_dataframe() needs pandas: pip install pandas (or use to_records())"
        ) from error
    if columns and "teasers" in columns:
        raise InvalidFilterError("a DataFrame holds the article columns, not their teasers")
    chosen = export_columns("csv", columns)
    frame = pandas.DataFrame.from_records(
        [{c: r.get(c) for c in chosen} for r in records], columns=chosen
    )
    for column in DATE_COLUMNS:
        if column in frame.columns:
            # dates as the pages gave them ("2024-05-01", with offsets): unparseable ones NaT
            frame[column] = pandas.to_datetime(
                frame[column], utc=True, errors="coerce", format="ISO8601"
            )
    return frame
