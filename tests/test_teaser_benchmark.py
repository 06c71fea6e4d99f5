"""Quality gate: the automatic mode on ../shared/benchmarks/teaser-listings, scored by that
set's own scorer, must not fall below pinned floors (a little under what it reaches)."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from crawlers.listing import find_teasers

DATASET = Path(__file__).parents[1].parent / "shared/benchmarks/teaser-listings"
# Reached when pinned: URL F1 1.000, strict F1 1.000, title F1 1.000, excerpt F1 0.999,
# URL F1 with --region all 0.976.
FLOORS = {"url_f1": 0.98, "strict_f1": 0.97, "title_f1": 0.98, "excerpt_f1": 0.95}
ALL_REGIONS_URL_F1 = 0.95

pytestmark = pytest.mark.skipif(
    not (DATASET / "score.py").exists(), reason=f"teaser-listings set not found at {DATASET}"
)


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("teaser_listings_score", DATASET / "score.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scored() -> dict[str, dict[str, Any]]:
    scorer = _scorer()
    annotations = json.loads((DATASET / "annotations.json").read_text(encoding="utf-8"))
    results: dict[str, list[dict[str, Any]]] = {"main": [], "all": []}
    for page in annotations["pages"]:
        raw = gzip.decompress((DATASET / "html" / f"{page['id']}.html.gz").read_bytes())
        html = raw.decode(page.get("encoding") or "utf-8", errors="replace")
        teasers = find_teasers(html, page["page_url"])
        rows = [{"url": t.url, "title": t.title, "excerpt": t.excerpt} for t in teasers]
        main = [r for r, t in zip(rows, teasers, strict=True) if t.region == "main"]
        results["main"].append({"id": page["id"], **scorer.score_page(page, main, "main")})
        results["all"].append({"id": page["id"], **scorer.score_page(page, rows, "all")})
    return {
        region: {m: scorer.mean([r[m] for r in pages]) for m in scorer.METRICS}
        | {"pages": {r["id"]: r for r in pages}}
        for region, pages in results.items()
    }


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_main_region_stays_above_floor(scored: dict[str, dict[str, Any]], metric: str) -> None:
    value = scored["main"][metric]
    weak = {
        page_id: (r["url_f1"], r["missed"], r["false_positives"])
        for page_id, r in scored["main"]["pages"].items()
        if r["url_f1"] < 1
    }
    assert value >= FLOORS[metric], f"{metric} {value:.3f} < {FLOORS[metric]}; weak pages: {weak}"


def test_secondary_widgets_are_found_and_kept_apart(scored: dict[str, dict[str, Any]]) -> None:
    value = scored["all"]["url_f1"]
    assert value >= ALL_REGIONS_URL_F1, f"URL F1 with secondary teasers {value:.3f}"
