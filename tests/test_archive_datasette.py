"""The bundled datasette metadata works against a real archive (in-process, no server)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from archive import (
    datasette_metadata,
    datasette_metadata_path,
    open_archive,
    write_datasette_metadata,
)
from archive.schema import MAIN_TABLES
from tests.test_archive_store import make_article, make_fetch, make_teaser


def run_in_own_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run in a fresh thread, so the Twisted asyncio reactor's loop is left alone."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as error:  # re-raised in the test's thread
            result["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=120)
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.fixture
def news_db(tmp_path: Path) -> Path:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store, store.transaction():
        for n in range(3):
            store.upsert_article(
                make_article(
                    f"https://one.org/{n}",
                    source="one",
                    title=f"One story {n}",
                    body="Kazakhstan" if n == 0 else "Other",
                    authors=["Ann"],
                    published=f"2024-05-0{n + 1}",
                )
            )
        store.upsert_article(make_article("https://two.org/x", source="two", title="Two story"))
        store.upsert_teaser(make_teaser("https://one.org/2?utm_source=x", title="Old headline"))
        store.upsert_teaser(make_teaser("https://two.org/x", title="Two story"))
    return path


async def fetch_all(path: Path, urls: list[str]) -> list[tuple[int, Any]]:
    from datasette.app import Datasette

    ds = Datasette(files=[str(path)], metadata=datasette_metadata(path.stem))
    await ds.invoke_startup()
    responses = []
    for url in urls:
        response = await ds.client.get(url)
        body = response.json() if response.status_code == 200 else response.text
        responses.append((response.status_code, body))
    return responses


def test_search_facets_and_canned_queries(news_db: Path) -> None:
    (search, latest, latest_1, changes, canned_search, empty_search, facets) = run_in_own_loop(
        fetch_all(
            news_db,
            [
                "/news/articles.json?_search=kazakhstan&_shape=array",
                "/news/latest_per_source.json?_shape=array",
                "/news/latest_per_source.json?n=1&_shape=array",
                "/news/headline_changes.json?_shape=array",
                "/news/search.json?q=kazakh*&_shape=array",
                "/news/search.json?_shape=array",
                "/news/articles.json?_size=0",
            ],
        )
    )
    assert search[0] == 200
    assert [row["url"] for row in search[1]] == ["https://one.org/0"]

    assert latest[0] == 200
    assert [(row["source"], row["title"]) for row in latest[1]] == [
        ("one", "One story 2"),
        ("one", "One story 1"),
        ("one", "One story 0"),
        ("two", "Two story"),
    ]
    assert [(row["source"], row["title"]) for row in latest_1[1]] == [
        ("one", "One story 2"),
        ("two", "Two story"),
    ]

    assert changes[0] == 200
    assert changes[1] == [
        {
            "article_id": 3,
            "url": "https://one.org/2",
            "listing_url": "https://n.org/world",
            "teaser_title": "Old headline",
            "article_title": "One story 2",
            "first_seen": "2026-01-01T00:00:00+00:00",
            "times_seen": 1,
        }
    ]

    assert canned_search[0] == 200
    assert [row["article_id"] for row in canned_search[1]] == [1]
    assert "[Kazakhstan]" in canned_search[1][0]["snippet"]
    assert empty_search == (200, [])

    assert facets[0] == 200
    results = {
        name: {row["value"]: row["count"] for row in facet["results"]}
        for name, facet in facets[1]["facet_results"].items()
    }
    assert results["source"] == {"one": 3, "two": 1}
    assert results["authors"] == {"Ann": 3}
    assert results["published"]["2024-05-01"] == 1
    assert "language" in results


def test_metadata_describes_every_table_and_column(tmp_path: Path) -> None:
    metadata = datasette_metadata("whatever")
    assert metadata["title"] == "teaserfeed archive"
    assert list(metadata["databases"]) == ["whatever"]
    tables = metadata["databases"]["whatever"]["tables"]
    with open_archive(tmp_path / "x.db", create=True) as store:
        names = [*store.db.table_names(), *store.db.view_names()]
        shown = [n for n in names if not n.startswith(("articles_fts", "_sqlite_"))]
        assert set(MAIN_TABLES) <= set(shown)
        for table in shown:
            assert tables[table]["description"], table
            described = set(tables[table]["columns"])
            actual = set(store.db[table].columns_dict)
            assert described == actual, table
            assert all(isinstance(text, str) and text for text in tables[table]["columns"].values())
    articles = tables["articles"]
    assert articles["fts_table"] == "articles_fts"
    assert {"array": "authors"} in articles["facets"]
    assert {"date": "published"} in articles["facets"]
    queries = metadata["databases"]["whatever"]["queries"]
    assert {
        "latest_per_source",
        "headline_changes",
        "search",
        "changed_articles",
        "versions_of_article",
        "largest_clusters",
        "failing_sources",
        "latest_atom",
    } <= set(queries)


def test_write_datasette_metadata(tmp_path: Path) -> None:
    out = write_datasette_metadata(tmp_path / "my-archive.db", tmp_path / "meta.json")
    assert json.loads(out.read_text("utf-8")) == datasette_metadata("my-archive")
    assert datasette_metadata_path().name == "metadata.yml"
    assert datasette_metadata_path().is_file()


@pytest.fixture
def research_db(tmp_path: Path) -> Path:
    from tests.test_archive_clusters import text

    path = tmp_path / "research.db"
    with open_archive(path, create=True) as store:
        run = store.start_run(["one", "two"])
        store.record_fetch(make_fetch("https://one.org/", source="one", teasers=2), run)
        store.record_fetch(make_fetch("https://two.org/", source="two", teasers=0), run)
        store.upsert_article(
            make_article("https://one.org/a", source="one", title="Bridge vote", body=text(1)),
            run,
        )
        store.upsert_article(
            make_article("https://one.org/a", source="one", title="Bridge approved", body=text(1)),
            run,
        )
        store.upsert_article(
            make_article("https://two.org/copy", source="two", title="Copy", body=text(1) + " AP"),
            run,
        )
        store.upsert_article(make_article("https://two.org/b", source="two", body=text(2)), run)
        store.finish_run(run, "finished", {})
    return path


def test_research_canned_queries(research_db: Path) -> None:
    changed, versions, clusters, failing, atom_rows, history = run_in_own_loop(
        fetch_all(
            research_db,
            [
                "/research/changed_articles.json?_shape=array",
                "/research/versions_of_article.json?article=1&_shape=array",
                "/research/largest_clusters.json?_shape=array",
                "/research/failing_sources.json?_shape=array",
                "/research/latest_atom.json?_shape=array",
                "/research/front_page_history.json?_shape=array",
            ],
        )
    )
    assert changed[0] == 200
    assert [(r["article_id"], r["versions"], r["earlier_versions"]) for r in changed[1]] == [
        (1, 2, 1)
    ]
    assert changed[1][0]["changed_fields"] == "title"
    assert [(r["version"], r["title"], r["changed_fields"]) for r in versions[1]] == [
        (1, "Bridge vote", '["title"]'),
        (2, "Bridge approved", "current"),
    ]
    assert [(r["cluster_id"], r["articles"], r["sites"]) for r in clusters[1]] == [(1, 2, 2)]
    assert clusters[1][0]["title"] == "Bridge approved"
    assert [(r["site"], r["teasers_found"], r["problem"]) for r in failing[1]] == [
        ("two", 0, "no teasers")
    ]
    assert {r["atom_title"] for r in atom_rows[1]} == {"Bridge approved", "Copy", "Title"}
    assert history == (200, [])


def test_atom_feed_of_latest_articles(research_db: Path) -> None:
    import datasette_atom  # noqa: F401  (in the datasette and dev extras)

    async def fetch() -> tuple[int, str, str]:
        from datasette.app import Datasette

        ds = Datasette(files=[str(research_db)], metadata=datasette_metadata("research"))
        await ds.invoke_startup()
        response = await ds.client.get("/research/latest_atom.atom")
        return response.status_code, response.headers["content-type"], response.text

    status, content_type, body = run_in_own_loop(fetch())
    assert status == 200, body
    assert content_type.startswith("application/xml") or "atom" in content_type
    assert "<feed" in body
    assert "<title>Bridge approved</title>" in body
    assert body.count("<entry>") == 3
