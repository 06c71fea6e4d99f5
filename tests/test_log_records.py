"""A crawl run by the CLI makes no log records below its LOG_LEVEL, and leaves the root
logger's level as it found it."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.utils.test import get_crawler

from crawlers.cli.util import records_at_log_level, root_log_level_kept
from crawlers.spiders.teasers import TeaserSpider


def _started(level: str) -> None:
    crawler = get_crawler(TeaserSpider, {"LOG_LEVEL": level})
    records_at_log_level(crawler)
    crawler.signals.send_catch_log(signals.engine_started)


def test_below_the_crawls_level_no_record_is_made() -> None:
    root = logging.getLogger()
    before = root.level
    made: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            made.append(record)

    extractor_log = logging.getLogger("trafilatura.core")  # a library's debug lines
    keep = Keep(logging.DEBUG)
    extractor_log.addHandler(keep)
    try:
        root.setLevel(logging.NOTSET)  # as Scrapy leaves it: every record is made
        with root_log_level_kept():
            _started("WARNING")
            extractor_log.debug("a debug line per page")
            extractor_log.warning("a warning")
            assert [r.getMessage() for r in made] == ["a warning"]
        assert root.level == logging.NOTSET  # the crawl is over: as it was
        made.clear()
        with root_log_level_kept():
            _started("DEBUG")
            extractor_log.debug("asked for")
            assert [r.getMessage() for r in made] == ["asked for"]
    finally:
        extractor_log.removeHandler(keep)
        root.setLevel(before)
