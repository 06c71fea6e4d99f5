"""Re-extraction from the pages kept in the archive: offline, in place, FTS in step."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archive import Archive, open_archive
from crawlers.cli import main
from crawlers.demo import DemoServer, DemoSite
from crawlers.extract.article import EXTRACTOR_VERSION
from crawlers.extract.cleanup import CleanupRule, global_rules, load_rules
from crawlers.reextract import reextract
from crawlers.sites import SiteConfig
from tests.conftest import Crawled, crawl_blocking


@pytest.fixture(scope="module")
def crawled(demo_configs: list[SiteConfig], tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return crawl_blocking(demo_configs, tmp_path_factory.mktemp("reextract") / "news.db")


@pytest.fixture
def archive_copy(crawled: Crawled, tmp_path: Path) -> Path:
    path = tmp_path / "copy.db"
    with sqlite3.connect(crawled.archive) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return path


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, demo_server: DemoServer) -> Iterator[None]:
    """No network socket may connect while the test body runs (the extraction pool's
    local socket to its fork server may), and the demo site sees no request."""
    before = len(demo_server.requests)
    connect = socket.socket.connect

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network used during re-extraction: {args!r}")

    def local_only(sock: socket.socket, address: Any) -> None:
        if sock.family != socket.AF_UNIX:
            refuse(sock, address)
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield
    assert len(demo_server.requests) == before


@pytest.fixture
def term(demo_site: DemoSite) -> str:
    """A word that only one demo article uses."""
    return sorted(demo_site.unique_terms)[0]


def _dropping(term: str) -> tuple[CleanupRule, ...]:
    """The shipped rules plus one that removes every paragraph mentioning `term`."""
    extra = load_rules(
        f'[[rule]]\nname = "drop-{term}"\nmax_chars = 5000\ntexts = [".*\\\\b{term}\\\\b"]\n'
    )
    return global_rules() + extra


def _hits(archive: Archive, term: str) -> list[str]:
    # the body column only: the term may be in the headline too
    return [hit.url for hit in archive.search(f"body:{term}", fts=True)]


def test_round_trip_change_a_rule_reextract_and_search(
    archive_copy: Path, offline: None, demo_site: DemoSite, demo_server: DemoServer, term: str
) -> None:
    url = demo_server.url + demo_site.unique_terms[term]
    with open_archive(archive_copy, create=True) as archive:
        assert _hits(archive, term) == [url]
        before = {a.id: a for a in archive.articles()}
        target = archive.article(url)
        assert term in target.body

        # a rule that drops the paragraph with the term: one body changes, FTS follows
        stats = reextract(archive, rules=_dropping(term))
        assert (stats.pages, stats.changed, stats.unchanged, stats.skipped) == (103, 1, 102, 0)
        changed = archive.article(url)
        assert changed.body != target.body
        assert term not in changed.body
        assert changed.body.count("\n\n") < target.body.count("\n\n")
        assert _hits(archive, term) == []
        removed = archive.db.execute(
            "SELECT rule, text FROM removed WHERE article_id = ? AND rule LIKE 'drop-%'",
            [target.id],
        ).fetchall()
        assert removed
        assert all(rule == f"drop-{term}" and term in text for rule, text in removed)
        # a re-extraction is not a new revision of the story
        assert (changed.version, changed.extractor_version) == (target.version, EXTRACTOR_VERSION)

        # back to the shipped rules: the new text is the old one, and search finds it again
        stats = reextract(archive)
        assert (stats.changed, stats.unchanged) == (1, 102)
        assert archive.article(url).body == target.body
        assert _hits(archive, term) == [url]
        assert {a.id: a.body for a in archive.articles()} == {i: a.body for i, a in before.items()}
        assert reextract(archive).changed == 0
    check = sqlite3.connect(archive_copy)
    try:
        check.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")
    finally:
        check.close()


def test_since_takes_only_older_extractor_versions(archive_copy: Path, offline: None) -> None:
    with open_archive(archive_copy, create=True) as archive:
        ids = [a.id for a in archive.articles(order="id")]
        old, missing = ids[:3], ids[3:5]
        archive.db.execute(
            f"UPDATE articles SET extractor_version = '1.9' WHERE id IN ({','.join('?' * 3)})",
            old,
        )
        archive.db.execute(
            "UPDATE articles SET extractor_version = NULL WHERE id IN (?, ?)", missing
        )
        archive.db.conn.commit()
        assert sorted(p.article_id for p in archive.stored_pages(before_version="2.0")) == sorted(
            old + missing
        )
        stats = reextract(archive, since="2.0")
        assert stats.pages == 5
        assert reextract(archive, since="2.0").pages == 0
        assert {a.extractor_version for a in archive.articles()} == {EXTRACTOR_VERSION}
        # dotted numbers compare as numbers: every version so far is older than 10.0
        assert reextract(archive, since="10.0").pages == 103


def test_cli_reextract(archive_copy: Path, tmp_path: Path, offline: None, term: str) -> None:
    # the shipped rules file plus one rule
    shipped = (Path(__file__).parents[1] / "crawlers" / "extract" / "rules.toml").read_text("utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        f'[[rule]]\nname = "drop"\nmax_chars = 5000\ntexts = [".*\\\\b{term}\\\\b"]\n\n' + shipped,
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["reextract", "--archive", str(archive_copy)]
    result = runner.invoke(main, [*args, "--rules", str(rules), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "changed": 1,
        "extractor_version": EXTRACTOR_VERSION,
        "pages": 103,
        "skipped": 0,
        "unchanged": 102,
        "failed": 0,
    }
    with open_archive(archive_copy, create=True) as archive:
        assert _hits(archive, term) == []
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"re-extracted 103 stored pages with extractor {EXTRACTOR_VERSION}: 1 changed, "
        "102 unchanged, 0 kept as they were (no body found)\n"
    )
    result = runner.invoke(main, [*args, "--since", "1.0", "--json"])
    assert json.loads(result.output)["pages"] == 0


def test_cli_reextract_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["reextract", "--archive", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "no such archive" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\ntexts = ["(oops"]\n', encoding="utf-8")
    result = runner.invoke(main, ["reextract", "--rules", str(bad), "--archive", "x.db"])
    assert result.exit_code == 2
    assert "invalid pattern" in result.output
    assert "reextract" in runner.invoke(main, ["--help"]).output


def test_archive_without_pages_reextracts_nothing(tmp_path: Path) -> None:
    with open_archive(tmp_path / "empty.db", create=True) as archive:
        assert reextract(archive).as_dict() == {
            "changed": 0,
            "extractor_version": EXTRACTOR_VERSION,
            "pages": 0,
            "skipped": 0,
            "unchanged": 0,
            "failed": 0,
        }


def _state(path: Path) -> list[tuple[object, ...]]:
    """Every re-extracted column of every article, its images and removed rows, by id."""
    with sqlite3.connect(path) as db:
        return [
            *db.execute(
                "select id, title, lead, body, authors, published, language, word_count, "
                "extractor_version from articles order by id"
            ),
            *db.execute("select article_id, url, caption, credit from images order by 1, 2"),
            *db.execute("select article_id, rule, text from removed order by 1, 2, 3"),
        ]


def test_reextract_in_two_workers_writes_what_inline_writes(
    crawled: Crawled, tmp_path: Path, offline: None, term: str
) -> None:
    states = []
    for workers in (0, 2):
        path = tmp_path / f"w{workers}.db"
        with sqlite3.connect(crawled.archive) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        with open_archive(path, create=True) as archive:
            stats = reextract(archive, rules=_dropping(term), workers=workers)
        assert (stats.pages, stats.changed, stats.failed) == (103, 1, 0), workers
        states.append(_state(path))
    assert states[0] == states[1]
    assert len(states[0]) > 103
