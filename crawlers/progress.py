"""Progress: a live status line on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawlers.settings import with_defaults

__all__ = ["Progress"]


class _ClearLiveLine(logging.Filter):
    """On a handler that writes to the live line's stream: wipe the line before a record
    is written, so a log line never glues onto it (the next report draws it again)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        self.progress.clear_line()
        return True


class Progress:
    """Report pages, teasers, articles, errors and the page rate while a crawl runs.

    TEASERFEED_PROGRESS: "auto" (a live line on a terminal, a plain line every
    TEASERFEED_PROGRESS_INTERVAL seconds otherwise), "tty", "lines" or "off".
    """

    def __init__(self, crawler: Crawler, mode: str, interval: float, out: IO[str]) -> None:
        self.crawler = crawler
        self.live = mode == "tty"
        self.interval = 0.5 if self.live else interval
        self.out = out
        self.started = time.monotonic()
        self._loop: task.LoopingCall | None = None
        self._drawn = False  # the live line is on the terminal now
        self._clearer = _ClearLiveLine(self)
        self._guarded: list[logging.Handler] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        settings = with_defaults(crawler.settings)
        mode = str(settings.get("TEASERFEED_PROGRESS")).lower()
        if mode == "off":
            raise NotConfigured("progress reporting is off")
        if mode not in ("auto", "tty", "lines"):
            raise NotConfigured(f"TEASERFEED_PROGRESS={mode!r}: use auto, tty, lines or off")
        out = sys.stderr
        if mode == "auto":
            mode = "tty" if out.isatty() else "lines"
        ext = cls(crawler, mode, settings.getfloat("TEASERFEED_PROGRESS_INTERVAL"), out)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def status(self) -> str:
        """The current figures as one line."""
        stats: dict[str, Any] = self.crawler.stats.get_stats() if self.crawler.stats else {}
        pages = int(stats.get("response_received_count", 0))
        errors = sum(v for k, v in stats.items() if k.startswith("teaserfeed/errors/"))
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"pages {pages} | listings {stats.get('teaserfeed/listing_pages', 0)} | "
            f"teasers {stats.get('teaserfeed/teasers_found', 0)} | "
            f"articles {stats.get('teaserfeed/articles_extracted', 0)} | "
            f"known {stats.get('teaserfeed/articles_known', 0)} | errors {errors} | "
            f"{pages / elapsed:.1f} pages/s"
        )

    def clear_line(self) -> None:
        """Wipe the live line if it is drawn (before something else is written there)."""
        if self._drawn:
            self._drawn = False
            self.out.write("\r\x1b[2K")
            self.out.flush()

    def _report(self) -> None:
        if self.live:
            self.out.write("\r\x1b[2K" + self.status())
            self._drawn = True
        else:
            self.out.write(f"progress: {self.status()}\n")
        self.out.flush()

    def spider_opened(self) -> None:
        """Start reporting."""
        self.started = time.monotonic()
        if self.live:
            for handler in logging.getLogger().handlers:
                if getattr(handler, "stream", None) is self.out:
                    handler.addFilter(self._clearer)
                    self._guarded.append(handler)
        self._loop = task.LoopingCall(self._report)
        self._loop.start(self.interval, now=False)

    def spider_closed(self) -> None:
        """Stop reporting; end the live line."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.live:
            self._report()
            self.out.write("\n")
            self.out.flush()
            self._drawn = False
        for handler in self._guarded:
            handler.removeFilter(self._clearer)
        self._guarded.clear()
