"""`teaserfeed serve` in a real headless Chromium: pages render, search and canned queries work.

Chromium is the Debian package `chromium`; `.ci/run` installs it. Screenshots are kept in
test-artifacts/datasette/ at the repository root (gitignored) for people to look at.
"""

from __future__ import annotations

import base64
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
from typing import Any

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
        "search": ("/demo/articles?_search=kazakhstan&_sort_desc=published", "1600,2400"),
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


# ---- what a reader sees on a laptop, above the fold ------------------------------------------

LAPTOP = (1366, 768)
# no name resolves but the loopback servers': the browser cannot reach the internet
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
# run in the page: what lies within the first screen, and how wide the article's text is
ABOVE_THE_FOLD = """(() => {
  const H = innerHeight;
  const shown = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && r.top < H && r.bottom > 0 && s.visibility !== "hidden";
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (node.textContent.trim() && r.height > 0 && r.top < H && r.bottom > 0) texts.push(node.textContent.trim());
  }
  return {
    viewport: [innerWidth, innerHeight],
    scroll_width: document.documentElement.scrollWidth,
    text: texts.join(" "),
    search_boxes: [...document.querySelectorAll("input[type=search], input[name=q]")].filter(shown).map((e) => e.name),
    links: [...document.querySelectorAll("a")].filter(shown).map((a) => a.textContent.trim()),
    article_links: [...document.querySelectorAll("a[href*='/articles/']")].filter(shown).map((a) => a.textContent.trim()),
    paragraphs: [...document.querySelectorAll("article p")].filter(shown).map((p) => [p.getBoundingClientRect().width, parseFloat(getComputedStyle(p).fontSize), p.textContent.trim()]),
    h1: (document.querySelector("h1") || {}).textContent,
  };
})()"""


async def _laptop_view(binary: str, url: str, out: Path, profile: Path) -> dict[str, Any]:
    """Load `url` in headless Chromium at 1366x768 (DevTools protocol), screenshot it, measure it."""
    import aiohttp  # a Scrapy dependency: its websocket client speaks to DevTools

    proc = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, OFFLINE, "--remote-debugging-port=0",
         f"--user-data-dir={profile}", f"--window-size={LAPTOP[0]},{LAPTOP[1]}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                break
        else:
            pytest.fail("chromium did not start its DevTools endpoint")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                ids = iter(range(1, 1000))

                async def call(method: str, **params: Any) -> dict[str, Any]:
                    n = next(ids)
                    await ws.send_json({"id": n, "method": method, "params": params})
                    while True:
                        message = await ws.receive_json(timeout=60)
                        if message.get("id") == n:
                            assert "error" not in message, message
                            result: dict[str, Any] = message["result"]
                            return result
                        if message.get("method") == "Page.loadEventFired":
                            loaded.append(True)

                loaded: list[bool] = []
                await call("Page.enable")
                await call(
                    "Emulation.setDeviceMetricsOverride",
                    width=LAPTOP[0], height=LAPTOP[1], deviceScaleFactor=1, mobile=False,
                )  # fmt: skip
                await call("Page.navigate", url=url)
                while not loaded:
                    message = await ws.receive_json(timeout=60)
                    if message.get("method") == "Page.loadEventFired":
                        loaded.append(True)
                measured = await call(
                    "Runtime.evaluate", expression=ABOVE_THE_FOLD, returnByValue=True
                )
                shot = await call("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["data"]))
        view: dict[str, Any] = measured["result"]["value"]
        return view
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


def test_a_reader_sees_what_matters_above_the_fold_on_a_laptop(
    served: str, research_archive: Path, demo_server: DemoServer, tmp_path: Path
) -> None:
    from tests.test_archive_datasette import run_in_own_loop

    site = demo_server.site
    title = site.article(site.special.kazakhstan).title
    with open_archive(research_archive, readonly=True) as store:
        story = store.article(demo_server.url + site.special.kazakhstan)
        newest = [
            row[0]
            for row in store.db.execute(
                "SELECT title FROM articles ORDER BY published DESC LIMIT 3"
            ).fetchall()
        ]
    pages = {
        "index": "/",
        "database": "/demo",
        "articles": "/demo/articles",
        "search": "/demo/articles?_search=kazakhstan",  # goes to the ranked search
        "search-table": "/demo/articles?_search=kazakhstan&_sort_desc=published",
        "search-query": "/demo/search?q=kazakhstan",
        "article": f"/demo/articles/{story.id}",
        "failing-sources": "/demo/failing_sources",
        "bad-search": "/demo/articles?_search=%22unclosed",
    }
    folder = ARTIFACTS / "laptop"
    folder.mkdir(parents=True, exist_ok=True)
    binary = chromium()

    async def visit_all() -> dict[str, dict[str, Any]]:
        return {
            name: await _laptop_view(binary, served + path, folder / f"{name}.png", tmp_path / name)
            for name, path in pages.items()
        }

    seen: dict[str, dict[str, Any]] = run_in_own_loop(visit_all())
    for name, view in seen.items():
        assert view["viewport"] == list(LAPTOP), name
        assert view["scroll_width"] <= LAPTOP[0], f"{name}: wider than the screen"

    index = seen["index"]
    assert "q" in index["search_boxes"]
    assert index["links"].index("articles") < index["links"].index("runs")
    assert "minhash_bands" not in index["text"]

    database = seen["database"]
    assert "q" in database["search_boxes"]
    assert database["links"][database["links"].index("articles") :][:5] == [
        "articles", "teasers", "front_page_history", "headline_changes", "runs",
    ]  # fmt: skip
    assert "article_minhash" not in database["text"]

    articles = seen["articles"]
    assert "q" in articles["search_boxes"]
    assert articles["article_links"][:3] == newest  # newest headlines on the first screen
    assert "Near-duplicate cluster" not in articles["text"]  # the glossary is folded
    assert "What the 27 columns hold" in articles["text"]

    search = seen["search"]  # a table search is sent to the ranked search, with snippets
    assert "q" in search["search_boxes"]
    assert set(search["article_links"][:2]) == {
        title,
        "Kazakhstan freight deal for Linz (wire copy)",
    }
    assert "Every match in the articles table, newest first" in search["text"]

    table_search = seen["search-table"]
    assert "_search" in table_search["search_boxes"]
    assert title in table_search["article_links"]
    assert "Kazakhstan freight deal for Linz (wire copy)" in table_search["article_links"]
    assert "Best matches first" in table_search["text"]

    ranked = seen["search-query"]
    assert "q" in ranked["search_boxes"]
    assert set(ranked["article_links"][:2]) == {
        title,
        "Kazakhstan freight deal for Linz (wire copy)",
    }
    assert "WHERE articles_fts MATCH" not in ranked["text"]  # the SQL is folded away

    article = seen["article"]
    assert article["h1"] == story.title
    assert ", ".join(story.authors) in article["text"]
    body = [p for p in article["paragraphs"] if p[2] and p[2] in story.body]
    assert len(body) >= 2, article["paragraphs"]  # the story itself starts on the first screen
    for width, font_size, _ in body:
        assert 450 <= width <= 800  # a readable measure: neither a sliver nor the full screen
        assert font_size >= 16

    failing = seen["failing-sources"]
    assert "Failing sources" in failing["text"]
    assert "WITH latest AS" not in failing["text"]
    assert "problem" in failing["text"] or "0 results" in failing["text"]

    bad = seen["bad-search"]
    assert "This search could not be run" in bad["text"]
    assert {"home", "demo", "articles"} <= set(bad["links"])
    assert "q" in bad["search_boxes"]
