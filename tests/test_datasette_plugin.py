"""teaserfeed's datasette plugin: plain `datasette news.db` gets what `teaserfeed serve` shows."""

from __future__ import annotations

import importlib.metadata
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from archive import open_archive
from tests.test_archive_datasette import news_db, run_in_own_loop
from tests.test_archive_store import make_article

BIN = Path(sys.executable).parent
__all__ = ["news_db"]  # the fixture, imported


@pytest.fixture
def archive_under_any_name(news_db: Path) -> Path:
    """The news archive renamed: the plugin keys on the schema, not on the file name."""
    path = news_db.with_name("whatever-2026.sqlite")
    news_db.rename(path)
    with open_archive(path, create=True) as store:
        article = make_article(
            "https://one.org/long", source="one", title="A long read", body="First.\n\nSecond."
        )
        store.upsert_article({**article, "lead": "The lead.", "authors": ["Ann", "Bo"]})
    return path


async def get_pages(files: list[Path], urls: list[str]) -> list[tuple[int, str]]:
    """Fetch `urls` from a datasette over `files` given no metadata at all."""
    from datasette.app import Datasette

    from archive.datasette import register

    register()  # what the entry point does in a `datasette` process
    ds = Datasette(files=[str(f) for f in files])
    await ds.invoke_startup()
    pages = []
    for url in urls:
        response = await ds.client.get(url)
        pages.append((response.status_code, response.text))
    return pages


def text_of(html: str) -> str:
    return " ".join(lxml.html.fromstring(html).text_content().split())


def test_entry_point_registers_the_plugin() -> None:
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="datasette")}
    assert found.get("teaserfeed") == "archive.datasette"


def test_plain_datasette_gets_metadata_for_an_archive_of_any_name(
    archive_under_any_name: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
    db = archive_under_any_name.stem
    (
        (_, metadata),
        (_, facets),
        (_, canned),
        (_, index),
        (_, database),
        (_, article),
        (_, other_page),
    ) = run_in_own_loop(
        get_pages(
            [archive_under_any_name, other],
            [
                "/-/metadata.json",
                f"/{db}/articles.json?_size=0",
                f"/{db}/search.json?q=kazakhstan&_shape=array",
                "/",
                f"/{db}",
                f"/{db}/articles/5",
                "/other",
            ],
        )
    )
    described = json.loads(metadata)["databases"]
    assert set(described) == {db}  # the other database is left alone
    assert described[db]["tables"]["articles"]["fts_table"] == "articles_fts"
    assert set(json.loads(facets)["facet_results"]) >= {"source", "language", "authors"}
    assert [row["article_id"] for row in json.loads(canned)] == [1]

    # index and database page: reading tables first, internals hidden, a search box
    index_text = text_of(index)
    assert "Search the articles" in index_text
    links = index_text.split("Search", 2)[-1]
    assert links.index("articles") < links.index("teasers") < links.index("runs")
    assert "minhash_bands" not in index_text
    assert "things" in index_text  # the other database as datasette shows it
    page = lxml.html.fromstring(database)
    read = [a.text_content() for a in page.cssselect("ul.tf-reading")[0].cssselect("li > a")]
    assert read[:5] == ["articles", "teasers", "front_page_history", "headline_changes", "runs"]
    assert not {"article_minhash", "minhash_bands", "pages"} & set(read)
    assert "from articles" in page.cssselect("#sql-editor")[0].text_content()

    # the article page reads as an article
    view = lxml.html.fromstring(article)
    assert view.cssselect("article.tf-article h1")[0].text_content() == "A long read"
    assert [p.text_content() for p in view.cssselect("article.tf-article > p")][-2:] == [
        "First.",
        "Second.",
    ]
    assert "By Ann, Bo" in text_of(article)

    assert "tf-search" not in other_page  # a non-archive database: datasette's own page


def test_table_search_shows_snippets_and_bad_search_keeps_navigation(
    archive_under_any_name: Path,
) -> None:
    db = archive_under_any_name.stem
    (status, found), (bad_status, bad), (_, glossary) = run_in_own_loop(
        get_pages(
            [archive_under_any_name],
            [
                f"/{db}/articles?_search=kazakhstan&_sort_desc=published",
                f"/{db}/articles?_search=%22unclosed",
                f"/{db}/articles",
            ],
        )
    )
    assert status == 200
    assert "<mark>Kazakhstan</mark>" in found
    assert "Best matches first" in found
    assert bad_status == 400
    page = lxml.html.fromstring(bad)
    assert "This search could not be run" in text_of(bad)
    assert page.cssselect("input[name=q]")[0].get("value") == '"unclosed'
    assert {a.text_content().strip() for a in page.cssselect("p.crumbs a")} >= {"home", db}
    assert 'class="tf-glossary"' in glossary  # the column glossary starts folded


def test_plain_datasette_cli_uses_the_plugin(archive_under_any_name: Path) -> None:
    run = subprocess.run(
        [
            str(BIN / "datasette"),
            str(archive_under_any_name),
            "--get",
            f"/{archive_under_any_name.stem}/latest_per_source.json?_shape=array",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    rows: list[dict[str, Any]] = json.loads(run.stdout)
    assert {row["source"] for row in rows} == {"one", "two"}


def test_serve_rejects_a_bad_setting_in_one_line(news_db: Path) -> None:
    run = subprocess.run(
        [str(BIN / "teaserfeed"), "serve", str(news_db), "--setting", "no_such_thing", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "teaserfeed: --setting no_such_thing 1: no_such_thing is not a valid option "
        "(--help-settings to see all)"
    ]
    typed = subprocess.run(
        [str(BIN / "teaserfeed"), "serve", str(news_db), "--setting", "sql_time_limit_ms", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert typed.returncode == 2
    assert typed.stderr.strip() == (
        'teaserfeed: --setting sql_time_limit_ms x: "sql_time_limit_ms" should be an integer'
    )


def test_serve_passes_several_files_and_settings_through(news_db: Path, tmp_path: Path) -> None:
    import os
    import socket
    import time
    import urllib.error
    import urllib.request

    second = tmp_path / "second.db"
    open_archive(second, create=True).close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(BIN / "teaserfeed"), "serve", str(news_db), str(second), "--port", str(port),
            "--setting", "sql_time_limit_ms", "2500", "--setting", "truncate_cells_html", "90",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/settings.json") as r:
                    settings = json.loads(r.read())
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, "serve did not start"
                assert time.monotonic() < deadline, "serve did not start in time"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/metadata.json") as r:
            described = json.loads(r.read())["databases"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (settings["sql_time_limit_ms"], settings["truncate_cells_html"]) == (2500, 90)
    assert set(described) == {"news", "second"}


def test_serve_takes_archive_like_every_other_command(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "TEASERFEED_ARCHIVE"}
    helped = subprocess.run(
        [str(BIN / "teaserfeed"), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "--archive FILE" in helped.stdout
    assert "$TEASERFEED_ARCHIVE or news.db" in " ".join(helped.stdout.split())
    # none given: the default archive, with the same one-line error as other commands
    missing = subprocess.run(
        [str(BIN / "teaserfeed"), "serve"], capture_output=True, text=True, timeout=60,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr == (
        "teaserfeed: news.db: no such archive; run `teaserfeed demo` or `crawl` first\n"
    )
    named = subprocess.run(
        [str(BIN / "teaserfeed"), "serve", "--archive", "gone.db"], capture_output=True,
        text=True, timeout=60, cwd=tmp_path, env={**env, "TEASERFEED_ARCHIVE": "x.db"},
    )  # fmt: skip
    assert named.stderr.startswith("teaserfeed: gone.db: no such archive")


def test_a_plain_table_search_is_ranked_with_snippets(archive_under_any_name: Path) -> None:
    db = archive_under_any_name.stem
    with open_archive(archive_under_any_name, create=True) as store:
        filler = " ".join(["The tram line and the river district on a quiet evening."] * 20)
        stories = [
            ("Tram news", f"{filler} Quillwort once."),
            ("Quillwort at last", "Quillwort, quillwort everywhere: the quillwort harbour."),
            ("River news", f"Quillwort twice, quillwort. {filler}"),
        ]
        for i, (title, body) in enumerate(stories):  # the best match is the middle one
            store.upsert_article(
                {**make_article(f"https://one.org/h{i}", source="one", title=title),
                 "body": body, "published": f"2026-11-0{i + 1}T08:00:00+00:00"}
            )  # fmt: skip
    (plain, _), (kept, _), (json_status, _) = run_in_own_loop(
        get_status_and_location(
            [archive_under_any_name],
            [
                f"/{db}/articles?_search=quillwort",
                f"/{db}/articles?_search=quillwort&source=one",
                f"/{db}/articles.json?_search=quillwort",
            ],
        )
    )
    assert plain == (302, f"/{db}/search?q=quillwort")
    assert kept[0] == 200  # a filtered search stays in the table, with its facets
    assert json_status == (200, None)
    ((status, page),) = run_in_own_loop(get_pages([archive_under_any_name], [plain[1]]))
    assert status == 200
    view = lxml.html.fromstring(page)
    titles = [a.text_content() for a in view.cssselect("table.rows-and-columns td.col-title a")]
    assert titles == ["Quillwort at last", "River news", "Tram news"]  # best match first
    assert "<mark>quillwort</mark>" in page.lower()
    table_link = view.cssselect("p.tf-note a")[0].get("href")
    assert table_link == f"/{db}/articles?_search=quillwort&_sort_desc=published"


async def get_status_and_location(
    files: list[Path], urls: list[str]
) -> list[tuple[tuple[int, str | None], str]]:
    """(status, Location) and body of each of `urls`, redirects not followed."""
    from datasette.app import Datasette

    from archive.datasette import register

    register()
    ds = Datasette(files=[str(f) for f in files])
    await ds.invoke_startup()
    answers = []
    for url in urls:
        response = await ds.client.get(url)
        answers.append(((response.status_code, response.headers.get("location")), response.text))
    return answers
