"""Scrapy's log lines about items, naming an item by its type and URL instead of dumping it."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy import logformatter as scrapy_logformatter
from scrapy.http import Response
from twisted.python.failure import Failure

__all__ = ["LogFormatter", "item_name", "log_level"]


def log_level(value: Any) -> int:
    """A logging level from a setting: a name such as "ERROR" or a number (else ERROR)."""
    if isinstance(value, int):
        return value
    return logging.getLevelNamesMapping().get(str(value).upper(), logging.ERROR)


def item_name(item: Any) -> str:
    """An item as a log line shows it: its type and URL (an article's fields hold raw HTML)."""
    url = ItemAdapter(item).get("url") if ItemAdapter.is_item(item) else None
    return f"{type(item).__name__}({url})" if url else type(item).__name__


class LogFormatter(scrapy_logformatter.LogFormatter):
    """ "Scraped from", "Dropped" and "Error processing" lines with item_name(), not repr()."""

    def scraped(
        self, item: Any, response: Response | Failure | None, spider: Spider
    ) -> scrapy_logformatter.LogFormatterResult:
        """Scrapy's line, naming the item."""
        return _named(super().scraped(item, response, spider), item)

    def dropped(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> scrapy_logformatter.LogFormatterResult:
        """Scrapy's line, naming the item."""
        return _named(super().dropped(item, exception, response, spider), item)

    def item_error(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> scrapy_logformatter.LogFormatterResult:
        """Scrapy's line, naming the item."""
        return _named(super().item_error(item, exception, response, spider), item)


class _ItemName:
    """`item_name(item)`, worked out only if the line is written (most are below LOG_LEVEL)."""

    __slots__ = ("item",)

    def __init__(self, item: Any) -> None:
        self.item = item

    def __str__(self) -> str:
        return item_name(self.item)

    __repr__ = __str__  # a "%(item)r" line names the item too, never dumps it


def _named(
    result: scrapy_logformatter.LogFormatterResult, item: Any
) -> scrapy_logformatter.LogFormatterResult:
    args = result.get("args")
    if isinstance(args, dict) and "item" in args:
        result["args"] = {**args, "item": _ItemName(item)}
    return result
