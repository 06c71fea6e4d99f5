"""Feed exporters (`scrapy crawl teasers -o items.jl/.json/.csv`) that say each item's type.

Every item gets an `item_type` field (teaser, article, fetch) first; a CSV file's header
names every field of every item type (Scrapy's takes the first item's); raw page HTML
(`html`, `encoding`) is left out unless TEASERFEED_EXPORT_HTML is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.exporters import CsvItemExporter, JsonItemExporter, JsonLinesItemExporter

from crawlers.items import ITEM_TYPES, item_type
from crawlers.settings import with_defaults

__all__ = ["CsvExporter", "JsonExporter", "JsonLinesExporter", "export_fields"]

ITEM_TYPE_FIELD = "item_type"
_HTML_FIELDS = ("html", "encoding")
# the archive's own bookkeeping, carried from the extraction worker to the writer
_INTERNAL_FIELDS = ("minhash",)


def export_fields(*, with_html: bool) -> list[str]:
    """`item_type`, then every field of every item type, each once, in declaration order."""
    names = dict.fromkeys(
        [ITEM_TYPE_FIELD, *(f.name for cls, _kind in ITEM_TYPES for f in fields(cls))]
    )
    return [n for n in names if n not in _INTERNAL_FIELDS and (with_html or n not in _HTML_FIELDS)]


class _TypedExport:
    """The mixin: `item_type` first, HTML fields only when asked for."""

    with_html = False

    def get_serialized_fields(
        self, item: Any, default_value: Any = None, include_empty: bool | None = None
    ) -> Iterator[tuple[str, Any]]:
        """The exporter's fields with the item's type in front and HTML left out if not wanted."""
        yield ITEM_TYPE_FIELD, item_type(item) or type(item).__name__
        parent: Iterable[tuple[str, Any]] = super().get_serialized_fields(  # type: ignore[misc]
            item, default_value, include_empty
        )
        for name, value in parent:
            if name in _INTERNAL_FIELDS or name == ITEM_TYPE_FIELD:
                continue
            if self.with_html or name not in _HTML_FIELDS:
                yield name, value

    @classmethod
    def from_crawler(cls, crawler: Crawler, file: IO[bytes], **kwargs: Any) -> Any:
        """The exporter, told by TEASERFEED_EXPORT_HTML whether raw HTML goes out."""
        factory: Any = cls  # a concrete exporter class, whose first argument is the file
        exporter = factory(file, **kwargs)
        exporter.with_html = with_defaults(crawler.settings).getbool("TEASERFEED_EXPORT_HTML")
        return exporter


class JsonLinesExporter(_TypedExport, JsonLinesItemExporter):
    """JSON lines (`-o items.jl`), one item a line, with its `item_type`."""


class JsonExporter(_TypedExport, JsonItemExporter):
    """A JSON array (`-o items.json`) of items with their `item_type`."""


class CsvExporter(_TypedExport, CsvItemExporter):
    """CSV (`-o items.csv`) whose header names every field of every item type."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, file: IO[bytes], **kwargs: Any) -> Any:
        """The exporter with every item type's fields as its columns (unless fields are set)."""
        with_html = with_defaults(crawler.settings).getbool("TEASERFEED_EXPORT_HTML")
        if not kwargs.get("fields_to_export"):
            kwargs["fields_to_export"] = export_fields(with_html=with_html)
        factory: Any = cls  # Scrapy hands it the feed's binary file, typed BytesIO there
        exporter = factory(file, **kwargs)
        exporter.with_html = with_html
        return exporter
