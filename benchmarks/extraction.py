"""Article extraction benchmark: teaserfeed against plain trafilatura, side by side, on both sets.

The sets are the 181 news pages of the Article Extraction Benchmark (`aeb`,
../shared/benchmarks/article-extraction) and the 793 article pages of the WCXB development
split (`wcxb`, ../shared/benchmarks/wcxb-dev-articles, with title, author and date gold).
Bodies are scored with the metric of the Article Extraction Benchmark (scrapinghub, MIT):
word 4-gram shingles of the extracted and the annotated body; per page, true/false positives
and false negatives are normalised by their sum; precision and recall are averaged over
pages (a page with no extracted text counts for recall only) and F1 is taken of the two
means. A page whose own F1 is below 0.5 has collapsed.

    .venv/bin/python benchmarks/extraction.py [--sets aeb,wcxb] [--every N] [--rounds 2]
                                              [--report PATH] [--worst 10] [--ablate]
                                              [--no-meta-speed]

Both extractors get the same decoded HTML string in the same run. docs/s is pages per second
of CPU time in each extractor's fastest round; within a round each page goes through every
extractor before the next page (CPU time, not wall time, and interleaved page by page: other
processes on a shared machine then slow both alike, not one side's whole round).
trafilatura is timed as the AEB repository calls it (`extract`, body only); its title,
author and date for the metadata columns come from `extract_metadata` outside the timing.
For information (issue 17's target is the body-only ratio), a second speed line times
trafilatura with its metadata too (`bare_extraction(..., with_metadata=True)`), as teaserfeed
always extracts both; `--no-meta-speed` leaves it out.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DATASET",
    "DATASETS",
    "WCXB",
    "Page",
    "Prediction",
    "Result",
    "load_pages",
    "main",
    "metadata_scores",
    "page_scores",
    "run_extractor",
    "score",
    "teaserfeed_body",
    "teaserfeed_prediction",
    "trafilatura_body",
]

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared/benchmarks/article-extraction"
WCXB = ROOT.parent / "shared/benchmarks/wcxb-dev-articles"
DATASETS = {"aeb": DATASET, "wcxb": WCXB}
DEFAULT_REPORT = ROOT / "benchmarks/extraction-report.json"
SHINGLE = 4
COLLAPSE = 0.5  # a page below this F1 has lost its story
FRAGMENT_ANCHOR = 0.8  # ... and is a fragment where the anchor got more than this
WORSE_BY = 0.2
F1_MARGIN = 0.010  # issue 17: teaserfeed's F1 at least this much above trafilatura's
SPEED_RATIO = 1.0  # ... at no fewer docs per CPU second
META_SPEED = "trafilatura+meta"  # the informational timing: trafilatura's body and metadata

_TOKEN_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class Page:
    """One benchmark page: its id, URL, HTML, annotated body and (WCXB) metadata gold."""

    id: str
    url: str
    html: str
    truth: str
    title: str | None = None
    author: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Prediction:
    """What an extractor found on one page."""

    body: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    date: str | None = None
    source: str = ""  # which path produced the body (teaserfeed only)


@dataclass
class Result:
    """One extractor's scores on a set, with per-page numbers."""

    name: str
    f1: float
    precision: float
    recall: float
    empty: int
    docs: int
    seconds: float
    pages: dict[str, dict[str, float]] = field(default_factory=dict)
    meta: dict[str, float] = field(default_factory=dict)
    sources: Counter[str] = field(default_factory=Counter)
    page_sources: dict[str, str] = field(default_factory=dict)

    @property
    def docs_per_second(self) -> float:
        """Pages extracted per CPU second in the fastest round."""
        return self.docs / self.seconds if self.seconds else 0.0

    @property
    def collapsed(self) -> list[str]:
        """Ids of the pages whose F1 is below COLLAPSE."""
        return [pid for pid, s in self.pages.items() if s["f1"] < COLLAPSE]


def _read_gz(path: Path) -> str:
    with gzip.open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def load_pages(dataset: Path = DATASET, every: int = 1) -> list[Page]:
    """A set's pages with their ground truth, in id order (every `every`th page)."""
    pages = []
    if (dataset / "ground-truth.json").is_file():  # AEB layout
        truth = json.loads((dataset / "ground-truth.json").read_text("utf-8"))
        for page_id in sorted(truth):
            item = truth[page_id]
            html = _read_gz(dataset / "html" / f"{page_id}.html.gz")
            pages.append(Page(page_id, item.get("url", ""), html, item.get("articleBody") or ""))
    else:  # WCXB layout: one JSON per page
        for path in sorted((dataset / "ground-truth").glob("*.json")):
            item = json.loads(path.read_text("utf-8"))
            gold = item.get("ground_truth") or {}
            page_id = path.stem
            html = _read_gz(dataset / "html" / f"{page_id}.html.gz")
            pages.append(
                Page(
                    page_id,
                    item.get("url") or "",
                    html,
                    gold.get("main_content") or "",
                    title=gold.get("title") or None,
                    author=gold.get("author") or None,
                    date=gold.get("publish_date") or None,
                )
            )
    return pages[:: max(1, every)]


def _has_data(dataset: Path) -> bool:
    return (dataset / "ground-truth.json").is_file() or (dataset / "ground-truth").is_dir()


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
    precision = statistics.fmean([_precision(*c) for c in counts if c[0] + c[1] > 0] or [0.0])
    recall = statistics.fmean([_recall(*c) for c in counts if c[0] + c[2] > 0] or [0.0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def page_scores(truth: str, pred: str) -> dict[str, float]:
    """Precision, recall and F1 of one page."""
    tp, fp, fn = _tp_fp_fn(truth, pred)
    p = _precision(tp, fp, fn) if tp + fp > 0 else 0.0
    r = _recall(tp, fp, fn) if tp + fn > 0 else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


# -- metadata scores ---------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _TOKEN_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def _token_f1(gold: str, pred: str) -> float:
    want, got = Counter(_words(gold)), Counter(_words(pred))
    common = sum((want & got).values())
    if not common:
        return 0.0
    p, r = common / sum(got.values()), common / sum(want.values())
    return 2 * p * r / (p + r)


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def metadata_scores(pages: Sequence[Page], preds: Sequence[Prediction]) -> dict[str, float]:
    """Title exact/F1, author F1/match and same-day date accuracy over pages with gold."""
    titled = [(p.title, q.title or "") for p, q in zip(pages, preds, strict=True) if p.title]
    authored = [
        (p.author, " ".join(q.authors)) for p, q in zip(pages, preds, strict=True) if p.author
    ]
    dated = [(p.date, q.date or "") for p, q in zip(pages, preds, strict=True) if p.date]
    if not titled and not authored and not dated:
        return {}

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    return {
        "title_exact": mean([float(_same_text(g, t)) for g, t in titled]),
        "title_f1": mean([_token_f1(g, t) for g, t in titled]),
        "author_f1": mean([_token_f1(g, a) for g, a in authored]),
        "author_match": mean([float(_words(g) == _words(a)) for g, a in authored]),
        "date_day": mean([float(d[:10] == g[:10]) for g, d in dated]),
    }


# -- extractors --------------------------------------------------------------------------


def teaserfeed_prediction(page: Page) -> Prediction:
    """teaserfeed's body and metadata for a page."""
    from crawlers.extract.article import extract_article

    article = extract_article(page.html, page.url)
    return Prediction(
        article.body,
        article.title,
        tuple(article.authors),
        article.published,
        getattr(article, "body_source", ""),
    )


def teaserfeed_body(page: Page) -> str:
    """teaserfeed's article body for a page."""
    return teaserfeed_prediction(page).body


def trafilatura_body(page: Page) -> str:
    """Plain trafilatura's text for a page, called as the AEB repository calls it."""
    import trafilatura

    return trafilatura.extract(page.html, include_comments=False) or ""


def _trafilatura_prediction(page: Page) -> Prediction:
    return Prediction(trafilatura_body(page))


def _trafilatura_with_metadata(page: Page) -> Prediction:
    """trafilatura's body and metadata in one call, for the informational speed line."""
    from trafilatura import bare_extraction

    try:
        doc = bare_extraction(page.html, url=page.url, include_comments=False, with_metadata=True)
    except Exception:  # its metadata on an odd page: no result rather than no benchmark
        doc = None
    return Prediction(str(getattr(doc, "text", None) or ""))


def _trafilatura_metadata(page: Page, body: str) -> Prediction:
    """trafilatura's own title, authors and date for a page (not timed)."""
    from trafilatura.metadata import extract_metadata

    try:
        doc = extract_metadata(page.html, default_url=page.url)
    except Exception:  # its metadata on an odd page: none rather than no benchmark
        doc = None
    if doc is None:
        return Prediction(body)
    authors = tuple(a.strip() for a in (doc.author or "").split(";") if a.strip())
    return Prediction(body, doc.title, authors, doc.date)


Extractor = Callable[[Page], Prediction]


def _timed(extract: Extractor, pages: Sequence[Page]) -> tuple[list[Prediction], float]:
    outputs = []
    start = time.process_time()
    for page in pages:
        outputs.append(extract(page))
    return outputs, time.process_time() - start


def run_extractor(name: str, extract: Callable[[Page], str], pages: Sequence[Page]) -> Result:
    """Score one body extractor in one round."""
    outputs, seconds = _timed(lambda page: Prediction(extract(page)), pages)
    return _result(name, pages, outputs, seconds)


def _result(
    name: str, pages: Sequence[Page], outputs: Sequence[Prediction], seconds: float
) -> Result:
    f1, precision, recall = score([p.truth for p in pages], [o.body for o in outputs])
    return Result(
        name=name,
        f1=f1,
        precision=precision,
        recall=recall,
        empty=sum(1 for o in outputs if not o.body.strip()),
        docs=len(pages),
        seconds=seconds,
        pages={p.id: page_scores(p.truth, o.body) for p, o in zip(pages, outputs, strict=True)},
        meta=metadata_scores(pages, outputs),
        sources=Counter(o.source for o in outputs if o.source),
        page_sources={p.id: o.source for p, o in zip(pages, outputs, strict=True) if o.source},
    )


def compare(extractors: dict[str, Extractor], pages: Sequence[Page], rounds: int) -> list[Result]:
    """Run the extractors in rounds, page by page in turn; speed from each one's fastest round.

    Within a round every page goes through each extractor before the next page, so a slow
    spell of a shared machine lands on both sides alike, not on one side's whole round.
    """
    for extract in extractors.values():  # warm-up: imports, rule compilation, caches
        extract(pages[0])
    best: dict[str, tuple[list[Prediction], float]] = {}
    clock = time.process_time
    for _ in range(max(1, rounds)):
        made: dict[str, list[Prediction]] = {name: [] for name in extractors}
        spent = dict.fromkeys(extractors, 0.0)
        for page in pages:
            for name, extract in extractors.items():
                start = clock()
                made[name].append(extract(page))
                spent[name] += clock() - start
        for name in extractors:
            if name not in best or spent[name] < best[name][1]:
                best[name] = (made[name], spent[name])
    if "trafilatura" in best:
        outputs, seconds = best["trafilatura"]
        outputs = [_trafilatura_metadata(p, o.body) for p, o in zip(pages, outputs, strict=True)]
        best["trafilatura"] = (outputs, seconds)
    return [_result(name, pages, *best[name]) for name in extractors]


def _table(results: Sequence[Result]) -> str:
    head = (
        f"{'extractor':<12} {'F1':>6} {'prec':>6} {'recall':>6} {'empty':>5} {'<0.5':>5} "
        f"{'docs/s':>7}"
    )
    meta_keys = ("title_exact", "title_f1", "author_f1", "author_match", "date_day")
    with_meta = any(r.meta for r in results)
    if with_meta:
        head += "  title=  titleF1 authF1 auth=  date"
    lines = [head]
    for r in results:
        line = (
            f"{r.name:<12} {r.f1:>6.4f} {r.precision:>6.4f} {r.recall:>6.4f} {r.empty:>5d} "
            f"{len(r.collapsed):>5d} {r.docs_per_second:>7.1f}"
        )
        if with_meta:
            line += "  " + " ".join(f"{r.meta.get(k, 0.0):>6.3f}" for k in meta_keys)
        lines.append(line)
    return "\n".join(lines)


def _cause(ours: dict[str, float], theirs: dict[str, float], source: str) -> str:
    """A short guess at why a page scores low, from its precision, recall and body path."""
    p, r = ours["precision"], ours["recall"]
    if min(p, r) >= 0.9:
        cause = "minor differences"
    elif p == r == 0.0:
        cause = "no overlap" if theirs["f1"] > 0 else "no overlap (trafilatura too)"
    elif r < 0.5 <= p:
        cause = "truncated: story cut short"
    elif p < 0.5 <= r:
        cause = "boilerplate: more than the story"
    elif p < 0.5 and r < 0.5:
        cause = "wrong block"
    else:
        cause = "partial" if r < p else "extra text"
    return f"{cause}, {source}" if source else cause


def _targets(ours: Result, theirs: Result, fragments: Sequence[str]) -> list[tuple[str, bool]]:
    """Issue 17's targets on one set, each with whether this run meets it."""
    speed = ours.docs_per_second / theirs.docs_per_second if theirs.docs_per_second else 0.0
    rows = [
        (f"body F1 >= trafilatura + {F1_MARGIN:.3f}", ours.f1 >= theirs.f1 + F1_MARGIN),
        ("collapsed <= trafilatura's", len(ours.collapsed) <= len(theirs.collapsed)),
        (f"no page < {COLLAPSE} where trafilatura > {FRAGMENT_ANCHOR}", not fragments),
        (f"docs/s >= {SPEED_RATIO:.1f}x trafilatura's", speed >= SPEED_RATIO),
    ]
    for key, label in (("title_exact", "title"), ("author_f1", "author"), ("date_day", "date")):
        if key in ours.meta:
            rows.append((f"{label} >= trafilatura's", ours.meta[key] >= theirs.meta.get(key, 0.0)))
    return rows


def _ablation(pages: Sequence[Page], base_f1: float) -> list[dict[str, Any]]:
    from crawlers.extract.article import extract_article
    from crawlers.extract.cleanup import global_rules

    rows = []
    rules = global_rules()
    for rule in rules:
        kept = tuple(r for r in rules if r is not rule)
        outputs = [extract_article(p.html, p.url, rules=kept).body for p in pages]
        f1, _, _ = score([p.truth for p in pages], outputs)
        rows.append({"rule": rule.name, "f1_without": f1, "gain": base_f1 - f1})
    return sorted(rows, key=lambda row: -float(row["gain"]))


def _run_set(name: str, dataset: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Score both extractors on one set, print its table and lists, return its report."""
    pages = load_pages(dataset, args.every)
    extractors: dict[str, Extractor] = {
        "teaserfeed": teaserfeed_prediction,
        "trafilatura": _trafilatura_prediction,
    }
    if args.meta_speed:
        extractors[META_SPEED] = _trafilatura_with_metadata
    ours, theirs, *informational = compare(extractors, pages, args.rounds)
    results = [ours, theirs]
    every = f", every {args.every}th page" if args.every > 1 else ""
    print(f"== {name}: {len(pages)} pages from {dataset}{every}, best of {args.rounds} rounds\n")
    print(_table(results))
    speed = ours.docs_per_second / theirs.docs_per_second if theirs.docs_per_second else 0.0
    print(
        f"\nF1 teaserfeed - trafilatura: {ours.f1 - theirs.f1:+.4f}; speed ratio {speed:.2f}x; "
        f"collapsed (F1 < {COLLAPSE}) {len(ours.collapsed)} vs {len(theirs.collapsed)}"
    )
    for info in informational:
        ratio = ours.docs_per_second / info.docs_per_second if info.docs_per_second else 0.0
        print(
            f"for information, trafilatura with its metadata (bare_extraction, "
            f"with_metadata=True): {info.docs_per_second:.1f} docs/s; speed ratio {ratio:.2f}x"
        )
    by_url = {p.id: p.url for p in pages}
    fragments = [pid for pid in ours.collapsed if theirs.pages[pid]["f1"] > FRAGMENT_ANCHOR]
    worse = sorted(
        (pid for pid, s in ours.pages.items() if s["f1"] < theirs.pages[pid]["f1"] - WORSE_BY),
        key=lambda pid: ours.pages[pid]["f1"] - theirs.pages[pid]["f1"],
    )
    print(
        f"fragments (teaserfeed < {COLLAPSE}, trafilatura > {FRAGMENT_ANCHOR}): {len(fragments)}"
        + (f"  ({', '.join(fragments)})" if fragments else "")
    )
    print(f"pages where teaserfeed is worse than trafilatura by > {WORSE_BY}: {len(worse)}")
    for pid in worse:
        print(
            f"  {ours.pages[pid]['f1']:.3f} vs {theirs.pages[pid]['f1']:.3f}  {pid[:16]}  "
            f"{by_url[pid]}"
        )
    if ours.sources:
        print("body source: " + ", ".join(f"{k} {v}" for k, v in ours.sources.most_common()))
    worst = sorted(ours.pages.items(), key=lambda kv: kv[1]["f1"])[: args.worst]
    print(
        f"teaserfeed's {len(worst)} worst pages (F1 / precision / recall, trafilatura F1, "
        "cause, body source):"
    )
    for page_id, s in worst:
        cause = _cause(s, theirs.pages[page_id], ours.page_sources.get(page_id, ""))
        print(
            f"  {s['f1']:.3f} / {s['precision']:.3f} / {s['recall']:.3f}  "
            f"({theirs.pages[page_id]['f1']:.3f})  {page_id[:16]}  {cause:<40}  "
            f"{by_url[page_id]}"
        )
    targets = _targets(ours, theirs, fragments)
    print("targets: " + "; ".join(f"{label} {'met' if ok else 'MISSED'}" for label, ok in targets))
    report: dict[str, Any] = {
        "dataset": str(dataset),
        "pages": len(pages),
        "every": args.every,
        "rounds": args.rounds,
        "fragments": fragments,
        "targets": dict(targets),
        "worse_by_more_than": {str(WORSE_BY): worse},
        "results": [
            {
                "name": r.name,
                "f1": r.f1,
                "precision": r.precision,
                "recall": r.recall,
                "empty": r.empty,
                "collapsed": r.collapsed,
                "docs_per_second": r.docs_per_second,
                "metadata": r.meta,
                "body_source": dict(r.sources),
                "per_page": r.pages,
            }
            for r in results
        ],
        "informational_speed": {r.name: r.docs_per_second for r in informational},
    }
    if args.ablate:
        rows = _ablation(pages, ours.f1)
        report["ablation"] = rows
        print("\nablation: teaserfeed F1 with one global rule off (gain = F1 lost without it)")
        for row in rows:
            print(f"  {row['rule']:<22} F1 {row['f1_without']:.4f}  gain {row['gain']:+.4f}")
    print()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on each set, print the comparison tables and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sets", default="aeb,wcxb", help=f"comma-separated, of {', '.join(DATASETS)}"
    )
    parser.add_argument("--dataset", type=Path, help="one folder in AEB or WCXB layout instead")
    parser.add_argument("--every", type=int, default=1, help="score every Nth page only")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds per extractor")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="JSON report path")
    parser.add_argument("--worst", type=int, default=10, help="teaserfeed's worst pages shown")
    parser.add_argument(
        "--ablate", action="store_true", help="also score teaserfeed with each global rule off"
    )
    parser.add_argument(
        "--no-meta-speed",
        dest="meta_speed",
        action="store_false",
        help="leave out the informational timing of trafilatura with its metadata",
    )
    args = parser.parse_args(argv)
    # the engine's per-page warnings (oversized tags, cut pages) would bury the tables
    logging.getLogger("crawlers").setLevel(logging.ERROR)
    if args.dataset is not None:
        chosen = {args.dataset.name: args.dataset}
    else:
        names = [n.strip() for n in args.sets.split(",") if n.strip()]
        unknown = [n for n in names if n not in DATASETS]
        if unknown:
            print(f"unknown set(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        chosen = {n: DATASETS[n] for n in names}
    missing = [str(path) for path in chosen.values() if not _has_data(path)]
    if missing:
        print(f"no benchmark data in {', '.join(missing)}", file=sys.stderr)
        return 2
    report = {name: _run_set(name, path, args) for name, path in chosen.items()}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    print(f"report: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
