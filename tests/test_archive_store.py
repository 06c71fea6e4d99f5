"""Archive file handling, schema, writes, dedup into one article, FTS sync, run summaries."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database, Migrations

import archive.store
from archive import (
    RUN_SUMMARY_KEYS,
    SCHEMA_VERSION,
    Archive,
    ArchiveBusyError,
    ArchiveError,
    ArchiveFileError,
    InvalidItemError,
    NotFoundError,
    open_archive,
)
from archive.schema import known_migrations, m001_initial, migrations


def make_article(url: str, **fields: Any) -> dict[str, Any]:
    """An ArticleItem as the pipeline hands it over (ItemAdapter(...).asdict())."""
    item: dict[str, Any] = {
        "source": "demo",
        "url": url,
        "final_url": url,
        "canonical_url": None,
        "title": "Title",
        "lead": None,
        "body": "Body text.",
        "authors": [],
        "published": None,
        "published_from": None,
        "published_raw": None,
        "modified": None,
        "modified_from": None,
        "modified_raw": None,
        "language": "en",
        "section": None,
        "tags": [],
        "top_image": None,
        "word_count": 0,
        "images": [],
        "removed": [],
        "extractor_version": "test-1",
        "fetched_at": "2026-01-01T00:00:00+00:00",
        "status": 200,
        "html": None,
    }
    item.update(fields)
    return item


def make_teaser(url: str, listing: str = "https://n.org/world", **fields: Any) -> dict[str, Any]:
    """A TeaserItem as a dict."""
    item: dict[str, Any] = {
        "source": "demo",
        "listing_url": listing,
        "url": url,
        "position": 0,
        "title": "Teaser title",
        "excerpt": None,
        "image": None,
        "date_text": None,
        "has_read_more": False,
        "region": "main",
        "seen_at": "2026-01-01T00:00:00+00:00",
    }
    item.update(fields)
    return item


def make_fetch(url: str, kind: str = "listing", **fields: Any) -> dict[str, Any]:
    """A FetchItem as a dict."""
    item: dict[str, Any] = {
        "url": url,
        "kind": kind,
        "source": "demo",
        "status": 200,
        "final_url": url,
        "bytes": 1000,
        "ms": 12,
        "error_kind": None,
        "error": None,
        "teasers": None,
        "fetched_at": "2026-01-01T00:00:00+00:00",
    }
    item.update(fields)
    return item


M001_SHAPE = "acfa625809a388b943b948d976a7191365e6cfe19c1b6c677d0babc3f996ed41"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Archive]:
    with open_archive(tmp_path / "news.db", create=True) as opened:
        yield opened


def search_ids(store: Archive, query: str) -> list[int]:
    return [hit.article_id for hit in store.search(query)]


def assert_integrity(store: Archive) -> None:
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    # rank=1 compares the index against the external content table
    store.db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")


# ---- the file ---------------------------------------------------------------------


def test_new_archive_is_wal_with_migrations_recorded(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        assert store.path == path
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # statement journals in memory, not a temp file per batched INSERT
        assert store.db.execute("PRAGMA temp_store").fetchone()[0] == 2
        assert [m.name for m in migrations.applied(store.db)] == known_migrations()
        assert known_migrations()[0] == "m001_initial"
        assert SCHEMA_VERSION == len(known_migrations()) >= 4
        tables = set(store.db.table_names())
        assert {"articles", "article_urls", "teasers", "articles_fts", "runs"} <= tables
        assert {"article_versions", "teaser_positions", "minhash_bands"} <= tables
        views = set(store.db.view_names())
        assert {"latest_articles", "headline_changes", "front_page_history"} <= views
        assert_integrity(store)


def test_reopen_keeps_data_and_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        store.upsert_article(make_article("https://n.org/a"))
    for _ in range(2):
        with open_archive(path, create=True) as store:
            assert store.counts()["articles"] == 1
            assert len(migrations.applied(store.db)) == SCHEMA_VERSION
            assert store.db.journal_mode == "wal"


def schema_shape(db: Database) -> list[tuple[Any, ...]]:
    """Tables, columns, indexes, triggers and views, independent of how the SQL is spelled."""
    shape: list[tuple[Any, ...]] = []
    for kind, name, sql in db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "ORDER BY type, name"
    ).fetchall():
        shape.append((kind, name))
        if kind in ("table", "view"):
            shape += [tuple(row) for row in db.execute(f"PRAGMA table_info([{name}])")]
            shape += [tuple(row) for row in db.execute(f"PRAGMA foreign_key_list([{name}])")]
        if kind == "index":
            shape += [tuple(row) for row in db.execute(f"PRAGMA index_info([{name}])")]
        elif kind == "trigger":
            shape.append((" ".join(sql.split()),))
    return shape


def test_m001_is_frozen() -> None:
    db = Database(memory=True)
    m001_initial(db)
    digest = hashlib.sha256(repr(schema_shape(db)).encode()).hexdigest()
    # migrations are append-only: a schema change is a new migration (m002_...), because
    # archives already created with m001 never run it again
    assert digest == M001_SHAPE, "m001_initial changed: revert it and add a new migration"


def test_open_applies_a_later_migration_to_an_older_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        store.upsert_article(make_article("https://n.org/a"))

    newer = Migrations("teaserfeed")
    for known in migrations.pending(Database(memory=True)):
        newer(name=known.name)(known.fn)

    @newer()
    def m999_article_notes(db: Database) -> None:
        db.table("articles").add_column("notes", str)

    names = [*known_migrations(), "m999_article_notes"]
    monkeypatch.setattr(archive.store, "migrations", newer)
    monkeypatch.setattr(archive.store, "known_migrations", lambda: names)
    with pytest.raises(ArchiveFileError, match="older schema"):
        open_archive(path, readonly=True)
    with open_archive(path, create=True) as store:
        assert [m.name for m in newer.applied(store.db)] == names
        assert "notes" in store.db.table("articles").columns_dict
        assert store.article("https://n.org/a").title == "Title"


def test_archive_from_a_newer_teaserfeed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    open_archive(path, create=True).close()
    db = Database(path)
    db.table("_sqlite_migrations").insert(
        {"migration_set": "teaserfeed", "name": "m999_future", "applied_at": "2099"}
    )
    db.close()
    with pytest.raises(ArchiveFileError, match=r"newer teaserfeed.*m999_future") as info:
        open_archive(path, create=True)
    assert str(path) in str(info.value)


def test_not_sqlite_file_is_an_archive_file_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some text, long enough to have a header\n" * 10)
    for readonly in (False, True):
        with pytest.raises(ArchiveFileError, match="not a SQLite database") as info:
            open_archive(path, readonly=readonly)
        assert str(path) in str(info.value)
    assert path.read_text().startswith("just some text")


def test_directory_is_an_archive_file_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveFileError, match="is a directory") as info:
        open_archive(tmp_path, create=True)
    assert str(tmp_path) in str(info.value)


def test_missing_parent_directory_is_an_archive_file_error(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "news.db"
    with pytest.raises(ArchiveFileError, match="nope") as info:
        open_archive(path, create=True)
    assert str(path) in str(info.value)


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = Database(path)
    db.table("sources").insert({"whatever": 1})
    db.close()
    with pytest.raises(ArchiveFileError, match="not a teaserfeed archive"):
        open_archive(path, create=True)


@pytest.mark.parametrize("readonly", [False, True])
def test_an_empty_file_is_refused_not_taken_over(tmp_path: Path, readonly: bool) -> None:
    # SQLite alone would make a 0-byte file a new database: it may be someone's file
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(ArchiveFileError, match=r"empty file \(0 bytes\).*remove it"):
        open_archive(path, readonly=readonly)
    assert path.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_new_archive_never_exists_half_made(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        assert store.counts()["articles"] == 0
    # built under a temporary name and linked into place: no leftovers beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["news.db"]
    with open_archive(path, readonly=True) as again:
        assert again.counts()["articles"] == 0


def test_unwritable_file_message_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "news.db"
    open_archive(path, create=True).close()
    # root passes every permission check, so ask os.access the way a plain user's would
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(ArchiveFileError, match="not writable") as info:
        open_archive(path, create=True)
    assert str(path) in str(info.value)


def test_readonly_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        store.upsert_article(make_article("https://n.org/a", title="Readonly kazakhstan"))
    with open_archive(path, readonly=True) as reader:
        assert search_ids(reader, "kazakhstan") == [1]
        assert reader.knows_url("https://n.org/a?utm_source=x")
        with pytest.raises(ArchiveError, match="read-only"):
            reader.upsert_article(make_article("https://n.org/b"))
    with pytest.raises(ArchiveFileError, match="does not exist"):
        open_archive(tmp_path / "missing.db", readonly=True)


def test_readonly_reader_sees_commits_of_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as writer, open_archive(path, readonly=True) as reader:
        assert not reader.knows_url("https://n.org/a")
        writer.upsert_article(make_article("https://n.org/a"))
        assert reader.knows_url("https://n.org/a")


# ---- transactions -----------------------------------------------------------------


def test_transaction_rolls_back_everything_on_error(store: Archive) -> None:
    def batch() -> None:
        with store.transaction():
            store.upsert_teaser(make_teaser("https://n.org/a"))
            store.upsert_article(make_article("https://n.org/a"))
            raise RuntimeError("crawler crashed")

    with pytest.raises(RuntimeError):
        batch()
    assert set(store.counts().values()) == {0}


def test_failed_write_inside_a_batch_leaves_the_batch_intact(store: Archive) -> None:
    with store.transaction():
        store.upsert_article(make_article("https://n.org/a"))
        with pytest.raises(InvalidItemError, match="images"):
            store.upsert_article(make_article("https://n.org/b", images=["not a dict"]))
        with pytest.raises(InvalidItemError, match="rejected"):
            store.upsert_article(make_article("https://n.org/c"), run_id=999)
    counts = store.counts()
    assert counts["articles"] == 1
    assert counts["article_urls"] == 1
    assert_integrity(store)


def test_no_half_written_article(store: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "_insert_children", explode)
    with pytest.raises(OSError, match="disk full"):
        store.upsert_article(make_article("https://n.org/a", title="Halfway kazakhstan"))
    assert store.counts()["articles"] == 0
    assert store.counts()["article_urls"] == 0
    assert store.search("kazakhstan") == []
    assert_integrity(store)


def test_missing_required_fields_are_invalid_items(store: Archive) -> None:
    with pytest.raises(InvalidItemError, match="url"):
        store.upsert_article({"source": "demo"})
    with pytest.raises(InvalidItemError, match="listing_url"):
        store.upsert_teaser({"source": "demo", "url": "https://n.org/a"})
    with pytest.raises(InvalidItemError, match="kind"):
        store.record_fetch({"url": "https://n.org/"})


# ---- articles and their URLs ------------------------------------------------------


def test_same_url_twice_is_one_article_unchanged_the_second_time(store: Archive) -> None:
    first = store.upsert_article(make_article("https://n.org/a", html=b"<p>x</p>"))
    second = store.upsert_article(make_article("https://n.org/a"))
    assert (first.status, first.merged) == ("new", False)
    assert (second.status, second.merged) == ("unchanged", False)
    assert second.article_id == first.article_id
    stored = store.article(first.article_id)
    assert stored.version == 1
    assert store.counts()["articles"] == 1
    assert store.page(first.article_id) == b"<p>x</p>"  # html=None keeps the page


def test_changed_body_bumps_the_version(store: Archive) -> None:
    a = store.upsert_article(make_article("https://n.org/a", body="Old words here"))
    b = store.upsert_article(make_article("https://n.org/a", body="New words here"))
    assert b.status == "updated"
    assert b.article_id == a.article_id
    assert store.article(a.article_id).version == 2
    # whitespace or case only: same content hash
    c = store.upsert_article(make_article("https://n.org/a", body="  new WORDS   here "))
    assert c.status == "unchanged"


def test_utm_variant_is_the_same_article(store: Archive) -> None:
    a = store.upsert_article(make_article("https://n.org/a"))
    b = store.upsert_article(make_article("https://n.org/a/?utm_source=rss#top"))
    assert b.article_id == a.article_id
    assert (b.status, b.merged) == ("unchanged", False)
    assert store.counts()["articles"] == 1
    assert store.article("https://N.ORG/a?fbclid=1").id == a.article_id


@pytest.mark.parametrize("target_first", [True, False])
def test_canonical_elsewhere_merges_into_one_article(store: Archive, target_first: bool) -> None:
    target = make_article("https://n.org/story", title="Story", body="Story body")
    copy = make_article(
        "https://m.n.org/story?ref=home",
        final_url="https://m.n.org/story",
        canonical_url="https://n.org/story",
        title="Story",
        body="Story body",
    )
    first, second = (target, copy) if target_first else (copy, target)
    one = store.upsert_article(first)
    two = store.upsert_article(second)
    assert one.article_id == two.article_id
    assert one.status == "new"
    assert two.status == "unchanged"
    assert two.merged is target_first  # the copy joined a stored article under a new key
    assert store.counts()["articles"] == 1
    stored = store.article(one.article_id)
    assert stored.url == "https://n.org/story"
    for url in ("https://n.org/story", "https://m.n.org/story", "https://m.n.org/story?ref=x"):
        assert store.knows_url(url)
        assert store.article(url).id == one.article_id
    assert_integrity(store)


def test_canonical_declared_later_folds_two_stored_articles(store: Archive) -> None:
    store.upsert_teaser(make_teaser("https://m.n.org/story", title="Mobile teaser"))
    copy = store.upsert_article(
        make_article("https://m.n.org/story", title="Copy kazakhstan", images=[{"url": "a.jpg"}])
    )
    target = store.upsert_article(make_article("https://n.org/story", title="Target"))
    assert copy.article_id != target.article_id
    again = store.upsert_article(
        make_article("https://m.n.org/story", canonical_url="https://n.org/story", title="Target")
    )
    assert again.article_id == target.article_id
    assert again.merged
    assert store.counts()["articles"] == 1
    assert store.article("https://m.n.org/story").id == target.article_id
    assert [t.title for t in store.teasers(target.article_id)] == ["Mobile teaser"]
    assert store.search("kazakhstan") == []
    assert_integrity(store)


def test_canonical_to_the_home_page_is_ignored(store: Archive) -> None:
    a = store.upsert_article(make_article("https://n.org/a", canonical_url="https://n.org/"))
    b = store.upsert_article(make_article("https://n.org/b", canonical_url="https://n.org/"))
    assert a.article_id != b.article_id
    assert store.article(a.article_id).url == "https://n.org/a"
    assert store.article(a.article_id).canonical_url == "https://n.org/"
    assert not store.knows_url("https://n.org/")


def test_redirect_registers_every_url_form(store: Archive) -> None:
    out = store.upsert_article(
        make_article("http://n.org/old-slug", final_url="https://n.org/2024/new-slug")
    )
    stored = store.article(out.article_id)
    assert stored.url == "https://n.org/2024/new-slug"
    assert set(stored.urls) == {"http://n.org/old-slug", "https://n.org/2024/new-slug"}
    assert store.known_urls(["http://n.org/old-slug/", "https://n.org/other"]) == {
        "http://n.org/old-slug/"
    }


def test_article_fields_images_removed_and_page(store: Archive) -> None:
    html = "<html><body>Ünïcode page</body></html>".encode()
    out = store.upsert_article(
        make_article(
            "https://n.org/a",
            authors=["Ann Author", "Bo Byline"],
            tags=["politics"],
            published="2024-05-01T10:00:00+02:00",
            images=[{"url": "1.jpg", "caption": "One", "position": 0}, {"url": "2.jpg"}],
            removed=[{"rule": "global:newsletter", "text": "Sign up!"}],
            html=html,
        )
    )
    stored = store.article(out.article_id)
    assert stored.authors == ["Ann Author", "Bo Byline"]
    assert stored.tags == ["politics"]
    assert stored.word_count == 2  # computed when the item says 0
    assert [image["url"] for image in stored.images] == ["1.jpg", "2.jpg"]
    assert store.page(out.article_id) == html
    raw = store.db.execute("SELECT authors FROM articles").fetchone()[0]
    assert raw == '["Ann Author", "Bo Byline"]'
    # re-stored: images and removed replaced, not appended; page replaced
    store.upsert_article(
        make_article("https://n.org/a", images=[{"url": "3.jpg"}], removed=[], html=b"v2")
    )
    assert [image["url"] for image in store.article(out.article_id).images] == ["3.jpg"]
    assert store.counts()["removed"] == 0
    assert store.counts()["pages"] == 1
    assert store.page(out.article_id) == b"v2"


def test_article_not_found_messages(store: Archive) -> None:
    with pytest.raises(NotFoundError, match="no article with id 42"):
        store.article(42)
    with pytest.raises(NotFoundError, match=r"https://n\.org/missing"):
        store.article("https://n.org/missing?utm_source=x")
    with pytest.raises(NotFoundError, match="no run with id 7"):
        store.run(7)
    with pytest.raises(NotFoundError):
        store.finish_run(7, "finished", {})
    store.upsert_article(make_article("https://n.org/a"))
    assert store.article("1").id == 1


# ---- teasers ----------------------------------------------------------------------


def test_teaser_before_article_is_resolved_when_the_article_arrives(store: Archive) -> None:
    assert store.upsert_teaser(make_teaser("https://n.org/a?utm_source=home")) == "new"
    teaser_row = store.db.execute("SELECT article_id, url FROM teasers").fetchone()
    assert teaser_row == (None, "https://n.org/a?utm_source=home")
    out = store.upsert_article(make_article("https://n.org/a"))
    assert [t.article_id for t in store.teasers(out.article_id)] == [out.article_id]


def test_teaser_after_article_is_resolved_at_insert(store: Archive) -> None:
    out = store.upsert_article(make_article("https://m.n.org/a", canonical_url="https://n.org/a"))
    store.upsert_teaser(make_teaser("https://n.org/a/?utm_medium=x"))
    store.upsert_teaser(make_teaser("https://m.n.org/a", title="Mobile"))
    assert len(store.article(out.article_id).teasers) == 2


def test_teaser_seen_again_bumps_counters_without_a_new_row(store: Archive) -> None:
    assert store.upsert_teaser(make_teaser("https://n.org/a", position=3)) == "new"
    seen = make_teaser("https://n.org/a", position=1, seen_at="2026-01-02T00:00:00+00:00")
    assert store.upsert_teaser(seen) == "seen"
    rows = store.db.execute(
        "SELECT times_seen, first_seen, last_seen, last_position FROM teasers"
    ).fetchall()
    assert rows == [(2, "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", 1)]


def test_headline_change_makes_a_new_teaser_row(store: Archive) -> None:
    store.upsert_teaser(make_teaser("https://n.org/a", title="First headline"))
    assert store.upsert_teaser(make_teaser("https://n.org/a", title="Second headline")) == "new"
    assert store.counts()["teasers"] == 2
    out = store.upsert_article(make_article("https://n.org/a", title="Article headline"))
    changes = store.db.execute(
        "SELECT article_id, teaser_title, article_title FROM headline_changes ORDER BY teaser_title"
    ).fetchall()
    assert changes == [
        (out.article_id, "First headline", "Article headline"),
        (out.article_id, "Second headline", "Article headline"),
    ]


def test_same_teaser_on_two_listings_is_two_rows(store: Archive) -> None:
    store.upsert_teaser(make_teaser("https://n.org/a", listing="https://n.org/world"))
    store.upsert_teaser(make_teaser("https://n.org/a", listing="https://n.org/europe"))
    assert store.counts()["teasers"] == 2


# ---- FTS in step ------------------------------------------------------------------


def test_fts_follows_insert_update_and_delete(store: Archive) -> None:
    out = store.upsert_article(make_article("https://n.org/a", body="The aardvark escaped."))
    assert search_ids(store, "aardvark") == [out.article_id]
    store.upsert_article(make_article("https://n.org/a", body="The zebra escaped."))
    assert search_ids(store, "aardvark") == []
    assert search_ids(store, "zebra") == [out.article_id]
    # a lead-only change is indexed too, without a new version
    store.upsert_article(make_article("https://n.org/a", body="The zebra escaped.", lead="Okapi"))
    assert search_ids(store, "okapi") == [out.article_id]
    assert store.article(out.article_id).version == 2
    assert_integrity(store)
    store.db.execute("DELETE FROM articles WHERE id = ?", [out.article_id])
    assert search_ids(store, "zebra") == []
    assert store.counts()["article_urls"] == 0  # cascaded
    assert_integrity(store)


def test_unchanged_refetch_does_not_reindex(store: Archive) -> None:
    store.upsert_article(make_article("https://n.org/a", body="Stable text"))
    statements: list[str] = []
    with store.db.tracer(lambda sql, params: statements.append(sql)):
        out = store.upsert_article(make_article("https://n.org/a", body="Stable text"))
    assert out.status == "unchanged"
    updates = [sql for sql in statements if sql.lstrip().startswith("UPDATE articles")]
    assert updates
    assert not any("body" in sql or "title" in sql for sql in updates)


# ---- fetches, listings, sources, runs ---------------------------------------------


def test_record_fetch_and_listing_state(store: Archive) -> None:
    run = store.start_run(["demo"])
    store.record_fetch(make_fetch("https://n.org/world", teasers=12), run)
    store.record_fetch(make_fetch("https://n.org/world", status=None, error_kind="timeout"), run)
    listing = store.db.execute(
        "SELECT times_fetched, failures, teasers, last_error_kind FROM listings"
    ).fetchone()
    assert listing == (2, 1, 12, "timeout")
    store.record_fetch(make_fetch("https://n.org/world", teasers=10), run)
    listing = store.db.execute("SELECT times_fetched, failures, teasers FROM listings").fetchone()
    assert listing == (3, 0, 10)
    store.record_fetch(make_fetch("https://n.org/a", kind="article", error="x" * 5000), run)
    assert store.counts()["fetches"] == 4
    assert store.counts()["listings"] == 1
    longest = store.db.execute("SELECT max(length(error)) FROM fetches").fetchone()[0]
    assert longest == 500


def test_upsert_source_tracks_config_changes(store: Archive) -> None:
    store.upsert_source("demo", ["https://n.org/world"], {"teaser": "article", "max_pages": 5})
    first = store.db.execute("SELECT config_hash, first_seen FROM sources").fetchone()
    store.upsert_source("demo", ["https://n.org/world"], {"max_pages": 5, "teaser": "article"})
    assert store.db.execute("SELECT config_hash FROM sources").fetchone()[0] == first[0]
    store.upsert_source("demo", ["https://n.org/world"], {"teaser": "div.teaser"})
    row = store.db.execute("SELECT config_hash, first_seen, start_urls FROM sources").fetchone()
    assert row[0] != first[0]
    assert row[1] == first[1]
    assert row[2] == '["https://n.org/world"]'
    assert store.counts()["sources"] == 1


def test_runs_lifecycle(store: Archive) -> None:
    assert store.last_run() is None
    run_id = store.start_run(["demo", "other"])
    run = store.run(run_id)
    assert (run.status, run.sites, run.finished) == ("running", ["demo", "other"], None)
    store.finish_run(run_id, "finished", {"item_scraped_count": 3, "start_time": object()})
    run = store.run(run_id)
    assert run.status == "finished"
    assert run.finished is not None
    assert run.stats["item_scraped_count"] == 3
    last = store.last_run()
    assert last is not None
    assert last.id == run_id


def test_run_summary_exact_numbers(store: Archive) -> None:
    l1, l2 = "https://n.org/world", "https://n.org/europe"
    run1 = store.start_run(["demo"])
    with store.transaction():
        store.record_fetch(make_fetch(l1, teasers=3), run1)
        store.record_fetch(make_fetch(l1, teasers=3), run1)  # same page twice: counted once
        store.record_fetch(make_fetch(l2, teasers=2), run1)
        store.record_fetch(
            make_fetch("https://n.org/asia", status=None, error_kind="timeout"), run1
        )
        store.record_fetch(
            make_fetch("https://n.org/x", "article", status=404, error_kind="http_4xx"), run1
        )
        store.record_fetch(
            make_fetch("https://n.org/y", "article", status=None, error_kind="robots"), run1
        )
        store.upsert_teaser(make_teaser("https://n.org/a?utm_source=home", l1, title="A"), run1)
        store.upsert_teaser(make_teaser("https://n.org/b", l1, title="B"), run1)
        store.upsert_teaser(make_teaser("https://n.org/c-copy", l1, title="C"), run1)
        store.upsert_teaser(make_teaser("https://n.org/a?utm_source=home", l1, title="A"), run1)
        store.upsert_teaser(make_teaser("https://n.org/a?utm_source=rss", l2, title="A"), run1)
        store.upsert_teaser(make_teaser("https://n.org/c", l2, title="C"), run1)
        store.upsert_article(make_article("https://n.org/a", body="A body"), run1)
        store.upsert_article(make_article("https://n.org/b", body="B body"), run1)
        store.upsert_article(
            make_article("https://n.org/c-copy", canonical_url="https://n.org/c", body="C"),
            run1,
        )
    live = store.run_summary(run1)
    assert live["duplicates_merged"] == 2
    store.finish_run(run1, "finished", {"scrapy": 1})
    expected1 = {
        "run_id": run1,
        "status": "finished",
        "sites": ["demo"],
        "listing_pages": 2,
        "teasers_seen": 6,
        "teasers_new": 5,
        "articles_new": 3,
        "articles_updated": 0,
        "articles_unchanged": 0,
        "articles_merged": 0,
        "articles_known": 0,
        # 5 raw teaser URLs (a?utm=home, a?utm=rss, b, c-copy, c) lead to 3 articles
        "duplicates_merged": 2,
        "errors": {"http_4xx": 1, "robots": 1, "timeout": 1},
    }
    summary1 = store.run_summary(run1)
    assert list(summary1) == list(RUN_SUMMARY_KEYS)
    assert {key: summary1[key] for key in expected1} == expected1
    assert summary1["started"]
    assert summary1["finished"]

    run2 = store.start_run(["demo"])
    store.record_fetch(make_fetch(l1, teasers=3), run2)
    store.upsert_teaser(make_teaser("https://n.org/a?utm_source=home", l1, title="A"), run2)
    store.upsert_teaser(make_teaser("https://n.org/c", l1, title="C"), run2)
    store.upsert_teaser(make_teaser("https://n.org/d", l1, title="D"), run2)
    store.upsert_article(make_article("https://n.org/a", body="A body"), run2)
    store.upsert_article(make_article("https://n.org/b", body="B body, corrected"), run2)
    store.upsert_article(make_article("https://n.org/d", body="D body"), run2)
    store.upsert_article(make_article("https://m.n.org/d", canonical_url="https://n.org/d"), run2)
    store.finish_run(run2, "shutdown", {})
    summary2 = store.run_summary(run2)
    expected2 = {
        "status": "shutdown",
        "listing_pages": 1,
        "teasers_seen": 3,
        "teasers_new": 2,
        "articles_new": 1,
        "articles_updated": 2,  # b corrected, d replaced by its mobile copy's body
        "articles_unchanged": 1,
        "articles_merged": 1,
        "articles_known": 1,  # c: linked in run 2, archived in run 1, not fetched again
        "duplicates_merged": 0,
        "errors": {},
    }
    assert {key: summary2[key] for key in expected2} == expected2
    # run 1's numbers do not drift once later runs touch the same rows
    assert store.run_summary(run1) == summary1


def test_a_write_lock_held_past_the_busy_timeout_is_a_clear_error(store: Archive) -> None:
    store.upsert_article(make_article("https://n.org/a"))
    store.db.execute("PRAGMA busy_timeout = 200")
    other = sqlite3.connect(store.path)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ArchiveBusyError) as info:
            store.upsert_article(make_article("https://n.org/b"))
    finally:
        other.rollback()
        other.close()
    assert str(store.path) in str(info.value)
    assert "try again" in str(info.value)
    assert "0.2 s" in str(info.value)
    # nothing half-written, and the next write goes through
    assert [url for (url,) in store.db.execute("SELECT url FROM articles")] == ["https://n.org/a"]
    store.upsert_article(make_article("https://n.org/b"))
    urls = sorted(url for (url,) in store.db.execute("SELECT url FROM articles"))
    assert urls == ["https://n.org/a", "https://n.org/b"]
