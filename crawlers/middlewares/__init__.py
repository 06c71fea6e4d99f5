"""Polite and robust fetching: downloader and spider middlewares, one per module.

Their order and settings are in crawlers/settings.py (DOWNLOADER_MIDDLEWARES,
SPIDER_MIDDLEWARES); each failure they cause is recorded with an error kind
(see crawlers.failures).
"""

from crawlers.middlewares.addressguard import AddressGuardMiddleware
from crawlers.middlewares.backoff import BackoffRetryMiddleware
from crawlers.middlewares.blockedconnect import BlockedConnectMiddleware
from crawlers.middlewares.botwall import BotWallMiddleware
from crawlers.middlewares.circuitbreaker import CircuitBreakerMiddleware
from crawlers.middlewares.crawldelay import CrawlDelayMiddleware
from crawlers.middlewares.emptybody import EmptyBodyMiddleware
from crawlers.middlewares.pagelimit import PageLimitMiddleware
from crawlers.middlewares.paywall import PaywallMiddleware
from crawlers.middlewares.redirectguard import RedirectGuardMiddleware
from crawlers.middlewares.robotstxt import RobotsTxtMiddleware
from crawlers.middlewares.teaserlimit import TeaserLimitMiddleware

__all__ = [
    "AddressGuardMiddleware",
    "BackoffRetryMiddleware",
    "BlockedConnectMiddleware",
    "BotWallMiddleware",
    "CircuitBreakerMiddleware",
    "CrawlDelayMiddleware",
    "EmptyBodyMiddleware",
    "PageLimitMiddleware",
    "PaywallMiddleware",
    "RedirectGuardMiddleware",
    "RobotsTxtMiddleware",
    "TeaserLimitMiddleware",
]
