"""AddressGuardMiddleware: no request goes to a loopback, private or other internal address."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from crawlers.addresses import AddressPolicy, ip_literal, policy_from_settings
from crawlers.failures import BlockedAddress
from crawlers.resolver import BlockedAddressError

__all__ = ["AddressGuardMiddleware"]

logger = logging.getLogger(__name__)


class AddressGuardMiddleware:
    """Refuse (BlockedAddress, error kind `blocked_address`) every request whose host is,
    or resolves to, a non-public address (loopback, private, link-local, CGNAT, multicast,
    reserved, `localhost`; IPv4 in any literal form, IPv6, IPv4-mapped) that
    TEASERFEED_ALLOWED_ADDRESSES does not allow.

    Every request passes here, robots.txt and each redirect hop included, before anything
    is sent; names are resolved through the reactor's resolver (threaded, cached: the
    connection reuses the answer). crawlers.resolver.GuardedResolver checks the address
    again when connecting, against DNS rebinding.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        # hosts refused so far: the first refusal of each is a WARNING saying how to allow it
        self.warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(policy_from_settings(crawler.settings))

    async def process_request(self, request: Request) -> None:
        """Raise BlockedAddress for a request to an address the policy refuses."""
        try:
            host = urlparse_cached(request).hostname
        except ValueError:  # an unparsable host: the download handler fails it
            return
        if not host:
            return
        refused = self.policy.check_host(host)
        if refused is None and ip_literal(host) is None and not self.policy.allows_name(host):
            try:
                answer = await self._resolve(host)
            except BlockedAddressError as exc:  # GuardedResolver refused the answer
                refused = exc.reason
            else:
                address = ip_literal(answer) if answer else None
                if address is not None:
                    refused = self.policy.check_address(host, address)
        if refused is not None:
            self._refuse(host, refused)

    def _refuse(self, host: str, reason: str) -> None:
        if host not in self.warned:
            self.warned.add(host)
            logger.warning("%s", reason)
        raise BlockedAddress(reason)

    @staticmethod
    async def _resolve(host: str) -> str | None:
        """The host's address through the reactor's resolver; None if the lookup failed
        (the download then fails and is recorded as `dns`). BlockedAddressError when
        GuardedResolver refused the answer."""
        from twisted.internet import reactor

        resolver: Any = reactor
        try:
            answer = await maybe_deferred_to_future(resolver.resolve(host))
        except BlockedAddressError:
            raise
        except Exception:
            return None
        return str(answer)
