"""Archive schema: tables, indexes, FTS and views, built by append-only migrations."""

from __future__ import annotations

from sqlite_utils import Database, Migrations
from sqlite_utils.db import ForeignKey

__all__ = [
    "FTS_AUTOMERGE",
    "FTS_COLUMNS",
    "FTS_TOKENIZE",
    "MAIN_TABLES",
    "MIGRATION_SET",
    "RUN_COUNTERS",
    "SCHEMA_VERSION",
    "known_migrations",
    "migrations",
]

MIGRATION_SET = "teaserfeed"
FTS_COLUMNS = ("title", "lead", "body")
# Language-neutral tokens (news comes in many languages; an English stemmer would be wrong
# for most of them and halves indexing speed); prefix queries (`elect*`) cover inflection.
FTS_TOKENIZE = "unicode61 remove_diacritics 2"
# bm25 weights of title, lead and body for FTS5's `ORDER BY rank`
FTS_RANK = "bm25(10.0, 3.0, 1.0)"
# segments of one level FTS5 merges together (its default is 4)
FTS_AUTOMERGE = 8
# exact per-run counters on `runs`, bumped in the same transaction as each write
RUN_COUNTERS = (
    "teasers_seen",
    "teasers_new",
    "articles_new",
    "articles_updated",
    "articles_unchanged",
    "articles_merged",
)
MAIN_TABLES = (
    "sources",
    "runs",
    "fetches",
    "listings",
    "articles",
    "article_urls",
    "teasers",
    "images",
    "removed",
    "pages",
    "article_versions",
    "teaser_positions",
)

# Append-only: a schema change is a new function below, never an edit of an applied one.
migrations = Migrations(MIGRATION_SET)


@migrations()
def m001_initial(db: Database) -> None:
    """Create the v1 tables, indexes, full-text index and views."""
    db.table("sources").create(
        {
            "name": str,
            "start_urls": str,
            "config": str,
            "config_hash": str,
            "first_seen": str,
            "last_seen": str,
        },
        pk="name",
        not_null=["start_urls", "config", "config_hash", "first_seen", "last_seen"],
    )

    runs = db.table("runs")
    runs.create(
        {
            "id": int,
            "started": str,
            "finished": str,
            "status": str,
            "sites": str,
            "stats": str,
            "teasers_seen": int,
            "teasers_new": int,
            "articles_new": int,
            "articles_updated": int,
            "articles_unchanged": int,
            "articles_merged": int,
            # frozen by finish_run (later runs change what they are computed from)
            "duplicates_merged": int,
            "articles_known": int,
        },
        pk="id",
        not_null=["started", "status", "sites", "stats", *RUN_COUNTERS],
        defaults=dict.fromkeys(RUN_COUNTERS, 0),
    )
    runs.create_index(["started"])

    fetches = db.table("fetches")
    fetches.create(
        {
            "id": int,
            "run_id": int,
            "url": str,
            "kind": str,
            "source": str,
            "status": int,
            "final_url": str,
            "bytes": int,
            "ms": int,
            "error_kind": str,
            "error": str,
            "teasers": int,
            "fetched_at": str,
        },
        pk="id",
        not_null=["url", "kind", "fetched_at"],
        foreign_keys=[ForeignKey("fetches", "run_id", "runs", "id", on_delete="SET NULL")],
    )
    fetches.create_index(["run_id", "kind"])
    fetches.create_index(["url"])
    fetches.create_index(["error_kind"])

    listings = db.table("listings")
    listings.create(
        {
            "url": str,
            "source": str,
            "first_fetched": str,
            "last_fetched": str,
            "last_status": int,
            "last_error_kind": str,
            "teasers": int,
            "times_fetched": int,
            "failures": int,
        },
        pk="url",
        not_null=["first_fetched", "last_fetched", "times_fetched", "failures"],
        defaults={"times_fetched": 0, "failures": 0},
    )
    listings.create_index(["source"])

    articles = db.table("articles")
    articles.create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "source": str,
            "title": str,
            "lead": str,
            "body": str,
            "authors": str,
            "published": str,
            "published_from": str,
            "published_raw": str,
            "modified": str,
            "modified_from": str,
            "modified_raw": str,
            "language": str,
            "section": str,
            "tags": str,
            "top_image": str,
            "word_count": int,
            "content_hash": str,
            "extractor_version": str,
            "first_seen": str,
            "last_fetched": str,
            "version": int,
            "cluster_id": int,
            "first_run_id": int,
            "last_run_id": int,
        },
        pk="id",
        not_null=[
            "url",
            "source",
            "body",
            "authors",
            "tags",
            "content_hash",
            "first_seen",
            "last_fetched",
            "version",
        ],
        defaults={"version": 1, "word_count": 0, "authors": "[]", "tags": "[]", "body": ""},
        foreign_keys=[
            ForeignKey("articles", "first_run_id", "runs", "id", on_delete="SET NULL"),
            ForeignKey("articles", "last_run_id", "runs", "id", on_delete="SET NULL"),
        ],
    )
    articles.create_index(["url"])
    articles.create_index(["canonical_url"])
    articles.create_index(["content_hash"])
    articles.create_index(["cluster_id"])
    articles.create_index(["first_run_id"])
    articles.create_index(["last_run_id"])
    articles.create_index(["published"])
    # the date every listing, export and date filter sorts and compares on
    db.execute("CREATE INDEX idx_articles_date ON articles (coalesce(published, first_seen))")
    db.execute(
        "CREATE INDEX idx_articles_source_date "
        "ON articles (source, coalesce(published, first_seen))"
    )

    article_urls = db.table("article_urls")
    article_urls.create(
        {"url_key": str, "article_id": int, "url": str, "kind": str, "first_seen": str},
        pk="url_key",
        not_null=["article_id", "url", "kind", "first_seen"],
        foreign_keys=[
            ForeignKey("article_urls", "article_id", "articles", "id", on_delete="CASCADE")
        ],
    )
    article_urls.create_index(["article_id"])

    teasers = db.table("teasers")
    teasers.create(
        {
            "id": int,
            "source": str,
            "listing_url": str,
            "url": str,
            "url_key": str,
            "article_id": int,
            "title": str,
            "excerpt": str,
            "image": str,
            "date_text": str,
            "has_read_more": int,
            "region": str,
            "teaser_key": str,
            "first_seen": str,
            "last_seen": str,
            "times_seen": int,
            "last_position": int,
            "first_run_id": int,
            "last_run_id": int,
        },
        pk="id",
        not_null=[
            "source",
            "listing_url",
            "url",
            "url_key",
            "teaser_key",
            "first_seen",
            "last_seen",
            "times_seen",
            "has_read_more",
        ],
        defaults={"times_seen": 1, "has_read_more": 0},
        foreign_keys=[
            ForeignKey("teasers", "article_id", "articles", "id", on_delete="SET NULL"),
            ForeignKey("teasers", "first_run_id", "runs", "id", on_delete="SET NULL"),
            ForeignKey("teasers", "last_run_id", "runs", "id", on_delete="SET NULL"),
        ],
    )
    teasers.create_index(["teaser_key"], unique=True)
    teasers.create_index(["url_key"])
    teasers.create_index(["article_id"])
    teasers.create_index(["listing_url"])
    teasers.create_index(["source", "last_seen"])
    teasers.create_index(["first_run_id"])
    teasers.create_index(["last_run_id"])

    for name, columns in (
        ("images", {"url": str, "alt": str, "caption": str, "credit": str, "position": int}),
        ("removed", {"rule": str, "text": str}),
        ("pages", {"url": str, "fetched_at": str, "content": bytes, "encoding": str}),
    ):
        table = db.table(name)
        table.create(
            {"id": int, "article_id": int, **columns},
            pk="id",
            not_null=["article_id"],
            foreign_keys=[ForeignKey(name, "article_id", "articles", "id", on_delete="CASCADE")],
        )
        table.create_index(["article_id"])

    # FTS5 with external content; the update trigger fires only when an indexed column is
    # written, so re-fetching an unchanged article does not re-tokenise its body
    articles.enable_fts(list(FTS_COLUMNS), tokenize=FTS_TOKENIZE, create_triggers=False)
    indexed = ", ".join(FTS_COLUMNS)
    new = ", ".join(f"new.{c}" for c in FTS_COLUMNS)
    old = ", ".join(f"old.{c}" for c in FTS_COLUMNS)
    db.executescript(
        f"""
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
          INSERT INTO articles_fts (rowid, {indexed}) VALUES (new.id, {new});
        END;
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
          INSERT INTO articles_fts (articles_fts, rowid, {indexed})
            VALUES ('delete', old.id, {old});
        END;
        CREATE TRIGGER articles_au AFTER UPDATE OF {indexed} ON articles BEGIN
          INSERT INTO articles_fts (articles_fts, rowid, {indexed})
            VALUES ('delete', old.id, {old});
          INSERT INTO articles_fts (rowid, {indexed}) VALUES (new.id, {new});
        END;
        """
    )
    db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('rank', ?)", [FTS_RANK])

    db.create_view(
        "latest_articles",
        """
        SELECT id, source, published, title, url, first_seen
        FROM articles
        ORDER BY source, coalesce(published, first_seen) DESC, id DESC
        """,
    )
    db.create_view(
        "headline_changes",
        """
        SELECT a.id AS article_id, a.url, t.listing_url, t.title AS teaser_title,
               a.title AS article_title, t.first_seen
        FROM teasers t JOIN articles a ON a.id = t.article_id
        WHERE trim(t.title) != '' AND trim(t.title) != trim(coalesce(a.title, ''))
        ORDER BY t.first_seen DESC
        """,
    )


@migrations()
def m003_article_versions(db: Database) -> None:
    """Keep every earlier state of an article's text in article_versions."""
    versions = db.table("article_versions")
    versions.create(
        {
            "id": int,
            "article_id": int,
            "version": int,
            "fetched_at": str,
            "last_fetched": str,
            "superseded_at": str,
            "content_hash": str,
            "title": str,
            "lead": str,
            "body": str,
            "authors": str,
            "published": str,
            "modified": str,
            "changed_fields": str,
        },
        pk="id",
        not_null=["article_id", "version", "fetched_at", "superseded_at", "content_hash"],
        foreign_keys=[
            ForeignKey("article_versions", "article_id", "articles", "id", on_delete="CASCADE")
        ],
    )
    versions.create_index(["article_id", "version"], unique=True)
    versions.create_index(["superseded_at"])


@migrations()
def m004_teaser_positions(db: Database) -> None:
    """Keep where on its listing each teaser stood over time; views over teaser history."""
    positions = db.table("teaser_positions")
    positions.create(
        {
            "id": int,
            "teaser_id": int,
            "position": int,
            "first_seen": str,
            "last_seen": str,
            "times_seen": int,
            "first_run_id": int,
            "last_run_id": int,
        },
        pk="id",
        not_null=["teaser_id", "first_seen", "last_seen", "times_seen"],
        defaults={"times_seen": 1},
        foreign_keys=[
            ForeignKey("teaser_positions", "teaser_id", "teasers", "id", on_delete="CASCADE"),
            ForeignKey("teaser_positions", "first_run_id", "runs", "id", on_delete="SET NULL"),
            ForeignKey("teaser_positions", "last_run_id", "runs", "id", on_delete="SET NULL"),
        ],
    )
    positions.create_index(["teaser_id", "id"])
    # what m001 kept of each teaser becomes its first span
    db.execute(
        """
        INSERT INTO teaser_positions (teaser_id, position, first_seen, last_seen, times_seen,
          first_run_id, last_run_id)
        SELECT id, last_position, first_seen, last_seen, times_seen, first_run_id, last_run_id
        FROM teasers ORDER BY id
        """
    )
    db.create_view(
        "front_page_history",
        """
        SELECT t.article_id, a.title AS article_title, t.source, t.listing_url,
               p.position, p.first_seen, p.last_seen, p.times_seen,
               t.title AS teaser_title, t.id AS teaser_id
        FROM teaser_positions p
        JOIN teasers t ON t.id = p.teaser_id
        LEFT JOIN articles a ON a.id = t.article_id
        ORDER BY t.article_id, t.listing_url, p.first_seen, p.id
        """,
    )
    db.create_view(
        "teaser_headline_changes",
        """
        SELECT article_id, url_key, listing_url, previous_title AS old_title,
               title AS new_title, first_seen AS changed_at, source
        FROM (
          SELECT t.*, lag(t.title) OVER (
                   PARTITION BY t.url_key, t.listing_url ORDER BY t.first_seen, t.id
                 ) AS previous_title
          FROM teasers t
        )
        WHERE previous_title IS NOT NULL AND trim(previous_title) != trim(coalesce(title, ''))
        ORDER BY changed_at DESC
        """,
    )


@migrations()
def m005_near_duplicates(db: Database) -> None:
    """MinHash signatures and their LSH band index; clusters for every stored article."""
    from . import clusters

    db.table("article_minhash").create(
        {"article_id": int, "signature": bytes},
        pk="article_id",
        not_null=["signature"],
        foreign_keys=[
            ForeignKey("article_minhash", "article_id", "articles", "id", on_delete="CASCADE")
        ],
    )
    db.execute(
        """
        CREATE TABLE minhash_bands (
          band INTEGER NOT NULL,
          hash INTEGER NOT NULL,
          article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
          PRIMARY KEY (band, hash, article_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX idx_minhash_bands_article_id ON minhash_bands (article_id)")
    last = 0
    while True:
        rows = db.execute(
            "SELECT id, body FROM articles WHERE id > ? ORDER BY id LIMIT 500", [last]
        ).fetchall()
        if not rows:
            break
        for article_id, body in rows:
            clusters.assign(db, article_id, body)
        last = rows[-1][0]


@migrations()
def m006_incremental_state(db: Database) -> None:
    """Listing validators, teaser hash and schedule; an index for due revisits."""
    listings = db.table("listings")
    for column, kind in (
        ("kind", str),
        ("page", int),
        ("etag", str),
        ("last_modified", str),
        ("teaser_hash", str),
        ("next_due", str),
    ):
        listings.add_column(column, kind)
    listings.add_column("unchanged", int, not_null_default=0)
    db.execute("CREATE INDEX idx_articles_source_first_seen ON articles (source, first_seen)")


@migrations()
def m007_teaser_confidence(db: Database) -> None:
    """How sure the teaser detector was (1.0 a listing that passed its tests, lower for the
    fallback's best guess; 1.0 for selectors and feeds); NULL for teasers stored before."""
    db.table("teasers").add_column("confidence", float)


@migrations()
def m008_drop_unused_indexes(db: Database) -> None:
    """Drop the article indexes no query uses (EXPLAIN QUERY PLAN of every API call and
    canned query): articles are found by their URLs through article_urls, never by
    articles.url, canonical_url or content_hash, and each index was written per insert."""
    for name in ("idx_articles_url", "idx_articles_canonical_url", "idx_articles_content_hash"):
        db.execute(f"DROP INDEX IF EXISTS {name}")


@migrations()
def m009_fts_automerge(db: Database) -> None:
    """FTS5 merges a level's segments 8 at a time instead of 4 (fewer rewrites of the
    index per article stored; benchmarks/README.md, issue 19 round 2)."""
    db.execute(
        "INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', ?)", [FTS_AUTOMERGE]
    )


def known_migrations() -> list[str]:
    """Names of every migration this version of the package knows, in order."""
    return [m.name for m in migrations.pending(Database(memory=True))]


# number of migrations this package knows: an archive with all of them applied is current
SCHEMA_VERSION = len(known_migrations())
