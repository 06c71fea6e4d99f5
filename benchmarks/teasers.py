"""Teaser detection benchmark: the automatic mode on the teaser-listings pages, scored by
that set's own scorer.

    .venv/bin/python benchmarks/teasers.py [--rounds 10] [--json PATH]

Runs ../shared/benchmarks/teaser-listings/score.py in this process, pinned to one CPU:
first with --region main (the per-page table and the summary: main teasers against the main
ground truth; secondary predictions that match a secondary teaser are ignored), then with
--region all (main and secondary teasers against every teaser). The scorer times one cold
round in wall-clock time; the speed line below it counts CPU time (the fastest of --rounds
rounds of parsing + detection per page), which a busy machine disturbs less. Ends with the
issue's targets and whether each is met.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from crawlers.listing import find_teasers

__all__ = ["DATASET", "extract_all", "extract_main", "load_scorer", "main", "speed"]

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared/benchmarks/teaser-listings"
TARGETS = {
    "url_f1": 0.97,
    "strict_f1": 0.93,
    "title_f1": 0.95,
    "excerpt_f1": 0.85,
    "all_url_f1": 0.93,
    "pages_per_second": 50.0,
}


def extract_main(html: str, url: str) -> list[dict[str, Any]]:
    """The automatic mode's main teasers, in the scorer's format."""
    return [_row(t) for t in find_teasers(html, url) if t.region == "main"]


def extract_all(html: str, url: str) -> list[dict[str, Any]]:
    """Main and secondary teasers, in the scorer's format."""
    return [_row(t) for t in find_teasers(html, url)]


def _row(teaser: Any) -> dict[str, Any]:
    return {"url": teaser.url, "title": teaser.title, "excerpt": teaser.excerpt}


def load_scorer(dataset: Path = DATASET) -> ModuleType:
    """The set's score.py as a module."""
    spec = importlib.util.spec_from_file_location("teaser_listings_score", dataset / "score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no scorer at {dataset / 'score.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages(dataset: Path) -> list[tuple[str, str, str]]:
    annotations = json.loads((dataset / "annotations.json").read_text(encoding="utf-8"))
    pages = []
    for page in annotations["pages"]:
        raw = gzip.decompress((dataset / "html" / f"{page['id']}.html.gz").read_bytes())
        pages.append(
            (page["id"], raw.decode(page.get("encoding") or "utf-8", "replace"), page["page_url"])
        )
    return pages


def speed(dataset: Path = DATASET, rounds: int = 10) -> float:
    """Pages per CPU second of parsing + automatic detection (the fastest round of each
    page, counted in this thread's CPU time so that other processes on the machine do not
    slow it down)."""
    total = 0.0
    for _, html, url in _pages(dataset):
        best = float("inf")
        for _ in range(rounds):
            started = time.thread_time()
            find_teasers(html, url)
            best = min(best, time.thread_time() - started)
        total += best
    return len(_pages(dataset)) / total if total else 0.0


def _idle_ticks() -> dict[int, int]:
    ticks: dict[int, int] = {}
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                ticks[int(name[3:])] = int(values[3]) + int(values[4])  # idle + iowait
    except (OSError, ValueError, IndexError):
        return {}
    return ticks


def _pin_one_cpu() -> str:
    """Run on one CPU: the one idlest over a short sample, so other work disturbs least."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    allowed = os.sched_getaffinity(0)
    before = _idle_ticks()
    time.sleep(0.5)
    after = _idle_ticks()
    idle = {cpu: after.get(cpu, 0) - before.get(cpu, 0) for cpu in allowed}
    cpu = max(sorted(allowed), key=lambda c: idle.get(c, 0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def _score(scorer: ModuleType, region: str, quiet: bool) -> dict[str, Any]:
    function = "extract_main" if region == "main" else "extract_all"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        argv = ["--extractor", f"{Path(__file__).resolve()}:{function}", "--region", region]
        argv += ["--json", str(out), "--pages", str(DATASET / "html")]
        argv += ["--annotations", str(DATASET / "annotations.json")]
        if quiet:
            argv.append("--quiet")
        code = scorer.main(argv)
        if code:
            raise SystemExit(code)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def main(argv: list[str] | None = None) -> int:
    """Score the automatic mode and print the scorer's table, summary, speed and targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="timing rounds per page")
    parser.add_argument("--json", type=Path, help="write both scorer results here")
    args = parser.parse_args(argv)
    if not (DATASET / "score.py").exists():
        print(f"teaser-listings set not found at {DATASET}", file=sys.stderr)
        return 2
    pinned = _pin_one_cpu()
    scorer = load_scorer()
    print("== region main: main teasers against the main ground truth ==")
    main_result = _score(scorer, "main", quiet=False)
    print()
    print("== region all: main + secondary teasers against every teaser ==")
    all_result = _score(scorer, "all", quiet=True)
    pages_per_second = speed(rounds=args.rounds)
    print()
    rounds = f"fastest of {args.rounds} rounds"
    print(f"speed: {pages_per_second:.1f} pages/s of CPU time (parse + detect, {rounds}, {pinned})")
    summary = main_result["summary"]
    reached = {
        "url_f1": summary["url_f1"],
        "strict_f1": summary["strict_f1"],
        "title_f1": summary["title_f1"],
        "excerpt_f1": summary["excerpt_f1"],
        "all_url_f1": all_result["summary"]["url_f1"],
        "pages_per_second": pages_per_second,
    }
    print()
    print("targets:")
    for key, target in TARGETS.items():
        value = reached[key]
        mark = "met" if value is not None and value >= target else "MISSED"
        shown = (
            "-"
            if value is None
            else (f"{value:.1f}" if key == "pages_per_second" else f"{value:.3f}")
        )
        print(f"  {key:<17} {shown:>7}  (target >= {target:g})  {mark}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"main": main_result, "all": all_result, "pages_per_second": pages_per_second},
                indent=1,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
