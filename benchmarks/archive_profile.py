"""Where an archive write's CPU goes: `Archive.upsert_articles` timed per component.

The synthetic articles of archive_scale.py are stored in batches of 100; after `--warmup`
articles, the next `--articles` are stored with every SQL statement timed around its
execute (by statement kind: the `articles` INSERT with its FTS5 trigger and indexes, band
lookups, band rows, COMMIT, ...) and the archive's Python steps timed as sections (MinHash,
band keys, URL keys, content hash, JSON), each exclusive of the sections inside it; the
rest of `upsert_articles` is "Python, the rest". Thread CPU time, per article. The plain
sqlite-utils `insert_all` + FTS5 reference is timed on the same rows in the same run.

    .venv/bin/python benchmarks/archive_profile.py --warmup 4000 --articles 4000
    .venv/bin/python benchmarks/archive_profile.py --precomputed   # signatures given

With `--precomputed` the items carry the MinHash signatures the crawl's extraction workers
compute (`archive.minhash_signature`), computed untimed, as the writer sees them.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import archive  # noqa: E402
from archive import clusters, open_archive, store  # noqa: E402
from benchmarks.archive_scale import _insert_plain, _plain_db, _plain_row  # noqa: E402
from benchmarks.synthetic import SITES, Corpus  # noqa: E402

_TABLE = re.compile(r"\b(?:INTO|FROM|UPDATE)\s+\[?(\w+)", re.IGNORECASE)


class Sections:
    """Exclusive thread CPU time per named section (a section inside another is its own)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._children = [0.0]
        self.enabled = False

    def run(self, name: str, work: Callable[[], Any]) -> Any:
        """Run `work`, counting its time (minus inner sections') under `name`."""
        if not self.enabled:
            return work()
        started = time.thread_time()
        self._children.append(0.0)
        try:
            return work()
        finally:
            elapsed = time.thread_time() - started
            inner = self._children.pop()
            self.totals[name] += elapsed - inner
            self.calls[name] += 1
            self._children[-1] += elapsed

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        """Time every call of owner.attribute as section `name`."""
        function = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            return self.run(name, lambda: function(*args, **kwargs))

        setattr(owner, attribute, timed)


def statement_kind(sql: str) -> str:
    """A short name for an SQL statement: its verb and table."""
    words = sql.split()
    verb = " ".join(words[:3]) if words[:3] == ["INSERT", "OR", "IGNORE"] else words[0]
    if "UNION ALL" in sql and "minhash_bands" in sql:
        return "SELECT minhash_bands (LSH bucket lookup)"
    found = _TABLE.search(sql)
    return f"{verb.upper()} {found.group(1) if found else ''}".strip()


class TimedConnection:
    """A sqlite3 connection whose execute/executemany are timed per statement kind."""

    def __init__(self, conn: sqlite3.Connection, sections: Sections) -> None:
        self._conn = conn
        self._sections = sections

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """conn.execute, timed."""
        return self._sections.run(  # type: ignore[no-any-return]
            "SQL " + statement_kind(sql), lambda: self._conn.execute(sql, params)
        )

    def executemany(self, sql: str, rows: Iterable[Any]) -> sqlite3.Cursor:
        """conn.executemany, timed."""
        return self._sections.run(  # type: ignore[no-any-return]
            "SQL " + statement_kind(sql), lambda: self._conn.executemany(sql, rows)
        )

    def __enter__(self) -> TimedConnection:
        self._conn.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._sections.run("SQL COMMIT", lambda: self._conn.__exit__(*exc))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def instrument(sections: Sections) -> None:
    """Time the archive's Python steps of a write."""
    sections.wrap(clusters, "minhash_many", "Python MinHash signatures")
    sections.wrap(clusters, "band_keys", "Python band keys")
    sections.wrap(clusters, "similarity", "Python candidate similarity")
    sections.wrap(store, "normalize_url", "Python URL keys")
    sections.wrap(store, "content_hash", "Python content hash")
    sections.wrap(store, "_dumps", "Python JSON")
    sections.wrap(clusters, "precomputed", "Python signature check")


def main() -> None:
    """Store warm-up articles, then profile the next ones; print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warmup", type=int, default=4000)
    parser.add_argument("--articles", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--precomputed", action="store_true", help="items carry signatures")
    args = parser.parse_args()
    corpus = Corpus(seed=1)
    work = Path(tempfile.mkdtemp(prefix="tf-profile-"))
    arch = open_archive(work / "archive.db", create=True)
    with arch.transaction():
        for site in SITES:
            arch.upsert_source(site, [f"https://{site}.example/"], {"mode": "synthetic"})
        run_id = arch.start_run(list(SITES))
    sections = Sections()
    instrument(sections)
    arch.db.conn = TimedConnection(arch.db.conn, sections)  # type: ignore[assignment]
    plain_db = None
    total = plain = 0.0
    sign = getattr(archive, "minhash_signature", None)
    for start in range(0, args.warmup + args.articles, args.batch):
        rows = list(corpus.articles(args.batch, start))
        sections.enabled = False  # the extraction workers' part is not the writer's
        if args.precomputed:
            if sign is None:
                raise SystemExit("this archive has no archive.minhash_signature")
            for row in rows:
                row["minhash"] = sign(row["body"])
        profiled = start >= args.warmup
        sections.enabled = profiled
        started = time.thread_time()
        arch.upsert_articles(rows, run_id)
        if profiled:
            total += time.thread_time() - started
        plain_rows = [_plain_row({k: v for k, v in r.items() if k != "minhash"}) for r in rows]
        if plain_db is None:
            plain_db = _plain_db(work / "plain.db", plain_rows[0])
        started = time.thread_time()
        _insert_plain(plain_db, plain_rows)
        if profiled:
            plain += time.thread_time() - started
    sections.enabled = False
    n = args.articles
    print(f"articles {args.warmup + 1:,}-{args.warmup + n:,}, batches of {args.batch}"
          f"{', signatures precomputed' if args.precomputed else ''}")  # fmt: skip
    print(f"{'part':<52} {'ms/article':>10} {'share':>6}")
    measured = sum(sections.totals.values())
    rows_out = sorted(sections.totals.items(), key=lambda item: -item[1])
    rows_out.append(("Python, the rest (upsert_articles minus the above)", total - measured))
    for name, seconds in rows_out:
        print(f"{name:<52} {1000 * seconds / n:>10.3f} {seconds / total:>6.1%}")
    print(f"{'total upsert_articles':<52} {1000 * total / n:>10.3f}")
    print(f"{'plain insert_all + FTS5 (same rows)':<52} {1000 * plain / n:>10.3f}")
    print(f"ratio CPU plain/ours: {plain / total:.2f}")
    arch.close()


if __name__ == "__main__":
    main()
