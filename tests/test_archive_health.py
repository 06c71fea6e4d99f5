"""Source health per site (`Archive.health`, `teaserfeed stats`) and the research commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, ArchiveError, open_archive, plot_articles_per_day
from crawlers.cli import main
from tests.test_archive_clusters import text
from tests.test_archive_store import make_article, make_fetch, make_teaser


def crawl_run(
    store: Archive,
    site: str,
    run_no: int,
    *,
    teasers: int,
    articles: int,
    dated: bool = True,
    errors: tuple[str, ...] = (),
) -> int:
    """A run of one site as the pipeline writes it: listing fetches, teasers, articles."""
    run = store.start_run([site])
    listing = f"https://{site}.org/news"
    store.record_fetch(make_fetch(listing, source=site, teasers=teasers), run)
    for kind in errors:
        store.record_fetch(
            make_fetch(f"https://{site}.org/x", "article", source=site, error_kind=kind), run
        )
    for n in range(articles):
        url = f"https://{site}.org/{run_no}/{n}"
        store.upsert_teaser(make_teaser(url, listing, source=site, title=f"T{n}"), run)
        store.upsert_article(
            make_article(
                url,
                source=site,
                title=f"Story {run_no}.{n}",
                body=text(f"{site}/{run_no}/{n}"),
                authors=["Ann"],
                published=f"2026-01-0{run_no}" if dated else None,
            ),
            run,
        )
    store.finish_run(run, "finished", {})
    return run


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Archive]:
    with open_archive(tmp_path / "news.db", create=True) as opened:
        for run_no in (1, 2, 3):
            crawl_run(opened, "steady", run_no, teasers=10, articles=4)
            crawl_run(opened, "broken", run_no, teasers=12, articles=5)
            crawl_run(opened, "undated", run_no, teasers=8, articles=4)
        crawl_run(opened, "steady", 4, teasers=11, articles=4, errors=("timeout", "http_5xx"))
        crawl_run(opened, "broken", 4, teasers=0, articles=0, errors=("bot_wall",))
        crawl_run(opened, "undated", 4, teasers=8, articles=4, dated=False)
        yield opened


def test_health_compares_the_latest_run_with_the_trailing_ones(store: Archive) -> None:
    health = {h.site: h for h in store.health()}
    assert list(health) == ["broken", "steady", "undated"]
    steady = health["steady"]
    assert (steady.teasers_found, steady.teasers_trailing) == (11, 10.0)
    assert (steady.articles_new, steady.articles_trailing) == (4, 4.0)
    assert steady.articles_fetched == 4
    assert steady.listing_pages == 1
    assert steady.completeness == {"title": 1.0, "body": 1.0, "date": 1.0, "author": 1.0}
    assert steady.errors == {"http_5xx": 1, "timeout": 1}
    assert steady.flags == []
    broken = health["broken"]
    assert (broken.teasers_found, broken.teasers_trailing, broken.articles_new) == (0, 12.0, 0)
    assert broken.errors == {"bot_wall": 1}
    assert broken.flags == [
        f"0 teasers in run {broken.run_id}",
        f"every article fetch failed in run {broken.run_id} (1 failed, none stored)",
    ]
    undated = health["undated"]
    assert undated.completeness["date"] == 0.0
    assert undated.completeness_trailing["date"] == 1.0
    assert undated.flags == ["date completeness fell: 100% -> 0%"]
    # a shorter window compares with fewer runs
    assert {h.site: h.teasers_trailing for h in store.health(trailing=1)}["steady"] == 10.0


def test_articles_per_day(store: Archive) -> None:
    rows = store.articles_per_day(site="steady")
    assert rows == [(f"2026-01-0{d}", "steady", 4) for d in (1, 2, 3, 4)]
    assert store.articles_per_day(since="2026-01-04")[0] == ("2026-01-04", "steady", 4)


def test_fetch_failures_of_each_sites_latest_run_or_of_one_run(store: Archive) -> None:
    latest = store.fetch_failures()
    assert [(f.site, f.error_kind, f.count, f.example_url) for f in latest] == [
        ("broken", "bot_wall", 1, "https://broken.org/x"),
        ("steady", "http_5xx", 1, "https://steady.org/x"),
        ("steady", "timeout", 1, "https://steady.org/x"),
    ]
    steady_run = latest[1].run_id
    assert store.fetch_failures(site="steady") == latest[1:]
    assert store.fetch_failures(run_id=steady_run) == latest[1:]
    assert store.fetch_failures(run_id=1) == []
    with pytest.raises(ArchiveError, match="nowhere"):
        store.fetch_failures(site="nowhere")


def test_totals_count_rows_revisions_and_clusters(store: Archive) -> None:
    assert store.totals() == {
        **store.counts(),
        "articles_revised": 0,
        "clusters": 0,
        "clustered_articles": 0,
    }
    assert store.totals()["articles"] == 47


def test_failed_urls_by_error_kind(store: Archive) -> None:
    assert store.failed_urls(["timeout", "bot_wall"]) == [
        ("bot_wall", "https://broken.org/x"),
        ("timeout", "https://steady.org/x"),
    ]
    assert store.failed_urls([]) == []


def test_plot_writes_a_png(store: Archive, tmp_path: Path) -> None:
    out = plot_articles_per_day(store.articles_per_day(), tmp_path / "stats.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 5_000


def test_stats_command_prints_the_table_and_flags(store: Archive, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["stats", "--archive", str(store.path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "47 articles, 47 teasers, 12 runs; 0 articles revised (0 earlier versions); "
        "0 near-duplicate clusters (0 articles)"
    )
    header = next(line for line in lines if line.startswith("site"))
    assert header.split() == [
        "site", "run", "status", "teasers", "(avg)", "new", "(avg)",
        "title", "body", "date", "author", "errors",
    ]  # fmt: skip
    steady = next(line for line in lines if line.startswith("steady"))
    assert steady.split() == [
        "steady", "10", "finished", "11", "10.0", "4", "4.0",
        "100%", "100%", "100%", "100%", "http_5xx", "1,", "timeout", "1",
    ]  # fmt: skip
    assert "  ! broken: 0 teasers in run 11" in lines
    assert "  ! undated: date completeness fell: 100% -> 0%" in lines
    check = runner.invoke(main, ["stats", "--archive", str(store.path), "--check"])
    assert check.exit_code == 1
    as_json = runner.invoke(main, ["stats", "--archive", str(store.path), "--json"])
    assert {row["site"]: row["flags"] for row in json.loads(as_json.output)}["steady"] == []
    png = tmp_path / "chart.png"
    plotted = runner.invoke(main, ["stats", "--archive", str(store.path), "--plot", str(png)])
    assert plotted.exit_code == 0, plotted.output
    assert f"chart: {png}" in plotted.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_is_a_clear_error(
    store: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ArchiveError, match=r"teaserfeed\[plot\]"):
        plot_articles_per_day([], tmp_path / "x.png")


def test_diff_and_clusters_commands(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_archive(path, create=True) as store:
        store.upsert_article(make_article("https://n.org/a", title="Bridge vote", body=text(1)))
        store.upsert_article(make_article("https://n.org/a", title="Bridge approved", body=text(1)))
        store.upsert_article(make_article("https://wire.org/a", body=text(1) + " Newswire."))
        store.upsert_article(make_article("https://n.org/b", body=text(2)))
    runner = CliRunner()
    result = runner.invoke(main, ["diff", "https://n.org/a?utm_source=x", "--archive", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Bridge approved  (2 versions)",
        "--- version 1 (fetched 2026-01-01T00:00:00+00:00)",
        "+++ version 2 (fetched 2026-01-01T00:00:00+00:00)",
        "@@ title -1,2 +1,2 @@",
        "Bridge [-vote-] {+approved+}",
    ]
    single = runner.invoke(main, ["diff", "3", "--archive", str(path)])
    assert "one version only" in single.output
    missing = runner.invoke(main, ["diff", "https://n.org/zzz", "--archive", str(path)])
    assert missing.exit_code == 1
    assert "no article stored under" in missing.output
    bad = runner.invoke(main, ["diff", "1", "--from", "7", "--archive", str(path)])
    assert bad.exit_code == 1
    assert "has no version 7" in bad.output
    every = runner.invoke(main, ["diff", "1", "--all", "--archive", str(path)])
    assert every.output.count("--- version") == 1
    clusters = runner.invoke(main, ["clusters", "--archive", str(path)])
    assert clusters.output.splitlines() == [
        "cluster 1: 2 articles",
        "       1  demo  https://n.org/a",
        "       2  demo  https://wire.org/a",
    ]
