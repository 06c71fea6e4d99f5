"""A page's date from htmldate, without the year- and month-only guesses of its last resort."""

from __future__ import annotations

import contextvars
from datetime import datetime
from typing import Any

import htmldate.core
from htmldate import find_date
from htmldate.extractors import regex_parse
from htmldate.validators import is_valid_date
from lxml.html import HtmlElement

__all__ = ["page_date"]

# htmldate's last resort (`search_page`) reads the whole serialised page for any date-like
# pattern and falls back to a copyright year or a lone year as 1 January. On the 311 WCXB
# pages that reach htmldate it returned 87 dates: 2 were the publication day, 66 a bare
# "YYYY-01-01". A wrong date is worse in an archive than none (it sorts and filters the
# article), and the search costs half of htmldate's time there. In its place, only the
# full written-out dates ("17 July 2025", "March 5, 2025") that htmldate's text regex
# finds: on those pages 4 right days for 2 and 233 dates for 308, in 56 % of the time.
_DAY_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("day_only", default=False)
_search_page: Any = getattr(htmldate.core, "search_page", None)


def _day_precise_search(htmlstring: str, options: Any) -> str | None:
    """htmldate's whole-page search, or inside `page_date` its full written dates only."""
    if not _DAY_ONLY.get():
        return _search_page(htmlstring, options)  # type: ignore[no-any-return]
    found: datetime | None = regex_parse(htmlstring)
    if found is None or not is_valid_date(
        found, options.format, earliest=options.min, latest=options.max
    ):
        return None
    return found.strftime(options.format)


# Scoped by a context variable, not replaced: htmldate called by anyone else in the process
# (trafilatura's metadata, a user's own code) keeps its whole search.
if _search_page is not None:
    htmldate.core.search_page = _day_precise_search


def page_date(root: HtmlElement, url: str) -> str | None:
    """The page's publication day (YYYY-MM-DD) from its markup and text, or None; never raises."""
    token = _DAY_ONLY.set(True)
    try:
        return find_date(root, extensive_search=True, original_date=True, url=url)
    except Exception:  # htmldate on hostile input: no date rather than no article
        return None
    finally:
        _DAY_ONLY.reset(token)
