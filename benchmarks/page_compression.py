"""zlib level vs size and CPU time on raw article pages: what `PAGE_ZLIB_LEVEL` costs.

Pages: sitegen.py's ~60 KB generated article pages and, when present, the 181 real pages
of ../shared/benchmarks/article-extraction/html. Thread CPU time, best of three passes.

    .venv/bin/python benchmarks/page_compression.py
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.sitegen import generate_site  # noqa: E402

AEB = ROOT.parent / "shared/benchmarks/article-extraction/html"
LEVELS = (1, 2, 3, 4, 6, 9)


def _real_pages() -> list[bytes]:
    pages = []
    for path in sorted(AEB.rglob("*")) if AEB.is_dir() else []:
        if path.suffix in (".html", ".htm"):
            pages.append(path.read_bytes())
        elif path.suffix == ".gz":
            pages.append(gzip.decompress(path.read_bytes()))
    return pages


def main() -> None:
    """Print ms per page and compressed/raw size for each level and page set."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_site(Path(tmp), 200)
        generated = [
            p.read_bytes() for p in sorted(Path(tmp).rglob("*.html")) if p.stat().st_size > 20_000
        ]
    for name, pages in (("sitegen", generated), ("aeb", _real_pages())):
        if not pages:
            continue
        raw = sum(map(len, pages))
        print(f"{name}: {len(pages)} pages, mean {raw / len(pages) / 1024:.0f} KB")
        for level in LEVELS:
            best = float("inf")
            for _ in range(3):
                started = time.thread_time()
                size = sum(len(zlib.compress(page, level)) for page in pages)
                best = min(best, time.thread_time() - started)
            print(
                f"  level {level}: {1000 * best / len(pages):.2f} ms/page, ratio {size / raw:.3f}"
            )


if __name__ == "__main__":
    main()
