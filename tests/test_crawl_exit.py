"""`teaserfeed crawl` exit status (0 clean, 3 fetches failed, 1 interrupted) and the failures
per site in `teaserfeed stats`, run as a user runs them: in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawlers.cli import main
from tests.conftest import ALLOW_TEST_HOSTS
from tests.hostile_site import HostileServer

BIN = Path(sys.executable).parent
FAST = [
    *("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0"),
    *ALLOW_TEST_HOSTS,
]


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def sites_file(directory: Path, server: HostileServer, name: str, *paths: str) -> Path:
    path = directory / "sites.toml"
    path.write_text(
        f"[sites.{name}]\n"
        f'start_urls = ["{server.url}/list/{name}?paths={",".join(paths)}"]\n'
        'teaser = "article.teaser"\n'
        'link = "h2 a::attr(href)"\n'
        "max_pages = 1\n",
        encoding="utf-8",
    )
    return path


def teaserfeed(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(BIN / "teaserfeed"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_clean_run_exits_0(server: HostileServer, tmp_path: Path) -> None:
    # a dead link (404) is recorded but is not a failed crawl
    sites = sites_file(tmp_path, server, "clean", "/plain/ok/1", "/plain/ok/2", "/gone/ok")
    result = teaserfeed("crawl", "--sites", str(sites), "--archive", "news.db", *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "errors             1 (http_4xx: 1)" in result.stdout


def test_failed_fetches_exit_3_and_show_in_stats(server: HostileServer, tmp_path: Path) -> None:
    sites = sites_file(
        tmp_path, server, "shaky", "/plain/sh/1", "/broken/sh", "/wall/cloudflare", "/gone/sh"
    )
    result = teaserfeed("crawl", "--sites", str(sites), "--archive", "news.db", *FAST, cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "teaserfeed: run 1 finished" in result.stdout
    assert "finished with failed fetches (article bot_wall: 1, article http_5xx: 1)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr

    # stats reads the archive only: in this process
    runner = CliRunner()
    stats = runner.invoke(main, ["stats", "--archive", str(tmp_path / "news.db")])
    assert stats.exit_code == 0, stats.output
    lines = stats.output.splitlines()
    start = lines.index("failed fetches in each site's latest run (kind, count, an example):")
    section = [line.split() for line in lines[start + 1 :] if line.strip()]
    assert section[0] == ["shaky", "(run", "1)"]
    found = {tuple(words[:3]): words[3:5] for words in section if words[0] == "article"}
    assert found[("article", "bot_wall", "403")] == ["1", f"{server.url}/wall/cloudflare"]
    assert found[("article", "http_5xx", "500")] == ["1", f"{server.url}/broken/sh"]
    assert found[("article", "http_4xx", "404")] == ["1", f"{server.url}/gone/sh"]
    assert ["bot", "wall", "or", "challenge", "page", "(HTTP", "403,", "'cf-chl-')"] in section

    as_json = runner.invoke(main, ["stats", "--archive", str(tmp_path / "news.db"), "--json"])
    (site,) = json.loads(as_json.output)
    kinds = {(f["error_kind"], f["status"], f["count"]) for f in site["failures"]}
    assert kinds == {("bot_wall", 403, 1), ("http_5xx", 500, 1), ("http_4xx", 404, 1)}


def test_an_interrupted_run_exits_1(server: HostileServer, tmp_path: Path) -> None:
    sites = sites_file(tmp_path, server, "stuck", "/hang")
    before = server.attempts("/hang")
    process = subprocess.Popen(
        [
            str(BIN / "teaserfeed"), "crawl", "--sites", str(sites), "--archive", "news.db",
            *FAST, "-s", "DOWNLOAD_TIMEOUT=3",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while server.attempts("/hang") == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.attempts("/hang") > before, "the crawl never reached /hang"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, out + err
    conn = sqlite3.connect(tmp_path / "news.db")
    try:
        (status,) = conn.execute("SELECT status FROM runs").fetchone()
    finally:
        conn.close()
    assert status != "finished"


def test_help_documents_the_exit_status() -> None:
    result = CliRunner().invoke(main, ["crawl", "--help"])
    text = " ".join(result.output.split())
    assert "3 when it finished but fetches failed" in text
    assert "1 when the run crashed or was interrupted" in text
