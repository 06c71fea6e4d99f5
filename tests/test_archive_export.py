"""JSONL and CSV export of articles, with and without their teasers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import Archive, ArchiveError, InvalidFilterError, open_archive
from archive.export import EXPORT_COLUMNS
from tests.test_archive_store import make_article, make_teaser


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Archive]:
    with open_archive(tmp_path / "news.db", create=True) as store:
        store.upsert_teaser(make_teaser("https://one.org/a?utm_source=x", title="Teaser «A»"))
        store.upsert_article(
            make_article(
                "https://one.org/a",
                source="one",
                title="Ünïcode «A»",
                body='Body with "quotes", commas,\nand a newline.',
                authors=["Ann", "Bo"],
                tags=["x"],
                published="2024-05-01",
            )
        )
        store.upsert_article(
            make_article("https://two.org/b", source="two", title="B", published="2024-06-01")
        )
        yield store


def test_jsonl(store: Archive) -> None:
    out = io.StringIO()
    assert store.export(out, order="oldest") == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["title"] for row in rows] == ["Ünïcode «A»", "B"]  # oldest first
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert rows[0]["authors"] == ["Ann", "Bo"]
    assert rows[0]["body"] == 'Body with "quotes", commas,\nand a newline.'
    assert "teasers" not in rows[0]
    assert "Ünïcode" in out.getvalue()  # not \\u-escaped


def test_jsonl_with_teasers(store: Archive) -> None:
    out = io.StringIO()
    store.export(out, with_teasers=True, order="oldest")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert [t["title"] for t in first["teasers"]] == ["Teaser «A»"]
    assert first["teasers"][0]["url"] == "https://one.org/a?utm_source=x"
    assert first["teasers"][0]["has_read_more"] is False
    assert second["teasers"] == []


def test_csv(store: Archive) -> None:
    out = io.StringIO(newline="")
    assert store.export(out, format="csv", with_teasers=True, order="oldest") == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert list(rows[0]) == [*EXPORT_COLUMNS, "teasers"]
    assert rows[0]["body"] == 'Body with "quotes", commas,\nand a newline.'
    assert json.loads(rows[0]["authors"]) == ["Ann", "Bo"]
    assert json.loads(rows[0]["teasers"])[0]["title"] == "Teaser «A»"
    assert rows[1]["canonical_url"] == ""


def test_filters(store: Archive) -> None:
    out = io.StringIO()
    assert store.export(out, site="two") == 1
    assert json.loads(out.getvalue())["title"] == "B"
    out = io.StringIO()
    assert store.export(out, since="2024-05-15", format="csv") == 1
    with pytest.raises(InvalidFilterError, match=r"unknown site 'nobody': .* are one, two$"):
        store.export(io.StringIO(), site="nobody")
    with pytest.raises(InvalidFilterError, match=r"no article is in language 'xx'"):
        store.export(io.StringIO(), language="xx")


def test_unknown_format(store: Archive) -> None:
    with pytest.raises(ValueError, match="xml"):
        store.export(io.StringIO(), format="xml")


def test_articles_listing_orders_and_limits(store: Archive) -> None:
    assert [a.title for a in store.articles()] == ["B", "Ünïcode «A»"]
    assert [a.title for a in store.articles(order="oldest", limit=1)] == ["Ünïcode «A»"]
    assert [a.source for a in store.articles(site="one")] == ["one"]
    assert [a.title for a in store.articles(until="2024-05")] == ["Ünïcode «A»"]
    with pytest.raises(ValueError, match="order"):
        store.articles(order="random")


class Sink(io.TextIOBase):
    """A file that counts what is written and keeps nothing."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def _peak_export(path: Path, rows: int, format: str) -> int:
    import tracemalloc

    with open_archive(path, create=True) as store:
        if store.counts()["articles"] < rows:
            with store.transaction():
                for n in range(store.counts()["articles"], rows):
                    store.upsert_article(
                        make_article(f"https://big.org/{n}", body=f"word{n} " + "x" * 5000)
                    )
        # Python 3.11's sqlite3 leaves ~200 bytes of cyclic garbage per query of 20-column rows
        # (a teaser row) until a later collector pass frees it: bounded, not the export's
        # growth. 2,000 queries first bring it to its steady state before measuring.
        for _ in range(2000):
            store.teasers(0)
        tracemalloc.start()
        try:
            assert store.export(Sink(), format=format, with_teasers=True) == rows
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_export_streams_in_constant_memory(tmp_path: Path, format: str) -> None:
    # 10x the rows must not mean 10x the memory: rows are written as the cursor yields them
    path = tmp_path / "big.db"
    small = _peak_export(path, 200, format)
    large = _peak_export(path, 2000, format)
    assert large < 2 * small + 200_000, (small, large)
    assert large < 2000 * 5000 / 4  # far below holding the 10 MB of bodies


def test_to_records_and_to_dataframe(store: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    records = list(store.to_records(site="one"))
    assert [r["title"] for r in records] == ["Ünïcode «A»"]
    assert list(records[0]) == list(EXPORT_COLUMNS)
    assert [r["title"] for r in store.to_records(until="2024-05")] == ["Ünïcode «A»"]
    full = next(store.to_records(full=True, order="oldest"))
    assert [t["title"] for t in full["teasers"]] == ["Teaser «A»"]
    assert full["versions"] == []
    import pandas  # in the dev extra, so CI always tests it

    frame = store.to_dataframe(order="oldest")
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["title"]) == ["Ünïcode «A»", "B"]
    assert list(frame.columns) == list(EXPORT_COLUMNS)
    assert store.to_dataframe(since="2030").empty

    import importlib

    real = importlib.import_module

    def without_pandas(name: str, package: str | None = None) -> object:
        if name == "pandas":
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_pandas)
    with pytest.raises(ArchiveError, match="needs pandas"):
        store.to_dataframe()


def test_export_command_filters_by_site_and_dates(store: Archive) -> None:
    from click.testing import CliRunner

    from crawlers.cli import main

    runner = CliRunner()
    args = ["export", "--archive", str(store.path)]
    out = runner.invoke(main, [*args, "--site", "two"])
    assert out.exit_code == 0, out.output
    assert [json.loads(line)["title"] for line in out.stdout.splitlines()] == ["B"]
    out = runner.invoke(main, [*args, "--format", "csv", "--until", "2024-05"])
    assert len(list(csv.DictReader(io.StringIO(out.stdout)))) == 1
    bad = runner.invoke(main, [*args, "--source", "two"])
    assert bad.exit_code == 2  # renamed to --site
