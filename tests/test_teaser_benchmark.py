"""Quality gate: the automatic mode on both public teaser sets (../shared/benchmarks/
teaser-listings and teaser-listings-2), scored by their own scorer as benchmarks/teasers.py
scores them, must not fall below pinned floors (a little under what it reaches), and no page
may fall far below the naive link rule or lose its whole main listing."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.teasers import DATASETS, NAIVE_MARGIN, score_set

# Reached when pinned (set 1 / set 2): URL F1 1.000 / 0.982, strict F1 1.000 / 0.981,
# title F1 1.000 / 0.999, excerpt F1 0.999 / 0.938, URL F1 with --region all 0.976 / 0.949.
FLOORS = {
    "teaser-listings": {
        "url_f1": 0.98,
        "strict_f1": 0.97,
        "title_f1": 0.98,
        "excerpt_f1": 0.95,
        "all_url_f1": 0.95,
    },
    "teaser-listings-2": {
        "url_f1": 0.97,
        "strict_f1": 0.97,
        "title_f1": 0.98,
        "excerpt_f1": 0.92,
        "all_url_f1": 0.93,
    },
}
SETS = {path.name: path for path in DATASETS.values()}


@pytest.fixture(scope="module", autouse=True)
def _sets_present() -> None:
    """The gate needs both public sets; without them it fails rather than passing unseen."""
    missing = [str(path) for path in SETS.values() if not (path / "score.py").exists()]
    if missing:
        pytest.fail(
            f"teaser sets not found at {', '.join(missing)}: shared/ must lie beside the clone"
        )


@pytest.fixture(scope="module")
def scored() -> dict[str, dict[str, Any]]:
    return {name: score_set(path) for name, path in SETS.items()}


def _value(result: dict[str, Any], metric: str) -> float:
    summary = result["summary"]
    value = summary["all"]["url_f1"] if metric == "all_url_f1" else summary["main"][metric]
    assert value is not None
    return float(value)


@pytest.mark.parametrize(
    ("name", "metric"), [(name, metric) for name in FLOORS for metric in FLOORS[name]]
)
def test_stays_above_floor(scored: dict[str, dict[str, Any]], name: str, metric: str) -> None:
    value = _value(scored[name], metric)
    weak = {
        r["id"]: (round(r["main"]["url_f1"], 3), r["main"]["missed"][:3])
        for r in scored[name]["pages"]
        if r["main"]["url_f1"] < 0.9
    }
    floor = FLOORS[name][metric]
    assert value >= floor, f"{name} {metric} {value:.3f} < {floor}; weak pages: {weak}"


@pytest.mark.parametrize("name", sorted(SETS))
def test_no_page_far_below_the_naive_rule(scored: dict[str, dict[str, Any]], name: str) -> None:
    below = {
        r["id"]: (round(r["main"]["url_f1"], 3), round(r["naive"]["url_f1"], 3))
        for r in scored[name]["pages"]
        if r["main"]["url_f1"] < r["naive"]["url_f1"] - NAIVE_MARGIN
    }
    assert not below, f"detector vs naive URL F1: {below}"


@pytest.mark.parametrize("name", sorted(SETS))
def test_no_page_without_main_teasers(scored: dict[str, dict[str, Any]], name: str) -> None:
    empty = [
        r["id"] for r in scored[name]["pages"] if r["main"]["n_gold"] and not r["main"]["n_pred"]
    ]
    assert not empty
