"""A crawl run by the CLI makes no log records below its LOG_LEVEL, and leaves the root and
"scrapy" loggers' levels as it found them."""

from __future__ import annotations

import logging

import pytest
from scrapy import signals
from scrapy.utils.test import get_crawler

from crawlers.cli.util import records_at_log_level, root_log_level_kept
from crawlers.logformatter import item_name
from crawlers.spiders.teasers import TeaserSpider


def _started(level: str) -> None:
    crawler = get_crawler(TeaserSpider, {"LOG_LEVEL": level})
    records_at_log_level(crawler)
    crawler.signals.send_catch_log(signals.engine_started)


def test_below_the_crawls_level_no_record_is_made() -> None:
    root, scrapy_log = logging.getLogger(), logging.getLogger("scrapy")
    before = root.level, scrapy_log.level
    made: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            made.append(record)

    extractor_log = logging.getLogger("trafilatura.core")  # a library's debug lines
    scraper_log = logging.getLogger("scrapy.core.scraper")  # "Scraped from" per item
    keep = Keep(logging.DEBUG)
    extractor_log.addHandler(keep)
    scraper_log.addHandler(keep)
    try:
        root.setLevel(logging.NOTSET)  # as Scrapy leaves it: every record is made
        scrapy_log.setLevel(logging.DEBUG)  # as Scrapy's logging config sets it
        with root_log_level_kept():
            _started("WARNING")
            extractor_log.debug("a debug line per page")
            scraper_log.debug("Scraped from <200 https://n.org/story>")
            extractor_log.warning("a warning")
            scraper_log.warning("a scrapy warning")
            assert [r.getMessage() for r in made] == ["a warning", "a scrapy warning"]
        # the crawl is over: as they were
        assert (root.level, scrapy_log.level) == (logging.NOTSET, logging.DEBUG)
        made.clear()
        with root_log_level_kept():
            _started("DEBUG")
            extractor_log.debug("asked for")
            scraper_log.debug("asked for too")
            assert [r.getMessage() for r in made] == ["asked for", "asked for too"]
        made.clear()
        scrapy_log.setLevel(logging.ERROR)  # set stricter than the crawl's by its user: kept
        with root_log_level_kept():
            _started("INFO")
            scraper_log.warning("below the user's level")
            assert made == []
    finally:
        extractor_log.removeHandler(keep)
        scraper_log.removeHandler(keep)
        root.setLevel(before[0])
        scrapy_log.setLevel(before[1])


def test_an_items_log_name_is_worked_out_only_when_the_line_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import crawlers.logformatter
    from crawlers.items import ArticleItem

    named: list[object] = []

    def counted(item: object) -> str:
        named.append(item)
        return item_name(item)

    monkeypatch.setattr(crawlers.logformatter, "item_name", counted)
    item = ArticleItem(url="https://n.org/story", title="Story")
    result = crawlers.logformatter.LogFormatter().scraped(item, None, TeaserSpider())
    assert named == []  # a line below LOG_LEVEL is never formatted: nothing worked out
    assert (result["msg"] % result["args"]).endswith("ArticleItem(https://n.org/story)")
    assert named == [item]
