"""`teaserfeed serve` in a real headless Chromium: pages render, search and canned queries work.

Chromium is the Debian package `chromium`; `.ci/run` installs it. Screenshots are kept in
test-artifacts/datasette/ at the repository root (gitignored) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest

from archive import open_archive
from crawlers.demo import DemoServer
from crawlers.sites import SiteConfig
from tests.conftest import crawl_blocking

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts" / "datasette"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def chromium() -> str:
    """The Chromium binary, or a failure that says how to get it (no skip)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "chromium is not installed: .ci/run installs it (apt-get install -y chromium); "
        "install it the same way to run this test locally"
    )


EXTRA_SENTENCE = "Officials in Astana confirmed that the first trains will run in March."


@pytest.fixture(scope="module")
def research_archive(
    demo_server: DemoServer,
    demo_configs: list[SiteConfig],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The demo crawled for real, then one article revised and one syndicated elsewhere."""
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    crawl_blocking(demo_configs, path)
    site = demo_server.site
    url = demo_server.url + site.special.kazakhstan
    with open_archive(path, create=True) as store:
        story = store.article(url)
        revised = {**story.as_dict(), "url": url, "body": story.body + " " + EXTRA_SENTENCE}
        store.upsert_article(revised)
        store.upsert_source("wire-service", ["https://wire.example/"], {})
        store.upsert_article(
            {
                "source": "wire-service",
                "url": "https://wire.example/2026/11/19/kazakhstan-rail-freight",
                "title": "Kazakhstan freight deal for Linz (wire copy)",
                "body": story.body + "\n\nDistributed by Example Newswire.",
                "published": story.published,
            }
        )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(research_archive: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [str(BIN / "teaserfeed"), "serve", str(research_archive), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        start_new_session=True,  # its own process group: datasette runs as its child
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/versions.json", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    stderr = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"teaserfeed serve did not start: {stderr}")
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _render(url: str, out: Path, size: str, profile: Path) -> tuple[Path, str]:
    """Screenshot `url` into `out` and return it with the page's rendered text."""
    binary = chromium()
    # one run both saves the screenshot and prints the DOM as rendered
    run = subprocess.run(
        [
            binary,
            *CHROMIUM_FLAGS,
            f"--window-size={size}",
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    assert out.is_file(), f"chromium wrote no screenshot for {url}"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = " ".join(lxml.html.fromstring(run.stdout.decode("utf-8")).text_content().split())
    return out, text


def test_datasette_in_a_real_browser(
    served: str,
    research_archive: Path,
    demo_server: DemoServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    site = demo_server.site
    title = site.article(site.special.kazakhstan).title
    with open_archive(research_archive, readonly=True) as store:
        story_id = store.article(demo_server.url + site.special.kazakhstan).id
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "articles": ("/demo/articles", "1600,3000"),
        "search": ("/demo/articles?_search=kazakhstan", "1600,2400"),
        "changed-articles": ("/demo/changed_articles", "1600,900"),
        "versions-of-article": (f"/demo/versions_of_article?article={story_id}", "1600,1100"),
        "largest-clusters": ("/demo/largest_clusters", "1600,1000"),
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(
                _render, served + path, ARTIFACTS / f"{name}.png", size, tmp_path / name
            )
            for name, (path, size) in pages.items()
        }
        rendered = {name: future.result() for name, future in futures.items()}
    with capsys.disabled():
        print("\ndatasette screenshots:")
        for shot, _ in rendered.values():
            print(f"  {shot}")

    articles = rendered["articles"][1]
    assert "104 rows sorted by published descending" in articles
    assert "One row per story" in articles  # the table's description from metadata.yml
    assert "Near-duplicate cluster" in articles  # column descriptions too

    search = rendered["search"][1]
    assert '2 rows where search matches "kazakhstan"' in search
    assert title in search
    assert "Kazakhstan freight deal for Linz (wire copy)" in search

    changed = rendered["changed-articles"][1]
    assert "Changed articles" in changed
    assert "Custom SQL query returning 1 row" in changed
    assert title in changed
    assert "body" in changed

    clusters = rendered["largest-clusters"][1]
    assert "Largest near-duplicate clusters" in clusters
    assert "demo-news,wire-service" in clusters

    versions = rendered["versions-of-article"][1]
    assert "Versions of one article" in versions
    assert "Custom SQL query returning 2 rows" in versions
    assert '["body"]' in versions
    assert "current" in versions

    # the article's own page links to its versions
    with urllib.request.urlopen(f"{served}/demo/articles/{story_id}", timeout=30) as response:
        page = lxml.html.fromstring(response.read()).text_content()
    assert "1 row from article_id in article_versions" in " ".join(page.split())
