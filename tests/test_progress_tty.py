"""The live progress line on a terminal: log lines never glue onto it."""

from __future__ import annotations

import io
import logging
import uuid

from scrapy.utils.test import get_crawler

from crawlers.progress import Progress


def test_a_log_line_starts_on_a_wiped_line_and_the_live_line_comes_back() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    # earlier tests may have configured logging (levels, disabled loggers): a logger of its
    # own that reaches the root directly, with the root's own state reset, is immune to that
    level, previous_disable = root.level, logging.root.manager.disable
    root_filters, root_disabled = list(root.filters), root.disabled
    root.setLevel(logging.WARNING)
    root.filters, root.disabled = [], False
    logging.disable(logging.NOTSET)
    test_logger = logging.getLogger(f"teaserfeed-progress-test-{uuid.uuid4().hex}")
    try:
        progress = Progress(get_crawler(), "tty", 0.5, out)
        progress.spider_opened()
        progress._report()
        test_logger.warning("listing http://x/ failed")
        progress._report()
        progress.spider_closed()
        # once closed, a log line is written as it is: no wiping
        test_logger.warning("after the crawl")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.disable(previous_disable)
        root.filters, root.disabled = root_filters, root_disabled
    text = out.getvalue()
    status_end = "pages/s"
    # the warning follows a wipe of the drawn line, never the status text itself
    assert f"{status_end}\r\x1b[2Klisting http://x/ failed\n" in text
    assert f"{status_end}listing" not in text
    # the live line is drawn again after it, and ended with a newline at the close
    after = text.split("listing http://x/ failed\n", 1)[1]
    assert after.startswith("\r\x1b[2Kpages ")
    assert text.endswith(f"{status_end}\nafter the crawl\n")
    assert handler.filters == []
