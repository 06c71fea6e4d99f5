"""BlockedConnectMiddleware: a connection the resolver refused is `blocked_address`, not retried."""

from __future__ import annotations

import logging

from scrapy.exceptions import CannotResolveHostError
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

from crawlers.failures import BlockedAddress
from crawlers.resolver import refusal

__all__ = ["BlockedConnectMiddleware"]

logger = logging.getLogger(__name__)


class BlockedConnectMiddleware:
    """When crawlers.resolver.GuardedResolver refused the address a connection was about to
    use (a name that changed its answer since AddressGuardMiddleware's check), Twisted
    reports "no results for hostname lookup"; this turns that into BlockedAddress, which
    is recorded as `blocked_address` and, unlike a DNS error, not retried.

    Exceptions pass downloader middlewares from high to low numbers: this one sits just
    above the retry middleware (550).
    """

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Raise BlockedAddress for a lookup failure the address guard caused."""
        if not isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            return
        try:
            host = urlparse_cached(request).hostname
        except ValueError:
            return
        reason = refusal(host) if host else None
        if reason is not None:
            logger.warning("connection refused at connect time: %s", reason)
            raise BlockedAddress(reason)
