"""Archive.upsert_articles and store_batch: a batch stores what single upserts would."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from archive import (
    Archive,
    ArchiveBusyError,
    BatchItem,
    InvalidItemError,
    open_archive,
    outcome_counts,
)
from tests.test_archive_clusters import text
from tests.test_archive_store import assert_integrity, make_article

# every table a stored article writes to, compared row by row
TABLES = (
    "articles",
    "article_urls",
    "article_versions",
    "article_minhash",
    "minhash_bands",
    "images",
    "removed",
    "pages",
    "teasers",
)


def _items() -> list[dict[str, Any]]:
    story, other = text("story", 200), text("other", 200)
    edited = story.replace("council", "councillors", 3)
    return [
        make_article("https://n.org/a", title="A", body=story, html=b"<p>a</p>",
                     images=[{"url": "https://n.org/a.jpg", "caption": "A photo"}],
                     removed=[{"rule": "newsletter", "text": "Sign up"}]),
        make_article("https://n.org/b", title="B", body=other),
        # a near-copy under another URL: same cluster as a
        make_article("https://mirror.example/a-copy", title="A", body=edited,
                     fetched_at="2026-01-01T01:00:00+00:00"),
        # b again, under another URL naming b as its canonical URL: merged into b
        make_article("https://n.org/amp/b", canonical_url="https://n.org/b",
                     title="B", body=other, fetched_at="2026-01-01T02:00:00+00:00"),
        # a revised: a new version, the old one kept
        make_article("https://n.org/a", title="A, revised", body=story + " Update follows.",
                     html="<p>a2</p>", fetched_at="2026-01-02T00:00:00+00:00"),
        # a page whose canonical URL is a fourth, unseen URL of c
        make_article("https://n.org/c?page=1", canonical_url="https://n.org/c", title="C",
                     body=text("third", 150), fetched_at="2026-01-03T00:00:00+00:00"),
        # too short to be signed
        make_article("https://n.org/d", title="D", body="Short."),
    ]  # fmt: skip


def _dump(store: Archive) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(store.db.execute(f"SELECT * FROM [{table}]").fetchall(), key=repr)
        for table in TABLES
    }


def _filled(path: Path, batch: bool) -> tuple[Archive, list[Any], int]:
    store = open_archive(path, create=True)
    run_id = store.start_run(["demo"])
    store.upsert_teaser(
        {
            "source": "demo",
            "listing_url": "https://n.org/",
            "url": "https://n.org/c",
            "title": "C",
            "seen_at": "2026-01-01T00:00:00+00:00",
        },
        run_id,
    )
    if batch:
        outcomes = store.upsert_articles(_items(), run_id)
    else:
        outcomes = [store.upsert_article(item, run_id) for item in _items()]
    return store, outcomes, run_id


def test_a_batch_stores_what_single_upserts_store(tmp_path: Path) -> None:
    single, single_outcomes, run_a = _filled(tmp_path / "single.db", batch=False)
    batch, batch_outcomes, run_b = _filled(tmp_path / "batch.db", batch=True)
    with single, batch:
        assert batch_outcomes == single_outcomes
        assert [o.status for o in batch_outcomes] == [
            "new", "new", "new", "unchanged", "updated", "new", "new"
        ]  # fmt: skip
        assert [o.merged for o in batch_outcomes] == [
            False,
            False,
            False,
            True,
            False,
            False,
            False,
        ]
        assert _dump(batch) == _dump(single)
        # the same counts; only the clock readings of the two runs may differ
        clock = ("started", "finished")
        summary_a, summary_b = single.run_summary(run_a), batch.run_summary(run_b)
        assert {k: v for k, v in summary_b.items() if k not in clock} == {
            k: v for k, v in summary_a.items() if k not in clock
        }
        assert batch.run_summary(run_b)["articles_new"] == 5
        assert batch.run_summary(run_b)["articles_merged"] == 1
        a = batch.article("https://n.org/a")
        assert a.cluster_id == batch.article("https://mirror.example/a-copy").cluster_id == a.id
        assert [v.title for v in batch.versions(a.id)] == ["A", "A, revised"]
        assert batch.page(a.id) == b"<p>a2</p>"
        assert [t.title for t in batch.article("https://n.org/c").teasers] == ["C"]
        assert [hit.title for hit in batch.search("councillors")] == ["A"]
        assert_integrity(batch)


def test_a_bad_item_rolls_the_whole_batch_back(tmp_path: Path) -> None:
    with open_archive(tmp_path / "news.db", create=True) as store:
        items = _items()
        items[3] = {**items[3], "removed": "not a list"}
        with pytest.raises(InvalidItemError, match="removed"):
            store.upsert_articles(items)
        assert store.counts()["articles"] == 0
        assert store.counts()["article_urls"] == 0
        assert store.search("councillors") == []
        assert store.upsert_articles([]) == []
        assert_integrity(store)


# ---- Archive.store_batch: the one write path of the writer, ingest and reextract ----


def _teaser(url: str, title: str) -> dict[str, Any]:
    return {"source": "demo", "listing_url": "https://n.org/", "url": url, "title": title}


def test_store_batch_stores_in_order_and_loses_a_bad_item_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_archive(tmp_path / "news.db", create=True) as store:
        run_id = store.start_run(["demo"])
        items = [
            BatchItem("article", make_article("https://n.org/a", title="A"), run_id),
            BatchItem("article", make_article("https://n.org/b", images="no list"), run_id),
            BatchItem("article", make_article("https://n.org/c", title="C"), run_id),
            BatchItem("teaser", _teaser("https://n.org/c", "C"), run_id),  # names c
            BatchItem("fetch", {"url": "https://n.org/c", "kind": "article", "status": 200}),
            BatchItem("teaser", {"source": "demo", "url": "https://n.org/x"}, run_id),
            BatchItem("extraction", {"article_id": 999, "title": "Nobody's"}),
        ]
        results = store.store_batch(items)
        assert [r.item for r in results] == [items[i] for i in (0, 1, 2, 3, 4, 5, 6)]
        assert [type(r.error).__name__ if r.error else r.outcome for r in results][3:] == [
            "new", None, "InvalidItemError", "NotFoundError"
        ]  # fmt: skip
        assert [r.outcome.status for r in results[:3] if r.error is None] == ["new", "new"]
        assert outcome_counts(results) == {"articles_new": 2, "teasers_new": 1, "store_errors": 3}
        assert "could not store a article (https://n.org/b)" in caplog.text
        assert "could not store a teaser (https://n.org/x)" in caplog.text
        assert [a.title for a in store.articles(order="id")] == ["A", "C"]
        assert [t.title for t in store.article("https://n.org/c").teasers] == ["C"]
        assert store.run_summary(run_id)["articles_new"] == 2
        assert store.counts()["fetches"] == 1
        assert_integrity(store)


def test_store_batch_waits_for_another_connections_write_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.store

    monkeypatch.setattr(archive.store, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        other = sqlite3.connect(path, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # a crawl's writer holding the lock for ~0.5 s
        released = threading.Timer(0.5, other.rollback)
        released.start()
        started = time.monotonic()
        results = store.store_batch(
            BatchItem("teaser", _teaser(f"https://n.org/{i}", f"Story {i}")) for i in range(5)
        )
        released.join()
        other.close()
        assert time.monotonic() - started >= 0.5
        assert outcome_counts(results) == {"teasers_new": 5}
        assert "locked for writing" in caplog.text
        assert store.counts()["teasers"] == 5


def test_store_batch_gives_up_after_its_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.store

    monkeypatch.setattr(archive.store, "BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        other = sqlite3.connect(path)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ArchiveBusyError, match="locked for writing"):
                store.store_batch(
                    [BatchItem("teaser", _teaser("https://n.org/1", "1"))], attempts=2
                )
        finally:
            other.rollback()
            other.close()
        assert store.counts()["teasers"] == 0


@pytest.mark.parametrize("authors", ["Alice Smith", ["Alice Smith"]])
def test_a_re_extraction_stores_authors_as_upsert_article_does(
    tmp_path: Path, authors: str | list[str]
) -> None:
    with open_archive(tmp_path / "news.db", create=True) as store:
        stored = store.upsert_article(make_article("https://n.org/a", authors=authors))
        assert store.article(stored.article_id).authors == ["Alice Smith"]
        store.update_extraction(stored.article_id, {"authors": [], "tags": "politics"})
        assert store.article(stored.article_id).authors == []
        assert store.article(stored.article_id).tags == ["politics"]
        store.update_extraction(stored.article_id, {"authors": authors, "tags": None})
        assert store.article(stored.article_id).authors == ["Alice Smith"]
        assert store.article(stored.article_id).tags == []
        fields = {"article_id": stored.article_id, "authors": "Bob Jones", "body": "New text."}
        [result] = store.store_batch([BatchItem("extraction", fields)])
        assert result.outcome is True  # the body changed
        assert store.article(stored.article_id).authors == ["Bob Jones"]
        assert store.article(stored.article_id).body == "New text."


def test_a_large_batch_inserts_its_articles_a_hundred_rows_a_statement(tmp_path: Path) -> None:
    # FTS5 costs more per row in longer statements; a larger transaction still shares its
    # COMMIT (benchmarks/README.md, issue 19 round 3)
    items = [
        make_article(f"https://n.org/{i}", title=f"T{i}", body=f"{text(i, 30)} marker{i % 7}")
        for i in range(250)
    ]
    statements: list[str] = []
    with open_archive(tmp_path / "big.db", create=True) as store:
        with store.db.tracer(lambda sql, params: statements.append(sql)):
            outcomes = store.upsert_articles(items)
        inserts = [sql for sql in statements if sql.startswith("INSERT INTO articles (")]
        assert [sql.count("(?") for sql in inserts] == [100, 100, 50]
        assert [o.status for o in outcomes] == ["new"] * 250
        assert store.counts()["articles"] == 250
        assert len(store.search("marker3", limit=100)) == len(range(3, 250, 7))
        assert store.article("https://n.org/249").title == "T249"
        assert_integrity(store)


def _crawl_items(run_id: int) -> list[BatchItem]:
    # what a crawl's writer receives: each article page's fetch, then its article
    items: list[BatchItem] = []
    for i in range(5):
        url = f"https://n.org/{i}"
        fetch = {"url": url, "kind": "article", "status": 200, "fetched_at": f"2026-01-0{i + 1}"}
        items.append(BatchItem("fetch", fetch, run_id))
        items.append(BatchItem("article", make_article(url, body=text(f"s{i}", 80)), run_id))
    listing = {"url": "https://n.org/", "kind": "listing", "source": "demo", "status": 200,
               "fetched_at": "2026-01-01"}  # fmt: skip
    items.append(BatchItem("fetch", listing, run_id))
    # a 304 for an article added earlier in this batch: it must find that article stored
    later = "2026-01-05T00:00:00+00:00"
    not_modified = {"url": "https://n.org/0", "kind": "article", "status": 304}
    items.append(BatchItem("fetch", {**not_modified, "fetched_at": later}, run_id))
    return items


def test_a_crawls_fetches_do_not_split_its_run_of_articles(tmp_path: Path) -> None:
    # a fetch that reads no article is stored as it comes, so the batch's articles go in
    # one INSERT (one FTS5 segment) instead of one statement each
    statements: list[str] = []
    with open_archive(tmp_path / "batch.db", create=True) as batch:
        run_id = batch.start_run(["demo"])
        with batch.db.tracer(lambda sql, params: statements.append(sql)):
            results = batch.store_batch(_crawl_items(run_id))
        inserts = [sql for sql in statements if sql.startswith("INSERT INTO articles (")]
        assert [sql.count("(?") for sql in inserts] == [5]
        assert [r.error for r in results] == [None] * len(results)
        assert batch.article("https://n.org/0").last_fetched == "2026-01-05T00:00:00+00:00"
        with open_archive(tmp_path / "single.db", create=True) as single:
            single_run = single.start_run(["demo"])
            for item in _crawl_items(single_run):
                single.store_batch([item])
            # the same rows as item by item, fetch rows included (their ids aside)
            fetches = "SELECT url, kind, status, fetched_at FROM fetches ORDER BY url, status"
            assert batch.db.execute(fetches).fetchall() == single.db.execute(fetches).fetchall()
            assert _dump(batch) == _dump(single)
            assert_integrity(batch)
