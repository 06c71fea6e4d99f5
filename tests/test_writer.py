"""The archive writer thread: batches, bad items, the run's end, errors at start."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from archive import ArchiveFileError, open_archive
from crawlers.writer import ArchiveWriter, Source

SOURCE = Source("site", ["https://news.example.org/"], {"teaser": "article"})


def _teaser(i: int) -> dict[str, object]:
    return {
        "source": "site",
        "listing_url": "https://news.example.org/",
        "url": f"https://news.example.org/a/{i}/",
        "position": i,
        "title": f"Headline number {i}",
    }


def test_stores_everything_and_finishes_the_run(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    writer = ArchiveWriter(str(path), batch_size=7, max_queue=5)
    run_id = writer.start([SOURCE])
    for i in range(40):  # more than the queue holds: put() waits for the writer
        writer.put("teaser", _teaser(i))
    writer.put(
        "article",
        {"source": "site", "url": "https://news.example.org/a/3/", "title": "Headline number 3",
         "body": "Three paragraphs of text about the third story."},
    )  # fmt: skip
    writer.put("fetch", {"url": "https://news.example.org/", "kind": "listing", "status": 200})
    writer.close("finished", {"pages": 1})
    assert writer.counts == {"teasers_new": 40, "articles_new": 1}
    with open_archive(path, create=True) as archive:
        summary = archive.run_summary(run_id)
        assert summary["status"] == "finished"
        assert summary["teasers_new"] == 40
        assert summary["listing_pages"] == 1
        assert archive.run(run_id).stats == {"pages": 1}
        article = archive.article("https://news.example.org/a/3")
        assert [t.title for t in article.teasers] == ["Headline number 3"]


def test_a_bad_item_is_logged_and_the_rest_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "news.db"
    writer = ArchiveWriter(str(path), batch_size=10)
    writer.start([SOURCE])
    writer.put("teaser", _teaser(1))
    writer.put("teaser", {"source": "site", "url": "https://x.org/"})  # no listing_url
    writer.put("teaser", _teaser(2))
    writer.close("finished", {})
    assert writer.counts == {"teasers_new": 2, "store_errors": 1}
    assert "could not store a teaser (https://x.org/)" in caplog.text
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("select count(*) from teasers").fetchone() == (2,)
    finally:
        conn.close()


def test_an_unusable_archive_fails_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("these are my notes, not a database")
    writer = ArchiveWriter(str(bad))
    with pytest.raises(ArchiveFileError, match=r"notes\.db"):
        writer.start([SOURCE])
    assert bad.read_text() == "these are my notes, not a database"


def test_a_bad_article_in_a_batch_loses_only_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "news.db"
    writer = ArchiveWriter(str(path), batch_size=50)
    run_id = writer.start([SOURCE])
    body = "Words of the {} story, told at some length for the archive."
    for i in range(5):
        article: dict[str, object] = {
            "source": "site",
            "url": f"https://news.example.org/a/{i}/",
            "title": f"Story {i}",
            "body": body.format(i),
        }
        if i == 2:
            article["images"] = "not a list"
        writer.put("article", article)
    writer.put("teaser", _teaser(4))  # names an article queued before it
    writer.close("finished", {})
    assert writer.counts == {"articles_new": 4, "store_errors": 1, "teasers_new": 1}
    assert "could not store a article (https://news.example.org/a/2/)" in caplog.text
    with open_archive(path, create=True) as archive:
        assert archive.run_summary(run_id)["articles_new"] == 4
        assert [a.title for a in archive.articles(order="id")] == [
            "Story 0", "Story 1", "Story 3", "Story 4"
        ]  # fmt: skip
        linked = archive.article("https://news.example.org/a/4").teasers
        assert [t.title for t in linked] == ["Headline number 4"]


def test_pipeline_records_equal_itemadapter_dicts() -> None:
    from itemadapter import ItemAdapter

    from crawlers.extract.article import extract_article
    from crawlers.extract.listing import Teaser
    from crawlers.items import ArticleItem, FetchItem, TeaserItem
    from crawlers.pipelines import _record

    html = (
        "<html><body><nav><a href='/'>Home</a></nav><article><h1>Harbour news</h1>"
        "<figure><img src='/a.jpg' alt='The quay'><figcaption>The quay at dawn</figcaption>"
        "</figure>"
        + "<p>The ferry committee met on Tuesday to discuss the timetable.</p>" * 8
        + "<p>Share this article</p></article></body></html>"
    )
    article = extract_article(html, "https://n.org/harbour")
    assert article.images
    assert article.removed
    item = ArticleItem.from_article(article, source="n", fetched_at="2026-01-01", html=b"<p>")
    teaser = Teaser("https://n.org/harbour", "Harbour news", "The ferry", None, None, True, 1)
    others = [
        TeaserItem.from_teaser(teaser, source="n", listing_url="https://n.org/", seen_at="t"),
        FetchItem(url="https://n.org/harbour", kind="article", status=200),
    ]
    for one in (item, *others):
        assert _record(one) == ItemAdapter(one).asdict()


def test_a_batch_waits_for_another_writers_lock_and_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    import archive.store

    caplog.set_level(logging.WARNING, logger="crawlers.writer")
    monkeypatch.setattr(archive.store, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "news.db"
    writer = ArchiveWriter(str(path), batch_size=50)
    writer.start([SOURCE])
    other = sqlite3.connect(path, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # a reextract holding the write lock for ~0.5 s
    released = threading.Timer(0.5, other.rollback)
    released.start()
    started = time.monotonic()
    for i in range(20):
        writer.put("teaser", _teaser(i))
    writer.close("finished", {})
    released.join()
    other.close()
    assert time.monotonic() - started >= 0.5  # it did wait for the lock
    assert writer.counts == {"teasers_new": 20}
    assert "locked for writing" in caplog.text
    assert "could not store" not in caplog.text
    with open_archive(path, create=True) as store:
        assert store.db.execute("SELECT count(*) FROM teasers").fetchone()[0] == 20


def test_a_failed_write_stops_storing_and_says_so_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import archive.store

    def disk_full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    path = tmp_path / "news.db"
    told: list[str] = []
    failed = threading.Event()
    writer = ArchiveWriter(
        str(path), batch_size=2, on_failure=lambda cause: (told.append(cause), failed.set())
    )
    run_id = writer.start([SOURCE])
    monkeypatch.setattr(archive.store.Archive, "upsert_teaser", disk_full)
    for i in range(3):
        assert writer.put("teaser", _teaser(i))
    # the writer tells at once, whether or not more items come
    assert failed.wait(10)
    assert told == ["database or disk is full"]
    assert writer.failure == "database or disk is full"
    assert not writer.put("teaser", _teaser(3))  # refused, counted
    writer.close("failed", {"finish_reason": "archive_write_failed: database or disk is full"})
    assert told == ["database or disk is full"]  # once
    assert writer.not_stored == 4
    assert "teasers_new" not in writer.counts  # a rolled-back batch counts nothing
    monkeypatch.undo()
    with open_archive(path, create=True) as store:
        run = store.run(run_id)
        assert store.db.execute("SELECT count(*) FROM teasers").fetchone()[0] == 0
    assert run.status == "failed"
    assert run.stats["archive_error"] == "database or disk is full"
    assert run.stats["items_not_stored"] == 4


def test_no_run_starts_without_the_free_space_asked_for(tmp_path: Path) -> None:
    from archive import lock_holder
    from crawlers.writer import ArchiveWriteError, free_disk

    path = tmp_path / "news.db"
    free = free_disk(tmp_path)
    writer = ArchiveWriter(str(path))
    with pytest.raises(ArchiveWriteError, match=r"MB free on its file system") as info:
        writer.start([SOURCE], min_free=free + 10**12)
    assert str(info.value).startswith(f"cannot write the archive {path}: only ")
    assert not path.exists()  # nothing written, no run
    assert lock_holder(path) is None  # and the lock given back
    writer = ArchiveWriter(str(path))
    writer.start([SOURCE], min_free=1)
    writer.close("finished", {})


def test_a_lock_held_by_the_caller_is_used_and_left_held(tmp_path: Path) -> None:
    from archive import ArchiveLock, ArchiveLockedError

    path = tmp_path / "news.db"
    with ArchiveLock(path) as lock:
        with pytest.raises(ArchiveLockedError):  # one writer per archive, in a process too
            ArchiveWriter(str(path)).start([SOURCE])
        writer = ArchiveWriter(str(path))
        writer.start([SOURCE], lock=lock)
        writer.put("teaser", _teaser(1))
        writer.close("finished", {})
        assert lock.holds(path)
        assert writer.counts == {"teasers_new": 1}
    assert not lock.holds(path)


def test_log_lines_name_an_item_by_type_and_url_only() -> None:
    from scrapy import Spider
    from scrapy.exceptions import DropItem
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawlers.items import ArticleItem
    from crawlers.logformatter import LogFormatter

    html = b"<html><body><p>" + b"The whole page, every byte of it. " * 300 + b"</p></body></html>"
    item = ArticleItem(url="https://n.org/story", title="Story", body="Text. " * 500, html=html)
    response = HtmlResponse("https://n.org/story", body=html)
    spider = Spider.from_crawler(get_crawler(Spider), name="t")
    formatter = LogFormatter()
    results = [
        formatter.scraped(item, response, spider),
        formatter.dropped(item, DropItem("not stored"), response, spider),
        formatter.item_error(item, ValueError("boom"), response, spider),
    ]
    lines = [result["msg"] % result["args"] for result in results]
    assert lines[0] == "Scraped from <200 https://n.org/story>\nArticleItem(https://n.org/story)"
    assert lines[1] == "Dropped: not stored\nArticleItem(https://n.org/story)"
    assert lines[2] == "Error processing ArticleItem(https://n.org/story)"
    assert all("<html" not in line and "Text." not in line for line in lines)


def test_a_run_that_cannot_even_be_finished_is_marked_interrupted_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.store

    def disk_full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    path = tmp_path / "news.db"
    writer = ArchiveWriter(str(path))
    first = writer.start([SOURCE])
    monkeypatch.setattr(archive.store.Archive, "upsert_teaser", disk_full)
    monkeypatch.setattr(archive.store.Archive, "finish_run", disk_full)
    writer.put("teaser", _teaser(1))
    writer.close("finished", {})
    assert writer.failure == "database or disk is full"
    monkeypatch.undo()
    with open_archive(path, create=True) as store:
        assert store.run(first).status == "running"  # the last write failed too
    writer = ArchiveWriter(str(path))
    second = writer.start([SOURCE])
    writer.close("finished", {})
    with open_archive(path, create=True) as store:
        assert store.run(first).status == "interrupted"
        assert store.run(second).status == "finished"


def test_a_run_whose_finish_meets_a_full_disk_is_finished_after_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.store

    finish = archive.store.Archive.finish_run
    attempts: list[str] = []

    def full_once(self: archive.store.Archive, *args: object) -> None:
        attempts.append(self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
        if len(attempts) == 1:
            raise sqlite3.OperationalError("database or disk is full")
        finish(self, *args)  # type: ignore[arg-type]

    def disk_full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    path = tmp_path / "news.db"
    writer = ArchiveWriter(str(path))
    run_id = writer.start([SOURCE])
    writer.put("teaser", _teaser(1))
    monkeypatch.setattr(archive.store.Archive, "upsert_teaser", disk_full)
    writer.put("teaser", _teaser(2))
    monkeypatch.setattr(archive.store.Archive, "finish_run", full_once)
    writer.close("finished", {})
    assert writer.failure == "database or disk is full"
    assert len(attempts) == 2
    assert attempts[1] == 0  # the WAL was truncated before the second try
    monkeypatch.undo()
    with open_archive(path, create=True) as store:
        run = store.run(run_id)
        assert run.status == "failed"  # the items lost say so, not "finished"
        assert run.stats["items_not_stored"] >= 1  # teaser 2, and 1 if in its batch


def _batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the writer stores, in order."""
    from archive import Archive

    sizes: list[int] = []
    store = Archive.store_batch

    def counted(self: Archive, items: list[object]) -> object:
        sizes.append(len(items))
        return store(self, items)  # type: ignore[arg-type]

    monkeypatch.setattr(Archive, "store_batch", counted)
    return sizes


def _writer(path: Path, batch_size: int, batch_seconds: float) -> ArchiveWriter:
    writer = ArchiveWriter(str(path), batch_size=batch_size, batch_seconds=batch_seconds)
    writer.start([SOURCE])
    return writer


def _wait_for(sizes: list[int], batches: int) -> None:
    deadline = time.monotonic() + 20
    while len(sizes) < batches and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_trickle_of_items_is_stored_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _batches(monkeypatch)
    writer = _writer(tmp_path / "news.db", 100, 30)
    for i in range(12):  # as a crawl puts them: one now and then, never a full batch
        writer.put("teaser", _teaser(i))
        time.sleep(0.02)
    assert sizes == []  # the batch is still filling
    started = time.monotonic()
    writer.close("finished", {})
    assert time.monotonic() - started < 10  # closing stores the batch at once, no 30 s wait
    assert sizes == [12]
    assert writer.counts == {"teasers_new": 12}


def test_a_full_batch_goes_without_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = _batches(monkeypatch)
    writer = _writer(tmp_path / "news.db", 5, 3600)
    for i in range(10):
        writer.put("teaser", _teaser(i))
    _wait_for(sizes, 2)
    assert sizes == [5, 5]  # stored while the writer still runs: no hour's wait
    writer.close("finished", {})
    assert writer.counts == {"teasers_new": 10}


def test_without_batch_seconds_each_item_goes_as_it_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _batches(monkeypatch)
    writer = _writer(tmp_path / "news.db", 100, 0)
    for i in range(3):
        writer.put("teaser", _teaser(i))
        _wait_for(sizes, i + 1)
    writer.close("finished", {})
    assert sizes[:3] == [1, 1, 1]


def test_the_crawl_setting_reaches_the_writer(tmp_path: Path) -> None:
    from scrapy.utils.test import get_crawler

    from crawlers.pipelines import ArchivePipeline
    from crawlers.spiders.teasers import TeaserSpider

    crawler = get_crawler(
        TeaserSpider,
        {"TEASERFEED_ARCHIVE": str(tmp_path / "news.db"), "TEASERFEED_BATCH_SECONDS": "2.5"},
    )
    assert ArchivePipeline.from_crawler(crawler).writer.batch_seconds == 2.5
    default = get_crawler(TeaserSpider, {"TEASERFEED_ARCHIVE": str(tmp_path / "news.db")})
    assert ArchivePipeline.from_crawler(default).writer.batch_seconds == 0.25
