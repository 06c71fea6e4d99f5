"""BotWallMiddleware: challenge pages and bot walls are recorded as `bot_wall`, never evaded."""

from __future__ import annotations

import re

from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from crawlers.failures import BotWall
from crawlers.settings import with_defaults

__all__ = ["BotWallMiddleware"]

# Only the start of a body is looked at: challenge pages say so early, and big pages stay cheap.
SCAN_BYTES = 32 * 1024
# Vendor challenge machinery (any vendor, any site): cf-chl is Cloudflare's challenge, not the
# bot-detection script it also injects into ordinary pages.
_STRONG = (
    b"cf-chl-",
    b"cf_chl_",
    b"_incapsula_resource",
    b"px-captcha",
    b"captcha-delivery.com",
)
# Phrases challenge and block pages show people.
_PHRASES = (
    b"just a moment",
    b"attention required",
    b"checking your browser",
    b"checking if the site connection is secure",
    b"enable javascript and cookies",
    b"pardon our interruption",
    b"access denied",
    b"access to this page has been denied",
    b"are you a robot",
    b"verify you are human",
    b"verify that you are human",
    b"unusual traffic",
    b"request unsuccessful",
    b"captcha",
    b"bot detection",
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def find_marker(head: bytes, status: int, size: int, max_challenge_bytes: int) -> str | None:
    """The challenge marker in a lowercased page start, or None when it is not a wall."""
    if status in (403, 429, 503):
        for marker in (*_STRONG, *_PHRASES):
            if marker in head:
                return marker.decode()
        return None
    if not 200 <= status < 300 or size > max_challenge_bytes:
        return None
    # A 200 page is a challenge only when it is small and says so in its title or machinery:
    # an article may well mention captchas.
    title = _TITLE.search(head, 0, 4096) if b"<title" in head[:4096] else None
    if title is not None:
        text = b" ".join(title[1].split())
        for phrase in _PHRASES:
            if phrase in text:
                return phrase.decode()
    for marker in _STRONG:
        if marker in head:
            return marker.decode()
    return None


class BotWallMiddleware:
    """Raise BotWall for a 403/429/503 with challenge markers or a small 200 challenge page.

    Runs after decompression and before RetryMiddleware, so a wall is never retried.
    """

    def __init__(self, max_challenge_bytes: int) -> None:
        self.max_challenge_bytes = max_challenge_bytes
        self.crawler: Crawler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BotWallMiddleware:
        middleware = cls(with_defaults(crawler.settings).getint("TEASERFEED_CHALLENGE_MAX_BYTES"))
        middleware.crawler = crawler
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        """Let the response through unless it is a bot wall."""
        status = response.status
        if status not in (403, 429, 503) and not 200 <= status < 300:
            return response
        body = response.body
        if not body or (status < 300 and len(body) > self.max_challenge_bytes):
            return response
        marker = find_marker(body[:SCAN_BYTES].lower(), status, len(body), self.max_challenge_bytes)
        if marker is None:
            return response
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value("teaserfeed/bot_walls")
        raise BotWall(f"bot wall or challenge page (HTTP {status}, {marker!r})", status=status)
