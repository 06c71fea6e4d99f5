"""Archive safety: `teaserfeed check`, datasette that cannot write, concurrent writers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive import Archive, ArchiveLock, check_archive, lock_holder, open_archive
from crawlers.demo import DemoSite, build_demo_site

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("TEASERFEED_ARCHIVE", None)
    return env


def teaserfeed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "teaserfeed"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )


def make_archive(path: Path, count: int = 30) -> Path:
    with open_archive(path, create=True) as archive, archive.transaction():
        for i in range(count):
            archive.upsert_article(
                {
                    "source": "one" if i % 2 else "two",
                    "url": f"https://news.example/{i}",
                    "title": f"Story {i} about the harbour",
                    "body": f"Paragraph {i} of a story. " + "Words of filler text. " * 60,
                    "published": f"2024-05-{1 + i % 28:02d}",
                }
            )
    return path


def digest(path: Path) -> str:
    """The bytes of the archive file and of its WAL, if any."""
    parts = [path.read_bytes()]
    wal = Path(f"{path}-wal")
    if wal.exists():
        parts.append(wal.read_bytes())
    return hashlib.sha256(b"".join(parts)).hexdigest()


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return make_archive(tmp_path / "news.db")


# ---- teaserfeed check ---------------------------------------------------------------------


def test_check_passes_a_sound_archive_and_changes_nothing(good: Path) -> None:
    before = digest(good)
    result = teaserfeed("check", "--archive", str(good))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "integrity_check    ok" in result.stdout
    assert "foreign_key_check  ok" in result.stdout
    assert "full-text index    ok" in result.stdout
    assert "articles           30 rows, 30 in the full-text index" in result.stdout
    assert result.stdout.rstrip().endswith("OK")
    assert digest(good) == before
    with Archive(good, create=True) as archive:
        report = archive.check()
    assert report.ok
    assert (report.articles, report.fts_rows, report.fts) == (30, 30, "ok")
    with Archive(good, readonly=True) as archive:
        assert archive.check().fts == "ok"  # on a brief read-write connection of its own
    assert digest(good) == before


def test_check_names_articles_missing_from_the_full_text_index(good: Path) -> None:
    # delete index entries behind the triggers' back: search would silently miss them
    conn = sqlite3.connect(good)
    conn.execute(
        "INSERT INTO articles_fts (articles_fts, rowid, title, lead, body) "
        "SELECT 'delete', id, title, lead, body FROM articles WHERE id IN (4, 7)"
    )
    conn.commit()
    conn.close()
    result = teaserfeed("check", "--archive", str(good))
    assert result.returncode == 1
    assert "articles           30 rows, 28 in the full-text index" in result.stdout
    assert "not indexed: article ids 4, 7" in result.stdout
    assert "PROBLEM: the full-text index does not match the articles" in result.stdout
    assert "INSERT INTO articles_fts(articles_fts) VALUES('rebuild')" in result.stdout
    assert "2 problem(s) found" in result.stdout
    data = json.loads(teaserfeed("check", "--json", "--archive", str(good)).stdout)
    assert data["ok"] is False
    assert data["missing_from_fts"] == [4, 7]
    assert data["fts"] == "DAMAGED"
    # the hint repairs it
    conn = sqlite3.connect(good)
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES('rebuild')")
    conn.commit()
    conn.close()
    assert teaserfeed("check", "--archive", str(good)).returncode == 0


def test_check_names_a_dangling_foreign_key(good: Path) -> None:
    conn = sqlite3.connect(good)  # foreign_keys is off by default: nothing stops this
    conn.execute("INSERT INTO images (article_id, url, position) VALUES (999, 'https://x/i', 0)")
    conn.commit()
    conn.close()
    report = check_archive(good)
    assert report.foreign_keys == ["images row 1 names a missing articles row"]
    assert [p.split(":")[0] for p in report.problems] == ["PRAGMA foreign_key_check"]


def test_check_finds_corrupt_pages_in_a_copy(good: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copyfile(good, copy)
    data = bytearray(copy.read_bytes())
    page = 4096
    assert len(data) > 12 * page
    for start in range(6 * page, 9 * page, 512):  # three pages in the middle, not the header
        data[start : start + 256] = os.urandom(256)
    copy.write_bytes(bytes(data))
    result = teaserfeed("check", "--archive", str(copy))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PROBLEM: PRAGMA integrity_check" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text("hello, not a database"), "is not a SQLite database"),
        (
            lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.commit(),
            "is a SQLite database but not a teaserfeed archive",
        ),
    ],
)
def test_check_exits_2_for_a_missing_or_foreign_file(
    tmp_path: Path, make: Any, message: str
) -> None:
    path = tmp_path / "news.db"
    make(path)
    result = teaserfeed("check", "--archive", str(path))
    assert result.returncode == 2
    assert message in result.stderr or "no such archive" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_skips_only_the_write_part_while_a_crawl_holds_the_lock(good: Path) -> None:
    with ArchiveLock(good, "crawl"):
        report = check_archive(good)
    assert report.ok
    assert report.fts == "not checked"
    assert any("full-text check skipped" in note and "crawl" in note for note in report.notes)
    assert (report.articles, report.fts_rows) == (30, 30)


# ---- datasette, read-only ------------------------------------------------------------------

WRITE_QUERIES = {
    "databases": {
        "news": {
            "queries": {
                "plant_title": {
                    "sql": "UPDATE articles SET title = 'planted' WHERE id = :id",
                    "write": True,
                },
                "drop_teasers": {"sql": "DROP TABLE teasers", "write": True},
            }
        }
    }
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, data: dict[str, str] | None = None) -> tuple[int, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


# the three ways to browse an archive: `teaserfeed serve` (either form) and plain datasette
SERVERS = {
    "teaserfeed serve FILE": ["teaserfeed", "serve", "{path}"],
    "teaserfeed serve --archive FILE": ["teaserfeed", "serve", "--archive", "{path}"],
    "datasette FILE": ["datasette", "serve", "{path}"],
}


@pytest.fixture(params=list(SERVERS))
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, str]]:
    path = make_archive(tmp_path / "news.db", count=5)
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(WRITE_QUERIES), encoding="utf-8")
    port = _free_port()
    program, *args = SERVERS[request.param]
    proc = subprocess.Popen(
        [
            str(BIN / program),
            *(arg.format(path=path) for arg in args),
            "--port",
            str(port),
            "--metadata",
            str(extra),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _request(f"{base}/-/versions.json")
            break
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                assert proc.stderr is not None
                pytest.fail(f"teaserfeed serve did not start: {proc.stderr.read()!r}")
            time.sleep(0.2)
    try:
        yield path, f"{base}/news"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


def test_datasette_cannot_write_the_archive(served: tuple[Path, str]) -> None:
    path, db = served
    before = (digest(path), rows(path, "SELECT count(*) FROM articles"))
    status, answer = _request(f"{db}/plant_title", {"id": "1"})
    assert answer["ok"] is False, (status, answer)
    assert "readonly" in answer["message"]
    status, answer = _request(f"{db}/drop_teasers", {})
    assert answer["ok"] is False, (status, answer)
    sql = urllib.parse.quote("INSERT INTO articles (url, source) VALUES ('u', 's')")
    status, answer = _request(f"{db}.json?sql={sql}")
    assert status == 400
    assert answer["ok"] is False
    assert (digest(path), rows(path, "SELECT count(*) FROM articles")) == before
    assert rows(path, "SELECT count(*) FROM articles WHERE title = 'planted'") == [(0,)]
    assert ("teasers",) in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")


def test_datasette_sees_what_a_crawl_writes_meanwhile(served: tuple[Path, str]) -> None:
    # served read-only but not immutable: a live archive shows new rows as they are committed
    path, db = served
    count = f"{db}.json?sql=select+count(*)+as+n+from+articles&_shape=array"
    assert _request(count)[1] == [{"n": 5}]
    with open_archive(path, create=True) as archive:
        archive.upsert_article(
            {"source": "one", "url": "https://news.example/new", "title": "New", "body": "Text."}
        )
        assert _request(count)[1] == [{"n": 6}]
    search = f"{db}/articles.json?_search=harbour&_shape=array"
    assert len(_request(search)[1]) == 5


# ---- two writers at once -------------------------------------------------------------------

WRITER = """
import itertools, logging, sys, time
from pathlib import Path
from crawlers.writer import ArchiveWriter, Source

path, stop, least = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
logging.basicConfig(level=logging.ERROR)
writer = ArchiveWriter(path, batch_size=50, max_queue=200)
writer.start([Source("writer", ["http://w.test/"], {})])
print("started", flush=True)
written = 0
for i in itertools.count():
    if i >= least and stop.exists() or i >= 100_000:
        break
    writer.put("article", {
        "source": "writer", "url": f"http://w.test/story/{i}", "title": f"Writer story {i}",
        "body": f"Body of writer story {i}. " + "More words of the story. " * 40,
        "html": f"<html><body><h1>Writer story {i}</h1><p>Body of writer story {i}.</p></body></html>",
    })
    written += 1
writer.close("finished", {"written": written})
print(f"written {written} {dict(writer.counts)}", flush=True)
sys.exit(0 if writer.counts["articles_new"] == written and not writer.counts["store_errors"] else 1)
"""


def _seed_pages(path: Path, site: DemoSite) -> int:
    """The demo articles with their raw pages and deliberately stale text, as if old."""
    with open_archive(path, create=True) as archive, archive.transaction():
        for article in site.ok_articles:
            archive.upsert_article(
                {
                    "source": "demo",
                    "url": "http://demo.test" + article.path,
                    "title": "stale " + article.title,
                    "body": "stale body",
                    "html": site.render(article.path, "http://demo.test"),
                    "extractor_version": "1.0",
                }
            )
    return len(site.ok_articles)


def test_a_crawl_writer_and_reextract_write_together(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    seeded = _seed_pages(path, build_demo_site())
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(stop), "300"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "started"
        # the writer holds the crawl lock; reextract runs anyway, through SQLite's lock only
        holder = lock_holder(path)
        assert holder is not None
        assert holder["purpose"] == "crawl"
        reextract = teaserfeed("reextract", "--archive", str(path), "--json")
        assert writer.poll() is None  # still writing: the two ran together
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert reextract.returncode == 0, reextract.stderr
    assert "locked" not in reextract.stderr
    assert writer.returncode == 0, out + err
    assert "locked" not in err
    written = int(out.split("written ")[1].split()[0])
    assert written >= 300
    stats = json.loads(reextract.stdout)
    assert stats["pages"] >= seeded
    assert stats["changed"] >= seeded
    assert rows(path, "SELECT count(*) FROM articles WHERE source = 'writer'") == [(written,)]
    assert rows(path, "SELECT count(*) FROM articles WHERE title LIKE 'stale %'") == [(0,)]
    assert rows(path, "SELECT count(*) FROM articles") == [(seeded + written,)]
    report = check_archive(path)
    assert report.ok, report.problems
    assert report.fts == "ok"
