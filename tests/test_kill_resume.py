"""kill -9 in the middle of real crawls: nothing committed is lost, the next run finishes."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from crawlers.demo import DemoServer, demo_sites_toml, serve_demo
from tests.conftest import ALLOW_TEST_HOSTS

BIN = Path(sys.executable).parent
FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=0",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=4",
    # tiny write batches, so that kills land between commits as well as inside them
    "-s",
    "TEASERFEED_BATCH_SIZE=5",
    *ALLOW_TEST_HOSTS,
]


def _crawl(sites: Path, archive: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(BIN / "teaserfeed"),
            "crawl",
            "--sites",
            str(sites),
            "--archive",
            str(archive),
            *FAST,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after(server: DemoServer, proc: subprocess.Popen[str], requests: int) -> bool:
    """SIGKILL the crawl once the server has answered `requests` more requests."""
    start = len(server.requests)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(server.requests) - start >= requests:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            return True
        time.sleep(0.002)
    proc.communicate(timeout=60)
    return False


def _check(archive: Path) -> None:
    with sqlite3.connect(archive) as db:
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert db.execute("pragma foreign_key_check").fetchall() == []
        db.execute("insert into articles_fts(articles_fts) values('integrity-check')")
        articles = db.execute("select count(*) from articles").fetchone()[0]
        indexed = db.execute("select count(*) from articles_fts").fetchone()[0]
        assert articles == indexed


def _snapshot(archive: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(archive) as db:
        rows = db.execute("select url, title, body from articles").fetchall()
    urls = [url for url, _, _ in rows]
    assert len(urls) == len(set(urls))
    return {url: (title, body) for url, title, body in rows}


def test_kill_9_at_random_points_then_resume(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    with serve_demo() as server:
        server.delay = 0.01  # slow enough that kills land mid-crawl
        sites = tmp_path / "sites.toml"
        sites.write_text(demo_sites_toml(server.url), encoding="utf-8")

        reference = tmp_path / "reference.db"
        proc = _crawl(sites, reference)
        proc.communicate(timeout=120)
        expected = _snapshot(reference)
        assert len(expected) == 103

        archive = tmp_path / "news.db"
        kills = 0
        for _ in range(4):
            if _kill_after(server, _crawl(sites, archive), rng.randint(3, 30)):
                kills += 1
                _check(archive)
        assert kills >= 3

        served = len(server.requests)
        proc = _crawl(sites, archive)
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        assert "finished" in out, out
        _check(archive)
        assert _snapshot(archive) == expected
        with sqlite3.connect(archive) as db:
            statuses = [s for (s,) in db.execute("select status from runs order by id")]
            # every killed run is marked interrupted by the next one
            assert statuses[-1] == "finished"
            assert set(statuses[:-1]) == {"interrupted"}
            teaser_keys = db.execute("select count(distinct teaser_key) from teasers").fetchone()
            assert db.execute("select count(*) from teasers").fetchone() == teaser_keys
        with sqlite3.connect(reference) as db:
            assert db.execute("select count(*) from teasers").fetchone() == teaser_keys
        # the resuming run caught up; the one after it is a steady-state run again
        assert len(server.requests) > served
        served = len(server.requests)
        proc = _crawl(sites, archive)
        proc.communicate(timeout=120)
        paths = [p for _, p, _ in server.requests[served:] if p != "/robots.txt"]
        assert sorted(paths) == sorted(server.site.start_paths)
