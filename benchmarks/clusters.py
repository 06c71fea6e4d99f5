"""Near-duplicate clustering benchmark: precision and recall of the archive's MinHash-LSH.

Every article body of a corpus is stored through Archive.upsert_article under its own URL,
together with generated near-copies under other URLs (word edits, inserted boilerplate,
truncation, and combinations as syndication produces them); then the `cluster_id`s the
archive assigned at upsert time are compared with the truth (a copy belongs with its
original; distinct originals must stay apart).

    .venv/bin/python benchmarks/clusters.py [--corpus aeb|demo|both] [--seed 1]
    .venv/bin/python benchmarks/clusters.py --scale 1000000    # lookup cost vs. archive size

Corpora: `aeb` is the 181 hand-annotated article bodies of ../shared/benchmarks/
article-extraction (distinct articles from 126 sites, read in place); `demo` is the bundled
demo site's 105 generated articles, written from shared templates (pairs of distinct demo
articles reach a Jaccard similarity of 0.55, so they test that similar-looking but distinct
stories stay apart).

Pairwise precision = same-cluster pairs that are true pairs / same-cluster pairs; pairwise
recall = true pairs found in one cluster / true pairs. Per kind of copy, recall is the share
of copies put in their original's cluster.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from archive import clusters as mh  # noqa: E402
from archive import open_archive  # noqa: E402

__all__ = [
    "AEB",
    "KINDS",
    "Copy",
    "Scores",
    "aeb_bodies",
    "demo_bodies",
    "main",
    "make_copies",
    "run",
    "score",
]

AEB = ROOT.parent / "shared/benchmarks/article-extraction"

BOILERPLATE = (
    "This article is republished from our partner under a Creative Commons licence. Sign up "
    "for our free daily newsletter to get the best of our journalism in your inbox every "
    "morning, and follow us on Facebook, X and Instagram for updates throughout the day."
)
FOOTER = "Copyright 2026 Example Media Group. All rights reserved. Distributed by Newswire."


def _edit(words: list[str], rng: random.Random, share: float) -> list[str]:
    """Replace, delete or insert about `share` of the words."""
    out = list(words)
    for _ in range(max(1, round(len(words) * share))):
        i = rng.randrange(len(out))
        action = rng.choice(("replace", "delete", "insert"))
        if action == "replace":
            out[i] = rng.choice(words) + rng.choice(("", "s", "ed"))
        elif action == "delete" and len(out) > 1:
            del out[i]
        else:
            out.insert(i, rng.choice(words))
    return out


def _insert_boilerplate(text: str, rng: random.Random) -> str:
    paragraphs = text.split("\n")
    paragraphs.insert(rng.randrange(len(paragraphs) + 1), BOILERPLATE)
    return "\n".join([*paragraphs, FOOTER])


def _truncate(text: str, share: float) -> str:
    words = text.split(" ")
    return " ".join(words[: max(1, round(len(words) * (1 - share)))])


# kind of copy -> how it is made from the original body
KINDS: dict[str, Callable[[str, random.Random], str]] = {
    "exact copy (URL variant)": lambda text, rng: text,
    "1% words edited": lambda text, rng: " ".join(_edit(text.split(" "), rng, 0.01)),
    "5% words edited": lambda text, rng: " ".join(_edit(text.split(" "), rng, 0.05)),
    "boilerplate inserted": _insert_boilerplate,
    "truncated by 10%": lambda text, rng: _truncate(text, 0.10),
    "truncated by 25%": lambda text, rng: _truncate(text, 0.25),
    "syndicated (2% edits + boilerplate + 10% cut)": lambda text, rng: _truncate(
        _insert_boilerplate(" ".join(_edit(text.split(" "), rng, 0.02)), rng), 0.10
    ),
}


@dataclass(frozen=True)
class Copy:
    """A generated near-copy of an original body."""

    original: int
    kind: str
    body: str


@dataclass
class Scores:
    """Clustering quality on one corpus."""

    corpus: str
    originals: int
    signed: int
    copies: int
    precision: float
    recall: float
    kind_recall: dict[str, float]
    originals_merged: int
    articles_stored: int
    seconds: float


def aeb_bodies(path: Path = AEB) -> list[str]:
    """The hand-annotated article bodies of the Article Extraction Benchmark, in id order."""
    truth = json.loads((path / "ground-truth.json").read_text("utf-8"))
    return [truth[key]["articleBody"] for key in sorted(truth)]


def demo_bodies() -> list[str]:
    """Bodies of the demo site's articles (one per distinct text)."""
    from crawlers.demo import build_demo_site

    bodies = [article.body_text for article in build_demo_site().ok_articles]
    return list(dict.fromkeys(bodies))  # the canonical copy repeats its target's text


def make_copies(
    bodies: Sequence[str], seed: int = 1, kinds: Sequence[str] | None = None
) -> list[Copy]:
    """One copy of every kind for every body that is long enough to be signed."""
    rng = random.Random(seed)
    copies = []
    for index, body in enumerate(bodies):
        if mh.minhash(body) is None:
            continue
        for kind in kinds or KINDS:
            copies.append(Copy(index, kind, KINDS[kind](body, rng)))
    return copies


def run(
    corpus: str, bodies: Sequence[str], seed: int = 1, kinds: Sequence[str] | None = None
) -> Scores:
    """Store originals and copies in a fresh archive and score its clusters."""
    copies = make_copies(bodies, seed, kinds)
    items: list[tuple[str, int, str | None, str]] = [
        (f"https://original.example/{i}", i, None, body) for i, body in enumerate(bodies)
    ]
    items += [
        (f"https://copy{n}.example/{c.original}", c.original, c.kind, c.body)
        for n, c in enumerate(copies)
    ]
    random.Random(seed).shuffle(items)  # a copy may well be stored before its original
    with (
        tempfile.TemporaryDirectory() as tmp,
        open_archive(Path(tmp) / "bench.db", create=True) as archive,
    ):
        started = time.perf_counter()
        with archive.transaction():
            for url, _, _, body in items:
                archive.upsert_article({"source": "bench", "url": url, "title": "", "body": body})
        seconds = time.perf_counter() - started
        cluster_of = dict(archive.db.execute("SELECT url, cluster_id FROM articles").fetchall())
        stored = archive.counts()["articles"]
    predicted = {url: cluster_of[url] for url, *_ in items}
    truth = {url: original for url, original, *_ in items}
    scores = score(predicted, truth)
    kinds: dict[str, list[bool]] = defaultdict(list)
    original_cluster = {i: predicted[f"https://original.example/{i}"] for i in range(len(bodies))}
    for url, original, kind, _ in items:
        if kind is not None:
            kinds[kind].append(predicted[url] == original_cluster[original])
    by_cluster = Counter(original_cluster.values())
    merged = sum(1 for i in original_cluster if by_cluster[original_cluster[i]] > 1)
    return Scores(
        corpus=corpus,
        originals=len(bodies),
        signed=sum(1 for body in bodies if mh.minhash(body) is not None),
        copies=len(copies),
        precision=scores[0],
        recall=scores[1],
        kind_recall={kind: sum(kinds[kind]) / len(kinds[kind]) for kind in KINDS if kinds[kind]},
        originals_merged=merged,
        articles_stored=stored,
        seconds=seconds,
    )


def score(predicted: dict[str, int], truth: dict[str, int]) -> tuple[float, float]:
    """Pairwise (precision, recall) of a clustering against the true groups."""

    def pairs(groups: dict[str, int]) -> set[tuple[str, str]]:
        members: dict[int, list[str]] = defaultdict(list)
        for key, group in groups.items():
            members[group].append(key)
        return {pair for keys in members.values() for pair in combinations(sorted(keys), 2)}

    found, true = pairs(predicted), pairs(truth)
    precision = len(found & true) / len(found) if found else 1.0
    recall = len(found & true) / len(true) if true else 1.0
    return precision, recall


def scale(n: int, seed: int = 1) -> dict[str, Any]:
    """Cost of assigning real bodies to clusters with `n` random signatures already indexed."""
    bodies = aeb_bodies() if (AEB / "ground-truth.json").exists() else demo_bodies()
    signed = [b for b in bodies if mh.minhash(b) is not None][:150]
    result: dict[str, Any] = {"bodies": len(signed)}
    rng = np.random.default_rng(seed)
    for size in (1_000, n):
        with (
            tempfile.TemporaryDirectory() as tmp,
            open_archive(Path(tmp) / "s.db", create=True) as archive,
        ):
            db = archive.db
            batch = 50_000
            # filling is not what is measured: a big cache for it, the default one for timing
            db.execute("PRAGMA cache_size = -1000000")
            for start in range(0, size, batch):
                with archive.transaction():
                    count = min(batch, size - start)
                    ids = range(start + 1, start + count + 1)
                    db.conn.executemany(
                        "INSERT INTO articles (id, url, source, body, content_hash, first_seen, "
                        "last_fetched, cluster_id) VALUES (?, ?, 'x', '', '', '', '', ?)",
                        [(i, f"https://x.example/{i}", i) for i in ids],
                    )
                    signatures = rng.integers(0, 2**32, size=(count, mh.NUM_PERM), dtype=np.uint32)
                    db.conn.executemany(
                        "INSERT INTO article_minhash (article_id, signature) VALUES (?, ?)",
                        [
                            (i, sig.astype("<u4").tobytes())
                            for i, sig in zip(ids, signatures, strict=True)
                        ],
                    )
                    db.conn.executemany(
                        "INSERT INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)",
                        sorted(
                            (band, key, i)
                            for i, sig in zip(ids, signatures, strict=True)
                            for band, key in enumerate(mh.band_keys(sig))
                        ),
                    )
            db.execute("ANALYZE")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA cache_size = -2000")  # SQLite's default
            timings = []
            for round_ in range(3):
                db.execute("BEGIN")
                started = time.perf_counter()
                for k, body in enumerate(signed):
                    article_id = size + 1 + k
                    db.execute(
                        "INSERT INTO articles (id, url, source, body, content_hash, first_seen, "
                        "last_fetched) VALUES (?, ?, 'x', ?, '', '', '')",
                        [article_id, f"https://y.example/{round_}/{k}", body],
                    )
                    mh.assign(db, article_id, body)
                timings.append((time.perf_counter() - started) / len(signed))
                db.execute("ROLLBACK")
            plan = db.execute(
                "EXPLAIN QUERY PLAN SELECT article_id FROM minhash_bands "
                "WHERE band = ? AND hash = ? LIMIT 32",
                [0, 0],
            ).fetchall()
            result[size] = min(timings)
            result["plan"] = " / ".join(str(row[-1]) for row in plan)
    return result


def _unplaced(pending: mh.Pending, db: Any, article_id: int, signature: Any) -> int:
    # Pending.place without the signature, bands or cluster: each article its own cluster
    pending.clusters[article_id] = article_id
    return article_id


def ingest_cost(bodies: Sequence[str], rounds: int = 3) -> tuple[float, float]:
    """Seconds per upsert_article of these bodies with and without near-duplicate clustering."""
    from unittest import mock

    def once() -> float:
        with (
            tempfile.TemporaryDirectory() as tmp,
            open_archive(Path(tmp) / "i.db", create=True) as archive,
        ):
            started = time.perf_counter()
            with archive.transaction():
                for n, body in enumerate(bodies):
                    archive.upsert_article(
                        {"source": "bench", "url": f"https://i.example/{n}", "body": body}
                    )
            return (time.perf_counter() - started) / len(bodies)

    with_clusters, without = [], []
    for _ in range(rounds):  # alternating, the fastest round of each counts
        with_clusters.append(once())
        # new articles are signed, placed and indexed, revised ones re-assigned: all skipped
        with (
            mock.patch("archive.store._clusters.assign_signed", return_value=0),
            mock.patch(
                "archive.store._clusters.minhash_many", side_effect=lambda t: [None] * len(t)
            ),
            mock.patch.object(mh.Pending, "place", _unplaced),
        ):
            without.append(once())
    return min(with_clusters), min(without)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("aeb", "demo", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, help="also time lookups at this many articles")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    corpora: list[tuple[str, Callable[[], list[str]]]] = []
    if args.corpus in ("aeb", "both"):
        if not (AEB / "ground-truth.json").exists():
            print(f"AEB corpus not found at {AEB}", file=sys.stderr)
            return 2
        corpora.append(("aeb", aeb_bodies))
    if args.corpus in ("demo", "both"):
        corpora.append(("demo", demo_bodies))
    results = [run(name, load(), args.seed) for name, load in corpora]
    if args.json:
        print(json.dumps([vars(r) for r in results], indent=2))
    for r in results:
        print(
            f"{r.corpus}: {r.originals} distinct articles ({r.signed} long enough to sign), "
            f"{r.copies} generated near-copies, {r.articles_stored} articles stored "
            f"(nothing dropped) in {r.seconds:.2f} s"
        )
        print(f"  pairwise precision {r.precision:.3f}  recall {r.recall:.3f}")
        print(f"  distinct originals wrongly merged: {r.originals_merged} of {r.originals}")
        for kind, recall in r.kind_recall.items():
            print(f"  recall {recall:6.1%}  {kind}")
    print(
        f"MinHash {mh.NUM_PERM} permutations, word {mh.SHINGLE_WORDS}-shingles, "
        f"LSH {mh.BANDS} bands x {mh.ROWS} rows, Jaccard threshold {mh.THRESHOLD}; "
        f"candidate probability at s=0.5/0.7/0.8/0.9: "
        + " / ".join(f"{mh.candidate_probability(s):.2f}" for s in (0.5, 0.7, 0.8, 0.9))
    )
    bodies = [body for _, load in corpora for body in load()] * 4
    clustered, plain = ingest_cost(bodies)
    print(
        f"upsert_article of {len(bodies)} bodies: {clustered * 1000:.2f} ms each with "
        f"clustering, {plain * 1000:.2f} ms without: ratio {clustered / plain:.2f}"
    )
    if args.scale:
        figures = scale(args.scale, args.seed)
        small, large = figures[1_000], figures[args.scale]
        print(
            f"assign (signature + band lookups + cluster write) per article: "
            f"{small * 1000:.2f} ms at 1,000 articles, {large * 1000:.2f} ms at "
            f"{args.scale:,} articles: ratio {large / small:.2f}"
        )
        print(f"band lookup plan: {figures['plan']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
