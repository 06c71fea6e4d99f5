"""The command line and the Scrapy way, run as a user runs them: in subprocesses."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from crawlers.demo import DemoServer, DemoSite
from crawlers.demo.newsroom import revision_target
from tests.conftest import ALLOW_TEST_HOSTS, ALLOW_TEST_HOSTS_SETTING

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("TEASERFEED_ARCHIVE", None)
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def teaserfeed(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "teaserfeed"), *args, cwd=cwd)


def articles(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("select count(*) from articles").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def demo_db(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("cli")
    result = teaserfeed("demo", cwd=workdir)
    return workdir / "demo.db", result


def test_demo_prints_summary_and_datasette_hint(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    path, result = demo_db
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "demo site serving at http://127.0.0.1:" in out
    first, second = out.split("teaserfeed: run 2 finished")
    assert "teaserfeed: run 1 finished" in first
    for line in (
        "sites              demo-news",
        "listing pages      9",
        "teasers            108 seen, 108 new",
        "articles           103 new, 0 updated",
        "duplicates merged  2",
        "errors             2 (http_4xx: 1, robots: 1)",
    ):
        assert line in first, line
    for line in (
        "articles           4 new, 1 updated",
        "revisits           103 due",
        "errors             0",
        f"teaserfeed serve {path.name}",
    ):
        assert line in second, line
    assert "Traceback" not in result.stderr
    assert articles(path) == 107


def _rows(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_demo_archive_has_versions_clusters_headline_changes_and_german(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]], demo_site: DemoSite
) -> None:
    path, result = demo_db
    out = result.stdout
    archive = ["--archive", str(path)]
    # the revised article: the first ordinary World story, two versions, a new headline
    revised_path = revision_target(demo_site)
    old_title = demo_site.article(revised_path).title
    ((revised_id, version, title),) = _rows(
        path, "select id, version, title from articles where url like ?", f"%{revised_path}"
    )
    assert (version, title) == (2, f"{old_title}, city confirms")
    assert f"revised article    #{revised_id}, 2 versions" in out
    assert f"teaserfeed diff {revised_id} --archive {path.name}\n" in out
    diffed = teaserfeed("diff", str(revised_id), *archive)
    assert diffed.returncode == 0, diffed.stderr
    assert "{+, city confirms+}" in diffed.stdout
    assert "{+Correction, " in diffed.stdout
    # ... whose teaser headline changed across the runs: both headlines were sighted
    teaser_titles = {t for (t,) in _rows(path, "select title from teasers where article_id = ?",
                                          revised_id)}  # fmt: skip
    assert teaser_titles == {old_title, f"{old_title}, city confirms"}
    # the near-duplicate cluster: the Svalbard story and the partner paper's copy
    svalbard = demo_site.unique_terms["Svalbard"]
    rows = _rows(
        path, "select id, url, cluster_id from articles where url like '%svalbard%' order by id"
    )
    assert [str(url).endswith(svalbard) for _, url, _ in rows] == [True, False]
    (original, _, cluster), (copy, _, copy_cluster) = rows
    assert cluster == copy_cluster == original
    assert f"near-duplicates    cluster #{original} of #{original}, #{copy}: " in out
    listed = teaserfeed("clusters", *archive)
    assert f"cluster {original}: 2 articles" in listed.stdout
    # the German article, found by a word with an umlaut
    ((german_id, german_title),) = _rows(
        path, "select id, title from articles where language = 'de'"
    )
    assert german_title == "Münchner Bäckerei öffnet nach dem Brand wieder"
    assert f"German article     #{german_id} 'Münchner Bäckerei" in out
    found = teaserfeed("search", "Bäckerei", "--json", *archive)
    assert [json.loads(line)["title"] for line in found.stdout.splitlines()] == [german_title]
    # the traps are named as such, and 'duplicates merged' is told apart from clusters
    assert f"{demo_site.special.missing} is a dead link (404)" in out
    assert f"{demo_site.special.robots_blocked} is disallowed by robots.txt" in out
    assert "1 near-duplicate cluster(s); 'duplicates merged' counts links folded" in out


def test_search_prints_ranked_hits(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]], demo_site: DemoSite
) -> None:
    path, _ = demo_db
    result = teaserfeed("search", "kazakhstan", "--archive", str(path))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    truth = demo_site.article(demo_site.special.kazakhstan)
    assert first == f"  1. {truth.title}"
    assert truth.path in result.stdout
    assert "[Kazakhstan]" in result.stdout
    as_json = teaserfeed(
        "search", "kazakhstan OR svalbard", "--raw", "--json", "--archive", str(path)
    )
    hits = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(hits) == 3  # Svalbard twice: the story and a partner paper's near-copy
    assert {h["title"] for h in hits} >= {truth.title}
    # without --raw, OR is a word like any other: no article has all three
    plain = teaserfeed("search", "kazakhstan OR svalbard", "--archive", str(path))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == "no articles match 'kazakhstan OR svalbard'\n"


def test_bad_date_filter_is_a_clear_error(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    path, _ = demo_db
    result = teaserfeed("search", "kazakhstan", "--since", "last week", "--archive", str(path))
    assert result.returncode == 2
    assert result.stderr == (
        "teaserfeed: since 'last week' is not a date: use YYYY, YYYY-MM, YYYY-MM-DD "
        "or an ISO 8601 date and time\n"
    )


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR", ""])
def test_bad_search_syntax_is_a_clear_error(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]], query: str
) -> None:
    path, _ = demo_db
    result = teaserfeed("search", query, "--raw", "--archive", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"teaserfeed: cannot search for {query!r}: ")
    assert len(result.stderr.splitlines()) == 1
    # the advice speaks CLI: no Python keyword arguments
    assert "fts=" not in result.stderr
    assert "literal" not in result.stderr
    if query:
        assert "leave out --raw" in result.stderr
        plain = teaserfeed("search", query, "--archive", str(path))
        assert plain.returncode == 0, plain.stderr
        assert "Traceback" not in plain.stderr


def test_show_and_export(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]], demo_site: DemoSite
) -> None:
    path, _ = demo_db
    truth = demo_site.article(demo_site.special.cross_listed)
    hit = json.loads(
        teaserfeed("search", truth.title, "--json", "--archive", str(path)).stdout.splitlines()[0]
    )
    shown = teaserfeed("show", hit["url"], "--archive", str(path))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == truth.title
    # the lead comes after the header, before the body
    lines = shown.stdout.splitlines()
    assert lines[4] == truth.lead
    assert "teasers (3):" in shown.stdout
    exported = teaserfeed("export", "--archive", str(path), "--format", "jsonl")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(rows) == 107
    assert "exported 107 articles" in exported.stderr


def test_missing_archive_and_bad_config_are_clear_errors(tmp_path: Path) -> None:
    result = teaserfeed("search", "x", "--archive", str(tmp_path / "none.db"))
    assert result.returncode == 2
    assert "none.db: no such archive" in result.stderr
    bad = tmp_path / "sites.toml"
    bad.write_text('[sites.x]\nstart_urls = ["http://127.0.0.1:9/"]\nteaser = "div["\n')
    result = teaserfeed("crawl", "--sites", str(bad), "--archive", str(tmp_path / "a.db"))
    assert result.returncode == 2
    assert "[sites.x] key 'teaser': invalid CSS selector" in result.stderr
    assert "Traceback" not in result.stderr
    result = teaserfeed("crawl", "--url", "news.example.org/world")
    assert result.returncode == 2
    assert "'news.example.org/world' is not an absolute http(s) or file:// URL" in result.stderr
    result = teaserfeed("crawl", "--sites", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml: no such file" in result.stderr


def test_crawl_configured_site(
    demo_server: DemoServer, demo_sites_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "news.db"
    result = teaserfeed(
        "crawl", "demo-news", "--sites", str(demo_sites_file), "--archive", str(db),
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", *ALLOW_TEST_HOSTS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "duplicates merged  2" in result.stdout
    assert articles(db) == 103


def test_scrapy_crawl_site_and_url(
    demo_server: DemoServer, demo_site: DemoSite, demo_sites_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "scrapy.db"
    common = [
        "-s", f"TEASERFEED_ARCHIVE={db}", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING",
        *ALLOW_TEST_HOSTS_SETTING,
    ]  # fmt: skip
    result = run(
        str(BIN / "scrapy"), "crawl", "teasers", "-a", "site=demo-news",
        "-s", f"TEASERFEED_SITES={demo_sites_file}", *common,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert articles(db) == 103

    single = tmp_path / "single.db"
    result = run(
        str(BIN / "scrapy"), "crawl", "teasers", "-a", f"url={demo_server.url}/science/",
        "-s", f"TEASERFEED_ARCHIVE={single}", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING",
        *ALLOW_TEST_HOSTS_SETTING,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(single)
    try:
        main = conn.execute("select url from teasers where region = 'main'").fetchall()
        sources = conn.execute("select name from sources").fetchall()
    finally:
        conn.close()
    expected = {demo_server.url + t.href for t in demo_site.teasers_on("/science/")}
    assert {u for (u,) in main} == expected
    assert sources == [("127-0-0-1",)]


def test_demo_again_starts_its_archive_afresh(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    path, _first = demo_db
    again = teaserfeed("demo", cwd=path.parent)
    assert again.returncode == 0, again.stderr
    assert f"starting {path.name} afresh (it held an earlier demo)" in again.stdout
    # the same story again: run 1 and run 2, not a third run of 304s
    assert "teaserfeed: run 1 finished" in again.stdout
    assert "teaserfeed: run 2 finished" in again.stdout
    assert "run 3" not in again.stdout
    assert articles(path) == 107


def test_demo_refuses_an_archive_of_other_sites(
    demo_server: DemoServer, demo_sites_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "mine.db"
    crawled = teaserfeed(
        "crawl", "--url", f"{demo_server.url}/science/", "--archive", str(db),
        "-s", "DOWNLOAD_DELAY=0", *ALLOW_TEST_HOSTS,
    )  # fmt: skip
    assert crawled.returncode == 0, crawled.stderr
    before = articles(db)
    result = teaserfeed("demo", "--archive", str(db))
    assert result.returncode == 2
    assert result.stderr == (
        f"teaserfeed: {db} holds other sites than the demo (127-0-0-1); the demo starts its "
        "archive afresh each time: give it another --archive\n"
    )
    assert articles(db) == before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str, deadline: float) -> object:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_opens_datasette_with_metadata(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]], demo_site: DemoSite
) -> None:
    path, _ = demo_db
    port = _free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [str(BIN / "teaserfeed"), "serve", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}/demo"
        deadline = time.monotonic() + 60
        hits = _get_json(f"{base}/articles.json?_search=kazakhstan&_shape=array", deadline)
        truth = demo_site.article(demo_site.special.kazakhstan)
        assert isinstance(hits, list)
        assert [h["title"] for h in hits] == [truth.title]
        changes = _get_json(f"{base}/headline_changes.json?_shape=array", deadline)
        assert isinstance(changes, list)
        changed = {demo_site.article(p).title for p in demo_site.special.headline_changed}
        # and the demo's correction, whose new headline its old teaser does not show
        changed.add(f"{demo_site.article(revision_target(demo_site)).title}, city confirms")
        assert {row["article_title"] for row in changes} == changed
        latest = _get_json(f"{base}/latest_per_source.json?_shape=array", deadline)
        assert isinstance(latest, list)
        assert latest
        assert {row["source"] for row in latest} == {"demo-news"}
        meta = _get_json(f"http://127.0.0.1:{port}/-/metadata.json", deadline)
        assert isinstance(meta, dict)
        assert meta["databases"]["demo"]["tables"]["articles"]["fts_table"] == "articles_fts"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_readme_python_examples_run_as_written(
    demo_db: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    # every README example that opens demo.db runs, unchanged, next to the demo's archive
    import re

    path, _ = demo_db
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if '"demo.db"' in b]
    assert len(blocks) >= 2
    for block in blocks:
        result = run(sys.executable, "-c", block, cwd=path.parent)
        assert result.returncode == 0, block + result.stderr
        assert result.stdout.strip()
    assert "127.0.0.1:8000" not in readme
