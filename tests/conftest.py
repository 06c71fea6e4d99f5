"""Shared fixtures: the demo site on loopback and crawls of it into real SQLite files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.test import get_crawler

import crawlers.settings
from crawlers.demo import DemoServer, DemoSite, demo_sites_toml, serve_demo
from crawlers.sites import SiteConfig, parse_sites
from crawlers.spiders.teasers import TeaserSpider

PROJECT_SETTINGS = {k: v for k, v in vars(crawlers.settings).items() if k.isupper()}
# The test servers (demo site, hostile site and its "other host") listen on these loopback
# addresses, which the SSRF guard refuses unless allowed (tests/test_ssrf.py tests that).
TEST_HOSTS = ("127.0.0.1", "127.0.0.2")
ALLOW_TEST_HOSTS = [arg for host in TEST_HOSTS for arg in ("--allow-address", host)]
ALLOW_TEST_HOSTS_SETTING = ["-s", f"TEASERFEED_ALLOWED_ADDRESSES={','.join(TEST_HOSTS)}"]
FAST = {
    "TEASERFEED_ALLOWED_ADDRESSES": list(TEST_HOSTS),
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Crawled:
    """The outcome of one crawl: where the archive is and which run it made."""

    archive: Path
    run_id: int
    stats: dict[str, Any]
    requests: list[tuple[str, str, str]] = field(default_factory=list)


async def crawl(configs: Sequence[SiteConfig], archive: Path, **settings: Any) -> Crawled:
    """Run the real spider and pipeline in this process's reactor."""
    crawler = get_crawler(
        TeaserSpider,
        {**PROJECT_SETTINGS, **FAST, "TEASERFEED_ARCHIVE": str(archive), **settings},
    )
    await crawler.crawl_async(configs=list(configs))
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    return Crawled(archive=archive, run_id=int(stats["teaserfeed/run_id"]), stats=stats)


def crawl_blocking(configs: Sequence[SiteConfig], archive: Path, **settings: Any) -> Crawled:
    """crawl(), from synchronous code such as module-scoped fixtures."""
    result: Crawled = pytest_twisted.blockon(
        deferred_from_coro(crawl(configs, archive, **settings))
    )
    return result


def drained(output: AsyncIterator[Any]) -> list[Any]:
    """What a spider callback yields, with inline extraction (TEASERFEED_WORKERS=0): it
    then never waits, so no reactor needs to run it."""
    items: list[Any] = []
    while True:
        step = output.__anext__()
        try:
            step.send(None)
        except StopIteration as done:
            items.append(done.value)
        except StopAsyncIteration:
            return items
        else:
            raise AssertionError("the callback waited: is TEASERFEED_WORKERS 0?")


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    server = serve_demo()
    yield server
    server.close()


@pytest.fixture(scope="session")
def demo_site(demo_server: DemoServer) -> DemoSite:
    return demo_server.site


@pytest.fixture(scope="session")
def demo_configs(demo_server: DemoServer) -> list[SiteConfig]:
    return list(parse_sites(demo_sites_toml(demo_server.url)).values())


@pytest.fixture(scope="session")
def demo_sites_file(demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "sites.toml"
    path.write_text(demo_sites_toml(demo_server.url), encoding="utf-8")
    return path
