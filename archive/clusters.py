"""Near-duplicate clusters: MinHash signatures of article bodies and an LSH band index."""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from .records import Cluster, ClusterMember

__all__ = [
    "BANDS",
    "MIN_SHINGLES",
    "NUM_PERM",
    "ROWS",
    "SHINGLE_WORDS",
    "THRESHOLD",
    "absorb",
    "assign",
    "band_keys",
    "candidate_probability",
    "clusters",
    "minhash",
    "near_duplicates",
    "recluster",
    "signature_from_blob",
    "similarity",
    "tokens",
]

Signature = npt.NDArray[np.uint32]

NUM_PERM = 128
# LSH banding: BANDS bands of ROWS signature values; a pair with Jaccard similarity s becomes
# a candidate with probability 1 - (1 - s**ROWS)**BANDS: 0.92 at 0.7, 0.998 at 0.8, 0.27 at
# 0.5, 0.01 at 0.3 (candidates are then checked against THRESHOLD on the full signature)
BANDS = 20
ROWS = 6
SHINGLE_WORDS = 3
# estimated Jaccard similarity of body word shingles from which two articles are one story
THRESHOLD = 0.7
# bodies with fewer shingles (about 20 words) get no signature: too little text to tell a
# copy from a coincidence (exact copies still share a content_hash)
MIN_SHINGLES = 20
# rows read per band bucket: keeps a lookup constant work even when a bucket is crowded
# (a crowded bucket means many near-identical bodies, which are already one cluster)
BUCKET_LIMIT = 32
_CHUNK = 1024

# scripts written without spaces between words: every character is a token
_NO_SPACES = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_NO_SPACES}]|[^\W_{_NO_SPACES}]+")
_HAS_NO_SPACES = re.compile(rf"[{_NO_SPACES}]")
_WORDS = re.compile(r"[^\W_]+")
_PLAIN_WORDS = re.compile(r"\w+")  # twice as fast; the same words when none has a "_"
# word -> crc32, shared between calls: most words of an article were met before
_WORD_HASHES: dict[str, int] = {}
_WORD_HASHES_MAX = 500_000

_rng = np.random.default_rng(0x7EA5E2F)  # fixed: signatures must agree across processes
_A = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
_P1, _P2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


def tokens(text: str) -> list[str]:
    """Case-folded word tokens of a text (single characters for CJK and Thai script)."""
    text = text.casefold()
    if _HAS_NO_SPACES.search(text):
        return _TOKEN.findall(text)
    if "_" in text:
        return _WORDS.findall(text)
    return _PLAIN_WORDS.findall(text)


def minhash(text: str | None) -> Signature | None:
    """The MinHash signature (NUM_PERM uint32) of a body's word shingles, None if too short."""
    words = tokens(text or "")
    if len(words) - SHINGLE_WORDS + 1 < MIN_SHINGLES:
        return None
    new = set(words).difference(_WORD_HASHES)
    if len(_WORD_HASHES) + len(new) > _WORD_HASHES_MAX:
        _WORD_HASHES.clear()
        new = set(words)
    for word in new:
        _WORD_HASHES[word] = zlib.crc32(word.encode("utf-8", "surrogatepass"))
    hashed = np.fromiter(map(_WORD_HASHES.__getitem__, words), dtype=np.uint64, count=len(words))
    # combine each run of SHINGLE_WORDS token hashes into one 64-bit shingle hash
    count = len(words) - SHINGLE_WORDS + 1
    shingles = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE_WORDS):
        shingles = (shingles ^ hashed[offset : offset + count]) * _P1
    shingles = _mix(shingles)  # repeated shingles cost a little, sorting them out more
    signature = np.full(NUM_PERM, np.iinfo(np.uint32).max, dtype=np.uint32)
    for start in range(0, len(shingles), _CHUNK):
        chunk = shingles[start : start + _CHUNK]
        # multiply-add-shift hashing: NUM_PERM independent permutations of the shingles
        permuted = _A[:, None] * chunk[None, :]
        permuted += _B[:, None]  # in place: a fresh array per step costs more than the math
        permuted >>= np.uint64(32)
        signature = np.minimum(signature, permuted.min(axis=1).astype(np.uint32))
    return signature


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def band_keys(signature: Signature) -> list[int]:
    """One signed 64-bit key per band: the bucket of the band table the article goes in."""
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(
            signature[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8
        ).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def candidate_probability(s: float) -> float:
    """Probability that a pair with Jaccard similarity `s` shares at least one band."""
    return float(1 - (1 - s**ROWS) ** BANDS)


def signature_from_blob(blob: bytes) -> Signature:
    """A signature as stored in article_minhash.signature."""
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def assign(db: Database, article_id: int, body: str | None) -> int:
    """(Re)index an article's body and put it in its near-duplicate cluster; return the id."""
    db.execute("DELETE FROM minhash_bands WHERE article_id = ?", [article_id])
    db.execute("DELETE FROM article_minhash WHERE article_id = ?", [article_id])
    row = db.execute("SELECT cluster_id FROM articles WHERE id = ?", [article_id]).fetchone()
    current = row[0] if row and row[0] is not None else article_id
    signature = minhash(body)
    if signature is None:
        return _set_cluster(db, article_id, current)
    keys = band_keys(signature)
    matches = [other for other, _ in _matches(db, article_id, signature, keys)]
    db.execute(
        "INSERT INTO article_minhash (article_id, signature) VALUES (?, ?)",
        [article_id, signature.astype("<u4").tobytes()],
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)",
        [(band, key, article_id) for band, key in enumerate(keys)],
    )
    if not matches:
        return _set_cluster(db, article_id, current)
    found = _cluster_ids(db, matches)
    return _merge(db, [current, *found], article_id)


def near_duplicates(db: Database, article_id: int) -> list[tuple[int, float]]:
    """Articles whose body is a near-duplicate of this one's, with estimated similarity."""
    row = db.execute(
        "SELECT signature FROM article_minhash WHERE article_id = ?", [article_id]
    ).fetchone()
    if row is None:
        return []
    signature = signature_from_blob(row[0])
    return _matches(db, article_id, signature, band_keys(signature))


def absorb(db: Database, keep: int, gone: int) -> None:
    """`gone` is being folded into `keep`: join their clusters before `gone` is deleted."""
    rows = db.execute(
        "SELECT id, cluster_id FROM articles WHERE id IN (?, ?)", [keep, gone]
    ).fetchall()
    ids = {article: (cluster if cluster is not None else article) for article, cluster in rows}
    if gone not in ids:
        return
    kept = ids.get(keep, keep)
    lost = ids[gone]
    # the surviving members of both clusters, minus the article about to go
    members = [
        article
        for (article,) in db.execute(
            "SELECT id FROM articles WHERE cluster_id IN (?, ?) AND id != ?", [kept, lost, gone]
        ).fetchall()
    ]
    target = min([keep, *members])
    db.execute(
        "UPDATE articles SET cluster_id = ? WHERE (cluster_id IN (?, ?) OR id = ?) AND id != ?",
        [target, kept, lost, keep, gone],
    )


def recluster(db: Database) -> int:
    """Rebuild every cluster from the band index (clusters otherwise only grow); return count."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    # only articles that share a bucket with another one are ever compared: their
    # signatures are read when first needed
    signatures: dict[int, Signature] = {}

    def signature(article_id: int) -> Signature:
        if article_id not in signatures:
            row = db.execute(
                "SELECT signature FROM article_minhash WHERE article_id = ?", [article_id]
            ).fetchone()
            signatures[article_id] = signature_from_blob(row[0])
        return signatures[article_id]

    bucket: list[int] = []
    last: tuple[int, int] | None = None

    def close_bucket() -> None:
        for i, a in enumerate(bucket):
            for b in bucket[i + 1 :]:
                if find(a) != find(b) and similarity(signature(a), signature(b)) >= THRESHOLD:
                    ra, rb = find(a), find(b)
                    parent[max(ra, rb)] = min(ra, rb)

    for band, key, article_id in db.execute(
        "SELECT band, hash, article_id FROM minhash_bands ORDER BY band, hash, article_id"
    ):
        if (band, key) != last:
            close_bucket()
            bucket, last = [], (band, key)
        if len(bucket) < BUCKET_LIMIT:
            bucket.append(article_id)
    close_bucket()
    db.execute("UPDATE articles SET cluster_id = id WHERE cluster_id IS NOT id")
    moved = [(find(article), article) for article in list(parent) if find(article) != article]
    db.conn.executemany("UPDATE articles SET cluster_id = ? WHERE id = ?", moved)
    row = db.execute(
        "SELECT count(*) FROM (SELECT cluster_id FROM articles GROUP BY cluster_id "
        "HAVING count(*) > 1)"
    ).fetchone()
    return int(row[0])


def clusters(db: Database, *, min_size: int = 2, limit: int | None = None) -> Iterator[Cluster]:
    """Clusters of at least `min_size` articles, largest first, members oldest first."""
    sql = (
        "SELECT cluster_id, count(*) AS size FROM articles WHERE cluster_id IS NOT NULL "
        "GROUP BY cluster_id HAVING count(*) >= ? ORDER BY size DESC, cluster_id"
    )
    params: list[Any] = [min_size]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    for cluster_id, size in db.execute(sql, params).fetchall():
        members = [
            ClusterMember(
                article_id=row[0],
                url=row[1],
                source=row[2],
                title=row[3],
                published=row[4],
                first_seen=row[5],
            )
            for row in db.execute(
                "SELECT id, url, source, title, published, first_seen FROM articles "
                "WHERE cluster_id = ? ORDER BY id",
                [cluster_id],
            )
        ]
        yield Cluster(id=cluster_id, size=size, members=members)


# ---- internals ----------------------------------------------------------------------


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # splitmix64 finaliser: spreads the combined token hashes over all 64 bits
    values = values ^ (values >> np.uint64(30))
    values = values * _P1
    values = values ^ (values >> np.uint64(27))
    values = values * _P2
    return values ^ (values >> np.uint64(31))


def _matches(
    db: Database, article_id: int, signature: Signature, keys: Sequence[int]
) -> list[tuple[int, float]]:
    candidates: set[int] = set()
    for band, key in enumerate(keys):
        candidates.update(
            other
            for (other,) in db.execute(
                "SELECT article_id FROM minhash_bands WHERE band = ? AND hash = ? LIMIT ?",
                [band, key, BUCKET_LIMIT],
            )
        )
    candidates.discard(article_id)
    if not candidates:
        return []
    ids = sorted(candidates)
    found = []
    for other, blob in db.execute(
        f"SELECT article_id, signature FROM article_minhash "
        f"WHERE article_id IN ({', '.join('?' * len(ids))})",
        ids,
    ):
        score = similarity(signature, signature_from_blob(blob))
        if score >= THRESHOLD:
            found.append((int(other), score))
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))


def _cluster_ids(db: Database, article_ids: Sequence[int]) -> list[int]:
    rows = db.execute(
        f"SELECT id, cluster_id FROM articles WHERE id IN ({', '.join('?' * len(article_ids))})",
        list(article_ids),
    ).fetchall()
    return [cluster if cluster is not None else article for article, cluster in rows]


def _set_cluster(db: Database, article_id: int, cluster_id: int) -> int:
    db.execute("UPDATE articles SET cluster_id = ? WHERE id = ?", [cluster_id, article_id])
    return cluster_id


def _merge(db: Database, cluster_ids: Sequence[int], article_id: int) -> int:
    target = min(cluster_ids)
    others = sorted(set(cluster_ids) - {target})
    if others:
        db.execute(
            f"UPDATE articles SET cluster_id = ? "
            f"WHERE cluster_id IN ({', '.join('?' * len(others))})",
            [target, *others],
        )
    return _set_cluster(db, article_id, target)
