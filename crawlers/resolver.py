"""GuardedResolver: Scrapy's caching DNS resolver, refusing non-public answers at connect time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.datatypes import LocalCache
from twisted.internet import defer
from twisted.internet.base import ReactorBase
from twisted.internet.error import DNSLookupError

from crawlers.addresses import AddressPolicy, ip_literal, policy_from_settings

__all__ = ["BlockedAddressError", "GuardedResolver", "refusal"]

# host -> why the resolver refused its latest lookup (read by BlockedConnectMiddleware)
_REFUSED: LocalCache[str, str] = LocalCache(10_000)


class BlockedAddressError(DNSLookupError):
    """A lookup answered with an address the SSRF guard refuses; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _key(host: str) -> str:
    return host.strip().lower().rstrip(".")


def refusal(host: str) -> str | None:
    """Why the resolver refused the latest lookup of `host`, or None if it did not."""
    return _REFUSED.get(_key(host))


class GuardedResolver(CachingThreadedResolver):
    """CachingThreadedResolver (TWISTED_DNS_RESOLVER's default) whose answers pass the
    address policy: a name resolving to a loopback, private, link-local, … address not on
    TEASERFEED_ALLOWED_ADDRESSES fails with BlockedAddressError.

    Connections look their host up here right before connecting (IP literals too), so the
    address checked is the address connected to: a name that answered a public address to
    the middleware's check and a private one now (DNS rebinding) is still refused.
    """

    def __init__(
        self, reactor: ReactorBase, cache_size: int, timeout: float, policy: AddressPolicy
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> GuardedResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), policy_from_settings(settings)
        )

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        """The address of `name`, unless the policy refuses it (BlockedAddressError)."""
        refused = self.policy.check_host(name)
        if refused is not None:
            return defer.fail(self._blocked(name, refused))
        answer = self.lookup(name, timeout)
        answer.addCallbacks(self._checked, self._failed, callbackArgs=(name,), errbackArgs=(name,))
        return answer

    def lookup(self, name: str, timeout: Sequence[int]) -> defer.Deferred[str]:
        """The unchecked (cached) answer: Scrapy's lookup."""
        return super().getHostByName(name, timeout)

    def _checked(self, answer: Any, name: str) -> Any:
        address = ip_literal(str(answer))
        refused = None if address is None else self.policy.check_address(name, address)
        if refused is not None:
            raise self._blocked(name, refused)
        _REFUSED.pop(_key(name), None)
        return answer

    @staticmethod
    def _failed(failure: Any, name: str) -> Any:
        _REFUSED.pop(_key(name), None)  # a plain DNS failure, reported as one
        return failure

    @staticmethod
    def _blocked(name: str, message: str) -> BlockedAddressError:
        _REFUSED[_key(name)] = message
        return BlockedAddressError(message)
