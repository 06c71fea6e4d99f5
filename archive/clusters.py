"""Near-duplicate clusters: MinHash signatures of article bodies and an LSH band index."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import struct
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from .records import Cluster, ClusterMember
from .search import sql_limit

__all__ = [
    "BANDS",
    "DIGEST_SIZE",
    "MIN_SHINGLES",
    "NUM_PERM",
    "ROWS",
    "SHINGLE_WORDS",
    "THRESHOLD",
    "Pending",
    "Placement",
    "absorb",
    "assign",
    "assign_signed",
    "band_keys",
    "candidate_probability",
    "clusters",
    "index",
    "is_signature_blob",
    "minhash",
    "minhash_many",
    "minhash_signature",
    "near_duplicates",
    "place",
    "place_signed",
    "precomputed",
    "recluster",
    "signature_from_blob",
    "signature_of",
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
_BAND_KEYS = struct.Struct(f"<{BANDS}q")
_BUCKETS_SQL = " UNION ALL ".join(
    f"SELECT {band}, article_id FROM (SELECT article_id FROM minhash_bands "
    f"WHERE band = {band} AND hash = ? LIMIT {BUCKET_LIMIT})"
    for band in range(BANDS)
)
# a precomputed signature (minhash_signature) starts with a digest of the body it signs
DIGEST_SIZE = 16
_SIGNED_SIZE = DIGEST_SIZE + NUM_PERM * 4
# the digest's blake2b personalisation: a new number whenever the signature a body gets
# changes (tokens, shingles, permutations), so older precomputed ones are not trusted
_SCHEME = f"tf-mh1-{NUM_PERM}-{SHINGLE_WORDS}".encode()

# scripts written without spaces between words: every character is a token
_NO_SPACES = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_NO_SPACES}]|[^\W_{_NO_SPACES}]+")
_HAS_NO_SPACES = re.compile(rf"[{_NO_SPACES}]")
_WORDS = re.compile(r"[^\W_]+")
_PLAIN_WORDS = re.compile(r"\w+")  # twice as fast; the same words when none has a "_"
# UTF-8 bytes of a case-folded text -> ASCII letters and digits kept, every other ASCII byte
# a space; bytes of other characters are kept, the words holding them split by _TOKEN
_ASCII_SEPARATORS = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() else 0x20 for byte in range(256)
)

# the commonest separators outside ASCII (quotes, dashes, spaces), replaced by spaces
# before splitting so that most texts need no per-word work
_COMMON_MARKS = tuple(
    mark.encode("utf-8")
    for mark in "\u201c\u201d\u2018\u2019\u201e\u201a\u00ab\u00bb\u2039\u203a\u2013\u2014"
    "\u2026\u00a0\u2009\u202f\u00b7\u2022"
)
assert not any(mark.decode().isalnum() for mark in _COMMON_MARKS)

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
    return minhash_many([text])[0]


def minhash_many(texts: Sequence[str | None]) -> list[Signature | None]:
    """The signatures of many bodies (as minhash gives them) in one vectorised pass."""
    words = [_word_bytes(text or "") for text in texts]
    signed = [i for i, found in enumerate(words) if len(found) - SHINGLE_WORDS + 1 >= MIN_SHINGLES]
    result: list[Signature | None] = [None] * len(texts)
    if not signed:
        return result
    # every signed body's token hashes end to end; shingles are taken within each body
    sizes = np.array([len(words[i]) for i in signed], dtype=np.int64)
    total = int(sizes.sum())
    hashed = np.fromiter(
        map(zlib.crc32, itertools.chain.from_iterable(words[i] for i in signed)),
        dtype=np.uint64,
        count=total,
    )
    # combine each run of SHINGLE_WORDS token hashes into one 64-bit shingle hash (runs that
    # cross from one body into the next are computed, then dropped)
    count = total - SHINGLE_WORDS + 1
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE_WORDS):
        combined = (combined ^ hashed[offset : offset + count]) * _P1
    ends = np.cumsum(sizes)
    starts = ends - sizes
    counts = sizes - SHINGLE_WORDS + 1
    keep = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    shingles = _mix(combined[keep])  # repeated shingles cost a little, sorting them out more
    first = np.cumsum(counts) - counts  # where each body's shingles start in `shingles`
    lowest = np.full((len(signed), NUM_PERM), np.iinfo(np.uint64).max, dtype=np.uint64)
    permuted = np.empty((NUM_PERM, min(_CHUNK, len(shingles))), dtype=np.uint64)
    for start in range(0, len(shingles), _CHUNK):
        chunk = shingles[start : start + _CHUNK]
        block = permuted[:, : len(chunk)]
        # multiply-add-shift hashing: NUM_PERM independent permutations of the shingles
        np.multiply.outer(_A, chunk, out=block)
        block += _B[:, None]  # in place: a fresh array per step costs more than the math
        # bodies low..high-1 have shingles in this chunk: the minimum of each one's part
        low = int(np.searchsorted(first, start, "right")) - 1
        high = int(np.searchsorted(first, start + len(chunk), "left"))
        if high - low == 1:
            np.minimum(lowest[low], block.min(axis=1), out=lowest[low])
            continue
        cuts = np.maximum(first[low:high] - start, 0)
        part = lowest[low:high]
        np.minimum(part, np.minimum.reduceat(block, cuts, axis=1).T, out=part)
    # the shift is monotonic, so it is taken once on the minima instead of on every value
    signatures = (lowest >> np.uint64(32)).astype(np.uint32)
    for row, index in enumerate(signed):
        result[index] = signatures[row]
    return result


def minhash_signature(body: str | None) -> bytes:
    """A body's signature as an article item carries it precomputed (item key `minhash`).

    The digest of the body it was computed for, then the NUM_PERM little-endian uint32
    values (the digest alone for a body too short to sign); the archive uses it for that
    body only. Computed where the body is extracted, it spares the archive's writer.
    """
    signature = minhash(body)
    digest = _body_digest(body)
    return digest if signature is None else digest + signature.astype("<u4").tobytes()


def signature_of(body: str | None, blob: bytes | bytearray | memoryview | None) -> Signature | None:
    """The body's signature: `blob` when it is minhash_signature(body), else computed."""
    given, signature = precomputed(blob, body)
    return signature if given else minhash(body)


def is_signature_blob(value: object) -> bool:
    """Whether a value has the shape of a minhash_signature (bytes of one of its sizes)."""
    return isinstance(value, bytes | bytearray | memoryview) and len(value) in (
        DIGEST_SIZE,
        _SIGNED_SIZE,
    )


def precomputed(
    blob: bytes | bytearray | memoryview | None, body: str | None
) -> tuple[bool, Signature | None]:
    """(True, the signature) when `blob` is minhash_signature(body); (False, None) when it
    is missing or was computed for another body (or by another signature scheme)."""
    if blob is None:
        return False, None
    data = bytes(blob)
    if data[:DIGEST_SIZE] != _body_digest(body):
        return False, None
    if len(data) == DIGEST_SIZE:
        return True, None
    return True, np.frombuffer(data, dtype="<u4", offset=DIGEST_SIZE).astype(np.uint32)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def band_keys(signature: Signature) -> list[int]:
    """One signed 64-bit key per band: the bucket of the band table the article goes in."""
    data = memoryview(signature.astype("<u4").tobytes())
    size = ROWS * 4
    digests = b"".join(
        hashlib.blake2b(data[start : start + size], digest_size=8).digest()
        for start in range(0, BANDS * size, size)
    )
    return list(_BAND_KEYS.unpack(digests))  # each digest read as a little-endian int64


def candidate_probability(s: float) -> float:
    """Probability that a pair with Jaccard similarity `s` shares at least one band."""
    return float(1 - (1 - s**ROWS) ** BANDS)


def signature_from_blob(blob: bytes) -> Signature:
    """A signature as stored in article_minhash.signature."""
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


@dataclass(frozen=True)
class Placement:
    """A body's MinHash signature and band keys, and the clusters of its near-duplicates."""

    signature: Signature | None
    keys: list[int]
    clusters: list[int]


def place(db: Database, body: str | None, article_id: int | None = None) -> Placement:
    """Sign a body and find the clusters of its stored near-duplicates (reads only)."""
    return place_signed(db, minhash(body), article_id)


def place_signed(
    db: Database, signature: Signature | None, article_id: int | None = None
) -> Placement:
    """place() for a body signed already (by minhash or minhash_many)."""
    if signature is None:
        return Placement(None, [], [])
    keys = band_keys(signature)
    matches = [other for other, _ in _matches(db, article_id, signature, keys)]
    return Placement(signature, keys, _cluster_ids(db, matches) if matches else [])


def index(db: Database, article_id: int, placement: Placement, current: int) -> int:
    """Store a placed body's signature and bands and join the clusters it bridges.

    `current` is the article's cluster so far (its own id when it has none); returns the
    cluster it belongs to now. The article's own row is not updated.
    """
    if placement.signature is not None:
        db.execute(
            "INSERT INTO article_minhash (article_id, signature) VALUES (?, ?)",
            [article_id, placement.signature.astype("<u4").tobytes()],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)",
            [(band, key, article_id) for band, key in enumerate(placement.keys)],
        )
    joined = {current, *placement.clusters}
    target = min(joined)
    others = sorted(joined - {target})
    if others:
        db.execute(
            f"UPDATE articles SET cluster_id = ? "
            f"WHERE cluster_id IN ({', '.join('?' * len(others))})",
            [target, *others],
        )
    return target


def assign(db: Database, article_id: int, body: str | None) -> int:
    """(Re)index an article's body and put it in its near-duplicate cluster; return the id."""
    return assign_signed(db, article_id, minhash(body))


def assign_signed(db: Database, article_id: int, signature: Signature | None) -> int:
    """assign() for a body signed already (minhash, or a checked precomputed signature)."""
    db.execute("DELETE FROM minhash_bands WHERE article_id = ?", [article_id])
    db.execute("DELETE FROM article_minhash WHERE article_id = ?", [article_id])
    row = db.execute("SELECT cluster_id FROM articles WHERE id = ?", [article_id]).fetchone()
    current = row[0] if row and row[0] is not None else article_id
    target = index(db, article_id, place_signed(db, signature, article_id), current)
    return _set_cluster(db, article_id, target)


class Pending:
    """New articles of a batch placed in their clusters before their rows are written.

    A lookup sees the batch's earlier new articles as if they were stored (each bucket's
    first BUCKET_LIMIT rows in id order, theirs after the archive's), so a batch clusters
    exactly as one-by-one writes would; rows() then gives their signature and band rows.
    """

    def __init__(self) -> None:
        self.clusters: dict[int, int] = {}  # article id -> cluster id, kept current
        self._signed: dict[int, tuple[Signature, list[int]]] = {}
        self._buckets: defaultdict[tuple[int, int], list[int]] = defaultdict(list)

    def place(self, db: Database, article_id: int, signature: Signature | None) -> int:
        """Put a new article (its id counted, its row not written) in its cluster; the id."""
        joined = {article_id}
        if signature is not None:
            keys = band_keys(signature)
            joined.update(self._near(db, signature, keys))
            self._signed[article_id] = (signature, keys)
            for band, key in enumerate(keys):
                self._buckets[band, key].append(article_id)
        target = min(joined)
        others = joined - {target}
        stored = sorted(other for other in others if other not in self.clusters)
        if stored:
            db.execute(
                f"UPDATE articles SET cluster_id = ? "
                f"WHERE cluster_id IN ({', '.join('?' * len(stored))})",
                [target, *stored],
            )
        if others:
            for pending, cluster in self.clusters.items():
                if cluster in others:
                    self.clusters[pending] = target
        self.clusters[article_id] = target
        return target

    def rows(self) -> tuple[list[tuple[int, bytes]], list[tuple[int, int, int]]]:
        """The article_minhash and minhash_bands rows of the placed articles (bands sorted)."""
        signatures = [(i, sig.astype("<u4").tobytes()) for i, (sig, _) in self._signed.items()]
        bands = sorted(
            (band, key, i) for i, (_, keys) in self._signed.items() for band, key in enumerate(keys)
        )
        return signatures, bands

    def _near(self, db: Database, signature: Signature, keys: list[int]) -> set[int]:
        # the clusters of the stored and pending near-duplicates of a signature
        stored: set[int] = set()
        per_band: Counter[int] = Counter()
        for band, other in db.execute(_BUCKETS_SQL, keys):
            stored.add(other)
            per_band[band] += 1
        pending: set[int] = set()
        for band, key in enumerate(keys):
            room = BUCKET_LIMIT - per_band[band]
            if room > 0 and (band, key) in self._buckets:
                pending.update(self._buckets[band, key][:room])
        found = [other for other, _ in _verified(db, signature, stored)] if stored else []
        clusters = set(_cluster_ids(db, found)) if found else set()
        for other in pending:
            if similarity(signature, self._signed[other][0]) >= THRESHOLD:
                clusters.add(self.clusters[other])
        return clusters


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
        params.append(sql_limit(limit))
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


def _word_bytes(text: str) -> list[bytes]:
    # tokens(text), UTF-8 encoded, without running a regular expression over all of it:
    # splitting at separators first is exact, as no separator is part of a token
    data = text.casefold().encode("utf-8", "surrogatepass").translate(_ASCII_SEPARATORS)
    if not data.isascii():
        for mark in _COMMON_MARKS:
            data = data.replace(mark, b" ")
    pieces = data.split()
    if data.isascii():
        return pieces
    words: list[bytes] = []
    for piece in pieces:
        if piece.isascii():
            words.append(piece)
        else:
            words += _split_piece(piece)
    return words


@functools.lru_cache(maxsize=1 << 13)
def _split_piece(piece: bytes) -> tuple[bytes, ...]:
    # a run of letters, digits and other characters: "café", "“quoted", "東京"
    found = _TOKEN.findall(piece.decode("utf-8", "surrogatepass"))
    return tuple(word.encode("utf-8", "surrogatepass") for word in found)


def _body_digest(body: str | None) -> bytes:
    # keyed with the signature scheme: a blob made by other parameters never matches
    return hashlib.blake2b(
        (body or "").encode("utf-8", "surrogatepass"), digest_size=DIGEST_SIZE, person=_SCHEME
    ).digest()


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # splitmix64 finaliser: spreads the combined token hashes over all 64 bits
    values = values ^ (values >> np.uint64(30))
    values = values * _P1
    values = values ^ (values >> np.uint64(27))
    values = values * _P2
    return values ^ (values >> np.uint64(31))


def _matches(
    db: Database, article_id: int | None, signature: Signature, keys: Sequence[int]
) -> list[tuple[int, float]]:
    # one statement for all bands: a lookup per band, each capped at BUCKET_LIMIT rows
    candidates = {other for _, other in db.execute(_BUCKETS_SQL, list(keys))}
    if article_id is not None:
        candidates.discard(article_id)
    if not candidates:
        return []
    return _verified(db, signature, candidates)


def _verified(db: Database, signature: Signature, candidates: set[int]) -> list[tuple[int, float]]:
    # the candidates whose stored signature is within THRESHOLD, most similar first
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
