"""A page's date from htmldate, without the year- and month-only guesses of its last resort."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

import htmldate.core
import htmldate.extractors
from htmldate import find_date
from htmldate.extractors import regex_parse
from htmldate.validators import is_valid_date
from lxml.html import HtmlElement

__all__ = ["DATEPARSER_LANGUAGES", "page_date", "written_date"]

# htmldate's last resort (`search_page`) reads the whole serialised page for any date-like
# pattern and falls back to a copyright year or a lone year as 1 January. On the 311 WCXB
# pages that reach htmldate it returned 87 dates: 2 were the publication day, 66 a bare
# "YYYY-01-01". A wrong date is worse in an archive than none (it sorts and filters the
# article), and the search costs half of htmldate's time there. In its place, only the
# full written-out dates ("17 July 2025", "March 5, 2025") that htmldate's text regex
# finds: on those pages 4 right days for 2 and 233 dates for 308, in 56 % of the time.
_DAY_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("day_only", default=False)
_search_page: Any = getattr(htmldate.core, "search_page", None)

# dateparser, htmldate's parser of last resort, tries the locales of all its ~200 languages
# on every string it is handed: ~23 ms a string, and ~1.5 s to load them in each process.
# Inside `page_date` it tries these languages only (3-5 ms a string, the same dates on all
# 974 benchmark pages, where it is handed 43 strings and parses 3, all English).
DATEPARSER_LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "sk",
    "hu", "ro", "ru", "uk", "el", "tr", "ar", "he", "id", "vi", "ja", "zh", "ko",
)  # fmt: skip
_external_parser: Any = getattr(htmldate.extractors, "get_external_parser", None)


@lru_cache(maxsize=1)
def _page_date_parser() -> Any:
    from dateparser import DateDataParser  # type: ignore[import-untyped]

    settings = getattr(_external_parser(), "_settings", None)  # htmldate's own settings
    return DateDataParser(languages=list(DATEPARSER_LANGUAGES), settings=settings)


def _scoped_external_parser() -> Any:
    """htmldate's dateparser, or inside `page_date` one with fewer languages."""
    return _page_date_parser() if _DAY_ONLY.get() else _external_parser()


# Every match of htmldate's written-date regex ends in a space and a year, and holds only
# letters, digits, whitespace, commas and full stops ("5th of March, 2025").
_YEAR_AT = re.compile(r" (?:199[0-9]|20[0-3][0-9])")
_LAST_STOP = re.compile(r"(?s:.*)(?:[^\w\s,.]|_)")  # up to the last character no match holds
_LOOK_BACK = 300  # characters searched back for a stop; a bound on the work, not on the spans


def _date_spans(text: str) -> Iterator[tuple[int, int]]:
    """Disjoint spans of the text, in order, that hold every match of htmldate's written-date
    regex: from the last character no match can hold before a year to the year's end."""
    start = end = -1
    for year in _YEAR_AT.finditer(text):
        floor = max(end, 0)
        # (no stop close before the year: the span starts at the last one's end, or merges)
        stop = _LAST_STOP.match(text, max(floor, year.start() - _LOOK_BACK), year.start())
        begin = stop.end() if stop is not None else floor
        if end >= 0 and begin <= end:
            end = year.end()  # one run of date-like text: the span grows
            continue
        if end >= 0:
            yield start, end
        start, end = begin, year.end()
    if end >= 0:
        yield start, end


def written_date(text: str) -> datetime | None:
    """htmldate's `regex_parse` of the text, run only where a match can be: the same first
    valid date at a small part of the cost (its regex tries every position of a page)."""
    for start, end in _date_spans(text):
        found: datetime | None = regex_parse(text[start:end])
        if found is not None:
            return found
    return None


def _day_precise_search(htmlstring: str, options: Any) -> str | None:
    """htmldate's whole-page search, or inside `page_date` its full written dates only."""
    if not _DAY_ONLY.get():
        return _search_page(htmlstring, options)  # type: ignore[no-any-return]
    found = written_date(htmlstring)
    if found is None or not is_valid_date(
        found, options.format, earliest=options.min, latest=options.max
    ):
        return None
    return found.strftime(options.format)


# Scoped by a context variable, not replaced: htmldate called by anyone else in the process
# (trafilatura's metadata, a user's own code) keeps its whole search.
if _search_page is not None:
    htmldate.core.search_page = _day_precise_search
if _external_parser is not None:
    htmldate.extractors.get_external_parser = _scoped_external_parser  # type: ignore[assignment]


def _end_of_today() -> datetime:
    """htmldate's latest date (the end of today) less a microsecond: its date caches key on
    it, so what `page_date` parsed with fewer languages is never another caller's answer."""
    return datetime.now().replace(hour=23, minute=59, second=59, microsecond=999998)


def page_date(root: HtmlElement, url: str) -> str | None:
    """The page's publication day (YYYY-MM-DD) from its markup and text, or None; never raises."""
    token = _DAY_ONLY.set(True)
    try:
        return find_date(
            root, extensive_search=True, original_date=True, url=url, max_date=_end_of_today()
        )
    except Exception:  # htmldate on hostile input: no date rather than no article
        return None
    finally:
        _DAY_ONLY.reset(token)
