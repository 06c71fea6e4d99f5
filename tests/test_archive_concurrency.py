"""A real crawl with `reextract` and `search` running beside it leaves a sound archive.

Closing any descriptor of a file drops all of a process's POSIX (fcntl) locks on it, so one
plain `open()`/`close()` of the database file inside the crawl would leave its SQLite
connections unlocked: the next tool to close its own connection would think it was the
last one, checkpoint and delete the WAL under the running crawl and corrupt the archive.
"""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from benchmarks.sitegen import TEASERS_PER_PAGE, generate_site, sites_toml  # noqa: E402

PAGES = 25  # 500 articles of ~60 KB
# each response waits this long, so the crawl lasts ~15 s however fast the machine is
RESPONSE_DELAY = 0.2
CONCURRENCY = 8


class GeneratedSite(ThreadingHTTPServer):
    """benchmarks/sitegen.py's site on 127.0.0.1, each response `delay` s late, counted."""

    served = 0
    delay = 0.0

    @property
    def base(self) -> str:
        """The site's base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SlowHandler(SimpleHTTPRequestHandler):
    server: GeneratedSite

    def do_GET(self) -> None:
        time.sleep(self.server.delay)
        super().do_GET()
        self.server.served += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_generated_site(root: Path, pages: int, delay: float = 0.0) -> GeneratedSite:
    """Generate `pages` listing pages (and their articles) under root and serve them."""
    generate_site(root, pages)
    server = GeneratedSite(("127.0.0.1", 0), partial(_SlowHandler, directory=str(root)))
    server.delay = delay
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeneratedSite]:
    server = serve_generated_site(tmp_path_factory.mktemp("site"), PAGES, RESPONSE_DELAY)
    yield server
    server.shutdown()
    server.server_close()


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("TEASERFEED_ARCHIVE", None)
    return env


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "teaserfeed"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
    )


def test_a_crawl_beside_reextract_and_search_stays_sound(
    site: GeneratedSite, tmp_path: Path
) -> None:
    base = site.base
    pages = PAGES * TEASERS_PER_PAGE + PAGES  # articles and listing pages (and robots.txt)
    archive = tmp_path / "news.db"
    wal = Path(f"{archive}-wal")
    sites = tmp_path / "sites.toml"
    sites.write_text(sites_toml(base, PAGES))
    crawl = subprocess.Popen(
        [
            str(BIN / "teaserfeed"),
            "crawl",
            "bench",
            "--sites",
            str(sites),
            "--archive",
            str(archive),
            *("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"),
            *("-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={CONCURRENCY}"),
            *("-s", "TEASERFEED_BATCH_SIZE=20"),
            *("-s", "TEASERFEED_ALLOWED_ADDRESSES=127.0.0.1"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    wal_gone_while_crawling = 0
    stop = threading.Event()

    def watch_wal() -> None:
        # from the first request to the last the crawl has the archive open: its -wal
        # file must stay (another process's close deleting it is the corruption)
        nonlocal wal_gone_while_crawling
        while not stop.is_set():
            if 1 <= site.served < pages and not wal.exists():
                wal_gone_while_crawling += 1
            time.sleep(0.01)

    runs: list[tuple[str, subprocess.CompletedProcess[str]]] = []

    def beside(*args: str) -> None:
        while crawl.poll() is None and not stop.is_set():
            if site.served >= 1:
                runs.append((args[0], _run(*args, "--archive", str(archive))))
            else:
                time.sleep(0.05)

    site.served = 0
    threads = [
        threading.Thread(target=watch_wal, daemon=True),
        threading.Thread(target=beside, args=("reextract",), daemon=True),
        threading.Thread(target=beside, args=("search", "story"), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        out, err = crawl.communicate(timeout=300)
    finally:
        stop.set()
        if crawl.poll() is None:
            crawl.kill()
        for thread in threads:
            thread.join()
    print(f"{len(runs)} tool runs beside the crawl", file=sys.stderr)
    assert crawl.returncode == 0, out + err
    assert len(runs) >= 6, "the crawl ended before the tools could run beside it"
    failed = [(name, r.returncode, r.stderr[-300:]) for name, r in runs if r.returncode != 0]
    assert failed == []
    assert not any("malformed" in r.stderr or "locked" in r.stderr for _, r in runs)
    assert wal_gone_while_crawling == 0

    conn = sqlite3.connect(f"{archive.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        urls = {row[0] for row in conn.execute("SELECT url FROM articles")}
        fts = conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
    finally:
        conn.close()
    expected = {
        f"{base}/news/2026/11/{1 + i % 28:02d}/story-{i}/" for i in range(PAGES * TEASERS_PER_PAGE)
    }
    assert urls == expected
    assert fts == len(expected)
    check = _run("check", "--archive", str(archive))
    assert check.returncode == 0, check.stdout + check.stderr
