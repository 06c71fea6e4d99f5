"""Revisions (article_versions, the boring-change filter, word diffs) and teaser history."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from archive import Archive, NotFoundError, open_archive
from archive.history import is_boring_change, revision_key, word_diff
from crawlers.demo import DemoServer, DemoSite, build_demo_site, demo_sites_toml
from crawlers.sites import parse_sites
from tests.conftest import crawl
from tests.test_archive_store import assert_integrity, make_article, make_teaser

BODY = (
    "The council met on Tuesday to discuss the new bridge.\n\n"
    "Members voted 7 to 2 in favour of the plan, which costs 4 million euros."
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Archive]:
    with open_archive(tmp_path / "news.db", create=True) as opened:
        yield opened


def versions_table(store: Archive) -> list[tuple[object, ...]]:
    return store.db.execute(
        "SELECT article_id, version, title, body, changed_fields FROM article_versions "
        "ORDER BY article_id, version"
    ).fetchall()


# ---- revisions ----------------------------------------------------------------------


def test_changed_body_keeps_the_old_state_as_a_version(store: Archive) -> None:
    first = store.upsert_article(
        make_article("https://n.org/a", title="Bridge vote", body=BODY, fetched_at="2026-01-01")
    )
    corrected = BODY.replace("7 to 2", "8 to 1")
    second = store.upsert_article(
        make_article(
            "https://n.org/a", title="Bridge vote", body=corrected, fetched_at="2026-01-02"
        )
    )
    assert (second.status, second.article_id) == ("updated", first.article_id)
    assert versions_table(store) == [(1, 1, "Bridge vote", BODY, '["body"]')]
    article = store.article(first.article_id)
    assert (article.version, article.body) == (2, corrected)
    assert [(v.version, v.body, v.fetched_at, v.superseded_at) for v in article.versions] == [
        (1, BODY, "2026-01-01", "2026-01-02")
    ]

    third = store.upsert_article(
        make_article(
            "https://n.org/a", title="Bridge approved", body=corrected, fetched_at="2026-01-03"
        )
    )
    assert third.status == "updated"
    versions = store.versions("https://n.org/a?utm_source=x")
    assert [(v.version, v.title, v.current) for v in versions] == [
        (1, "Bridge vote", False),
        (2, "Bridge vote", False),
        (3, "Bridge approved", True),
    ]
    # each version knows when it was first fetched and what the next one changed
    assert [v.fetched_at for v in versions] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert [v.changed_fields for v in versions] == [["body"], ["title"], ["title"]]
    run_counts = store.db.execute("SELECT count(*) FROM article_versions").fetchone()[0]
    assert run_counts == 2
    assert_integrity(store)


def test_search_finds_the_current_text_only(store: Archive) -> None:
    store.upsert_article(make_article("https://n.org/a", body=BODY))
    store.upsert_article(make_article("https://n.org/a", body=BODY.replace("bridge", "tunnel")))
    assert [h.article_id for h in store.search("tunnel")] == [1]
    assert store.search("bridge") == []
    assert_integrity(store)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (BODY, "  " + BODY.replace(" ", "   ").upper()),  # whitespace and case
        (f"Updated 10:42 CET\n\n{BODY}", f"Updated 11:15 CET\n\n{BODY}"),
        (f"Published 20 Nov 2026, 09:15\n\n{BODY}", f"Published 21 Nov 2026, 17:30\n\n{BODY}"),
        (f"Posted 3 hours ago. {BODY}", f"Posted 5 hours ago. {BODY}"),
        (f"{BODY}\n\nShare this article: Facebook X Email", f"{BODY}\n\nShare: Email X Facebook"),
        (
            f"{BODY} Last updated: 2026-11-20T10:00:00Z",
            f"{BODY} Last updated: 2026-11-21T08:00:00Z",
        ),
    ],
)
def test_boring_changes_are_not_revisions(store: Archive, old: str, new: str) -> None:
    assert is_boring_change("T", old, "T", new)
    store.upsert_article(make_article("https://n.org/a", title="T", body=old))
    again = store.upsert_article(make_article("https://n.org/a", title="T", body=new))
    assert again.status == "unchanged"
    article = store.article(1)
    assert (article.version, article.body, article.versions) == (1, old, [])
    assert versions_table(store) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (BODY, BODY.replace("7 to 2", "8 to 1")),
        (BODY, BODY.replace("4 million", "4.5 million")),
        # a date in the story is content, not a timestamp of the page
        (f"{BODY} The vote is on 20 November 2026.", f"{BODY} The vote is on 21 November 2026."),
        (f"{BODY} Share on Facebook", f"{BODY} Share on Facebook. The mayor resigned."),
    ],
)
def test_real_changes_are_revisions(old: str, new: str) -> None:
    assert not is_boring_change("T", old, "T", new)
    assert revision_key("T", old) != revision_key("T", new)


def test_lead_only_change_is_written_without_a_version(store: Archive) -> None:
    store.upsert_article(make_article("https://n.org/a", body=BODY, lead="Old lead"))
    out = store.upsert_article(make_article("https://n.org/a", body=BODY, lead="New lead"))
    assert out.status == "unchanged"
    assert store.article(1).lead == "New lead"
    assert versions_table(store) == []


def test_word_diff_marks_removed_and_added_words() -> None:
    old = "one two three four five six seven eight nine ten\n\nsecond paragraph stays"
    new = "one two THREE four five six seven eight nine ten\n\nsecond paragraph stays here"
    hunks = word_diff(old, new, context=2)
    assert hunks == [
        "@@ -1,5 +1,5 @@\none two [-three-] {+THREE+} four five",
        "@@ -12,2 +12,3 @@\nparagraph stays {+here+}",
    ]
    assert word_diff("same text", "same text") == []
    assert word_diff(None, "new words") == ["@@ -1,0 +1,2 @@\n{+new words+}"]
    # punctuation is a token of its own; paragraph breaks show as ¶
    assert word_diff("a footprint. The end", "a footprint and more. The end") == [
        "@@ -1,5 +1,7 @@\na footprint {+and more+}. The end"
    ]
    assert word_diff("He said it, and left.", "He left.") == [
        "@@ -1,7 +1,3 @@\nHe [-said it, and-] left."
    ]
    assert word_diff("one\n\ntwo", "one\n\ntwo three") == ["@@ -1,2 +1,3 @@\none ¶ two {+three+}"]


def test_archive_diff_between_versions(store: Archive) -> None:
    store.upsert_article(make_article("https://n.org/a", title="Bridge vote", body=BODY))
    store.upsert_article(
        make_article(
            "https://n.org/a", title="Bridge approved", body=BODY.replace("7 to 2", "8 to 1")
        )
    )
    text = store.diff("https://n.org/a")
    lines = text.splitlines()
    assert lines[0].startswith("--- version 1 (fetched ")
    assert lines[1].startswith("+++ version 2 (fetched ")
    assert "@@ title -1,2 +1,2 @@" in lines
    assert "Bridge [-vote-] {+approved+}" in lines
    assert "Members voted [-7-] {+8+} to [-2-] {+1+} in favour of the plan," in text
    assert store.diff(1, 2, 2) == ""
    with pytest.raises(NotFoundError, match="no version 5"):
        store.diff(1, 1, 5)
    with pytest.raises(NotFoundError):
        store.versions("https://n.org/missing")


def test_articles_full_iterates_with_teasers_versions_and_images(store: Archive) -> None:
    store.upsert_teaser(make_teaser("https://n.org/a", title="Teaser"))
    store.upsert_article(make_article("https://n.org/a", body=BODY, images=[{"url": "1.jpg"}]))
    store.upsert_article(
        make_article("https://n.org/a", body=BODY + " More.", images=[{"url": "1.jpg"}])
    )
    store.upsert_article(make_article("https://n.org/b", body="Other"))
    full = {a.url: a for a in store.articles(full=True)}
    a = full["https://n.org/a"]
    assert [t.title for t in a.teasers] == ["Teaser"]
    assert [v.version for v in a.versions] == [1]
    assert [i["url"] for i in a.images] == ["1.jpg"]
    assert a.urls == ["https://n.org/a"]
    assert full["https://n.org/b"].versions == []
    lazy = next(iter(store.articles(site="demo", limit=1)))
    assert (lazy.teasers, lazy.versions) == ([], [])
    records = list(store.to_records(full=True, order="oldest"))
    assert records[0]["versions"][0]["body"] == BODY
    assert json.dumps(records, default=str)


def test_absorbed_article_takes_its_versions_along_to_the_grave(store: Archive) -> None:
    store.upsert_article(make_article("https://m.n.org/story", body=BODY))
    store.upsert_article(make_article("https://m.n.org/story", body=BODY + " Fixed."))
    store.upsert_article(make_article("https://n.org/story", body=BODY))
    merged = store.upsert_article(
        make_article("https://m.n.org/story", canonical_url="https://n.org/story", body=BODY)
    )
    assert merged.merged
    assert store.counts()["articles"] == 1
    assert_integrity(store)


# ---- teaser history -----------------------------------------------------------------


def test_positions_over_time_make_spans(store: Archive) -> None:
    run = store.start_run(["demo"])
    for day, position in ((1, 3), (2, 3), (3, 0), (4, 0), (5, 3)):
        store.upsert_teaser(
            make_teaser("https://n.org/a", position=position, seen_at=f"2026-01-0{day}"), run
        )
    store.upsert_article(make_article("https://n.org/a", title="Story"))
    history = store.front_page_history("https://n.org/a")
    assert [(r["position"], r["first_seen"], r["last_seen"], r["times_seen"]) for r in history] == [
        (3, "2026-01-01", "2026-01-02", 2),
        (0, "2026-01-03", "2026-01-04", 2),
        (3, "2026-01-05", "2026-01-05", 1),
    ]
    assert {r["article_title"] for r in history} == {"Story"}
    assert {r["listing_url"] for r in history} == {"https://n.org/world"}
    teaser = store.teasers(1)[0]
    assert (teaser.times_seen, teaser.last_position) == (5, 3)


def test_headline_changed_on_the_listing(store: Archive) -> None:
    store.upsert_teaser(make_teaser("https://n.org/a", title="First", seen_at="2026-01-01"))
    store.upsert_teaser(
        make_teaser("https://n.org/a?utm_source=x", title="Second", seen_at="2026-01-02")
    )
    store.upsert_teaser(
        make_teaser("https://n.org/a", title="Second", excerpt="New excerpt", seen_at="2026-01-03")
    )
    store.upsert_teaser(
        make_teaser("https://n.org/a", listing="https://n.org/europe", title="Other")
    )
    store.upsert_article(make_article("https://n.org/a", title="Article title"))
    rows = store.db.execute(
        "SELECT article_id, old_title, new_title, changed_at FROM teaser_headline_changes"
    ).fetchall()
    assert rows == [(1, "First", "Second", "2026-01-02")]
    # teaser title != article title is the other plain query
    assert store.db.execute("SELECT count(*) FROM headline_changes").fetchone()[0] == 4


# ---- a crawl that finds a changed article ---------------------------------------------


def _changed_site(site: DemoSite) -> tuple[DemoSite, str, str, str]:
    """The demo site with one article's paragraph edited and another one's headline."""
    ordinary = [a for a in site.ok_articles if a.path not in vars(site.special).values()]
    edited, retitled = ordinary[5], ordinary[6]
    old_sentence = edited.paragraphs[1].split(". ")[0]
    new_sentence = old_sentence + " and the mayor resigned"
    pages = dict(site.pages)
    for article, old, new in (
        (edited, old_sentence, new_sentence),
        (retitled, retitled.title, retitled.title + " after all"),
    ):
        page = pages[article.path]
        assert page.body.count(old.encode()) >= 1, old
        assert page.last_modified is not None
        pages[article.path] = dataclasses.replace(
            page,
            body=page.body.replace(old.encode(), new.encode()),
            last_modified=page.last_modified + timedelta(days=1),
        )
    return dataclasses.replace(site, pages=pages), edited.path, retitled.path, new_sentence


@deferred_f_from_coro_f
async def test_recrawl_of_a_changed_article_stores_a_revision(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    site = build_demo_site()
    with DemoServer(site=site) as server:
        port = server.port
        configs = list(parse_sites(demo_sites_toml(server.url)).values())
        await crawl(configs, path)
    changed, edited, retitled, sentence = _changed_site(site)
    with DemoServer(port=port, site=changed) as server:
        again = await crawl(configs, path, TEASERFEED_SKIP_KNOWN=False)
    with open_archive(path, create=True) as archive:
        summary = archive.run_summary(again.run_id)
        assert summary["articles_updated"] == 2
        assert summary["articles_new"] == 0
        assert summary["articles_unchanged"] >= 100
        story = archive.article(server.url + edited)
        assert story.version == 2
        assert sentence in story.body
        assert [v.changed_fields for v in story.versions] == [["body"]]
        assert sentence not in story.versions[0].body
        diff = archive.diff(story.id)
        assert "{+and the mayor resigned+}." in diff
        renamed = archive.article(server.url + retitled)
        assert renamed.title is not None
        assert renamed.title.endswith(" after all")
        assert renamed.versions[0].changed_fields[0] == "title"
        changed_rows = archive.db.execute(
            "SELECT count(DISTINCT article_id) FROM article_versions"
        ).fetchone()[0]
        assert changed_rows == 2
        assert_integrity(archive)
