"""Full-text search: ranking, filters, snippets, FTS5 syntax errors, literal mode, injection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive import Archive, InvalidFilterError, SearchHit, SearchSyntaxError, open_archive
from tests.test_archive_store import make_article


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Archive]:
    with open_archive(tmp_path / "news.db", create=True) as store, store.transaction():
        _add_articles(store)
        yield store


def _add_articles(store: Archive) -> None:
    store.upsert_article(
        make_article(
            "https://one.org/kazakhstan-votes",
            source="one",
            title="Kazakhstan votes",
            body="Voters in Kazakhstan went to the polls. Kazakhstan's capital was calm. "
            "Observers said Kazakhstan had prepared well.",
            published="2024-05-01T10:00:00+02:00",
        )
    )
    store.upsert_article(
        make_article(
            "https://two.org/central-asia",
            source="two",
            title="Central Asia roundup",
            body="News from the region: trade, weather, sport and a note on Kazakhstan. "
            + "Filler sentence about markets and prices. " * 20,
            published="2024-06-10",
        )
    )
    store.upsert_article(
        make_article(
            "https://one.org/steppe",
            source="one",
            title="Steppe",
            lead="A journey across Kazakhstan by train.",
            body="The café car served tea. The journey took days.",
            language="de",
            published=None,
            fetched_at="2026-02-01T00:00:00+00:00",
        )
    )
    store.upsert_article(
        make_article(
            "https://two.org/unrelated",
            source="two",
            title="Unrelated",
            body="Nothing to see here; a story about gardening.",
            published="2023-01-01",
        )
    )


def ids(hits: list[SearchHit]) -> list[int]:
    return [hit.article_id for hit in hits]


def test_title_and_repeated_body_term_rank_first(corpus: Archive) -> None:
    hits = corpus.search("kazakhstan")
    assert ids(hits)[0] == 1
    assert set(ids(hits)) == {1, 2, 3}
    assert hits[0].title == "Kazakhstan votes"
    assert hits[0].url == "https://one.org/kazakhstan-votes"
    assert hits[0].source == "one"
    assert hits[0].published == "2024-05-01T10:00:00+02:00"
    ranks = [hit.rank for hit in hits]
    assert ranks == sorted(ranks)


def test_snippet_marks_the_match(corpus: Archive) -> None:
    [hit] = corpus.search("gardening")
    assert "[gardening]" in hit.snippet
    for hit in corpus.search("kazakhstan"):
        assert "[Kazakhstan" in hit.snippet


def test_fts5_syntax_works_with_fts_true(corpus: Archive) -> None:
    assert ids(corpus.search('"kazakhstan votes"', fts=True)) == [1]
    assert set(ids(corpus.search("steppe OR gardening", fts=True))) == {3, 4}
    assert ids(corpus.search("kazakh*", fts=True)) != []
    assert ids(corpus.search("title:steppe", fts=True)) == [3]
    assert ids(corpus.search("NEAR(voters polls, 5)", fts=True)) == [1]
    assert set(ids(corpus.search("kazakhstan NOT observers", fts=True))) == {2, 3}
    # the old spelling still works: literal=False is raw FTS5
    assert set(ids(corpus.search("steppe OR gardening", literal=False))) == {3, 4}


def test_plain_words_are_escaped_by_default(corpus: Archive) -> None:
    corpus.upsert_article(
        make_article(
            "https://one.org/co-op",
            source="one",
            title="The co-op's C++ course",
            body="Members don't pay; the co-op teaches C++ and NOT much else.",
        )
    )
    # hyphens, apostrophes, C++, operators and colons are words, not FTS5 syntax
    for query in ("co-op", "don't", "C++", "co-op's course", "course: members", "NOT much"):
        assert ids(corpus.search(query)) == [5], query
    # words are ANDed, not a phrase, and no word is an operator
    assert ids(corpus.search("steppe OR gardening")) == []
    assert ids(corpus.search("course members")) == [5]
    # a prefix star is text too: raw FTS5 is opt-in
    assert ids(corpus.search("kazakh*")) == []


def test_diacritics_fold_and_prefixes_cover_inflection(corpus: Archive) -> None:
    assert ids(corpus.search("cafe")) == [3]
    # no stemmer (it would be English-only): whole words match exactly, prefixes widen
    assert ids(corpus.search("journeys")) == []
    assert ids(corpus.search("journey*", fts=True)) == [3]
    assert 1 in ids(corpus.search("voter*", fts=True))


def test_filters(corpus: Archive) -> None:
    assert ids(corpus.search("kazakhstan", site="two")) == [2]
    assert ids(corpus.search("kazakhstan", language="de")) == [3]
    assert set(ids(corpus.search("kazakhstan", since="2024-06"))) == {2, 3}
    # until is inclusive at its own precision: the whole day, month or year
    assert ids(corpus.search("kazakhstan", until="2024-05-01")) == [1]
    assert ids(corpus.search("kazakhstan", until="2024-05")) == [1]
    assert ids(corpus.search("kazakhstan", since="2024-05-02", until="2024-12-31")) == [2]
    # an article without a publication date is filed under when it was first archived
    assert ids(corpus.search("kazakhstan", since="2026-02-01", until="2026-02-01")) == [3]
    # a site or language the archive does not have is an error naming the known ones
    with pytest.raises(InvalidFilterError, match=r"unknown site 'nope': .* are one, two$"):
        corpus.search("kazakhstan", site="nope")
    with pytest.raises(InvalidFilterError, match=r"language 'fr': .* are de, en$"):
        corpus.search("kazakhstan", language="fr")
    # a known site with no match is no error, just no hits
    assert corpus.search("gardening", site="one") == []


def test_limit_none_returns_every_hit(corpus: Archive) -> None:
    for n in range(30):
        corpus.upsert_article(
            make_article(f"https://two.org/more-{n}", source="two", body=f"Kazakhstan item {n}")
        )
    assert len(corpus.search("kazakhstan")) == 20
    everything = corpus.search("kazakhstan", limit=None)
    assert len(everything) == 33
    assert {hit.article_id for hit in everything} == {1, 2, 3, *range(5, 35)}


def test_limit_and_offset(corpus: Archive) -> None:
    everything = ids(corpus.search("kazakhstan"))
    assert ids(corpus.search("kazakhstan", limit=1)) == everything[:1]
    assert ids(corpus.search("kazakhstan", limit=1, offset=1)) == everything[1:2]
    assert corpus.search("kazakhstan", offset=10) == []
    with pytest.raises(ValueError, match="limit"):
        corpus.search("kazakhstan", limit=-1)


def test_the_window_ranks_only_the_newest_matches(corpus: Archive) -> None:
    # "kazakhstan" matches articles 1, 2 and 3; 1 ranks best, 3 is the newest archived
    assert ids(corpus.search("kazakhstan", window=None))[0] == 1
    assert ids(corpus.search("kazakhstan", window=3)) == ids(
        corpus.search("kazakhstan", window=None)
    )
    assert set(ids(corpus.search("kazakhstan", window=2, limit=2))) == {2, 3}
    assert ids(corpus.search("kazakhstan", window=1, limit=1)) == [3]
    # filters apply before the window: the newest matches of site "one" are 3, then 1
    assert ids(corpus.search("kazakhstan", site="one", window=1, limit=1)) == [3]
    assert ids(corpus.search("kazakhstan", site="one", window=2, limit=2)) == [1, 3]
    assert ids(corpus.search("kazakhstan", site="two", until="2024", window=1, limit=1)) == [2]
    assert ids(corpus.search("kazakhstan", language="de", window=None)) == [3]
    # a window smaller than the page, or paging past it, widens it rather than running dry
    assert len(corpus.search("kazakhstan", window=1)) == 3
    assert ids(corpus.search("kazakhstan", window=1, limit=1, offset=1)) != []
    with pytest.raises(ValueError, match="window"):
        corpus.search("kazakhstan", window=0)


def test_cli_search_window_options(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crawlers.cli import main

    path = str(tmp_path / "news.db")
    with open_archive(path, create=True) as store, store.transaction():
        _add_articles(store)
    runner = CliRunner()
    newest = runner.invoke(
        main, ["search", "kazakhstan", "--archive", path, "-n", "1", "--window", "1"]
    )
    assert newest.exit_code == 0, newest.output
    assert "Steppe" in newest.output
    assert "Kazakhstan votes" not in newest.output
    best = runner.invoke(main, ["search", "kazakhstan", "--archive", path, "-n1", "--all-matches"])
    assert best.exit_code == 0, best.output
    assert "Kazakhstan votes" in best.output
    assert "Steppe" not in best.output


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR", "title:", "co-op", "a NOT", "NEAR("])
def test_bad_fts_syntax_is_a_search_syntax_error(corpus: Archive, query: str) -> None:
    with pytest.raises(SearchSyntaxError) as info:
        corpus.search(query, fts=True)
    message = str(info.value)
    assert repr(query) in message
    assert "fts=True" in message
    assert "literal" not in message
    assert "quote" in message
    assert info.value.query == query


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR", "title:", "co-op", "don't", "--"])
def test_plain_mode_accepts_anything(corpus: Archive, query: str) -> None:
    assert isinstance(corpus.search(query), list)
    assert isinstance(corpus.search(query, literal=True), list)


def test_literal_mode_finds_the_words(corpus: Archive) -> None:
    corpus.upsert_article(
        make_article("https://one.org/and-or", title="AND OR logic", body="Gates: and, or.")
    )
    assert 5 in ids(corpus.search("AND OR", literal=True))
    assert ids(corpus.search('"unbalanced kazakhstan', literal=True)) == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_a_clear_error(corpus: Archive, query: str) -> None:
    with pytest.raises(SearchSyntaxError, match="empty"):
        corpus.search(query)


def test_literal_query_without_words_is_a_clear_error(corpus: Archive) -> None:
    with pytest.raises(SearchSyntaxError, match="no words"):
        corpus.search('"', literal=True)


INJECTIONS = [
    "'; DROP TABLE articles; --",
    "1' OR '1'='1",
    '" OR 1=1 --',
    "kazakhstan; DELETE FROM articles",
    "') UNION SELECT name, sql FROM sqlite_master --",
    "kazakhstan */ DROP TABLE teasers /*",
    "\x00",
]


@pytest.mark.parametrize("attack", INJECTIONS)
@pytest.mark.parametrize("fts", [False, True])
def test_injection_never_runs_sql(corpus: Archive, attack: str, fts: bool) -> None:
    before = (corpus.counts(), corpus.db.schema)
    attempts: list[dict[str, Any]] = [
        {"query": attack},
        {"query": "kazakhstan", "site": attack},
        {"query": "kazakhstan", "language": attack},
        {"query": "kazakhstan", "since": attack},
        {"query": "kazakhstan", "until": attack},
    ]
    for kwargs in attempts:
        try:
            hits = corpus.search(fts=fts, **kwargs)
        except (SearchSyntaxError, InvalidFilterError):
            continue
        assert all(hit.article_id in {1, 2, 3, 4} for hit in hits)
        # an unknown site or language is an error, never a query
        assert "site" not in kwargs
        assert "language" not in kwargs
    assert (corpus.counts(), corpus.db.schema) == before


@pytest.mark.parametrize("bad", ["garbage", "2024-13", "24-05-01", "2024/05/01", "'; --"])
def test_bad_date_filters_are_clear_errors(corpus: Archive, bad: str) -> None:
    with pytest.raises(InvalidFilterError, match=r"is not a date: use YYYY"):
        corpus.search("kazakhstan", since=bad)
    with pytest.raises(InvalidFilterError, match=r"until"):
        list(corpus.articles(until=bad))
