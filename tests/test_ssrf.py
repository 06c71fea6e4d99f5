"""The SSRF guard and per-site scoping: no request reaches an internal address unless allowed.

Loopback aliases stand in for internal hosts (tests/internal_hosts.py): the listing site on
127.0.0.1 (allowed, as a public site would be) links and redirects to servers on 127.0.0.3
and 127.0.0.4, which the allow-list leaves out; 127.0.0.2 is an allowed "intranet" host.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError
from scrapy.utils.defer import deferred_f_from_coro_f
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

import crawlers.settings
from archive import open_archive
from crawlers.addresses import AddressPolicy, ip_literal
from crawlers.cli import main
from crawlers.failures import BlockedAddress
from crawlers.middlewares import AddressGuardMiddleware, BlockedConnectMiddleware
from crawlers.resolver import BlockedAddressError, GuardedResolver
from crawlers.sites import SiteConfig, parse_sites
from tests.conftest import crawl
from tests.internal_hosts import (
    ALLOWED,
    INTRANET_HOST,
    LISTING_HOST,
    METADATA_HOST,
    SECRET_HOST,
    Network,
    listing_page,
)


@pytest.fixture
def network() -> Iterator[Network]:
    net = Network()
    yield net
    net.close()


def _config(net: Network, **extra: Any) -> SiteConfig:
    return SiteConfig(
        name="listing",
        start_urls=(f"{net.listing.url}/",),
        teaser="article.teaser",
        link="h2 a::attr(href)",
        title="h2",
        max_pages=1,
        **extra,
    )


def _rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


SETTINGS: dict[str, Any] = {
    "TEASERFEED_ALLOWED_ADDRESSES": ALLOWED,
    "RETRY_TIMES": 2,
    "TEASERFEED_RETRY_BACKOFF": 0.01,
    "TEASERFEED_RETRY_BACKOFF_MAX": 0.02,
    "DOWNLOAD_TIMEOUT": 5,
}


# ---- end to end: a link and a redirect to internal hosts -----------------------------


@deferred_f_from_coro_f
async def test_link_and_redirect_to_internal_hosts_are_never_requested(
    network: Network, tmp_path: Path
) -> None:
    archive = tmp_path / "news.db"
    crawled = await crawl([_config(network, allowed_domains=("*",))], archive, **SETTINGS)
    # measured at the servers: not one request (robots.txt included) reached them
    assert network.secret.hits == Counter()
    assert network.metadata.hits == Counter()
    fetches = {
        url: (kind, error_kind, error)
        for url, kind, error_kind, error in _rows(
            archive,
            "SELECT url, kind, error_kind, error FROM fetches WHERE run_id = ?",
            crawled.run_id,
        )
    }
    kind, error_kind, error = fetches[f"{network.secret.url}/secret"]
    assert (kind, error_kind) == ("article", "blocked_address")
    assert "127.0.0.3 is a loopback address" in error
    assert "--allow-address 127.0.0.3" in error
    assert "-s TEASERFEED_ALLOWED_ADDRESSES=127.0.0.3" in error
    kind, error_kind, error = fetches[f"{network.listing.url}/moved"]
    assert (kind, error_kind) == ("article", "blocked_address")
    assert "127.0.0.4 is a loopback address" in error
    # one row each: a refused address is not retried
    assert len([u for u in fetches if SECRET_HOST in u or u.endswith("/moved")]) == 2
    assert crawled.stats.get("retry/count", 0) == 0
    # allowed hosts work: the listing's own story and the allow-listed intranet page
    with open_archive(archive, readonly=True) as stored:
        urls = {a.url for a in stored.articles()}
        assert urls == {f"{network.listing.url}/story/1", f"{network.intranet.url}/wiki/1"}
        assert [h.title for h in stored.search("Quillmarsh")] == ["Story"]
        assert [h.title for h in stored.search("Intranetto")] == ["Wiki"]
        # nothing from the internal hosts is stored or searchable
        assert stored.search("Vaultkeeper") == []
        assert stored.search("Credentialia") == []
    # every sighting is still archived: the teasers themselves are kept
    teasers = {url for (url,) in _rows(archive, "SELECT url FROM teasers")}
    assert f"{network.secret.url}/secret" in teasers
    assert network.listing.hits["/story/1"] == 1
    assert network.intranet.hits["/wiki/1"] == 1


@deferred_f_from_coro_f
async def test_without_the_allow_list_the_listing_itself_is_refused(
    network: Network, tmp_path: Path
) -> None:
    archive = tmp_path / "news.db"
    crawled = await crawl(
        [_config(network)], archive, **{**SETTINGS, "TEASERFEED_ALLOWED_ADDRESSES": []}
    )
    assert network.listing.requests == 0
    [(kind, error_kind, error)] = _rows(
        archive,
        "SELECT kind, error_kind, error FROM fetches WHERE run_id = ?",
        crawled.run_id,
    )
    assert (kind, error_kind) == ("listing", "blocked_address")
    assert "--allow-address 127.0.0.1" in error


# ---- connect time: DNS names and rebinding --------------------------------------------


class RebindingResolver(GuardedResolver):
    """A GuardedResolver over a rebinding attacker's DNS: `rebind.test` is SECRET_HOST now,
    whatever it answered to the check before sending."""

    def __init__(self, policy: AddressPolicy) -> None:
        from twisted.internet import reactor

        super().__init__(reactor, 0, 5.0, policy)  # type: ignore[arg-type]
        self.calls: Counter[str] = Counter()  # lookups when connecting
        self.checked: list[str] = []  # lookups of the middleware's check before sending

    def lookup(self, name: str, timeout: Any) -> defer.Deferred[str]:
        self.calls[name] += 1
        if name == "rebind.test":
            return defer.succeed(SECRET_HOST)
        return super().lookup(name, timeout)


@pytest.fixture
def rebinding_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[RebindingResolver]:
    """The reactor connects through a RebindingResolver; the middleware's earlier lookup of
    `rebind.test` got a public address."""
    from twisted.internet import reactor

    resolver = RebindingResolver(AddressPolicy.from_entries(ALLOWED))

    async def public_first(host: str) -> str | None:
        resolver.checked.append(host)
        return "93.184.216.34" if host == "rebind.test" else host

    monkeypatch.setattr(AddressGuardMiddleware, "_resolve", staticmethod(public_first))
    previous = reactor.installResolver(resolver)  # type: ignore[attr-defined]
    try:
        yield resolver
    finally:
        reactor.installResolver(previous)  # type: ignore[attr-defined]


@deferred_f_from_coro_f
async def test_dns_rebinding_is_refused_at_connect_time(
    network: Network, tmp_path: Path, rebinding_resolver: RebindingResolver
) -> None:
    port = network.secret.server.server_address[1]
    target = f"http://rebind.test:{port}/secret"
    network.listing.routes["/"] = (200, {}, listing_page([(target, "Looks public")]))
    archive = tmp_path / "news.db"
    crawled = await crawl([_config(network, allowed_domains=("*",))], archive, **SETTINGS)
    assert network.secret.hits == Counter()
    [(error_kind, error)] = _rows(
        archive,
        "SELECT error_kind, error FROM fetches WHERE url = ? AND run_id = ?",
        target,
        crawled.run_id,
    )
    assert error_kind == "blocked_address"
    assert "rebind.test resolves to 127.0.0.3, a loopback address" in error
    assert "--allow-address rebind.test" in error
    # the check before sending passed (robots.txt and the article); the connections were
    # refused, once each: no retries
    assert rebinding_resolver.checked.count("rebind.test") == 2
    assert rebinding_resolver.calls["rebind.test"] == 2
    assert crawled.stats.get("retry/count", 0) == 0


def test_only_lookups_the_guard_refused_become_blocked_address() -> None:
    connect = BlockedConnectMiddleware()
    request = Request("http://gone.example.org/story")
    # an ordinary DNS failure stays one (and is retried as before)
    assert connect.process_exception(request, CannotResolveHostError("no such host")) is None
    refused = StubResolver({"gone.example.org": "10.9.9.9"}, AddressPolicy())
    with pytest.raises(BlockedAddressError):
        _resolve(refused, "gone.example.org")
    with pytest.raises(BlockedAddress, match=r"gone\.example\.org resolves to 10\.9\.9\.9"):
        connect.process_exception(request, CannotResolveHostError("no results"))
    # only while the host's latest lookup is a refusal: an answer the guard takes (or a
    # plain DNS failure) makes a later failure of that host a DNS error again
    refused.answers["gone.example.org"] = "93.184.216.34"
    assert _resolve(refused, "gone.example.org") == "93.184.216.34"
    assert connect.process_exception(request, CannotResolveHostError("no such host")) is None
    # it must see exceptions before the retry middleware (they pass from high to low)
    order = crawlers.settings.DOWNLOADER_MIDDLEWARES
    assert (
        order["crawlers.middlewares.BlockedConnectMiddleware"]
        > order["crawlers.middlewares.BackoffRetryMiddleware"]
    )
    assert (
        order["crawlers.middlewares.AddressGuardMiddleware"]
        < order["crawlers.middlewares.robotstxt.RobotsTxtMiddleware"]
    )


def _resolve(resolver: GuardedResolver, name: str) -> str:
    """The resolver's answer (its Deferreds fire at once here), or its exception raised."""
    outcome: list[Any] = []
    resolver.getHostByName(name).addBoth(outcome.append)
    [value] = outcome
    if isinstance(value, Failure):
        value.raiseException()
    return str(value)


class StubResolver(GuardedResolver):
    """A GuardedResolver over a fixed table instead of DNS (tests never reach the internet)."""

    def __init__(self, answers: dict[str, str], policy: AddressPolicy) -> None:
        from twisted.internet import reactor

        super().__init__(reactor, 0, 5.0, policy)  # type: ignore[arg-type]
        self.answers = answers

    def lookup(self, name: str, timeout: Any) -> defer.Deferred[str]:
        return defer.succeed(self.answers[name])


@pytest.mark.parametrize(
    ("name", "answer", "refused"),
    [
        ("news.example.org", "93.184.216.34", False),
        ("metadata.example.org", "169.254.169.254", True),
        ("intranet.example.org", "10.20.30.40", True),
        ("router.example.org", "192.168.1.1", True),
        ("cgnat.example.org", "100.64.1.2", True),
        ("loop.example.org", "127.0.0.1", True),
        ("allowed.example.org", "10.1.2.3", False),  # on the allow-list by name
        ("lab.example.org", "172.20.0.9", False),  # in an allowed network
    ],
)
def test_the_resolver_refuses_names_resolving_to_internal_addresses(
    name: str, answer: str, refused: bool
) -> None:
    policy = AddressPolicy.from_entries(["allowed.example.org", "172.20.0.0/16"])
    resolver = StubResolver({name: answer}, policy)
    if not refused:
        assert _resolve(resolver, name) == answer
        return
    with pytest.raises(BlockedAddressError) as caught:
        _resolve(resolver, name)
    assert f"host {name} resolves to {answer}" in str(caught.value)
    assert f"--allow-address {name}" in str(caught.value)


def test_the_resolver_refuses_localhost_by_name() -> None:
    resolver = StubResolver({}, AddressPolicy())
    with pytest.raises(BlockedAddressError, match="host localhost is a loopback address"):
        _resolve(resolver, "localhost")


# ---- before sending: every literal form, localhost, names -----------------------------

LITERALS = [
    "127.0.0.1",
    "2130706433",  # decimal
    "0177.0.0.1",  # octal
    "0x7f.1",  # hex, short
    "0x7f000001",
    "127.1",  # short
    "127.0.0.1.",  # trailing root dot
    "[::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:7f00:1]",
    "[::127.0.0.1]",  # IPv4-compatible (deprecated, reserved)
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
    "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
    "0.0.0.0",
    "0",
    "[::]",
    "169.254.169.254",
    "0xa9fea9fe",  # 169.254.169.254 in hex
    "2852039166",  # 169.254.169.254 in decimal
    "10.0.0.1",
    "10.255.255.255",
    "192.168.0.1",
    "172.16.0.1",
    "172.31.255.254",
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "224.0.0.1",
    "239.255.255.250",
    "[ff02::1]",
    "[ff0e::1]",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "[2001:db8::1]",  # documentation
    "localhost",
    "LOCALHOST",
    "localhost.",
    "metadata.localhost",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "[2606:4700::1]"]


@pytest.mark.parametrize("host", LITERALS)
@deferred_f_from_coro_f
async def test_every_internal_literal_form_is_refused_before_sending(host: str) -> None:
    guard = AddressGuardMiddleware(AddressPolicy())
    with pytest.raises(BlockedAddress) as caught:
        await guard.process_request(Request(f"http://{host}:8080/latest/meta-data"))
    assert caught.value.kind == "blocked_address"
    assert "not fetched (SSRF guard)" in str(caught.value)
    assert "TEASERFEED_ALLOWED_ADDRESSES=" in str(caught.value)


@pytest.mark.parametrize("host", PUBLIC)
@deferred_f_from_coro_f
async def test_public_addresses_are_allowed(host: str) -> None:
    guard = AddressGuardMiddleware(AddressPolicy())
    assert await guard.process_request(Request(f"http://{host}/news/")) is None


@pytest.mark.parametrize(
    ("entry", "host"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.0/8", "2130706433"),
        ("127.0.0.0/8", "[::ffff:127.0.0.1]"),
        ("10.0.0.0/8", "10.9.8.7"),
        ("::1", "[::1]"),
        ("fd00::/8", "[fd12::1]"),
        ("localhost", "localhost"),
    ],
)
@deferred_f_from_coro_f
async def test_the_allow_list_lets_named_hosts_and_networks_through(entry: str, host: str) -> None:
    guard = AddressGuardMiddleware(AddressPolicy.from_entries([entry]))
    assert await guard.process_request(Request(f"http://{host}/")) is None
    # ... and nothing more
    other = AddressGuardMiddleware(AddressPolicy.from_entries(["192.0.2.0/24"]))
    with pytest.raises(BlockedAddress):
        await other.process_request(Request(f"http://{host}/"))


@deferred_f_from_coro_f
async def test_dns_names_are_resolved_and_checked_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twisted.internet import reactor

    answers = {"internal.example.org": "10.0.0.7", "news.example.org": "93.184.216.34"}
    monkeypatch.setattr(reactor, "resolve", lambda name, *a: defer.succeed(answers[name]))
    guard = AddressGuardMiddleware(AddressPolicy())
    with pytest.raises(BlockedAddress, match=r"internal\.example\.org resolves to 10\.0\.0\.7"):
        await guard.process_request(Request("https://internal.example.org/"))
    assert await guard.process_request(Request("https://news.example.org/")) is None


def _no_such_host(name: str, *args: Any) -> defer.Deferred[str]:
    """reactor.resolve for tests: every name fails at once, no DNS query is sent."""
    return defer.fail(DNSLookupError(name))


@deferred_f_from_coro_f
async def test_a_failed_lookup_is_left_to_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    from twisted.internet import reactor

    monkeypatch.setattr(reactor, "resolve", _no_such_host)
    guard = AddressGuardMiddleware(AddressPolicy())
    # the request goes on, and its download fails and is recorded as a DNS error
    assert await guard.process_request(Request("http://no-such-host.example/")) is None


@pytest.mark.parametrize(
    "url",
    ["http://[::1/", "http://[zz]/", "http://%00/", "http://a..b/", "http:///nohost"],
)
@deferred_f_from_coro_f
async def test_odd_urls_from_the_web_never_raise_anything_else(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twisted.internet import reactor

    monkeypatch.setattr(reactor, "resolve", _no_such_host)
    guard = AddressGuardMiddleware(AddressPolicy())
    try:
        request = Request(url)
    except ValueError:
        return
    with contextlib.suppress(BlockedAddress):
        await guard.process_request(request)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("news.example.org", None),
        ("1.2.3.4.example", None),
        ("256.1.1.1", None),
        ("", None),
    ],
)
def test_ip_literal_reads_what_a_resolver_would(text: str, expected: str | None) -> None:
    found = ip_literal(text)
    assert (str(found) if found is not None else None) == expected


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "300.1.1.1", "http://intranet/", "a b", "-x"])
def test_bad_allow_list_entries_are_one_clear_error(entry: str) -> None:
    with pytest.raises(ValueError, match="is not a host name, IP address or CIDR network"):
        AddressPolicy.from_entries([entry])


# ---- per-site scoping -------------------------------------------------------------------


@deferred_f_from_coro_f
async def test_offsite_teasers_are_recorded_but_not_followed(
    network: Network, tmp_path: Path
) -> None:
    archive = tmp_path / "news.db"
    crawled = await crawl([_config(network)], archive, **SETTINGS)
    assert network.intranet.requests == 0
    assert network.secret.requests == 0
    assert network.listing.hits["/story/1"] == 1
    teasers = {url for (url,) in _rows(archive, "SELECT url FROM teasers")}
    assert f"{network.intranet.url}/wiki/1" in teasers
    assert f"{network.secret.url}/secret" in teasers
    # counted, not failed: no fetch row for the off-site links
    assert crawled.stats["teaserfeed/teasers_offsite"] == 2
    off = _rows(archive, "SELECT url FROM fetches WHERE url LIKE '%/wiki/1' OR url LIKE '%/secret'")
    assert off == []
    with open_archive(archive, readonly=True) as stored:
        assert stored.run_summary(crawled.run_id)["teasers_offsite"] == 2
        # a later run does not fetch them as "teasers whose article never arrived"
        assert stored.unfetched_teasers(["listing"], accept=_config(network).follows) == []


@deferred_f_from_coro_f
async def test_allowed_domains_star_follows_teasers_anywhere(
    network: Network, tmp_path: Path
) -> None:
    archive = tmp_path / "news.db"
    crawled = await crawl(
        [_config(network, allowed_domains=("*",))],
        archive,
        **{**SETTINGS, "TEASERFEED_ALLOWED_ADDRESSES": [*ALLOWED, SECRET_HOST, METADATA_HOST]},
    )
    assert network.intranet.hits["/wiki/1"] == 1
    assert network.secret.hits["/secret"] == 1
    assert network.metadata.hits["/latest/meta-data"] == 1  # the redirect, now allowed
    assert crawled.stats.get("teaserfeed/teasers_offsite", 0) == 0
    with open_archive(archive, readonly=True) as stored:
        assert [h.title for h in stored.search("Intranetto")] == ["Wiki"]


def test_allowed_domains_default_to_the_registrable_domains_of_the_site() -> None:
    [config] = parse_sites(
        """
        [sites.news]
        start_urls = ["https://www.example.co.uk/world", "https://news.example.org/"]
        feeds = ["https://feeds.example.net/rss"]
        """
    ).values()
    assert config.follow_domains == ("example.co.uk", "example.org", "example.net")
    assert config.follows("https://www.example.co.uk/2026/story")
    assert config.follows("https://static.EXAMPLE.org./a")
    assert not config.follows("https://other.co.uk/story")
    assert not config.follows("https://example.org.evil.test/story")
    assert not config.follows("https://notexample.org/story")
    assert not config.follows("mailto:someone@example.org")
    assert SiteConfig.for_url("https://www.bbc.co.uk/news").follow_domains == ("bbc.co.uk",)


def test_allowed_domains_given_and_star() -> None:
    sites = parse_sites(
        """
        [sites.one]
        start_urls = ["https://news.example.org/"]
        allowed_domains = ["example.org", "cdn-news.example.net"]
        [sites.aggregator]
        start_urls = ["https://news.example.org/"]
        allowed_domains = ["*"]
        """
    )
    assert sites["one"].follows("https://cdn-news.example.net/2026/a")
    assert not sites["one"].follows("https://example.net/2026/a")
    assert sites["aggregator"].follow_domains is None
    assert sites["aggregator"].follows("https://anywhere.test/a")


@pytest.mark.parametrize(
    "value",
    ['"https://example.org/"', "[]", "[1]", '["example.org/path"]', "true", '["ex ample.org"]'],
)
def test_bad_allowed_domains_are_rejected_when_loaded(value: str) -> None:
    from crawlers.errors import SiteConfigError

    with pytest.raises(SiteConfigError, match=r"\[sites\.one\] key 'allowed_domains'"):
        parse_sites(f'[sites.one]\nstart_urls = ["https://a.example/"]\nallowed_domains = {value}')


def test_an_unset_allowed_domains_keeps_the_config_hash() -> None:
    plain = SiteConfig(name="x", start_urls=("https://a.example/",))
    assert "allowed_domains" not in plain.as_dict()
    star = SiteConfig(name="x", start_urls=("https://a.example/",), allowed_domains=("*",))
    assert star.as_dict()["allowed_domains"] == ["*"]
    assert star.config_hash != plain.config_hash


# ---- the command line: --allow-address, -s, the summary --------------------------------

BIN = Path(sys.executable).parent


def _teaserfeed(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "teaserfeed"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def _sites_file(net: Network, directory: Path, extra: str = "") -> Path:
    path = directory / "sites.toml"
    path.write_text(
        f'[sites.listing]\nstart_urls = ["{net.listing.url}/"]\nteaser = "article.teaser"\n'
        f'link = "h2 a::attr(href)"\nmax_pages = 1\n{extra}',
        encoding="utf-8",
    )
    return path


def test_teaserfeed_crawl_guards_addresses_and_scopes_sites(
    network: Network, tmp_path: Path
) -> None:
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
    # both forms of the allow-list, merged: the option and the setting
    allow = ["--allow-address", LISTING_HOST, "-s", f"TEASERFEED_ALLOWED_ADDRESSES={INTRANET_HOST}"]
    sites = _sites_file(network, tmp_path)
    scoped = _teaserfeed(
        "crawl", "--sites", str(sites), "--archive", "a.db", *fast, *allow, cwd=tmp_path
    )
    assert scoped.returncode == 0, scoped.stdout + scoped.stderr
    assert "2 off-site (not followed: allowed_domains)" in scoped.stdout
    assert network.intranet.requests == 0

    sites = _sites_file(network, tmp_path, 'allowed_domains = ["*"]\n')
    anywhere = _teaserfeed(
        "crawl", "--sites", str(sites), "--archive", "b.db", *fast, *allow, cwd=tmp_path
    )
    # refused internal addresses are policy, not failed fetches: exit 0
    assert anywhere.returncode == 0, anywhere.stdout + anywhere.stderr
    assert "errors             2 (blocked_address: 2)" in anywhere.stdout
    # the terminal says how to allow each refused host, once
    assert anywhere.stderr.count("host 127.0.0.3 is a loopback address") == 1
    assert "--allow-address 127.0.0.4 or -s TEASERFEED_ALLOWED_ADDRESSES=127.0.0.4" in (
        anywhere.stderr
    )
    assert network.secret.requests == 0
    assert network.metadata.requests == 0
    assert network.intranet.hits["/wiki/1"] == 1
    assert network.listing.hits["/story/1"] == 2  # once per run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--allow-address", "10.0.0.0/33"],
            "--allow-address: '10.0.0.0/33' is not a host name, IP address or CIDR network",
        ),
        (
            ["-s", "TEASERFEED_ALLOWED_ADDRESSES=intranet.example,http://10.0.0.1/"],
            "-s TEASERFEED_ALLOWED_ADDRESSES: 'http://10.0.0.1/' is not a host name",
        ),
    ],
)
def test_a_bad_allow_list_entry_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main,
        ["crawl", "--url", "https://news.example.org/", "--archive", str(tmp_path / "a.db"), *args],
    )
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert message in line
    assert not (tmp_path / "a.db").exists()  # refused before anything was opened or fetched
