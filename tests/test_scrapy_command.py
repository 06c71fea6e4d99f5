"""The Scrapy way (`scrapy crawl teasers`, as scrapyd runs it): locked archives, item feeds."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from archive import ArchiveLock
from crawlers.demo import DemoServer
from tests.conftest import ALLOW_TEST_HOSTS_SETTING

BIN = Path(sys.executable).parent


def _scrapy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings"}
    return subprocess.run(
        [str(BIN / "scrapy"), "crawl", "teasers", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_locked_archive_closes_the_spider_without_a_traceback(
    tmp_path: Path, demo_server: DemoServer
) -> None:
    archive = tmp_path / "news.db"
    with ArchiveLock(archive):
        result = _scrapy(
            "-a",
            f"url={demo_server.url}/world/",
            "-s",
            f"TEASERFEED_ARCHIVE={archive}",
            cwd=tmp_path,
        )
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert f"{archive} is locked by a running crawl (PID {os.getpid()}" in result.stderr
    assert "Spider closed (archive_locked)" in result.stderr
    assert "downloader/request_count" not in result.stderr  # nothing was fetched


def test_items_export_as_json_lines(tmp_path: Path, demo_server: DemoServer) -> None:
    out = tmp_path / "items.jl"
    result = _scrapy(
        "-a",
        f"url={demo_server.url}/world/",
        "-s",
        f"TEASERFEED_ARCHIVE={tmp_path / 'news.db'}",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=0",
        "-s",
        "LOG_LEVEL=WARNING",
        *ALLOW_TEST_HOSTS_SETTING,
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    articles = [i for i in items if "html" in i]
    site = demo_server.site
    served = {
        demo_server.url + t.article_path
        for t in site.teasers_on("/world/")
        if site.article(t.article_path).status == 200
    }
    assert {a["url"] for a in articles} == served
    for article in articles:
        page = base64.b64decode(article["html"]).decode(article["encoding"])
        assert page.startswith("<!DOCTYPE html>")
        assert site.article(article["url"]).lead in page
