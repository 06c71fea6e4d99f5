"""Which hosts the crawler may connect to: public addresses, plus what the allow-list names.

Pure policy, no network: `AddressPolicy` answers for a URL host (every literal form a
resolver would accept) and for the address a name resolved to. The downloader middleware
`crawlers.middlewares.AddressGuardMiddleware` asks it before a request is sent, the resolver
`crawlers.resolver.GuardedResolver` again for the address a connection is about to use.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from scrapy.settings import BaseSettings

from crawlers.settings import with_defaults

__all__ = [
    "ALLOW_OPTION",
    "ALLOW_SETTING",
    "AddressPolicy",
    "IPAddress",
    "blocked_category",
    "ip_literal",
    "policy_from_settings",
]

ALLOW_SETTING = "TEASERFEED_ALLOWED_ADDRESSES"
ALLOW_OPTION = "--allow-address"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# what inet_aton (and so gethostbyname) reads as IPv4: 1 to 4 decimal, octal or hex parts
_INET_ATON = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL host spells as a literal (dotted, short, octal, hex, decimal, [v6]).

    None when the host is a name (or nothing a resolver would read as an address); never
    raises.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0].rstrip(".")  # an IPv6 zone id; a trailing root dot
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _INET_ATON.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:  # 256.1.1.1, 0x1ffffffff: no address, the resolver fails too
            return None
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def blocked_category(address: IPAddress) -> str | None:
    """Why an address is not public ("a loopback address", …), or None for a public one."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = blocked_category(inner)
        return f"an IPv6 form of {inner}, {reason}" if reason else None
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _CGNAT, "a shared (CGNAT) address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "a non-public address"),
    )
    return next((name for hit, name in checks if hit), None)


def _is_localhost(name: str) -> bool:
    return name == "localhost" or name.endswith(".localhost")


def _host_key(host: str) -> str:
    return host.strip().lower().rstrip(".")


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses are allowed; others only when the allow-list names the host or a
    network holding the address."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str], origin: str = ALLOW_SETTING) -> AddressPolicy:
        """Parse allow-list entries (host names, IP addresses, CIDR networks); ValueError
        names the bad entry and the accepted forms."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = _host_key(entry)
            labels = name.split(".")
            if not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
                raise ValueError(
                    f"{origin}: {entry!r} is not a host name, IP address or CIDR network "
                    "(e.g. intranet.example, 10.1.2.3, 10.0.0.0/8, fd00::/8)"
                )
            names.add(name)
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        """True when the allow-list names this host itself."""
        return _host_key(host) in self.names

    def _allows_address(self, address: IPAddress) -> bool:
        candidates = [address]
        inner = _embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        return any(
            a in net for a in candidates for net in self.networks if a.version == net.version
        )

    def check_host(self, host: str) -> str | None:
        """Before any lookup: why a URL host is refused (an IP literal or a localhost name
        that is not allowed), or None. Never raises."""
        try:
            if not host or self.allows_name(host):
                return None
            address = ip_literal(host)
            if address is not None:
                return self.check_address(host, address)
            name = _host_key(host)
            if _is_localhost(name):
                return self._message(host, None, "a loopback address", name)
        except Exception:  # a host from the web that even this cannot read: let DNS fail it
            return None
        return None

    def check_address(self, host: str, address: IPAddress) -> str | None:
        """Why connecting to `address` (what `host` resolved to) is refused, or None."""
        if self.allows_name(host) or self._allows_address(address):
            return None
        category = blocked_category(address)
        if category is None:
            return None
        literal = ip_literal(host) is not None
        return self._message(host, address, category, str(address) if literal else _host_key(host))

    @staticmethod
    def _message(host: str, address: IPAddress | None, category: str, allow: str) -> str:
        if address is None or host.strip("[]").lower() == str(address):
            what = f"host {host} is"
        elif ip_literal(host) is not None:
            what = f"host {host} is {address},"
        else:
            what = f"host {host} resolves to {address},"
        return (
            f"{what} {category}: not fetched (SSRF guard); to crawl it, "
            f"pass {ALLOW_OPTION} {allow} or -s {ALLOW_SETTING}={allow}"
        )


def policy_from_settings(settings: BaseSettings) -> AddressPolicy:
    """The allow-list of TEASERFEED_ALLOWED_ADDRESSES (a list, or a comma-separated string)."""
    entries = with_defaults(settings).getlist(ALLOW_SETTING)
    return AddressPolicy.from_entries(str(e) for e in entries)
