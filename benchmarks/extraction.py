"""Article body extraction benchmark: teaserfeed against plain trafilatura on the AEB pages.

Scores with the metric of the Article Extraction Benchmark (scrapinghub, MIT): word 4-gram
shingles of the extracted and the annotated body; per page, true/false positives and false
negatives are normalised by their sum; precision and recall are averaged over pages (a page
with no extracted text counts for recall only) and F1 is taken of the two means.

    .venv/bin/python benchmarks/extraction.py [--rounds 3] [--report PATH] [--ablate]

Both extractors get the same decoded HTML string in the same run. docs/s is pages per second
of CPU time in each extractor's fastest round, the rounds alternating between extractors (CPU
time, not wall time: other processes on a shared machine slow both alike but unevenly).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DATASET",
    "Page",
    "Result",
    "load_pages",
    "main",
    "page_scores",
    "run_extractor",
    "score",
    "teaserfeed_body",
    "trafilatura_body",
]

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared/benchmarks/article-extraction"
DEFAULT_REPORT = ROOT / "benchmarks/extraction-report.json"
SHINGLE = 4

_TOKEN_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class Page:
    """One benchmark page: its id, URL, HTML and hand-annotated body."""

    id: str
    url: str
    html: str
    truth: str


@dataclass
class Result:
    """One extractor's scores on the benchmark, with per-page numbers."""

    name: str
    f1: float
    precision: float
    recall: float
    empty: int
    docs: int
    seconds: float
    pages: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def docs_per_second(self) -> float:
        """Pages extracted per CPU second in the fastest round."""
        return self.docs / self.seconds if self.seconds else 0.0


def load_pages(dataset: Path = DATASET) -> list[Page]:
    """The benchmark's pages with their ground truth, in id order."""
    truth = json.loads((dataset / "ground-truth.json").read_text("utf-8"))
    pages = []
    for page_id in sorted(truth):
        with gzip.open(dataset / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8") as f:
            html = f.read()
        item = truth[page_id]
        pages.append(Page(page_id, item.get("url", ""), html, item.get("articleBody") or ""))
    return pages


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN_RE.findall(text)
    # a text shorter than one shingle is one short shingle, as in the reference scorer
    return Counter(
        tuple(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1)) if tokens
    )


def _tp_fp_fn(truth: str, pred: str) -> tuple[float, float, float]:
    true, got = _shingles(truth), _shingles(pred)
    tp = sum((true & got).values())
    fp = sum((got - true).values())
    fn = sum((true - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else tp / (tp + fn)


def score(truths: Sequence[str], preds: Sequence[str]) -> tuple[float, float, float]:
    """(F1, precision, recall) of predictions against truths with the AEB metric."""
    counts = [_tp_fp_fn(t, p) for t, p in zip(truths, preds, strict=True)]
    precision = statistics.fmean(_precision(*c) for c in counts if c[0] + c[1] > 0)
    recall = statistics.fmean(_recall(*c) for c in counts if c[0] + c[2] > 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def page_scores(truth: str, pred: str) -> dict[str, float]:
    """Precision, recall and F1 of one page."""
    tp, fp, fn = _tp_fp_fn(truth, pred)
    p = _precision(tp, fp, fn) if tp + fp > 0 else 0.0
    r = _recall(tp, fp, fn) if tp + fn > 0 else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def teaserfeed_body(page: Page) -> str:
    """teaserfeed's article body for a page."""
    from crawlers.article import extract_article

    return extract_article(page.html, page.url).body


def trafilatura_body(page: Page) -> str:
    """Plain trafilatura's text for a page, called as the AEB repository calls it."""
    import trafilatura

    return trafilatura.extract(page.html, include_comments=False) or ""


Extractor = Callable[[Page], str]


def _timed(extract: Extractor, pages: Sequence[Page]) -> tuple[list[str], float]:
    outputs = []
    start = time.process_time()
    for page in pages:
        outputs.append(extract(page))
    return outputs, time.process_time() - start


def run_extractor(name: str, extract: Extractor, pages: Sequence[Page]) -> Result:
    """Score one extractor in one round."""
    outputs, seconds = _timed(extract, pages)
    return _result(name, pages, outputs, seconds)


def _result(name: str, pages: Sequence[Page], outputs: Sequence[str], seconds: float) -> Result:
    f1, precision, recall = score([p.truth for p in pages], outputs)
    return Result(
        name=name,
        f1=f1,
        precision=precision,
        recall=recall,
        empty=sum(1 for text in outputs if not text.strip()),
        docs=len(pages),
        seconds=seconds,
        pages={p.id: page_scores(p.truth, o) for p, o in zip(pages, outputs, strict=True)},
    )


def compare(extractors: dict[str, Extractor], pages: Sequence[Page], rounds: int) -> list[Result]:
    """Run the extractors in alternating rounds; speed from each one's fastest round."""
    for extract in extractors.values():  # warm-up: imports, rule compilation, caches
        extract(pages[0])
    best: dict[str, tuple[list[str], float]] = {}
    for _ in range(max(1, rounds)):
        for name, extract in extractors.items():
            outputs, seconds = _timed(extract, pages)
            if name not in best or seconds < best[name][1]:
                best[name] = (outputs, seconds)
    return [_result(name, pages, *best[name]) for name in extractors]


def _table(results: Sequence[Result]) -> str:
    lines = [
        f"{'extractor':<12} {'F1':>6} {'precision':>9} {'recall':>6} {'empty':>5} {'docs/s':>7}"
    ]
    for r in results:
        lines.append(
            f"{r.name:<12} {r.f1:>6.4f} {r.precision:>9.4f} {r.recall:>6.4f} "
            f"{r.empty:>5d} {r.docs_per_second:>7.1f}"
        )
    return "\n".join(lines)


def _ablation(pages: Sequence[Page], base_f1: float) -> list[dict[str, Any]]:
    from crawlers.article import extract_article
    from crawlers.cleanup import global_rules

    rows = []
    rules = global_rules()
    for rule in rules:
        kept = tuple(r for r in rules if r is not rule)
        outputs = [extract_article(p.html, p.url, rules=kept).body for p in pages]
        f1, _, _ = score([p.truth for p in pages], outputs)
        rows.append({"rule": rule.name, "f1_without": f1, "gain": base_f1 - f1})
    return sorted(rows, key=lambda row: -float(row["gain"]))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the comparison table and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET, help="AEB-layout folder")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per extractor")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="JSON report path")
    parser.add_argument("--worst", type=int, default=10, help="teaserfeed's worst pages shown")
    parser.add_argument(
        "--ablate", action="store_true", help="also score teaserfeed with each global rule off"
    )
    args = parser.parse_args(argv)
    if not (args.dataset / "ground-truth.json").is_file():
        print(f"no benchmark data in {args.dataset}", file=sys.stderr)
        return 2
    pages = load_pages(args.dataset)
    results = compare(
        {"teaserfeed": teaserfeed_body, "trafilatura": trafilatura_body}, pages, args.rounds
    )
    print(f"{len(pages)} pages from {args.dataset}, best of {args.rounds} rounds\n")
    print(_table(results))
    ours, theirs = results
    by_url = {p.id: p.url for p in pages}
    worst = sorted(ours.pages.items(), key=lambda kv: kv[1]["f1"])[: args.worst]
    print(f"\nteaserfeed's {len(worst)} worst pages (F1 / precision / recall, trafilatura F1):")
    for page_id, s in worst:
        print(
            f"  {s['f1']:.3f} / {s['precision']:.3f} / {s['recall']:.3f}  "
            f"({theirs.pages[page_id]['f1']:.3f})  {page_id[:12]}  {by_url[page_id]}"
        )
    report: dict[str, Any] = {
        "dataset": str(args.dataset),
        "pages": len(pages),
        "rounds": args.rounds,
        "results": [
            {
                "name": r.name,
                "f1": r.f1,
                "precision": r.precision,
                "recall": r.recall,
                "empty": r.empty,
                "docs_per_second": r.docs_per_second,
                "per_page": r.pages,
            }
            for r in results
        ],
    }
    if args.ablate:
        rows = _ablation(pages, ours.f1)
        report["ablation"] = rows
        print("\nablation: teaserfeed F1 with one global rule off (gain = F1 lost without it)")
        for row in rows:
            print(f"  {row['rule']:<22} F1 {row['f1_without']:.4f}  gain {row['gain']:+.4f}")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    print(f"\nreport: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
