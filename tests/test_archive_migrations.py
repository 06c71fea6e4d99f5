"""An archive written by the previous schema is upgraded in place when it is opened."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from archive import clusters, open_archive
from archive.schema import FTS_AUTOMERGE, known_migrations, migrations
from tests.test_archive_clusters import text
from tests.test_archive_store import assert_integrity, make_article

FIRST_OF_ISSUE_6 = "m003_article_versions"


def old_archive(path: Path) -> None:
    """An archive as the schema before m003 made it, filled the way that code filled it."""
    db = Database(path)
    migrations.apply(db, stop_before=FIRST_OF_ISSUE_6)
    assert FIRST_OF_ISSUE_6 not in {m.name for m in migrations.applied(db)}
    assert "article_versions" not in db.table_names()
    db.execute(
        "INSERT INTO runs (id, started, status, sites, stats, teasers_seen) "
        "VALUES (1, '2026-01-01', 'finished', '[\"demo\"]', '{}', 3)"
    )
    story, copy = text(1), text(1).replace("council", "mayor", 1) + " Newswire."
    for article_id, url, body in (
        (1, "https://n.org/story", story),
        (2, "https://wire.org/story", copy),
        (3, "https://n.org/other", text(2)),
    ):
        db.execute(
            "INSERT INTO articles (id, url, source, title, body, content_hash, first_seen, "
            "last_fetched, version, first_run_id, last_run_id) "
            "VALUES (?, ?, 'demo', ?, ?, 'old-hash', '2026-01-01', '2026-01-01', 1, 1, 1)",
            [article_id, url, f"Title {article_id}", body],
        )
        db.execute(
            "INSERT INTO article_urls (url_key, article_id, url, kind, first_seen) "
            "VALUES (?, ?, ?, 'fetched', '2026-01-01')",
            [url, article_id, url],
        )
    db.execute(
        "INSERT INTO teasers (source, listing_url, url, url_key, article_id, title, teaser_key, "
        "first_seen, last_seen, times_seen, last_position, first_run_id, last_run_id) "
        "VALUES ('demo', 'https://n.org/world', 'https://n.org/story', 'https://n.org/story', "
        "1, 'Teaser', 'k1', '2026-01-01', '2026-01-03', 3, 4, 1, 1)"
    )
    db.conn.commit()
    db.close()


def test_previous_schema_is_upgraded_with_data_intact(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_archive(path)
    with open_archive(path, create=True) as store:
        assert [m.name for m in migrations.applied(store.db)] == known_migrations()
        assert store.counts()["articles"] == 3
        assert store.article("https://n.org/story").title == "Title 1"
        assert [h.article_id for h in store.search("newswire")] == [2]
        # teaser history: what m001 kept becomes the first position span
        history = store.front_page_history(1)
        assert [(r["position"], r["times_seen"], r["last_seen"]) for r in history] == [
            (4, 3, "2026-01-03")
        ]
        # near-duplicates of the stored articles are clustered by the upgrade
        assert dict(store.db.execute("SELECT id, cluster_id FROM articles").fetchall()) == {
            1: 1,
            2: 1,
            3: 3,
        }
        # and the new features work on the old rows
        out = store.upsert_article(
            make_article("https://n.org/other", title="Title 3", body=text(2) + " Corrected.")
        )
        assert out.status == "updated"
        [old] = store.article(3).versions
        assert (old.version, old.content_hash, old.fetched_at) == (1, "old-hash", "2026-01-01")
        assert_integrity(store)
    with open_archive(path, readonly=True) as reader:
        assert reader.article(3).version == 2


def test_m008_drops_the_unused_article_indexes_and_keeps_the_used_ones(tmp_path: Path) -> None:
    path = tmp_path / "m007.db"
    db = Database(path)
    migrations.apply(db, stop_before="m008_drop_unused_indexes")
    before = {i.name for i in db.table("articles").indexes}
    assert {"idx_articles_url", "idx_articles_content_hash"} <= before
    db.close()
    with open_archive(path) as store:
        after = {i.name for i in store.db.table("articles").indexes}
        assert after == before - {
            "idx_articles_url",
            "idx_articles_canonical_url",
            "idx_articles_content_hash",
        }
        # what the dropped indexes might have served still works: a URL finds its article
        out = store.upsert_article(make_article("https://n.org/a?utm_source=x", body=text(3)))
        assert store.article("https://n.org/a").id == out.article_id
        assert_integrity(store)


def test_m009_sets_fts_automerge_and_keeps_search_and_clusters(tmp_path: Path) -> None:
    path = tmp_path / "m008.db"
    db = Database(path)
    migrations.apply(db, stop_before="m009_fts_automerge")
    story = text(1)
    for article_id, body in ((1, story), (2, story + " Newswire.")):
        db.execute(
            "INSERT INTO articles (id, url, source, title, body, content_hash, first_seen, "
            "last_fetched, version, cluster_id) "
            "VALUES (?, ?, 'demo', 'T', ?, 'h', '2026-01-01', '2026-01-01', 1, ?)",
            [article_id, f"https://n.org/{article_id}", body, article_id],
        )
        db.execute(
            "INSERT INTO article_urls (url_key, article_id, url, kind, first_seen) "
            "VALUES (?, ?, ?, 'fetched', '2026-01-01')",
            [f"https://n.org/{article_id}", article_id, f"https://n.org/{article_id}"],
        )
        # as the m008 writer indexed a body: its signature and band rows
        clusters.assign(db, article_id, body)
    db.conn.commit()
    assert "automerge" not in dict(db.execute("SELECT k, v FROM articles_fts_config").fetchall())
    db.close()
    with open_archive(path) as store:
        config = dict(store.db.execute("SELECT k, v FROM articles_fts_config").fetchall())
        assert config["automerge"] == FTS_AUTOMERGE
        assert "bm25" in config["rank"]
        assert [hit.article_id for hit in store.search("newswire")] == [2]
        assert store.article(2).cluster_id == 1
        # a near-copy stored after the upgrade joins the cluster of the rows from before it
        out = store.upsert_article(make_article("https://n.org/3", body=story + " More."))
        assert out.status == "new"
        assert store.article(3).cluster_id == 1
        assert {other for other, _ in store.near_duplicates(3)} == {1, 2}
        assert_integrity(store)
