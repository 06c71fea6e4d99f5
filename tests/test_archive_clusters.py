"""Near-duplicate clusters: MinHash signatures, the LSH band index, cluster ids at upsert."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

import archive
from archive import Archive, InvalidItemError, open_archive
from archive import clusters as mh
from benchmarks.clusters import demo_bodies, run
from tests.test_archive_store import assert_integrity, make_article

WORDS = [
    "council",
    "bridge",
    "river",
    "vote",
    "mayor",
    "budget",
    "school",
    "harbour",
    "train",
    "station",
    "winter",
    "market",
    "museum",
    "library",
    "festival",
    "street",
    "park",
    "hospital",
    "farmers",
    "weather",
    "storm",
    "police",
    "court",
    "teachers",
    "students",
    "tourism",
    "energy",
    "prices",
    "housing",
    "workers",
    "union",
    "factory",
    "airport",
]


def text(seed: int | str, words: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Archive]:
    with open_archive(tmp_path / "news.db", create=True) as opened:
        yield opened


def cluster(store: Archive, url: str) -> int | None:
    return store.article(url).cluster_id


def test_signature_basics() -> None:
    body = demo_bodies()[0]
    a, b = mh.minhash(body), mh.minhash(body)
    assert a is not None
    assert b is not None
    assert a.dtype.name == "uint32"
    assert a.shape == (mh.NUM_PERM,)
    assert (a == b).all()  # deterministic, also across processes (fixed seed, crc32)
    assert mh.minhash("too short to be a story") is None
    assert mh.minhash(None) is None
    assert len(mh.band_keys(a)) == mh.BANDS
    assert mh.signature_from_blob(a.astype("<u4").tobytes()).tolist() == a.tolist()


def test_estimated_similarity_follows_jaccard() -> None:
    body = demo_bodies()[3]
    words = body.split(" ")
    for keep in (0.9, 0.75, 0.5):
        cut = " ".join(words[: int(len(words) * keep)])
        tokens_a, tokens_b = mh.tokens(body), mh.tokens(cut)
        shingles_a = {tuple(tokens_a[i : i + 3]) for i in range(len(tokens_a) - 2)}
        shingles_b = {tuple(tokens_b[i : i + 3]) for i in range(len(tokens_b) - 2)}
        jaccard = len(shingles_a & shingles_b) / len(shingles_a | shingles_b)
        a, b = mh.minhash(body), mh.minhash(cut)
        assert a is not None
        assert b is not None
        assert abs(mh.similarity(a, b) - jaccard) < 0.12, keep


def test_cjk_text_is_tokenised_by_character() -> None:
    assert mh.tokens("東京の天気 is fine") == ["東", "京", "の", "天", "気", "is", "fine"]


def test_near_duplicates_share_a_cluster_and_nothing_is_dropped(store: Archive) -> None:
    original = text(1)
    copy = original.replace("council", "councillors", 1) + " Copyright Newswire."
    a = store.upsert_article(make_article("https://one.org/story", body=original))
    other = store.upsert_article(make_article("https://one.org/other", body=text(2)))
    b = store.upsert_article(make_article("https://two.org/syndicated?share=x1", body=copy))
    assert store.counts()["articles"] == 3
    assert cluster(store, "https://one.org/story") == a.article_id
    assert cluster(store, "https://two.org/syndicated?share=x1") == a.article_id
    assert cluster(store, "https://one.org/other") == other.article_id
    [found] = list(store.clusters())
    assert (found.id, found.size) == (a.article_id, 2)
    assert [m.article_id for m in found.members] == [a.article_id, b.article_id]
    assert [m.url for m in found.members] == [
        "https://one.org/story",
        "https://two.org/syndicated?share=x1",
    ]
    [(dup, score)] = store.near_duplicates(a.article_id)
    assert dup == b.article_id
    assert score >= mh.THRESHOLD
    assert store.near_duplicates(other.article_id) == []
    assert_integrity(store)


def test_short_bodies_stay_their_own_cluster(store: Archive) -> None:
    a = store.upsert_article(make_article("https://n.org/a", body="Subscribe to read."))
    b = store.upsert_article(make_article("https://n.org/b", body="Subscribe to read."))
    assert cluster(store, "https://n.org/a") == a.article_id
    assert cluster(store, "https://n.org/b") == b.article_id
    assert store.db.execute("SELECT count(*) FROM article_minhash").fetchone()[0] == 0


def test_a_copy_bridging_two_clusters_merges_them(store: Archive) -> None:
    left, right = text(1, 60), text(2, 60)
    store.upsert_article(make_article("https://n.org/left", body=left + " " + text(9, 8)))
    store.upsert_article(make_article("https://n.org/right", body=right))
    assert len(list(store.clusters())) == 0
    # a revision that makes an article a near-copy of another joins its cluster
    store.upsert_article(make_article("https://n.org/right", body=left + " " + text(8, 8)))
    assert cluster(store, "https://n.org/right") == 1
    assert [c.size for c in store.clusters()] == [2]


def test_revision_reindexes_and_recluster_rebuilds(store: Archive) -> None:
    base = text(1)
    store.upsert_article(make_article("https://n.org/a", body=base))
    store.upsert_article(make_article("https://n.org/b", body=base + " Update."))
    assert [c.size for c in store.clusters()] == [2]
    store.upsert_article(make_article("https://n.org/b", body=text(5)))
    # clusters only grow at upsert time; recluster() rebuilds them from the signatures
    assert [c.size for c in store.clusters()] == [2]
    assert store.recluster() == 0
    assert list(store.clusters()) == []
    store.upsert_article(make_article("https://n.org/c", body=base))
    assert store.recluster() == 1
    assert [[m.url for m in c.members] for c in store.clusters()] == [
        ["https://n.org/a", "https://n.org/c"]
    ]


def test_absorbed_cluster_root_hands_its_cluster_on(store: Archive) -> None:
    base = text(1)
    store.upsert_article(make_article("https://m.n.org/story", body=base))  # 1, root
    store.upsert_article(make_article("https://copy.org/story", body=base + " Newswire."))  # 2
    store.upsert_article(make_article("https://n.org/story", body=text(3)))  # 3
    # the mobile page turns out to be an alias of 3 (same canonical): 1 is absorbed
    store.upsert_article(
        make_article("https://m.n.org/story", canonical_url="https://n.org/story", body=base)
    )
    assert store.counts()["articles"] == 2
    ids = dict(store.db.execute("SELECT id, cluster_id FROM articles").fetchall())
    assert ids == {2: 2, 3: 2}
    assert_integrity(store)


def test_band_lookup_uses_the_index(store: Archive) -> None:
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT article_id FROM minhash_bands WHERE band = ? AND hash = ? "
        "LIMIT ?",
        [0, 0, mh.BUCKET_LIMIT],
    ).fetchall()
    assert ["USING PRIMARY KEY" in str(row[-1]) for row in plan] == [True]
    statements: list[str] = []
    store.upsert_article(make_article("https://n.org/a", body=text(1)))
    with store.db.tracer(lambda sql, params: statements.append(" ".join(sql.split()))):
        store.upsert_article(make_article("https://n.org/b", body=text(2)))
    touching = [s for s in statements if "minhash" in s]
    # constant work: one lookup per band, whatever the archive's size
    assert sum(s.count("FROM minhash_bands WHERE band") for s in touching) == mh.BANDS
    assert not any("FROM minhash_bands" in s and "WHERE" not in s for s in touching)


def test_clustering_floors_on_generated_near_duplicates() -> None:
    kinds = [
        "exact copy (URL variant)",
        "1% words edited",
        "boilerplate inserted",
        "truncated by 10%",
        "syndicated (2% edits + boilerplate + 10% cut)",
    ]
    bodies = demo_bodies()[:40]
    # demo articles share templates: distinct pairs reach Jaccard 0.55 and must stay apart
    assert (
        max(
            mh.similarity(a, b)
            for a, b in combinations([mh.minhash(body) for body in bodies], 2)
            if a is not None and b is not None
        )
        < mh.THRESHOLD
    )
    scores = run("demo", bodies, seed=7, kinds=kinds)
    assert scores.articles_stored == 40 + 40 * len(kinds)
    assert scores.originals_merged == 0
    assert scores.precision >= 0.99
    assert scores.recall >= 0.95
    assert scores.kind_recall["exact copy (URL variant)"] == 1.0
    assert min(scores.kind_recall.values()) >= 0.9


def test_a_batch_is_signed_as_each_body_alone() -> None:
    # one vectorised pass over a batch gives each body the signature it gets on its own,
    # whatever its neighbours: short ones (none), CJK, and bodies longer than a chunk
    bodies: list[str | None] = [
        text(1),
        None,
        "too short to sign",
        text(2, words=3000),
        "東京の天気は晴れです。" * 10,
        " ".join(["same"] * 40),
        text(3, words=23),
        "",
        text(4),
    ]
    batch = mh.minhash_many(bodies)
    for body, signed in zip(bodies, batch, strict=True):
        alone = mh.minhash(body)
        if alone is None:
            assert signed is None
        else:
            assert signed is not None
            assert signed.tolist() == alone.tolist()
    assert mh.minhash_many([]) == []
    assert sum(signed is not None for signed in batch) == 6


def _stored_signature(store: Archive, url: str) -> list[int] | None:
    row = store.db.execute(
        "SELECT signature FROM article_minhash WHERE article_id = ?", [store.article(url).id]
    ).fetchone()
    return None if row is None else mh.signature_from_blob(row[0]).tolist()


def test_a_precomputed_signature_belongs_to_its_body_only() -> None:
    body, other = text(1), text(2)
    blob = archive.minhash_signature(body)
    signature = mh.minhash(body)
    assert signature is not None
    assert blob == mh.minhash_signature(body)  # the same in every process: no state
    assert len(blob) == mh.DIGEST_SIZE + 4 * mh.NUM_PERM
    assert mh.is_signature_blob(blob)
    found, given = mh.precomputed(blob, body)
    assert found
    assert given is not None
    assert given.tolist() == signature.tolist()
    assert mh.precomputed(blob, other) == (False, None)
    assert mh.precomputed(blob, body + " ") == (False, None)  # any change of the body
    # a body too short to sign carries the digest alone: "no signature" is checked too
    short = archive.minhash_signature("Too short.")
    assert len(short) == mh.DIGEST_SIZE
    assert mh.precomputed(short, "Too short.") == (True, None)
    assert mh.precomputed(short, body) == (False, None)
    assert not mh.is_signature_blob(blob[:-1])
    assert not mh.is_signature_blob("text")


def test_the_writer_uses_a_precomputed_signature(
    store: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = text(1)
    copy = story.replace("council", "mayor", 1) + " Newswire."
    items = [
        make_article(url, body=body, minhash=archive.minhash_signature(body))
        for url, body in (("https://n.org/a", story), ("https://wire.org/a", copy))
    ]

    def unsigned(*args: Any) -> None:
        raise AssertionError("the writer signed a body that came signed")

    monkeypatch.setattr(mh, "minhash_many", unsigned)
    monkeypatch.setattr(mh, "minhash", unsigned)
    store.upsert_articles(items)
    monkeypatch.undo()
    expected = mh.minhash(story)
    assert expected is not None
    assert _stored_signature(store, "https://n.org/a") == expected.tolist()
    assert cluster(store, "https://wire.org/a") == cluster(store, "https://n.org/a")
    assert [other for other, _ in store.near_duplicates("https://n.org/a")] == [
        store.article("https://wire.org/a").id
    ]


def test_a_signature_of_another_body_is_recomputed_never_stored(store: Archive) -> None:
    story, other = text(1), text(2)
    store.upsert_article(make_article("https://n.org/a", body=story))
    # an item whose body changed after it was signed (signed as a copy of story)
    item = make_article("https://n.org/b", body=other, minhash=archive.minhash_signature(story))
    store.upsert_article(item)
    expected = mh.minhash(other)
    assert expected is not None
    assert _stored_signature(store, "https://n.org/b") == expected.tolist()
    assert cluster(store, "https://n.org/b") != cluster(store, "https://n.org/a")
    # a revision signed for its old text is signed again as well
    revised = other + " A correction follows."
    store.upsert_article(
        make_article("https://n.org/b", body=revised, minhash=archive.minhash_signature(other))
    )
    resigned = mh.minhash(revised)
    assert resigned is not None
    assert _stored_signature(store, "https://n.org/b") == resigned.tolist()
    # and so is a re-extraction
    article_id = store.article("https://n.org/b").id
    store.update_extraction(
        article_id, {"body": story, "minhash": archive.minhash_signature(other)}
    )
    assert _stored_signature(store, "https://n.org/b") == mh.minhash(story).tolist()  # type: ignore[union-attr]
    assert cluster(store, "https://n.org/b") == cluster(store, "https://n.org/a")
    assert_integrity(store)


@pytest.mark.parametrize("blob", [b"x" * 100, "not bytes", [1, 2, 3], b""])
def test_a_malformed_signature_is_an_invalid_item(store: Archive, blob: object) -> None:
    with pytest.raises(InvalidItemError, match="minhash"):
        store.upsert_articles(
            [
                make_article("https://n.org/a", body=text(1)),
                make_article("https://n.org/b", body=text(2), minhash=blob),
            ]
        )
    assert store.counts()["articles"] == 0


def test_a_batch_with_signatures_stores_what_one_without_stores(tmp_path: Path) -> None:
    story = text(1)
    bodies = [story, text(2), story.replace("council", "mayor", 2), "Short.", text(3), story]
    items = [make_article(f"https://n.org/{i}", body=body) for i, body in enumerate(bodies)]
    with (
        open_archive(tmp_path / "signed.db", create=True) as signed,
        open_archive(tmp_path / "plain.db", create=True) as plain,
    ):
        signed.upsert_articles(
            [{**i, "minhash": archive.minhash_signature(i["body"])} for i in items]
        )
        plain.upsert_articles(items)
        for table in ("articles", "article_minhash", "minhash_bands"):
            query = f"SELECT * FROM {table} ORDER BY 1, 2"
            assert signed.db.execute(query).fetchall() == plain.db.execute(query).fetchall()
        assert len({cluster(signed, f"https://n.org/{i}") for i in (0, 2, 5)}) == 1
