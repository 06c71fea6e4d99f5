"""JSONL and CSV export of articles, with and without their teasers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import Archive, open_archive
from archive.export import EXPORT_COLUMNS
from tests.test_archive_store import make_article, make_teaser


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Archive]:
    with open_archive(tmp_path / "news.db") as store:
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
    assert store.export(out) == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["title"] for row in rows] == ["Ünïcode «A»", "B"]  # oldest first
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert rows[0]["authors"] == ["Ann", "Bo"]
    assert rows[0]["body"] == 'Body with "quotes", commas,\nand a newline.'
    assert "teasers" not in rows[0]
    assert "Ünïcode" in out.getvalue()  # not \\u-escaped


def test_jsonl_with_teasers(store: Archive) -> None:
    out = io.StringIO()
    store.export(out, with_teasers=True)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert [t["title"] for t in first["teasers"]] == ["Teaser «A»"]
    assert first["teasers"][0]["url"] == "https://one.org/a?utm_source=x"
    assert first["teasers"][0]["has_read_more"] is False
    assert second["teasers"] == []


def test_csv(store: Archive) -> None:
    out = io.StringIO(newline="")
    assert store.export(out, format="csv", with_teasers=True) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert list(rows[0]) == [*EXPORT_COLUMNS, "teasers"]
    assert rows[0]["body"] == 'Body with "quotes", commas,\nand a newline.'
    assert json.loads(rows[0]["authors"]) == ["Ann", "Bo"]
    assert json.loads(rows[0]["teasers"])[0]["title"] == "Teaser «A»"
    assert rows[1]["canonical_url"] == ""


def test_filters(store: Archive) -> None:
    out = io.StringIO()
    assert store.export(out, source="two") == 1
    assert json.loads(out.getvalue())["title"] == "B"
    out = io.StringIO()
    assert store.export(out, since="2024-05-15", format="csv") == 1
    assert store.export(io.StringIO(), source="nobody") == 0


def test_unknown_format(store: Archive) -> None:
    with pytest.raises(ValueError, match="xml"):
        store.export(io.StringIO(), format="xml")


def test_articles_listing_orders_and_limits(store: Archive) -> None:
    assert [a.title for a in store.articles()] == ["B", "Ünïcode «A»"]
    assert [a.title for a in store.articles(order="oldest", limit=1)] == ["Ünïcode «A»"]
    assert [a.source for a in store.articles(source="one")] == ["one"]
    assert [a.title for a in store.articles(until="2024-05")] == ["Ünïcode «A»"]
    with pytest.raises(ValueError, match="order"):
        store.articles(order="random")
