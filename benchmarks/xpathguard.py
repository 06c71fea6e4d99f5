"""trafilatura's guarded expressions (crawlers/extract/xpathguard.py): what they save.

`extract_article` on every page of both public sets, with the guarded twins (as teaserfeed
runs) and without them (trafilatura's own expressions: the scope replaced by a no-op), in
one process, page by page, the order alternating; prints each set's CPU seconds on both
sides, their ratio, and the pages whose `Article` differs in any field (there must be none).

    .venv/bin/python benchmarks/xpathguard.py [--sets aeb,wcxb] [--rounds 2] [--every N]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.extraction import DATASETS, Page, load_pages  # noqa: E402
from crawlers.extract import article as article_module  # noqa: E402
from crawlers.extract.xpathguard import guarded  # noqa: E402


def _scope(on: bool) -> None:
    """teaserfeed's calls of trafilatura with the guarded twins, or with its own expressions."""
    article_module.guarded = guarded if on else contextlib.nullcontext  # type: ignore[assignment]


def compare(pages: Sequence[Page], rounds: int) -> tuple[float, float, list[str]]:
    """CPU seconds without and with the guards over all rounds, and the pages that differ."""
    spent = {False: 0.0, True: 0.0}
    differ: list[str] = []
    try:
        for round_ in range(rounds):
            for i, page in enumerate(pages):
                made = {}
                for on in (False, True) if (i + round_) % 2 == 0 else (True, False):
                    _scope(on)
                    start = time.process_time()
                    made[on] = article_module.extract_article(page.html, page.url)
                    spent[on] += time.process_time() - start
                if round_ == 0 and dataclasses.asdict(made[False]) != dataclasses.asdict(
                    made[True]
                ):
                    differ.append(page.id)
    finally:
        _scope(True)
    return spent[False], spent[True], differ


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="aeb,wcxb", help="comma-separated, of aeb, wcxb")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over each set")
    parser.add_argument("--every", type=int, default=1, help="every Nth page only")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the pages' size warnings are not the point here
    for name in args.sets.split(","):
        pages = load_pages(DATASETS[name], args.every)
        article_module.extract_article(pages[0].html, pages[0].url)  # imports, caches
        plain, with_guards, differ = compare(pages, max(1, args.rounds))
        print(
            f"{name}: {len(pages)} pages x {args.rounds}: trafilatura's own expressions "
            f"{plain:.2f} CPU s, guarded {with_guards:.2f} CPU s, ratio {with_guards / plain:.3f}; "
            f"pages whose Article differs: {len(differ)}{' ' + ', '.join(differ) if differ else ''}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
