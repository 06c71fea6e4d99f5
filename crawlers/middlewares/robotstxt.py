"""RobotsTxtMiddleware: Scrapy's, fixed so every request waiting for robots.txt obeys it."""

from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.robotstxt import (
    RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware,
)
from scrapy.downloadermiddlewares.robotstxt import (
    logger as scrapy_robots_logger,
)
from scrapy.http import Request
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

__all__ = ["RobotsTxtMiddleware"]


class _QuietDownloadError(logging.Filter):
    """Scrapy logs a robots.txt that cannot be fetched (a host that is down or has no DNS)
    as an ERROR with a 60-line traceback; the page's own fetch fails alike and is recorded
    (a fetch row, the run's summary), so this becomes one INFO line: seen with -v."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and str(record.msg).startswith("Error downloading"):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


_quiet = _QuietDownloadError()
scrapy_robots_logger.addFilter(_quiet)  # once per process: adding the same filter is a no-op


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy 2.19's robots.txt middleware, with its concurrent waiters fixed.

    Requests that reach a host while its robots.txt is being fetched all await one
    Deferred; since Scrapy 2.14 (scrapy/scrapy#6802) only the first gets the parser,
    the others get None, which Scrapy reads as "no robots.txt: allowed". A worker that
    takes a burst of requests from a shared frontier would fetch disallowed pages.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """The host's parser; once fetched, the same for every request that waited."""
        parser: RobotParser | None = await super().robot_parser(request)
        if parser is None:
            current = self._parsers.get(urlparse_cached(request).netloc)
            if current is not None and not isinstance(current, Deferred):
                return current
        return parser
