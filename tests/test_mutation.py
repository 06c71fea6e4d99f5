"""A reduced pass of benchmarks/mutation.py: mutated demo pages never make an extractor raise.

The full run (AEB + demo pages, with timings) is `.venv/bin/python benchmarks/mutation.py`.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crawlers.demo import DemoSite
from crawlers.extract.article import SIZE_LIMIT_RULE, extract_article
from crawlers.extract.listing import find_next_page, find_teasers
from crawlers.extract.text import MAX_PAGE_ELEMENTS

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mutation_benchmark", ROOT / "benchmarks/mutation.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def sample(mutation: ModuleType) -> list[object]:
    pages = mutation.demo_pages()
    listings = [p for p in pages if p.kind == "demo-listing"]
    others = [p for p in pages if p.kind != "demo-listing"]
    # every listing page, and articles and static pages spread over the site: 60 in all
    return listings + others[:: max(1, len(others) // (60 - len(listings)))][: 60 - len(listings)]


def test_mutations_are_seeded_and_do_what_they_say(mutation: ModuleType) -> None:
    html = b"<html><head><title>T</title></head><body><p>one</p><p>two</p></body></html>"
    again = [mutation.mutate(html, how, random.Random(7)) for how in mutation.MUTATIONS]
    variants = [mutation.mutate(html, how, random.Random(7)) for how in mutation.MUTATIONS]
    assert variants == again
    truncated, shuffled, injected, duplicated, stripped = variants
    assert html.startswith(truncated)
    assert len(truncated) < len(html)
    assert sorted(mutation._TAG_RE.findall(shuffled)) == sorted(mutation._TAG_RE.findall(html))
    assert len(injected) > len(html)
    assert duplicated.count(b"<p>one</p>") == mutation.DUPLICATES
    assert stripped == html.replace(b"</html>", b"")


def test_reduced_mutation_pass_raises_nothing_and_keeps_titles(
    mutation: ModuleType, sample: list[object]
) -> None:
    report = mutation.run(sample, seed=1)
    assert report.pages == 60
    assert report.variants == 60 * 6
    assert report.exceptions == []
    # the demo articles in the sample, in the original and the strip_html_end variants
    articles = sum(1 for page in sample if getattr(page, "title", None))
    assert articles >= 40
    assert report.titles_checked == 2 * articles
    assert report.titles_lost == []
    # the larger 100x duplicated pages (the listings) go over the element bound and say so
    assert report.cut_pages >= 1


def test_listings_survive_the_lost_html_end(mutation: ModuleType, demo_site: DemoSite) -> None:
    base = mutation.DEMO_BASE
    for path in demo_site.listing_paths:
        html = demo_site.render(path, base)
        assert html is not None
        stripped = mutation.mutate(html, "strip_html_end", random.Random(1))
        expected = [base + t.href for t in demo_site.teasers_on(path)]
        for variant in (html, stripped):
            found = [t.url for t in find_teasers(variant, base + path) if t.region == "main"]
            assert found == expected
            assert find_next_page(variant, base + path) == find_next_page(html, base + path)


def test_a_much_duplicated_body_is_cut_and_keeps_its_title(
    mutation: ModuleType, demo_site: DemoSite
) -> None:
    truth = demo_site.ok_articles[0]
    html = demo_site.render(truth.path, mutation.DEMO_BASE)
    assert html is not None
    match = mutation._BODY_RE.search(html)
    assert match is not None
    # 300 copies: about 30,000 elements, three times MAX_PAGE_ELEMENTS
    huge = html[: match.start(1)] + match[1] * 300 + html[match.end(1) :]
    article = extract_article(huge, mutation.DEMO_BASE + truth.path)
    assert article.title == truth.title
    assert truth.paragraphs[0] in article.body
    cut = [r.text for r in article.removed if r.rule == SIZE_LIMIT_RULE]
    assert len(cut) == 1
    assert cut[0].startswith(f"page cut to {MAX_PAGE_ELEMENTS:,} elements")
