"""`teaserfeed reextract` of a 10,000-article archive: the extraction pool against inline.

The archive comes from a real crawl of the generated site (`sitegen.py`, served by a local
nginx; raw pages stored as the crawl stores them). Each contestant re-extracts its own copy
in a process of its own; CPU counts the pool's workers (reaped through a child subreaper,
as in crawl.py), and the two archives must end up with the same articles.

    .venv/bin/python benchmarks/reextract.py                  # 500 listings: 10,000 articles
    .venv/bin/python benchmarks/reextract.py --pages 50       # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.crawl import (  # noqa: E402
    BIN,
    Measured,
    Nginx,
    _become_subreaper,
    _load,
    _run_measured,
    teaserfeed_cmd,
)
from benchmarks.sitegen import TEASERS_PER_PAGE, generate_site  # noqa: E402


def _digest(db: Path) -> tuple[int, str]:
    """How many articles, and a hash of every article's re-extracted text, in id order."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "select id, title, lead, body, extractor_version from articles order by id"
        ).fetchall()
    finally:
        conn.close()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def main() -> None:
    """Crawl once, re-extract a copy inline and a copy with the pool, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=500, help="listing pages (20 articles each)")
    parser.add_argument("--workers", type=int, default=None, help="pool size (default: cores)")
    parser.add_argument("--report", type=Path, default=Path("benchmarks/reextract-report.json"))
    args = parser.parse_args()
    _become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="tf-reextract-"))
    work.chmod(0o755)  # nginx's workers run as an unprivileged user
    try:
        generate_site(work / "site", args.pages)
        server = Nginx(work / "site", work / "nginx")
        base = work / "base.db"
        try:
            started = time.perf_counter()
            # 10,000 articles and 500 listings are more requests than a site's default limit
            cmd = teaserfeed_cmd(server.url, args.pages, work, base)
            _run_measured("crawl", [*cmd, "-s", "TEASERFEED_MAX_PAGES_PER_SITE=0"], 0, work)
            print(f"archive of {_digest(base)[0]} articles crawled in "
                  f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        finally:
            server.stop()
        results: list[Measured] = []
        digests = []
        for label, workers in (("inline (--workers 0)", 0), ("pool", args.workers)):
            db = work / f"copy-{workers}.db"
            with sqlite3.connect(base) as src, sqlite3.connect(db) as dst:
                src.backup(dst)
            cmd = [str(BIN / "teaserfeed"), "reextract", "--archive", str(db), "--json"]
            if workers is not None:
                cmd += ["--workers", str(workers)]
            m = _run_measured(f"reextract {label}", cmd, 0, work)
            count, digest = _digest(db)
            m.pages = count
            results.append(m)
            digests.append(digest)
            print(f"{m.name:30} {count:>6} articles {m.wall_s:>7.1f} s "
                  f"{count / m.wall_s:>7.1f} articles/s {1000 * m.cpu_s / count:>7.2f} CPU ms "
                  f"each  peak RSS {m.max_rss_mb:.0f} MB (tree)  load {m.load}", flush=True)  # fmt: skip
        inline, pool = results
        print(f"pool vs inline: {inline.wall_s / pool.wall_s:.2f}x the articles/s, "
              f"{pool.cpu_s / inline.cpu_s:.2f}x the CPU; same articles: "
              f"{digests[0] == digests[1]}   (load now {_load()})")  # fmt: skip
        if digests[0] != digests[1]:
            raise SystemExit("the pool's re-extraction differs from the inline one")
        args.report.write_text(
            json.dumps(
                {
                    "articles": inline.pages,
                    "expected": args.pages * TEASERS_PER_PAGE,
                    "runs": [{**m.__dict__, "articles_per_s": m.pages / m.wall_s} for m in results],
                    "speedup": inline.wall_s / pool.wall_s,
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
