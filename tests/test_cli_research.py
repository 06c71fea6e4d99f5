"""Issue 18's CLI conventions and research API: plain-word search, unknown filters, export
formats and columns, `extract` from saved pages, stats flags and charts, `import teaserfeed`."""

from __future__ import annotations

import csv
import inspect
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import archive
import crawlers.extract.article
import crawlers.extract.files
import crawlers.extract.listing
import crawlers.sites
from archive import Archive, ArchiveFileError, InvalidFilterError, open_archive
from crawlers.cli import main
from tests.test_archive_store import make_article, make_fetch, make_teaser


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def news(tmp_path: Path) -> Iterator[Archive]:
    """Three articles of two sites with teasers whose headlines changed."""
    with open_archive(tmp_path / "news.db", create=True) as store:
        run = store.start_run(["harbour", "hills"])
        store.upsert_teaser(
            make_teaser(
                "https://harbour.example/co-op",
                "https://harbour.example/",
                source="harbour",
                title="Co-op opens",
            ),
            run,
        )
        store.upsert_teaser(
            make_teaser(
                "https://harbour.example/co-op",
                "https://harbour.example/",
                source="harbour",
                title="Fishermen's co-op opens at last",
                seen_at="2026-01-02T00:00:00+00:00",
            ),
            run,
        )
        store.upsert_article(
            make_article(
                "https://harbour.example/co-op",
                source="harbour",
                title="Fishermen's co-op opens at last",
                lead="The harbour's co-op sells the catch directly.",
                body="Members don't pay a fee.\nThe co-op's shop opens at dawn.",
                authors=["Ines Lund"],
                published="2026-03-02T08:00:00+01:00",
            ),
            run,
        )
        store.upsert_article(
            make_article(
                "https://harbour.example/cpp",
                source="harbour",
                title="Night school teaches C++",
                body="Evening classes in C++ for dock workers.",
                published="2026-03-05",
            ),
            run,
        )
        store.upsert_article(
            make_article(
                "https://hills.example/sheep",
                source="hills",
                title="Sheep return to the hills",
                body="Shepherds walked the flock uphill.",
                language="de",
                published="2026-02-10",
            ),
            run,
        )
        store.finish_run(run, "finished", {})
        yield store


# ---- search -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("co-op", "Fishermen's co-op opens at last"),
        ("don't", "Fishermen's co-op opens at last"),
        ("C++", "Night school teaches C++"),
        ("fishermen's", "Fishermen's co-op opens at last"),
    ],
)
def test_cli_search_takes_plain_words(news: Archive, query: str, title: str) -> None:
    result = cli("search", query, "--archive", str(news.path), "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == [title]


def test_cli_search_raw_reads_fts5_syntax(news: Archive) -> None:
    raw = cli("search", "sheep OR school", "--raw", "--json", "--archive", str(news.path))
    assert raw.exit_code == 0, raw.output
    titles = {json.loads(line)["title"] for line in raw.stdout.splitlines()}
    assert titles == {"Sheep return to the hills", "Night school teaches C++"}
    bad = cli("search", "co-op", "--raw", "--archive", str(news.path))
    assert bad.exit_code == 2
    assert bad.stderr.startswith("teaserfeed: cannot search for 'co-op': ")
    assert "leave out --raw" in bad.stderr
    assert "literal=" not in bad.stderr


def test_cli_search_limit_zero_is_every_hit(news: Archive) -> None:
    with news.transaction():
        for n in range(25):
            news.upsert_article(
                make_article(f"https://hills.example/{n}", source="hills", body=f"Flock {n}.")
            )
    default = cli("search", "flock", "--json", "--archive", str(news.path))
    every = cli("search", "flock", "-n", "0", "--json", "--archive", str(news.path))
    assert len(default.stdout.splitlines()) == 20
    assert len(every.stdout.splitlines()) == 26
    assert len(news.search("flock", limit=None)) == 26


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["search", "co-op", "--site", "harbor"], "unknown site 'harbor'"),
        (["search", "co-op", "--language", "fr"], "no article is in language 'fr'"),
        (["export", "--site", "harbor"], "unknown site 'harbor'"),
        (["export", "--language", "fr"], "no article is in language 'fr'"),
        (["stats", "--site", "harbor"], "unknown site 'harbor'"),
    ],
)
def test_unknown_site_or_language_is_an_error_listing_the_known_ones(
    news: Archive, command: list[str], expected: str
) -> None:
    result = cli(*command, "--archive", str(news.path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"teaserfeed: {expected}: ")
    known = "harbour, hills" if "site" in expected else "de, en"
    assert lines[0].endswith(f" are {known}")
    assert "no articles match" not in result.stdout
    assert "exported" not in result.stderr


def test_reset_of_an_unknown_site_names_the_known_ones(news: Archive) -> None:
    with pytest.raises(InvalidFilterError, match=r"unknown site 'harbor': .* harbour, hills$"):
        news.reset_site("harbor")
    assert news.reset_site("harbour") == 0


def test_crawl_reset_of_an_unknown_site_exits_2(news: Archive, tmp_path: Path) -> None:
    sites = tmp_path / "sites.toml"
    sites.write_text('[sites.harbour]\nstart_urls = ["https://harbour.example/"]\n')
    result = cli("crawl", "--sites", str(sites), "--archive", str(news.path), "--reset", "harbor")
    assert result.exit_code == 2
    assert result.stderr.startswith("teaserfeed: unknown site 'harbor': ")


# ---- export -------------------------------------------------------------------------


def test_export_format_follows_the_suffix(news: Archive, tmp_path: Path) -> None:
    base = ["export", "--archive", str(news.path), "--order", "oldest"]
    assert cli(*base, "-o", str(tmp_path / "a.csv")).exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a.csv").read_text(), newline="")))
    assert rows[0]["title"] == "Sheep return to the hills"
    assert cli(*base, "-o", str(tmp_path / "a.json")).exit_code == 0
    array = json.loads((tmp_path / "a.json").read_text())
    assert [a["source"] for a in array] == ["hills", "harbour", "harbour"]
    assert cli(*base, "-o", str(tmp_path / "a.ndjson")).exit_code == 0
    lines = (tmp_path / "a.ndjson").read_text().splitlines()
    assert json.loads(lines[0])["url"] == "https://hills.example/sheep"
    # an explicit --format wins over the suffix
    assert cli(*base, "--format", "csv", "-o", str(tmp_path / "b.json")).exit_code == 0
    assert (tmp_path / "b.json").read_text().startswith("id,url,")


def test_export_of_an_unknown_suffix_is_an_error_and_writes_nothing(
    news: Archive, tmp_path: Path
) -> None:
    result = cli("export", "--archive", str(news.path), "-o", str(tmp_path / "a.xlsx"))
    assert result.exit_code == 2
    assert "'.xlsx'" in result.stderr
    assert "give the format (jsonl, json, csv, txt, markdown)" in result.stderr
    assert not (tmp_path / "a.xlsx").exists()
    bad_site = cli("export", "--archive", str(news.path), "-o", str(tmp_path / "b.csv"))
    assert bad_site.exit_code == 0
    unknown = cli(
        "export", "--archive", str(news.path), "--site", "x", "-o", str(tmp_path / "c.csv")
    )
    assert unknown.exit_code == 2
    assert not (tmp_path / "c.csv").exists()
    nowhere = cli("export", "--archive", str(news.path), "-o", str(tmp_path / "no" / "d.csv"))
    assert nowhere.exit_code == 2
    assert nowhere.stderr == (
        f"teaserfeed: {tmp_path / 'no' / 'd.csv'}: cannot be written: No such file or directory\n"
    )


def test_export_json_is_one_array_even_when_empty(news: Archive) -> None:
    out = io.StringIO()
    assert news.export(out, format="json", site="hills") == 1
    assert json.loads(out.getvalue())[0]["title"] == "Sheep return to the hills"
    empty = io.StringIO()
    assert news.export(empty, format="json", since="2030") == 0
    assert json.loads(empty.getvalue()) == []


def test_export_columns_pick_and_order(news: Archive, tmp_path: Path) -> None:
    result = cli(
        "export", "--archive", str(news.path), "-c", "title", "-c", "id", "--format", "csv"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "title,id",
        "Night school teaches C++,2",
        "Fishermen's co-op opens at last,1",
        "Sheep return to the hills,3",
    ]
    out = io.StringIO()
    news.export(out, columns=["url", "teasers"], with_teasers=True, site="harbour")
    first = json.loads(out.getvalue().splitlines()[1])
    assert list(first) == ["url", "teasers"]
    assert [t["title"] for t in first["teasers"]] == [
        "Co-op opens",
        "Fishermen's co-op opens at last",
    ]
    bad = cli("export", "--archive", str(news.path), "-c", "headline")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("teaserfeed: unknown column 'headline': the columns are id,")
    text = cli("export", "--archive", str(news.path), "--format", "txt", "-c", "id")
    assert text.exit_code == 2
    assert "choosing columns" in text.stderr


def test_export_txt_and_markdown_bodies(news: Archive, tmp_path: Path) -> None:
    md = tmp_path / "a.md"
    assert (
        cli("export", "--archive", str(news.path), "--site", "harbour", "-o", str(md)).exit_code
        == 0
    )
    text = md.read_text()
    assert text.startswith("# Night school teaches C++\n\nhttps://harbour.example/cpp · 2026-03-05")
    assert (
        "# Fishermen's co-op opens at last\n\n"
        "https://harbour.example/co-op · 2026-03-02 · Ines Lund\n\n"
        "**The harbour's co-op sells the catch directly.**\n\n"
        "Members don't pay a fee.\n\nThe co-op's shop opens at dawn.\n"
    ) in text
    txt = tmp_path / "a.txt"
    assert (
        cli("export", "--archive", str(news.path), "--site", "hills", "-o", str(txt)).exit_code == 0
    )
    assert txt.read_text() == (
        "Sheep return to the hills\nhttps://hills.example/sheep\n2026-02-10\n\n"
        "Shepherds walked the flock uphill.\n"
    )


def test_one_order_newest_first_or_as_asked(news: Archive) -> None:
    newest = [
        "Night school teaches C++",
        "Fishermen's co-op opens at last",
        "Sheep return to the hills",
    ]
    assert [a.title for a in news.articles()] == newest
    assert [r["title"] for r in news.to_records()] == newest
    out = io.StringIO()
    news.export(out)
    assert [json.loads(line)["title"] for line in out.getvalue().splitlines()] == newest
    assert list(news.to_dataframe()["title"]) == newest
    assert [r["title"] for r in news.to_records(order="oldest")] == newest[::-1]


def test_dataframe_dates_are_datetimes(news: Archive) -> None:
    import pandas

    frame = news.to_dataframe(columns=["id", "published", "first_seen"])
    assert list(frame.columns) == ["id", "published", "first_seen"]
    for column in ("published", "first_seen"):
        assert isinstance(frame[column].dtype, pandas.DatetimeTZDtype)
        assert str(frame[column].dtype.tz) == "UTC"
    # "2026-03-02T08:00:00+01:00" is 07:00 UTC; a date alone is midnight UTC
    assert frame["published"].tolist()[1] == pandas.Timestamp("2026-03-02T07:00:00Z")
    assert frame["published"].tolist()[0] == pandas.Timestamp("2026-03-05T00:00:00Z")


def test_headline_and_front_page_accessors(news: Archive) -> None:
    changes = news.headline_changes()
    assert [(c["teaser_title"], c["article_title"]) for c in changes] == [
        ("Co-op opens", "Fishermen's co-op opens at last")
    ]
    assert news.headline_changes(site="hills") == []
    rewrites = news.teaser_headline_changes("https://harbour.example/co-op")
    assert [(r["old_title"], r["new_title"]) for r in rewrites] == [
        ("Co-op opens", "Fishermen's co-op opens at last")
    ]
    history = news.front_page_history(site="harbour")
    assert {h["teaser_title"] for h in history} == {
        "Co-op opens",
        "Fishermen's co-op opens at last",
    }
    assert news.front_page_history(1) == history
    with pytest.raises(InvalidFilterError, match="unknown site"):
        news.headline_changes(site="harbor")


# ---- show ---------------------------------------------------------------------------


def test_show_prints_the_lead_before_the_body(news: Archive) -> None:
    result = cli("show", "1", "--archive", str(news.path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[4:8] == [
        "The harbour's co-op sells the catch directly.",
        "",
        "Members don't pay a fee.",
        "The co-op's shop opens at dawn.",
    ]


# ---- open_archive ---------------------------------------------------------------------


def test_open_archive_does_not_create_a_missing_file_unless_asked(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(ArchiveFileError, match=r"does not exist \(create=True"):
        open_archive(missing)
    with pytest.raises(ArchiveFileError, match="does not exist"):
        Archive(missing)
    with pytest.raises(ArchiveFileError, match="does not exist"):
        open_archive(missing, readonly=True)
    assert list(tmp_path.iterdir()) == []
    with open_archive(missing, create=True) as store:
        assert store.counts()["articles"] == 0
    with open_archive(missing) as again:  # now it exists: no create needed
        assert again.counts()["articles"] == 0


# ---- stats --------------------------------------------------------------------------


def _run(store: Archive, site: str, fetches: list[dict[str, object]], articles: int = 0) -> int:
    run = store.start_run([site])
    for fetch in fetches:
        store.record_fetch(fetch, run)
    for n in range(articles):
        store.upsert_article(
            make_article(f"https://{site}.example/{run}/{n}", source=site, title=f"S{n}"), run
        )
    store.finish_run(run, "finished", {})
    return run


def test_stats_check_passes_an_incremental_run_of_304s(tmp_path: Path) -> None:
    with open_archive(tmp_path / "a.db", create=True) as store:
        listings = [f"https://quiet.example/{s}" for s in ("world", "sport")]
        _run(store, "quiet", [make_fetch(u, source="quiet", teasers=8) for u in listings], 3)
        _run(store, "quiet", [make_fetch(u, source="quiet", status=304) for u in listings])
        _run(store, "quiet", [])  # nothing due at all
        (health,) = store.health()
        assert health.listings_not_modified == 0
        assert health.flags == []
    result = cli("stats", "--check", "--archive", str(tmp_path / "a.db"))
    assert result.exit_code == 0, result.output
    assert "flags: none" in result.stdout


def test_stats_check_flags_a_run_whose_every_article_failed(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with open_archive(path, create=True) as store:
        _run(
            store, "walled", [make_fetch("https://walled.example/", source="walled", teasers=9)], 2
        )
        failed = [
            make_fetch(
                f"https://walled.example/{n}", "article", source="walled", error_kind="bot_wall"
            )
            for n in range(4)
        ]
        run = _run(
            store,
            "walled",
            [make_fetch("https://walled.example/", source="walled", teasers=9), *failed],
        )
        _run(store, "quiet", [make_fetch("https://quiet.example/", source="quiet", status=304)])
        health = {h.site: h for h in store.health()}
        assert health["walled"].flags == [
            f"every article fetch failed in run {run} (4 failed, none stored)"
        ]
        assert health["quiet"].flags == []
    result = cli("stats", "--check", "--archive", str(path))
    assert result.exit_code == 1
    assert f"! walled: every article fetch failed in run {run}" in result.stdout
    assert "! quiet" not in result.stdout
    only = cli("stats", "--site", "quiet", "--check", "--archive", str(path))
    assert only.exit_code == 0, only.output
    assert "walled" not in only.stdout
    assert "quiet" in only.stdout


def test_stats_check_flags_a_run_whose_listings_all_failed(tmp_path: Path) -> None:
    with open_archive(tmp_path / "a.db", create=True) as store:
        _run(store, "down", [make_fetch("https://down.example/", source="down", teasers=5)], 1)
        run = _run(
            store,
            "down",
            [make_fetch("https://down.example/", source="down", status=503, error_kind="http_5xx")],
        )
        (health,) = store.health()
        assert health.flags == [f"every listing fetch failed in run {run} (1 listing pages)"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing/chart.png", "cannot write the chart: no directory"),
        ("chart.gif", "cannot draw a chart as '.gif': use .png, .svg, .pdf"),
        ("chart", "cannot draw a chart as 'a file without a suffix'"),
    ],
)
def test_stats_plot_to_a_bad_path_is_one_line(
    news: Archive, tmp_path: Path, name: str, expected: str
) -> None:
    result = cli("stats", "--archive", str(news.path), "--plot", str(tmp_path / name))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"teaserfeed: {tmp_path / name}: {expected}")
    assert result.stdout == ""  # checked before the table is printed


def test_stats_plot_draws_bars_from_zero_and_an_empty_state(news: Archive, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    drawn: list[object] = []
    real_close = pyplot.close

    def keep(figure: object) -> None:
        drawn.append(figure)
        real_close(figure)

    pyplot.close = keep  # type: ignore[assignment]
    try:
        chart = cli(
            "stats",
            "--archive",
            str(news.path),
            "--plot",
            str(tmp_path / "c.svg"),
            "--site",
            "harbour",
        )
        empty = cli(
            "stats",
            "--archive",
            str(news.path),
            "--plot",
            str(tmp_path / "e.png"),
            "--since",
            "2030",
        )
    finally:
        pyplot.close = real_close  # type: ignore[assignment]
    assert chart.exit_code == 0, chart.output
    assert empty.exit_code == 0, empty.output
    axes = drawn[0].axes[0]  # type: ignore[attr-defined]
    bars = [patch.get_height() for patch in axes.patches]
    assert bars == [1, 1]  # 2026-03-02 and 2026-03-05, one harbour article each
    assert axes.get_ylim()[0] == 0
    assert "<svg" in (tmp_path / "c.svg").read_text()
    blank = drawn[1].axes[0]  # type: ignore[attr-defined]
    assert [t.get_text() for t in blank.texts] == ["no articles in this period"]
    assert blank.patches == [] or all(p.get_height() == 0 for p in blank.patches)
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_stats_help_says_what_since_and_until_shape() -> None:
    text = " ".join(cli("stats", "--help").stdout.split())
    assert "--since TEXT Chart from this date (YYYY-MM-DD); the table is always" in text
    assert text.count("the table is always each site's latest run") == 2
    assert "--site TEXT Only this site, in the table and the chart" in text


# ---- extract ------------------------------------------------------------------------

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Lighthouse keeper retires after forty years | Coast Courier</title>
<link rel="canonical" href="https://coast.example/2026/04/01/lighthouse-keeper/">
<script type="application/ld+json">{"@type": "NewsArticle",
 "headline": "Lighthouse keeper retires after forty years",
 "datePublished": "2026-04-01T09:30:00+02:00", "author": {"@type": "Person", "name": "Mara Voss"},
 "description": "The last keeper of the Nordhorn light hands over the keys."}</script>
</head><body><nav><a href="/">Home</a> <a href="/local">Local</a></nav>
<article><h1>Lighthouse keeper retires after forty years</h1>
<p class="lead">The last keeper of the Nordhorn light hands over the keys.</p>
<p>For forty years Jonas Brandt climbed the hundred and twelve steps of the Nordhorn light
every evening, trimmed the lamp and logged the weather in a leather-bound book.</p>
<p>On Friday he climbed them for the last time. The light is automatic now, watched from a
control room two hundred kilometres inland, and the keeper's cottage will become a museum.</p>
<p>"I will miss the storms most," Brandt said, standing by the railing as the ferry passed.</p>
</article><footer>Subscribe to our newsletter</footer></body></html>
"""


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    folder = tmp_path / "saved"
    (folder / "april").mkdir(parents=True)
    (folder / "april" / "keeper.html").write_text(PAGE, encoding="utf-8")
    (folder / "blank.htm").write_text("<html><body><nav>Menu</nav></body></html>")
    (folder / "notes.txt").write_text("not a page")
    return folder


def test_extract_prints_text_like_trafilatura(pages: Path) -> None:
    result = cli("extract", str(pages / "april" / "keeper.html"))
    assert result.exit_code == 0, result.output
    head, lead, body = result.stdout.split("\n\n", 2)
    assert head.splitlines() == [
        "Lighthouse keeper retires after forty years",
        "https://coast.example/2026/04/01/lighthouse-keeper/",
        "2026-04-01",
        "Mara Voss",
    ]
    assert lead == "The last keeper of the Nordhorn light hands over the keys."
    assert body.startswith("For forty years Jonas Brandt climbed")
    assert "I will miss the storms most" in body
    assert "newsletter" not in result.stdout
    assert "Home" not in result.stdout


def test_extract_quiets_the_extractor_log_only_while_it_runs(pages: Path) -> None:
    crawlers_log = logging.getLogger("crawlers")
    before = crawlers_log.level
    crawlers_log.setLevel(logging.INFO)
    try:
        assert cli("extract", str(pages / "april" / "keeper.html")).exit_code == 0
        # the library's log level in this process is as the caller left it
        assert crawlers_log.level == logging.INFO
    finally:
        crawlers_log.setLevel(before)


def test_extract_uses_the_crawls_extractor(pages: Path) -> None:
    page = pages / "april" / "keeper.html"
    result = cli("extract", str(page), "--format", "json")
    record = json.loads(result.stdout)
    same = crawlers.extract.article.extract_article(page.read_bytes(), page.resolve().as_uri())
    assert record == crawlers.extract.files.article_record(same)
    assert record["published"] == "2026-04-01T09:30:00+02:00"
    assert record["authors"] == ["Mara Voss"]
    with_url = cli("extract", str(page), "--url", "https://coast.example/x", "--format", "json")
    assert json.loads(with_url.stdout)["url"] == "https://coast.example/x"


def test_extract_a_folder_as_markdown_files(pages: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = cli("extract", "--input-dir", str(pages), "--format", "markdown", "-o", str(out))
    # the blank page gives no text: said in one line, exit 1, the other page written
    assert result.exit_code == 1
    assert result.stderr == f"teaserfeed: {pages / 'blank.htm'}: no article text found\n"
    assert sorted(p.name for p in out.iterdir()) == ["keeper.md"]
    text = (out / "keeper.md").read_text()
    assert text.startswith("# Lighthouse keeper retires after forty years\n\n")
    assert "**The last keeper of the Nordhorn light hands over the keys.**" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.html"], "missing.html: no such file"),
        (["--input-dir", "nowhere"], "nowhere: no such directory"),
        (["."], ".: is a directory (use --input-dir for a folder)"),
    ],
)
def test_extract_unreadable_inputs_are_one_line_each(
    pages: Path, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(pages)
    result = cli("extract", *args, "april/keeper.html")
    assert result.exit_code == 2
    assert result.stderr == f"teaserfeed: {message}\n"
    assert result.stdout.startswith("Lighthouse keeper retires after forty years\n")


@pytest.mark.parametrize(
    "content", [b"", b"\x00\xff\xfe garbage", b"<html>" * 10000, "<p>ünï</p>".encode("utf-16")]
)
def test_extract_never_raises_on_odd_files(tmp_path: Path, content: bytes) -> None:
    page = tmp_path / "odd.html"
    page.write_bytes(content)
    result = cli("extract", str(page), "--format", "json")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.output


def test_extract_usage_errors() -> None:
    nothing = cli("extract")
    assert nothing.exit_code == 2
    assert "give saved pages" in nothing.stderr
    two = cli("extract", "a.html", "b.html", "--url", "https://x.example/")
    assert two.exit_code == 2
    assert "exactly one FILE" in two.stderr


# ---- import teaserfeed ------------------------------------------------------------------


def test_teaserfeed_reexports_the_public_api() -> None:
    import teaserfeed

    public = {
        name
        for name, value in vars(teaserfeed).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(teaserfeed.__all__) == public
    assert len(teaserfeed.__all__) == len(set(teaserfeed.__all__))
    assert set(archive.__all__) <= set(teaserfeed.__all__)
    origins = [
        archive,
        crawlers.extract.article,
        crawlers.extract.files,
        crawlers.extract.listing,
        crawlers.sites,
    ]
    for name in teaserfeed.__all__:
        owners = [m for m in origins if name in getattr(m, "__all__", ())]
        assert owners, f"{name} comes from no public module"
        assert getattr(teaserfeed, name) is getattr(owners[0], name)
    for name in ("open_archive", "extract_article", "extract_file", "find_teasers", "SiteConfig"):
        assert name in teaserfeed.__all__


def test_teaserfeed_is_a_packaged_module() -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())
    assert "teaserfeed" in config["tool"]["setuptools"]["packages"]["find"]["include"]
    from setuptools import find_packages

    found = find_packages(
        str(root), include=config["tool"]["setuptools"]["packages"]["find"]["include"]
    )
    assert "teaserfeed" in found


@pytest.mark.parametrize("name", ["search", "show", "export", "stats", "extract"])
def test_every_option_of_the_read_commands_has_help(name: str) -> None:
    import click

    command = main.commands[name]  # type: ignore[attr-defined]
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert len(param.help or "") > 15, f"{name} {param.opts}"
    assert command.help
    assert command.short_help
