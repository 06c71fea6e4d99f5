"""Articles from saved HTML files, with the crawl's own extractor (no Scrapy, no network)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crawlers.extract.article import Article, extract_article
from crawlers.sites import SiteConfig

__all__ = [
    "HTML_SUFFIXES",
    "MAX_FILE_BYTES",
    "ExtractFileError",
    "article_record",
    "extract_file",
    "html_files",
]

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
# a saved page larger than this is not read whole (extract_article cuts pages far smaller)
MAX_FILE_BYTES = 64 * 1024 * 1024


class ExtractFileError(OSError):
    """A saved page that cannot be read: missing, a directory, unreadable."""


def extract_file(
    path: str | os.PathLike[str], url: str | None = None, config: SiteConfig | None = None
) -> Article:
    """The article in a saved page; `url` is where it came from (default: its file:// URL).

    Raises ExtractFileError (an OSError) with one line when the file cannot be read; what
    it holds never raises (bad HTML gives an empty article, as in a crawl).
    """
    file = Path(path)
    try:
        if file.is_dir():
            raise ExtractFileError(f"{file}: is a directory (use --input-dir for a folder)")
        with file.open("rb") as handle:
            html = handle.read(MAX_FILE_BYTES)
    except FileNotFoundError:
        raise ExtractFileError(f"{file}: no such file") from None
    except ExtractFileError:
        raise
    except OSError as error:
        raise ExtractFileError(f"{file}: cannot be read: {error.strerror or error}") from None
    return extract_article(html, url or file.resolve().as_uri(), config)


def html_files(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """The saved pages (.html, .htm, …) in a folder and its subfolders, in name order."""
    root = Path(directory)
    if not root.is_dir():
        raise ExtractFileError(f"{root}: no such directory")
    for folder, subfolders, names in os.walk(root):
        subfolders.sort()
        for name in sorted(names):
            if name.lower().endswith(HTML_SUFFIXES):
                yield Path(folder) / name


def article_record(article: Article) -> dict[str, Any]:
    """An extracted article as a JSON-ready dict (the archive's column names)."""
    return asdict(article)
