"""The Scrapy way (`scrapy crawl teasers`, as scrapyd runs it): locked archives, item feeds."""

from __future__ import annotations

import base64
import csv
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
        "-s",
        "TEASERFEED_EXPORT_HTML=True",
        *ALLOW_TEST_HOSTS_SETTING,
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    articles = [i for i in items if i["item_type"] == "article"]
    assert all("html" in a for a in articles)
    assert not [a for a in articles if "minhash" in a]  # exported with the HTML or not
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


def test_feed_exports_say_the_item_type_and_keep_html_out(
    tmp_path: Path, demo_server: DemoServer
) -> None:
    jl, table = tmp_path / "items.jl", tmp_path / "items.csv"
    result = _scrapy(
        "-a", f"url={demo_server.url}/science/",
        "-s", f"TEASERFEED_ARCHIVE={tmp_path / 'news.db'}", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=WARNING", *ALLOW_TEST_HOSTS_SETTING,
        "-o", str(jl), "-o", str(table),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in jl.read_text(encoding="utf-8").splitlines()]
    assert all(next(iter(i)) == "item_type" for i in items)  # the first field of each
    kinds = {i["item_type"] for i in items}
    assert kinds == {"teaser", "article", "fetch"}
    articles = [i for i in items if i["item_type"] == "article"]
    assert articles
    assert not [a for a in articles if "html" in a or "encoding" in a]  # raw HTML stays out
    assert not [a for a in articles if "minhash" in a]  # the archive's bookkeeping too
    with table.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[0] == "item_type"
    # every field of every item type has its column, whatever type came first
    for name in ("listing_url", "position", "body", "authors", "word_count", "kind", "etag"):
        assert name in header, name
    assert "html" not in header
    assert "minhash" not in header
    by_kind = {r["item_type"]: r for r in rows}
    assert set(by_kind) == {"teaser", "article", "fetch"}
    truth = demo_server.site.article(by_kind["article"]["url"])
    assert next(r for r in rows if r["url"] == by_kind["article"]["url"]
                and r["item_type"] == "article")["body"] == truth.body_text  # fmt: skip
