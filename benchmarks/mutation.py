"""Hostile-input run: every extractor on mutated real and demo pages must return, in bounded time.

Pages: the 181 article pages of ../shared/benchmarks/article-extraction (when present) and
every HTML page of the bundled demo site (articles, listings, static pages). Each page is
run as it is and in five mutations:

  truncate        cut at a random byte
  shuffle_tags    the tags permuted among their places, the text between them kept
  inject_bytes    NUL, invalid UTF-8 and control bytes inserted at random places
  duplicate_body  the <body> content repeated 100 times (a 5-60 MB page)
  strip_html_end  every </html> removed

and each variant goes through listing extraction (find_teasers, find_next_page) and article
extraction (extract_article), as bytes, the way the crawler gets them. Counted: exceptions
(must be 0), CPU time per call (p50/p99/max per stage and overall; CPU rather than wall time
because other processes share the machine), calls over the per-call bound, and whether the
original and the strip_html_end variants still give the expected title (the demo site's
own title; for the AEB pages the title extracted from the unmutated page).

    .venv/bin/python benchmarks/mutation.py [--seed 1] [--limit N] [--report PATH]

The RNG is seeded: the same seed mutates the same pages the same way. Exit status 1 when any
call raised or went over the bound.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawlers.extract.article import extract_article  # noqa: E402
from crawlers.extract.listing import find_next_page, find_teasers  # noqa: E402

__all__ = [
    "BOUND_SECONDS",
    "DATASET",
    "MUTATIONS",
    "Page",
    "Report",
    "aeb_pages",
    "demo_pages",
    "main",
    "mutate",
    "run",
]

DATASET = ROOT.parent / "shared/benchmarks/article-extraction"
DEFAULT_REPORT = ROOT / "benchmarks/mutation-report.json"
DEMO_BASE = "http://demo.teaserfeed.test"
MUTATIONS = ("truncate", "shuffle_tags", "inject_bytes", "duplicate_body", "strip_html_end")
VARIANTS = ("original", *MUTATIONS)
STAGES = ("find_teasers", "find_next_page", "extract_article")
# CPU seconds one call may take on one core of this kind of machine: the extractors cut a
# page to crawlers.extract.text.MAX_PAGE_ELEMENTS / MAX_PAGE_TEXT / MAX_PAGE_CHARS, which keeps
# the slowest (a 100x duplicated body, cut to the element bound) at about 1.3 s.
BOUND_SECONDS = 2.0
DUPLICATES = 100
_INJECTED = (
    b"\x00",
    b"\x00\x00\x00\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x0b",
    b"\x1f",
    b"\x80\x80",
)
_TAG_RE = re.compile(rb"(<[^<>]*>)")
_BODY_RE = re.compile(rb"<body[^>]*>(.*)</body\s*>", re.S | re.I)
_HTML_END_RE = re.compile(rb"</html\s*>", re.I)


@dataclass(frozen=True)
class Page:
    """One input page: where it comes from, its URL and bytes, the title it should give."""

    name: str
    kind: str
    url: str
    html: bytes
    title: str | None = None


@dataclass
class Report:
    """Everything one run measured."""

    seed: int
    pages: int = 0
    variants: int = 0
    calls: int = 0
    exceptions: list[dict[str, str]] = field(default_factory=list)
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    slowest: list[tuple[float, str, str, str]] = field(default_factory=list)
    titles_checked: int = 0
    titles_lost: list[dict[str, str | None]] = field(default_factory=list)
    cut_pages: int = 0
    bytes_in: int = 0

    def stage_times(self, stage: str | None = None) -> list[float]:
        """CPU seconds of every call of a stage (or of all stages), all mutations."""
        return [
            t
            for variant in self.times.values()
            for name, values in variant.items()
            if stage is None or name == stage
            for t in values
        ]

    def over_bound(self) -> list[tuple[float, str, str, str]]:
        """The calls that took longer than BOUND_SECONDS."""
        return [row for row in self.slowest if row[0] > BOUND_SECONDS]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "seed": self.seed,
            "pages": self.pages,
            "variants": self.variants,
            "mutated_pages": self.variants - self.pages,
            "calls": self.calls,
            "megabytes_in": round(self.bytes_in / 1e6, 1),
            "exceptions": self.exceptions,
            "bound_seconds": BOUND_SECONDS,
            "over_bound": [list(row) for row in self.over_bound()],
            "stages": {stage: summary(self.stage_times(stage)) for stage in STAGES}
            | {"overall": summary(self.stage_times())},
            "by_variant": {
                variant: {stage: summary(values) for stage, values in stages.items()}
                for variant, stages in self.times.items()
            },
            "slowest": [list(row) for row in sorted(self.slowest, reverse=True)[:15]],
            "titles_checked": self.titles_checked,
            "titles_lost": self.titles_lost,
            "pages_cut_to_bounds": self.cut_pages,
        }


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """n, p50, p99 and max of a list of seconds, in milliseconds."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": pick(1.0)}


# ---- pages --------------------------------------------------------------------------


def aeb_pages(dataset: Path = DATASET) -> list[Page]:
    """The article-extraction benchmark pages (empty when the set is not there)."""
    truth_path = dataset / "ground-truth.json"
    if not truth_path.exists():
        return []
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    return [
        Page(
            name=f"aeb/{key[:12]}",
            kind="aeb",
            url=truth[key]["url"],
            html=gzip.decompress((dataset / "html" / f"{key}.html.gz").read_bytes()),
        )
        for key in sorted(truth)
    ]


def demo_pages(base: str = DEMO_BASE) -> list[Page]:
    """Every HTML page of the bundled demo site, articles with their true title."""
    from crawlers.demo import build_demo_site

    site = build_demo_site()
    titles = {a.path: a.title for a in site.articles if a.status == 200}
    pages = []
    for path, page in sorted(site.pages.items()):
        if not page.content_type.startswith("text/html"):
            continue
        if path in titles:
            kind = "demo-article"
        elif path in site.listing_paths:
            kind = "demo-listing"
        else:
            kind = "demo-page"
        pages.append(
            Page(
                name=f"demo{path}",
                kind=kind,
                url=base + path,
                html=page.render(base),
                title=titles.get(path),
            )
        )
    return pages


# ---- mutations ----------------------------------------------------------------------


def mutate(html: bytes, how: str, rng: random.Random) -> bytes:
    """One mutation of a page (see the module docstring); "original" returns it as it is."""
    if how == "original":
        return html
    if how == "truncate":
        return html[: rng.randrange(1, len(html))] if len(html) > 1 else b""
    if how == "shuffle_tags":
        parts = _TAG_RE.split(html)
        tags = parts[1::2]
        rng.shuffle(tags)
        parts[1::2] = tags
        return b"".join(parts)
    if how == "inject_bytes":
        data = bytearray(html)
        for _ in range(20):
            data[rng.randrange(0, len(data) + 1) : 0] = rng.choice(_INJECTED)
        return bytes(data)
    if how == "duplicate_body":
        match = _BODY_RE.search(html)
        if match is None:
            return html * DUPLICATES
        return html[: match.start(1)] + match[1] * DUPLICATES + html[match.end(1) :]
    if how == "strip_html_end":
        return _HTML_END_RE.sub(b"", html)
    raise ValueError(f"unknown mutation {how!r}: use one of {', '.join(VARIANTS)}")


# ---- the run ------------------------------------------------------------------------


def run(
    pages: Iterable[Page],
    *,
    seed: int = 1,
    variants: Sequence[str] = VARIANTS,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Run every stage on every variant of every page; never stops on an exception."""
    report = Report(seed=seed)
    rng = random.Random(seed)
    # the extractors log what they drop or cut; counted here, not printed
    logging.getLogger("crawlers").setLevel(logging.ERROR)
    stages: dict[str, Callable[[bytes, str], Any]] = {
        "find_teasers": find_teasers,
        "find_next_page": find_next_page,
        "extract_article": extract_article,
    }
    for number, page in enumerate(pages, 1):
        report.pages += 1
        expected = page.title
        for variant in variants:
            html = mutate(page.html, variant, rng)
            report.variants += 1
            report.bytes_in += len(html)
            for stage, function in stages.items():
                report.calls += 1
                started = time.process_time()
                try:
                    result = function(html, page.url)
                except Exception as exc:  # the finding this run looks for
                    result = None
                    report.exceptions.append(
                        {
                            "page": page.name,
                            "variant": variant,
                            "stage": stage,
                            "error": repr(exc),
                            "traceback": traceback.format_exc(limit=-3),
                        }
                    )
                spent = time.process_time() - started
                report.times.setdefault(variant, {}).setdefault(stage, []).append(spent)
                report.slowest.append((round(spent, 3), page.name, variant, stage))
                if len(report.slowest) > 200:
                    report.slowest = sorted(report.slowest, reverse=True)[:50]
                if stage != "extract_article" or result is None:
                    continue
                if any(r.rule.startswith("limit:") for r in result.removed):
                    report.cut_pages += 1
                if variant == "original" and expected is None and page.kind == "aeb":
                    expected = result.title
                if variant in ("original", "strip_html_end") and expected is not None:
                    report.titles_checked += 1
                    if result.title != expected:
                        report.titles_lost.append(
                            {
                                "page": page.name,
                                "variant": variant,
                                "expected": expected,
                                "got": result.title,
                            }
                        )
        if progress is not None:
            progress(number)
    return report


def _print(report: Report) -> None:
    data = report.as_dict()
    print(
        f"pages {data['pages']}, variants {data['variants']} ({data['mutated_pages']} mutated), "
        f"calls {data['calls']}, {data['megabytes_in']} MB in"
    )
    print(f"exceptions: {len(report.exceptions)}")
    for row in report.exceptions[:10]:
        print(f"  {row['page']} {row['variant']} {row['stage']}: {row['error']}")
    print(f"\nCPU ms per call      {'n':>6} {'p50':>9} {'p99':>9} {'max':>9}")
    for name, values in [*((s, report.stage_times(s)) for s in STAGES), ("overall", None)]:
        stats = summary(report.stage_times() if values is None else values)
        print(
            f"  {name:<18} {stats['n']:>6} {stats.get('p50_ms', 0):>9.1f} "
            f"{stats.get('p99_ms', 0):>9.1f} {stats.get('max_ms', 0):>9.1f}"
        )
    print("\nmax CPU ms per mutation and stage")
    print(f"  {'variant':<16}" + "".join(f"{s:>17}" for s in STAGES))
    for variant, stages in report.times.items():
        row = "".join(f"{summary(stages.get(s, [])).get('max_ms', 0):>17.1f}" for s in STAGES)
        print(f"  {variant:<16}{row}")
    print(f"\npages cut to the size bounds: {report.cut_pages}")
    print(
        f"titles kept (original, strip_html_end): "
        f"{report.titles_checked - len(report.titles_lost)}/{report.titles_checked}"
    )
    for row in report.titles_lost[:10]:
        print(f"  {row['page']} {row['variant']}: {row['expected']!r} -> {row['got']!r}")
    over = report.over_bound()
    print(f"calls over the {BOUND_SECONDS:.0f} s bound: {len(over)}")
    for row in over[:10]:
        print(f"  {row}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="RNG seed (default 1)")
    parser.add_argument(
        "--limit", type=int, help="at most this many pages of each source (AEB, demo)"
    )
    parser.add_argument("--dataset", type=Path, default=DATASET, help="AEB directory")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="JSON report path")
    args = parser.parse_args(argv)

    sources = [aeb_pages(args.dataset), demo_pages()]
    if not sources[0]:
        print(f"(AEB pages not found at {args.dataset}: demo pages only)", file=sys.stderr)
    pages = [page for source in sources for page in source[: args.limit]]

    def progress(done: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done}/{len(pages)} pages", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = run(pages, seed=args.seed, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"command: {' '.join(['benchmarks/mutation.py', *(argv or sys.argv[1:])])}")
    print(f"wall time {time.perf_counter() - started:.0f} s, seed {args.seed}")
    _print(report)
    args.report.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    print(f"report: {args.report}")
    return 1 if report.exceptions or report.over_bound() else 0


if __name__ == "__main__":
    sys.exit(main())
