"""A crawl whose archive cannot be written (a real full disk) stops at once, says so in one
line, exits 1, records the run as failed, dumps no item into the log; a rerun on the full
disk stops before fetching anything."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f, maybe_deferred_to_future

import archive.store
from archive import check_archive, open_archive
from benchmarks.sitegen import generate_site, sites_toml
from crawlers.demo import DemoServer
from crawlers.sites import SiteConfig
from crawlers.writer import free_disk
from tests.conftest import ALLOW_TEST_HOSTS, crawl

BIN = Path(sys.executable).parent
SITE_PAGES = 15  # listing pages of 20 teasers: 315 pages with robots.txt
DISK = "3m"  # the archive fills it after a few dozen of the ~60 KB articles
MIN_FREE = 1_000_000  # the same setting for both runs: met at first, not once full
FAST = [
    *("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"),
    *("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", f"TEASERFEED_MIN_FREE_DISK={MIN_FREE}"),
    # each batch goes as its items come: the stop is counted from the write that failed, not
    # from a batch that was still filling (TEASERFEED_BATCH_SECONDS more of a local crawl)
    *("-s", "TEASERFEED_BATCH_SECONDS=0"),
    *ALLOW_TEST_HOSTS,
]
HTML_MARKS = ("<html", "<!doctype", "<p>", "html=b'", "html': b")


class _CountingHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """Serve the file; note when it was asked for."""
        server: _SiteServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.log.append((time.monotonic(), self.path))
        super().do_GET()


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), partial(_CountingHandler, directory=str(root)))
        self.lock = threading.Lock()
        self.log: list[tuple[float, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def requests(self) -> list[tuple[float, str]]:
        with self.lock:
            return list(self.log)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_SiteServer]:
    root = tmp_path_factory.mktemp("site")
    generate_site(root, SITE_PAGES)
    server = _SiteServer(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real, small file system (tmpfs) for the archive; we run as root, CI too."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(
            f"cannot mount a {DISK} tmpfs on {mount} for the full-disk test (run the tests "
            f"as root, e.g. in CI's container): {done.stderr.strip()}"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _watch_free_space(path: Path, stop: threading.Event, full_at: list[float]) -> None:
    """Note the moment the file system is full (less than 16 KB left)."""
    while not stop.is_set():
        if free_disk(path) < 16_384:
            full_at.append(time.monotonic())
            return
        time.sleep(0.005)


def _teaserfeed(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "teaserfeed"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def test_a_full_disk_stops_the_crawl_at_once_and_a_rerun_before_fetching(
    site: _SiteServer, full_disk: Path, tmp_path: Path
) -> None:
    sites = tmp_path / "sites.toml"
    sites.write_text(sites_toml(site.url, SITE_PAGES), encoding="utf-8")
    path = full_disk / "news.db"
    command = ["crawl", "--sites", str(sites), "--archive", str(path), *FAST]
    site_pages = SITE_PAGES * 21 + 1

    stop, full_at = threading.Event(), []
    watcher = threading.Thread(target=_watch_free_space, args=(full_disk, stop, full_at))
    watcher.start()
    before = len(site.requests())
    try:
        result = _teaserfeed(*command, cwd=tmp_path)
    finally:
        stop.set()
        watcher.join()
    requests = site.requests()[before:]

    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert full_at, "the archive never filled the disk: make DISK smaller"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    (line,) = lines
    prefix = f"teaserfeed: cannot write the archive {path}: database or disk is full ("
    assert line.startswith(prefix), line
    assert line.endswith(" items not stored); free space and run the crawl again — it resumes")
    assert len(result.stderr) < 1000
    assert not any(mark in result.stderr.lower() for mark in HTML_MARKS)
    assert "run 1 failed in" in result.stdout

    # it stopped at once: the requests in flight (8 at a time here) and those the crawl made
    # while the batch that met the full disk was being written (measured: 0-16), not the
    # rest of the site (the crawl fetched all 316 pages before)
    after = [url for at, url in requests if at > full_at[0]]
    assert len(after) <= 30, f"{len(after)} requests after the disk filled: {after[:40]}"
    # and the disk filled early in the site (65-86 requests measured alone, 107 with another
    # CPU-bound process on the machine: the writer falls behind the fetches under load)
    assert len(requests) < site_pages // 2

    report = check_archive(path)
    assert report.ok, report.problems
    with sqlite3.connect(path) as conn:
        status, stats = conn.execute("SELECT status, stats FROM runs").fetchone()
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    conn.close()
    assert status == "failed"
    recorded = json.loads(stats)
    assert recorded["archive_error"] == "database or disk is full"
    assert recorded["finish_reason"] == "archive_write_failed: database or disk is full"
    assert recorded["items_not_stored"] > 0
    assert 0 < stored < SITE_PAGES * 20

    # cron runs it again on the still-full disk: it stops before fetching anything
    assert free_disk(full_disk) < MIN_FREE, "the disk is no longer full"
    before = len(site.requests())
    again = _teaserfeed(*command, cwd=tmp_path)
    assert again.returncode == 1, again.stdout + again.stderr[-3000:]
    assert len(site.requests()) == before
    assert again.stderr.splitlines() == [
        f"teaserfeed: cannot write the archive {path}: only 0.0 MB free on its file system, "
        f"less than the 1 MB a crawl needs (TEASERFEED_MIN_FREE_DISK); free space and run the "
        "crawl again — it resumes"
    ]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    conn.close()


@deferred_f_from_coro_f
async def test_a_failed_write_closes_the_spider_and_logs_no_item(
    demo_server: DemoServer,
    demo_configs: list[SiteConfig],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def disk_full(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    # every item is logged by Scrapy at DEBUG ("Scraped from", "Dropped"): none whole
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(archive.store.Archive, "upsert_articles", disk_full)
    path = tmp_path / "news.db"
    before = len(demo_server.requests)
    done = await crawl(
        demo_configs, path, LOG_LEVEL="DEBUG", TEASERFEED_BATCH_SIZE=5, TEASERFEED_BATCH_SECONDS=0
    )
    fetched = len(demo_server.requests) - before

    assert done.stats["finish_reason"] == "archive_write_failed: database or disk is full"
    assert done.stats["teaserfeed/archive_error"] == "database or disk is full"
    assert done.stats["teaserfeed/not_stored"] > 0
    assert fetched < 60  # of the demo site's 113 pages
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if any(mark in m.lower() for mark in HTML_MARKS)]
    assert any(m.startswith("Scraped from") and "TeaserItem(http" in m for m in messages)
    failure = [m for m in messages if "database or disk is full (" in m]
    assert failure == [
        f"cannot write the archive {path}: database or disk is full "
        f"({done.stats['teaserfeed/not_stored']} items not stored); free space and run the "
        "crawl again — it resumes"
    ]
    assert not any(record.exc_info for record in caplog.records if record.levelno >= 40)
    with open_archive(path, create=True) as store:
        run = store.run(done.run_id)
    assert run.status == "failed"
    assert run.stats["archive_error"] == "database or disk is full"


@deferred_f_from_coro_f
async def test_the_spider_is_closed_at_a_failed_write_without_waiting_for_an_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrapy.utils.test import get_crawler
    from twisted.internet.defer import Deferred

    from crawlers.items import FetchItem
    from crawlers.pipelines import ArchivePipeline
    from tests.conftest import PROJECT_SETTINGS

    closed: Deferred[str] = Deferred()

    class Engine:
        async def close_spider_async(self, *, reason: str) -> None:
            closed.callback(reason)

    def disk_full(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    crawler = get_crawler(
        settings_dict={**PROJECT_SETTINGS, "TEASERFEED_ARCHIVE": str(tmp_path / "news.db")}
    )
    crawler.engine = Engine()  # type: ignore[assignment]
    pipeline = ArchivePipeline.from_crawler(crawler)
    pipeline.open_spider()
    monkeypatch.setattr(archive.store.Archive, "record_fetch", disk_full)
    pipeline.process_item(FetchItem(url="https://n.org/", kind="listing", status=200))
    # no further item: the writer thread's own news closes the spider
    from twisted.internet import reactor

    closed.addTimeout(10, reactor)  # fails, rather than hangs, if nothing closes it
    reason = await maybe_deferred_to_future(closed)
    assert reason == "archive_write_failed: database or disk is full"
    assert crawler.stats.get_value("teaserfeed/archive_error") == "database or disk is full"
    pipeline.spider_closed(None, reason)  # type: ignore[arg-type]
    assert crawler.stats.get_value("teaserfeed/not_stored") == 1


def test_the_last_line_comes_even_when_the_archive_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawlers.cli.crawl import _after_crawl

    path = tmp_path / "news.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"torn" * 1000)  # unreadable
    stats = {"teaserfeed/run_id": 1, "teaserfeed/archive_error": "disk I/O error"}
    with pytest.raises(SystemExit) as info:
        _after_crawl(path, {**stats, "teaserfeed/not_stored": 3}, 1.0)
    assert info.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"teaserfeed: cannot write the archive {path}: disk I/O error (3 items not stored); "
        "check the disk and run the crawl again — it resumes\n"
    )
