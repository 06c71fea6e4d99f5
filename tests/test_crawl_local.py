"""Issue 18: crawl saved listing pages (`--url file://…`, `--input-dir`), and `--url` crawls
name their site as `sites suggest` does."""

from __future__ import annotations

import html
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawlers.demo import DemoServer
from crawlers.extract.suggest import site_name_for
from crawlers.sites import SiteConfig
from tests.conftest import ALLOW_TEST_HOSTS
from tests.internal_hosts import LISTING_HOST, Site

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_BODY = "".join(
    f"<p>Harbour council meeting {i} discussed the tram line with residents of the river "
    "district on a quiet evening, and the budget grew once more.</p>"
    for i in range(8)
)


def teaserfeed(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(BIN / "teaserfeed"), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
        env=env,
    )  # fmt: skip


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def _listing(links: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<article class="teaser"><h2><a href="{html.escape(href)}">{html.escape(title)}</a>'
        f"</h2><p>A short lead for {html.escape(title.lower())}.</p></article>"
        for href, title in links
    )
    return f"<!DOCTYPE html><html><body><main>{items}</main></body></html>"


def _corpus(root: Path, remote: str) -> Path:
    """A saved corpus: two front pages linking to saved articles and one story on the web."""
    folder = root / "harbour-corpus"
    (folder / "articles").mkdir(parents=True)
    for i in range(1, 5):
        (folder / "articles" / f"story-{i}.html").write_text(
            f"<!DOCTYPE html><html><head><title>Story {i}</title></head><body><article>"
            f"<h1>Harbour story number {i}</h1>{_BODY}</article></body></html>",
            encoding="utf-8",
        )
    front = [(f"articles/story-{i}.html", f"Harbour story number {i} today") for i in (1, 2, 3)]
    (folder / "front.html").write_text(
        _listing([*front, (remote, "A story still on the web")]), encoding="utf-8"
    )
    (folder / "page-2.html").write_text(
        _listing([("articles/story-4.html", "Harbour story number 4 today")]), encoding="utf-8"
    )
    (folder / "notes.txt").write_text("not a page", encoding="utf-8")
    return folder


@pytest.fixture
def web() -> Any:
    site = Site(LISTING_HOST)
    site.routes["/remote-story"] = (
        200,
        {},
        f"<html><body><article><h1>Web story</h1>{_BODY}</article></body></html>".encode(),
    )
    yield site
    site.close()


def test_input_dir_crawls_saved_listings_and_follows_saved_articles_only(
    tmp_path: Path, web: Site
) -> None:
    remote = f"{web.url}/remote-story"
    folder = _corpus(tmp_path, remote)
    db = tmp_path / "corpus.db"
    result = teaserfeed("crawl", "--input-dir", str(folder), "--archive", str(db))
    assert result.returncode == 0, result.stderr
    assert "sites              harbour-corpus" in result.stdout
    titles = sorted(t for (t,) in _rows(db, "select title from articles"))
    assert titles == [f"Harbour story number {i}" for i in range(1, 5)]
    urls = {u for (u,) in _rows(db, "select url from articles")}
    assert urls == {(folder / "articles" / f"story-{i}.html").as_uri() for i in range(1, 5)}
    # the link to the web is recorded as a teaser of the corpus, and not fetched
    teasers = dict(_rows(db, "select url, source from teasers"))
    assert teasers[remote] == "harbour-corpus"
    assert web.requests == 0
    listings = {u for (u,) in _rows(db, "select url from fetches where kind = 'listing'")}
    assert listings == {(folder / "front.html").as_uri(), (folder / "page-2.html").as_uri()}


def test_url_takes_a_saved_page_by_path_or_file_url(tmp_path: Path, web: Site) -> None:
    folder = _corpus(tmp_path, f"{web.url}/remote-story")
    db = tmp_path / "one.db"
    by_path = teaserfeed("crawl", "--url", str(folder / "front.html"), "--archive", str(db))
    assert by_path.returncode == 0, by_path.stderr
    assert _rows(db, "select name from sources") == [("harbour-corpus",)]
    assert len(_rows(db, "select 1 from articles")) == 3
    again = teaserfeed(
        "crawl", "--url", (folder / "page-2.html").as_uri(), "--archive", str(db)
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert len(_rows(db, "select 1 from articles")) == 4
    assert web.requests == 0


def test_a_saved_site_in_sites_toml_fetches_the_web_links_it_allows(
    tmp_path: Path, web: Site
) -> None:
    folder = _corpus(tmp_path, f"{web.url}/remote-story")
    sites = tmp_path / "sites.toml"
    sites.write_text(
        f'[sites.saved]\nstart_urls = ["{(folder / "front.html").as_uri()}"]\n'
        f'allowed_domains = ["{LISTING_HOST}"]\nmax_pages = 1\n',
        encoding="utf-8",
    )
    db = tmp_path / "saved.db"
    result = teaserfeed(
        "crawl", "--sites", str(sites), "--archive", str(db), "-s", "DOWNLOAD_DELAY=0",
        *ALLOW_TEST_HOSTS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert web.hits["/remote-story"] == 1
    assert ("Web story",) in _rows(db, "select title from articles")
    assert len(_rows(db, "select 1 from articles")) == 4


def test_bad_local_inputs_are_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--input-dir", str(tmp_path / "nope")], f"--input-dir {tmp_path / 'nope'}: no such"),
        (["--input-dir", str(empty)], f"{empty}: no .html or .htm files in it"),
        (["--url", (tmp_path / "gone.html").as_uri()], f"{tmp_path / 'gone.html'}: no such file"),
        (["--url", "news.example.org/world"], "is not an absolute http(s) or file:// URL"),
        (["--input-dir", str(empty), "--url", "https://x.example/"], "give one of SITE names"),
    ]
    for args, message in cases:
        result = teaserfeed("crawl", *args, "--archive", str(tmp_path / "a.db"))
        assert result.returncode == 2, args
        assert message in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_pages_from_the_web_never_lead_to_local_files() -> None:
    web = SiteConfig(name="web", start_urls=("https://news.example.org/",), allowed_domains=("*",))
    assert not web.follows("file:///etc/passwd")
    saved = SiteConfig.for_url(Path(__file__).as_uri())
    assert saved.follows(Path(__file__).with_name("conftest.py").as_uri())
    assert not saved.follows("https://news.example.org/story")

    from crawlers.extract.listing import extract_teasers
    from crawlers.extract.page import parse_page

    page = _listing([("file:///etc/passwd", "A story about passwords"), ("/s/1", "A story")])
    urls = {t.url for t in extract_teasers(parse_page(page, "https://news.example.org/"),
                                           "https://news.example.org/", web)}  # fmt: skip
    assert "file:///etc/passwd" not in urls


def test_url_crawls_name_the_site_as_sites_suggest_does(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    url = f"{demo_server.url}/science/"
    suggested = teaserfeed("sites", "suggest", url)
    assert suggested.returncode == 0, suggested.stderr
    assert suggested.stdout.startswith("[sites.127-0-0-1]\n")
    db = tmp_path / "named.db"
    crawled = teaserfeed(
        "crawl", "--url", url, "--archive", str(db), "-s", "DOWNLOAD_DELAY=0", *ALLOW_TEST_HOSTS
    )  # fmt: skip
    assert crawled.returncode == 0, crawled.stderr
    assert _rows(db, "select name from sources") == [("127-0-0-1",)]
    for address in ("https://www.news.example.org/world/", "http://Kiel.example:8080/x"):
        assert SiteConfig.for_url(address).name == site_name_for(address)
    assert SiteConfig.for_url("https://www.news.example.org/world/").name == "news-example-org"
