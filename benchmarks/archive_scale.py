"""The archive at scale: ingest rate, size and query latency at up to a million articles.

Synthetic ~5 KB articles (benchmarks/synthetic.py: Zipf words from a generated vocabulary,
six sites, dates over eight years, 2 % syndicated near-copies) are stored through the
pipeline's own call, `Archive.upsert_articles` in batches (what crawlers/writer.py does, FTS
triggers, MinHash clustering and URL keys included), and, in the same run and batch by
batch, into a plain sqlite-utils table with an FTS5 index kept by triggers (`insert_all`):
the reference. Generating the articles is not timed. Then query latency (p50/p95) on the
archive: ranked full-text search with snippets (top 20) for rare, medium and common words,
the same with site and date filters, the latest articles of a site, and the near-duplicate
lookup of one article.

    .venv/bin/python benchmarks/archive_scale.py                     # 1,000,000 articles
    .venv/bin/python benchmarks/archive_scale.py --articles 100000 --keep /tmp/a.db
    .venv/bin/python benchmarks/archive_scale.py --articles 100000 --keep /tmp/a.db --queries-only

The items carry their MinHash signature (`archive.minhash_signature`), as the crawl's
extraction workers compute it; that signing is timed apart and reported with an "all in"
ratio. `--sign-in-writer` leaves signing to the writer, as for items without signatures.

Prints progress, then a table; writes benchmarks/archive-scale-report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlite_utils import Database  # noqa: E402

from archive import minhash_signature, open_archive  # noqa: E402
from archive.schema import FTS_TOKENIZE  # noqa: E402
from archive.search import SEARCH_WINDOW  # noqa: E402
from benchmarks.synthetic import SITES, Corpus  # noqa: E402

TARGET_RATE = 5_000
TARGET_RATIO = 0.7
TARGET_SEARCH_P95_MS = 50.0
TARGET_NEAR_DUP_MS = 5.0
# word frequency ranks the search queries are drawn from
WORD_BANDS = {"rare": (20_000, 60_000), "medium": (1_000, 5_000), "common": (30, 200)}


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max_ms": 1000 * ordered[-1],
        "n": len(ordered),
    }


def _plain_row(article: dict[str, Any]) -> dict[str, Any]:
    # the same fields as the archive gets; sqlite-utils stores the lists as JSON
    return {k: v for k, v in article.items() if k not in ("images", "removed", "minhash")}


def _sign(rows: list[dict[str, Any]]) -> None:
    # what the crawl's extraction workers add to each article item
    for row in rows:
        row["minhash"] = minhash_signature(row["body"])


def _plain_db(path: Path, sample: dict[str, Any]) -> Database:
    db = Database(path)
    db.execute("PRAGMA synchronous = NORMAL")  # as the archive: WAL, no fsync per commit
    db.enable_wal()
    table = db.table("articles")
    table.create(
        {"id": int, **{k: (str if not isinstance(v, int) else int) for k, v in sample.items()}},
        pk="id",
    )
    table.enable_fts(["title", "lead", "body"], tokenize=FTS_TOKENIZE, create_triggers=True)
    return db


def _insert_plain(db: Database, rows: list[dict[str, Any]]) -> None:
    with db.conn:  # one transaction per batch, as the archive's
        db.table("articles").insert_all(rows, batch_size=len(rows))


class Timer:
    """Wall and CPU seconds of the timed sections only."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def run(self, work: Callable[[], Any]) -> Any:
        """Run `work`, adding its wall and thread CPU time."""
        wall, cpu = time.perf_counter(), time.thread_time()
        result = work()
        self.wall += time.perf_counter() - wall
        self.cpu += time.thread_time() - cpu
        return result


def ingest(
    corpus: Corpus,
    count: int,
    batch: int,
    path: Path,
    plain_path: Path | None,
    sign_in_writer: bool = False,
) -> dict[str, Any]:
    """Store `count` articles in the archive (and the plain reference); return the figures.

    The items carry their MinHash signatures, as the crawl's extraction workers make them
    (timed apart: `signing`), unless `sign_in_writer` leaves that to the writer.
    """
    ours, plain, signing = Timer(), Timer(), Timer()
    checkpoints: list[dict[str, float]] = []
    step = max(batch, count // 10)
    archive = open_archive(path, create=True)
    with archive.transaction():
        for site in SITES:
            archive.upsert_source(site, [f"https://{site}.example/"], {"mode": "synthetic"})
        run_id = archive.start_run(list(SITES))
    plain_db: Database | None = None
    last = {"n": 0, "ours_wall": 0.0, "ours_cpu": 0.0, "plain_wall": 0.0, "plain_cpu": 0.0}
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for start in range(0, count, batch):
        rows = list(corpus.articles(min(batch, count - start), start))
        if not sign_in_writer:
            signing.run(partial(_sign, rows))
        result = ours.run(partial(archive.upsert_articles, rows, run_id))
        for outcome in result:
            outcomes[outcome.status] = outcomes.get(outcome.status, 0) + 1
        if plain_path is not None:
            plain_rows = [_plain_row(row) for row in rows]
            if plain_db is None:
                plain_db = _plain_db(plain_path, plain_rows[0])
            plain.run(partial(_insert_plain, plain_db, plain_rows))
        done = start + len(rows)
        if done % step == 0 or done == count:
            window = done - last["n"]
            point = {
                "articles": done,
                "ours_per_s": window / (ours.wall - last["ours_wall"]),
                "ours_cpu_ms": 1000 * (ours.cpu - last["ours_cpu"]) / window,
            }
            if plain_path is not None:
                point["plain_per_s"] = window / (plain.wall - last["plain_wall"])
                point["plain_cpu_ms"] = 1000 * (plain.cpu - last["plain_cpu"]) / window
            checkpoints.append(point)
            last = {"n": done, "ours_wall": ours.wall, "ours_cpu": ours.cpu,
                    "plain_wall": plain.wall, "plain_cpu": plain.cpu}  # fmt: skip
            print(
                f"{done:>9,} articles  ours {point['ours_per_s']:>6.0f}/s "
                f"({point['ours_cpu_ms']:.3f} CPU ms each)"
                + (
                    f"  plain {point['plain_per_s']:>6.0f}/s ({point['plain_cpu_ms']:.3f} CPU ms)"
                    if plain_path is not None
                    else ""
                )
                + f"  [{time.perf_counter() - started:.0f} s]",
                flush=True,
            )
    archive.finish_run(run_id, "finished", {"synthetic": count})
    archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = archive.counts()
    archive.close()
    report: dict[str, Any] = {
        "articles": count,
        "batch": batch,
        "outcomes": outcomes,
        "stored": counts,
        "signatures": "in the writer" if sign_in_writer else "precomputed (as by the workers)",
        "ours": {
            "per_s": count / ours.wall,
            "cpu_ms_per_article": 1000 * ours.cpu / count,
            "wall_s": ours.wall,
            "signing_cpu_ms_per_article": 1000 * signing.cpu / count,
            "all_in_cpu_ms_per_article": 1000 * (ours.cpu + signing.cpu) / count,
        },
        "db_bytes": path.stat().st_size,
        "db_bytes_per_article": path.stat().st_size / count,
        "progress": checkpoints,
    }
    if plain_db is not None and plain_path is not None:
        plain_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain_db.close()
        report["plain"] = {
            "per_s": count / plain.wall,
            "cpu_ms_per_article": 1000 * plain.cpu / count,
            "wall_s": plain.wall,
            "db_bytes": plain_path.stat().st_size,
        }
        report["ratio_wall"] = report["ours"]["per_s"] / report["plain"]["per_s"]
        report["ratio_cpu"] = plain.cpu / ours.cpu
        report["ratio_cpu_all_in"] = plain.cpu / (ours.cpu + signing.cpu)
    report["table_bytes"] = _table_sizes(path)
    return report


def _table_sizes(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    except sqlite3.OperationalError:  # SQLite built without dbstat
        return {}
    finally:
        conn.close()
    return {name: int(size) for name, size in rows}


def queries(corpus: Corpus, path: Path, count: int, rounds: int, seed: int) -> dict[str, Any]:
    """Latency of the archive's read paths on the stored articles (warm cache)."""
    rng = random.Random(seed)
    archive = open_archive(path, readonly=True)
    results: dict[str, Any] = {}

    def timed(name: str, call: Callable[..., Any], calls: list[dict[str, Any]]) -> None:
        for kwargs in calls[:3]:  # warm the page cache once
            call(**kwargs)
        samples, sizes = [], []
        for kwargs in calls:
            started = time.perf_counter()
            found = call(**kwargs)
            samples.append(time.perf_counter() - started)
            sizes.append(len(found))
        results[name] = {**_percentiles(samples), "mean_results": statistics.mean(sizes)}
        figures = results[name]
        print(f"  {name:<42} p50 {figures['p50_ms']:>8.2f} ms   p95 {figures['p95_ms']:>8.2f} ms")

    def word(band: str) -> str:
        low, high = WORD_BANDS[band]
        return corpus.word(rng.randrange(low, min(high, len(corpus.vocabulary))))

    def year() -> str:
        return str(rng.randrange(2019, 2027))

    def latest(**kwargs: Any) -> list[Any]:
        return list(archive.articles(limit=20, **kwargs))

    for band in WORD_BANDS:
        timed(
            f"search {band} word, ranked + snippets",
            archive.search,
            [{"query": word(band)} for _ in range(rounds)],
        )
    for band in ("medium", "common"):  # what the window saves: every match ranked
        timed(
            f"search {band} word, all matches ranked",
            partial(archive.search, window=None),
            [{"query": word(band)} for _ in range(max(5, rounds // 10))],
        )
    timed(
        "search two medium words (AND)",
        archive.search,
        [{"query": f"{word('medium')} {word('medium')}"} for _ in range(rounds)],
    )
    for band in ("rare", "medium"):
        calls = []
        for _ in range(rounds):
            when = year()
            calls.append(
                {"query": word(band), "site": rng.choice(SITES), "since": when, "until": when}
            )
        timed(f"search {band} word + site + year", archive.search, calls)
    timed("latest 20 of a site", latest, [{"site": rng.choice(SITES)} for _ in range(rounds)])
    calls = []
    for _ in range(rounds):
        month = f"{year()}-{rng.randint(1, 12):02d}"
        calls.append({"site": rng.choice(SITES), "since": month, "until": month})
    timed("latest 20 of a site in a month", latest, calls)
    timed(
        "near-duplicates of one article",
        archive.near_duplicates,
        [{"key": rng.randint(1, count)} for _ in range(rounds * 4)],
    )
    archive.close()
    return results


def _machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = line.split(":", 1)[1].strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_end": os.getloadavg(),
    }


def main() -> None:
    """Parse arguments, ingest, query, print and write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument(
        "--batch", type=int, default=100, help="articles per transaction (the writer's default)"
    )
    parser.add_argument("--keep", type=Path, help="keep the archive at this path")
    parser.add_argument("--no-plain", action="store_true", help="skip the sqlite-utils reference")
    parser.add_argument("--rounds", type=int, default=100, help="queries per kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sign-in-writer",
        action="store_true",
        help="items without precomputed MinHash signatures: the writer signs each body",
    )
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="only measure queries on the archive given by --keep (of --articles articles), "
        "keeping the ingest figures of the report from the run that built it",
    )
    parser.add_argument(
        "--report", type=Path, default=ROOT / "benchmarks" / "archive-scale-report.json"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tf-scale-"))
    path = args.keep or work / "archive.db"
    if args.queries_only and not path.exists():
        raise SystemExit("--queries-only needs an archive built by this script in --keep")
    if path.exists() and not args.queries_only:
        raise SystemExit(f"{path} exists: give a new path to --keep")
    try:
        started = time.perf_counter()
        corpus = Corpus(seed=args.seed)
        if args.queries_only:
            previous = json.loads(args.report.read_text()) if args.report.exists() else {}
            figures = previous.get("ingest", {})
        else:
            print(f"corpus ready in {time.perf_counter() - started:.1f} s; ingesting "
                  f"{args.articles:,} articles in batches of {args.batch}")  # fmt: skip
            figures = ingest(
                corpus, args.articles, args.batch, path,
                None if args.no_plain else work / "plain.db", args.sign_in_writer,
            )  # fmt: skip
            if not args.no_plain:
                (work / "plain.db").unlink()
            # written before the queries run, so a long query phase cannot lose them
            args.report.write_text(json.dumps({"machine": _machine(), "ingest": figures}, indent=2))
        if figures:
            _print_ingest(args.articles, figures)
        print("query latency (warm):")
        latency = queries(corpus, path, args.articles, args.rounds, args.seed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"machine": _machine(), "ingest": figures, "queries": latency}
    args.report.write_text(json.dumps(report, indent=2))
    worst = max(
        v["p95_ms"] for k, v in latency.items() if k.startswith("search") and "all" not in k
    )
    print(f"ranked search p95 (newest {SEARCH_WINDOW:,} matches ranked), worst kind: "
          f"{worst:.1f} ms (target < {TARGET_SEARCH_P95_MS} ms)")  # fmt: skip
    print(f"near-duplicate lookup p95: {latency['near-duplicates of one article']['p95_ms']:.2f} "
          f"ms (target < {TARGET_NEAR_DUP_MS} ms)")  # fmt: skip
    if args.keep:
        print(f"archive kept: {path}")
    print(f"report: {args.report}")


def _print_ingest(count: int, figures: dict[str, Any]) -> None:
    ours = figures["ours"]
    print(f"\narticles: {count:,}   stored: {figures['stored']['articles']:,}   "
          f"outcomes: {figures['outcomes']}")  # fmt: skip
    print(f"ingest: {ours['per_s']:,.0f} articles/s wall, {ours['cpu_ms_per_article']:.3f} "
          f"CPU ms/article (target >= {TARGET_RATE:,}/s); signatures "
          f"{figures.get('signatures', 'in the writer')}")  # fmt: skip
    if ours.get("signing_cpu_ms_per_article"):
        print(f"signing (minhash_signature, the extraction workers' part): "
              f"{ours['signing_cpu_ms_per_article']:.3f} CPU ms/article; all in "
              f"{ours['all_in_cpu_ms_per_article']:.3f}")  # fmt: skip
    if "plain" in figures:
        plain = figures["plain"]
        print(f"plain sqlite-utils insert_all + FTS: {plain['per_s']:,.0f}/s wall, "
              f"{plain['cpu_ms_per_article']:.3f} CPU ms/article")  # fmt: skip
        print(f"ratio ours/plain: wall {figures['ratio_wall']:.2f}, CPU {figures['ratio_cpu']:.2f} "
              f"(target >= {TARGET_RATIO})")  # fmt: skip
        if "ratio_cpu_all_in" in figures and ours.get("signing_cpu_ms_per_article"):
            print(f"ratio CPU all in (writer + signing): {figures['ratio_cpu_all_in']:.2f}")
    print(f"archive size: {figures['db_bytes'] / 2**20:,.0f} MiB "
          f"({figures['db_bytes_per_article']:,.0f} bytes/article)")  # fmt: skip
    for table, size in list(figures["table_bytes"].items())[:8]:
        print(f"  {table:<24} {size / 2**20:>9,.0f} MiB")


if __name__ == "__main__":
    main()
