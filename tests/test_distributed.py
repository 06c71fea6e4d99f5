"""Distributed crawling: real redis-server, `crawl --redis` workers and `ingest` processes."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from click.testing import CliRunner, Result
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.defer import deferred_f_from_coro_f, deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from archive import normalize_url, open_archive
from crawlers import redisjson
from crawlers.cli import main
from crawlers.demo import DemoServer, demo_sites_toml, serve_demo
from crawlers.distributed.ingest import Ingest, IngestBusyError
from crawlers.distributed.queue import ItemQueue, RedisKeys, SharedCrawl
from crawlers.middlewares.robotstxt import RobotsTxtMiddleware
from crawlers.sites import parse_sites
from crawlers.spiders.distributed import DistributedTeaserSpider
from tests.conftest import ALLOW_TEST_HOSTS

ROOT = Path(__file__).resolve().parent.parent
TEASERFEED = str(Path(sys.executable).parent / "teaserfeed")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
FAST = [
    *("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"),
    *("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "TEASERFEED_PROGRESS=off"),
    *("-s", "TEASERFEED_REDIS_IDLE_CLOSE=1", "-s", "TEASERFEED_REDIS_POLL=0.2"),
    *ALLOW_TEST_HOSTS,
]
_databases = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env() -> dict[str, str]:
    result = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result.pop("TEASERFEED_ARCHIVE", None)
    return result


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TEASERFEED, *args],
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 90) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def teaserfeed(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TEASERFEED, *args], cwd=cwd, env=env(), capture_output=True, text=True, timeout=90
    )


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def articles(db: Path) -> dict[str, tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return {url: (title, body) for url, title, body in conn.execute(
            "SELECT url, title, body FROM articles"
        )}  # fmt: skip
    finally:
        conn.close()


def runs(db: Path) -> list[tuple[int, str, dict[str, object]]]:
    conn = sqlite3.connect(db)
    try:
        return [
            (run_id, status, json.loads(stats))
            for run_id, status, stats in conn.execute("SELECT id, status, stats FROM runs")
        ]
    finally:
        conn.close()


def paths(server: DemoServer, agent: str) -> list[str]:
    return [path for _, path, ua in server.requests if ua == agent]


@pytest.fixture(scope="module")
def redis_base() -> Iterator[str]:
    """A real redis-server on a free loopback port, stopped by PID at teardown."""
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no",
         "--bind", "127.0.0.1", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    try:
        wait_for(lambda: _pings(client), "redis-server to start", timeout=15)
        yield f"redis://127.0.0.1:{port}"
    finally:
        client.close()
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def redis_url(redis_base: str) -> str:
    """A database of its own for each test."""
    return f"{redis_base}/{next(_databases)}"


@pytest.fixture(scope="module")
def site() -> Iterator[DemoServer]:
    """The demo site on a server of this module's own, so its request log is ours."""
    server = serve_demo()
    yield server
    server.close()


@pytest.fixture(scope="module")
def workdir(site: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("distributed")
    (path / "sites.toml").write_text(demo_sites_toml(site.url), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(site: DemoServer, workdir: Path) -> tuple[Path, list[str]]:
    """A plain single-process `teaserfeed crawl` of the site: the archive to match."""
    db = workdir / "single.db"
    result = teaserfeed(
        "crawl", "--sites", "sites.toml", "--archive", str(db), *FAST,
        "-s", "USER_AGENT=single", cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return db, paths(site, "single")


def worker(redis_url: str, workdir: Path, agent: str, *extra: str) -> list[str]:
    return [
        "crawl", "--redis", redis_url, "--sites", "sites.toml",
        *FAST, "-s", f"USER_AGENT={agent}", *extra,
    ]  # fmt: skip


def settings(pairs: list[str]) -> list[str]:
    return [arg for pair in pairs for arg in ("-s", pair)]


def queue_empty(client: redis.Redis) -> bool:
    keys = RedisKeys()
    return client.llen(keys.items) == 0 and client.llen(keys.processing) == 0


def drained(client: redis.Redis, gen: int) -> Callable[[], bool]:
    crawl = SharedCrawl(client)

    def check() -> bool:
        status = crawl.status()
        return bool(
            status["generation"] == gen
            and status["ended"]
            and status["items"] == 0
            and status["processing"] == 0
        )

    return check


def stop_ingest(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    code, out, err = finish(proc)
    assert code == 0, err
    assert "Traceback" not in err
    return out


def test_two_workers_and_one_ingest_archive_what_one_process_does(
    site: DemoServer, workdir: Path, reference: tuple[Path, list[str]], redis_url: str
) -> None:
    single_db, single_paths = reference
    db = workdir / "two.db"
    client = redis.Redis.from_url(redis_url)
    ingest = start("ingest", "--redis", redis_url, "--archive", str(db), cwd=workdir)
    # workers on other machines: no archive to read (news.db does not exist in workdir)
    a = start(*worker(redis_url, workdir, "worker-a"), cwd=workdir)
    b = start(*worker(redis_url, workdir, "worker-b"), cwd=workdir)
    results = [finish(a), finish(b)]
    for code, _, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    outputs = "".join(out for _, out, _ in results)
    assert outputs.count("opened generation 1") == 1
    assert outputs.count("joined generation 1") == 1
    wait_for(drained(client, 1), "the ingest to store generation 1")
    out = stop_ingest(ingest)
    assert "runs      1 (finished)" in out

    # the two workers split the crawl: no page twice (each asks for robots.txt itself)
    fetched = paths(site, "worker-a") + paths(site, "worker-b")
    pages = [p for p in fetched if p != "/robots.txt"]
    assert Counter(fetched)["/robots.txt"] == 2
    assert len(pages) == len(set(pages))
    assert paths(site, "worker-a")
    assert paths(site, "worker-b")
    assert not [p for p in pages if p.startswith("/private/")], "robots.txt was not obeyed"
    # the same pages as one process, but for other URLs of one stored article: whether
    # such a URL is fetched depends on whether its article was stored a moment before
    differ = set(pages) ^ {p for p in single_paths if p != "/robots.txt"}
    with open_archive(single_db, readonly=True) as reference_archive:
        assert not [p for p in differ if not reference_archive.knows_url(f"{site.url}{p}")]

    # the same articles with the same text as the single-process crawl
    assert articles(db) == articles(single_db)
    assert len(articles(db)) == 103
    [(run_id, status, stats)] = runs(db)
    assert (run_id, status) == (1, "finished")
    assert stats["generation"] == 1
    assert stats["lost_workers"] == 0
    assert isinstance(stats["workers"], dict)
    assert len(stats["workers"]) == 2
    with open_archive(db, readonly=True) as archive:
        summary = archive.run_summary(1)
    assert summary["sites"] == ["demo-news"]
    assert summary["teasers_seen"] == 108
    assert summary["articles_new"] == 103


def test_killed_worker_restarted_with_reconcile_then_next_run_gives_the_same_archive(
    site: DemoServer, workdir: Path, reference: tuple[Path, list[str]], redis_url: str
) -> None:
    single_db, _ = reference
    db = workdir / "killed.db"
    client = redis.Redis.from_url(redis_url)
    article_paths = {a.path for a in site.site.articles}
    # the ingest in this process this time (a thread): the same code as the command's
    stop = threading.Event()
    failures: list[BaseException] = []

    def run_ingest() -> None:
        try:
            Ingest(client, db).run(stop=stop)
        except BaseException as exc:
            failures.append(exc)
            raise

    ingest = threading.Thread(target=run_ingest, name="ingest", daemon=True)
    ingest.start()

    # A slow worker holds requests it took from the shared frontier; kill -9 loses them.
    # (its heartbeat lasts 1 s, so the others soon count it as lost)
    slow = ["DOWNLOAD_DELAY=0.2", "DOWNLOAD_DELAY_JITTER=0", "CONCURRENT_REQUESTS=4",
            "TEASERFEED_REDIS_WORKER_TTL=1"]  # fmt: skip
    victim = start(
        *worker(redis_url, workdir, "victim", "--archive", str(db), *settings(slow)), cwd=workdir
    )
    wait_for(
        lambda: any(urlsplit(p).path in article_paths for p in paths(site, "victim")),
        "the victim's first article request",
    )
    victim.kill()
    victim.wait()
    wait_for(lambda: queue_empty(client), "the ingest to store what the victim sent")
    with open_archive(db, readonly=True) as archive:
        unfetched = archive.unfetched_teasers(["demo-news"])
    assert unfetched, "the victim had sighted teasers whose articles it never sent"

    # Restarted with --reconcile, it joins the running generation (the frontier still has
    # work), makes what the victim held requestable again, and finishes the generation.
    code, out, err = finish(
        start(*worker(redis_url, workdir, "restarted", "--archive", str(db), "--reconcile"),
              cwd=workdir)
    )  # fmt: skip
    assert code == 0, err
    assert "joined generation 1" in out
    assert f"re-queued       {len(unfetched)}" in out
    wait_for(drained(client, 1), "generation 1 to end and be stored")
    assert [(r, s) for r, s, _ in runs(db)] == [(1, "worker_lost")]
    with open_archive(db, readonly=True) as archive:
        assert archive.unfetched_teasers(["demo-news"]) == []
    archived = articles(db)
    known = {k.decode() for k in client.smembers(RedisKeys().known)}
    assert {normalize_url(url) for url in archived} <= known

    # The next run (a new generation) polls the listings again, a killed worker's listing
    # pages included, and fetches only articles the archive lacks.
    code, out, err = finish(
        start(*worker(redis_url, workdir, "next", "--archive", str(db)), cwd=workdir)
    )
    assert code == 0, err
    assert "opened generation 2" in out
    wait_for(drained(client, 2), "generation 2 to end and be stored")
    stop.set()
    ingest.join(timeout=30)
    assert not failures
    fetched = [p for p in paths(site, "next") if urlsplit(p).path in article_paths]
    refetched = [p for p in fetched if normalize_url(f"{site.url}{p}") in known]
    assert not refetched, f"archived articles fetched again: {refetched}"
    assert articles(db) == articles(single_db)
    assert [(r, s) for r, s, _ in runs(db)] == [(1, "worker_lost"), (2, "finished")]


def test_ingest_killed_mid_batch_loses_nothing(tmp_path: Path, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    queue = ItemQueue(client)
    crawl = SharedCrawl(client)
    sources = [{"name": "s", "start_urls": ["http://x.test/"], "config": {}}]
    gen, opened, token = crawl.join("w1", 30, {"sites": ["s"], "sources": sources})
    assert (gen, opened) == (1, True)
    html = ("<html><body>" + "Own words for a test page. " * 200 + "</body></html>").encode()
    for n in range(5):
        url = f"http://x.test/story-{n}/"
        queue.push({"type": "teaser", "gen": 1, "token": token, "item": {
            "source": "s", "listing_url": "http://x.test/", "url": url, "position": n,
            "title": f"Story {n}"}})  # fmt: skip
        queue.push({"type": "article", "gen": 1, "token": token, "item": {
            "source": "s", "url": url, "final_url": url, "title": f"Story {n}",
            "body": f"Body of story {n}.", "html": html, "encoding": "utf-8"}})  # fmt: skip
    client.lpush(RedisKeys().items, b"\x00 not json")
    assert crawl.leave("w1", 1, {"reason": "finished", "stats": {"item_scraped_count": 10}})
    # an ingest took the first batch and was killed before committing it
    assert len(queue.claim(4)) == 4
    assert client.llen(RedisKeys().processing) == 4

    db = tmp_path / "ingest.db"
    report = Ingest(client, db, batch_size=3).run(idle_exit=0)
    assert report.counts["articles_new"] == 5
    assert report.counts["teasers_new"] == 5
    assert report.counts["rejected"] == 1
    assert report.runs == {1: "finished"}
    assert client.lrange(RedisKeys().failed, 0, -1) == [b"\x00 not json"]
    assert client.llen(RedisKeys().items) == client.llen(RedisKeys().processing) == 0
    with open_archive(db, readonly=True) as archive:
        stored = archive.article("http://x.test/story-3/")
        assert stored.body == "Body of story 3."
        assert archive.page(stored.id) == html
        assert archive.run(1).status == "finished"
    # workers on other machines learn which articles the archive has
    assert client.sismember(RedisKeys().known, normalize_url("http://x.test/story-3/"))

    # one ingest per Redis database
    client.set(RedisKeys().ingest, "elsewhere:1:ingest")
    with pytest.raises(IngestBusyError, match="another ingest"):
        Ingest(client, tmp_path / "other.db").run(idle_exit=0)


@deferred_f_from_coro_f
async def test_every_request_waiting_for_robots_txt_obeys_it() -> None:
    """Scrapy 2.19 lets all but the first of such requests through (a worker's burst)."""
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
    robots = Deferred()

    class Engine:
        async def download_async(self, request: Request) -> TextResponse:
            await maybe_deferred_to_future(robots)
            body = b"User-agent: *\nDisallow: /private/\n"
            return TextResponse(request.url, body=body, encoding="utf-8", request=request)

    crawler.engine = Engine()
    middleware = RobotsTxtMiddleware.from_crawler(crawler)
    urls = [f"http://news.test/private/{n}/" for n in range(3)] + ["http://news.test/ok/"]
    waiting = [deferred_from_coro(middleware.process_request(Request(url))) for url in urls]
    await asyncio.sleep(0.05)  # every request is waiting for robots.txt now
    robots.callback(None)
    outcomes = [await maybe_deferred_to_future(_outcome(d)) for d in waiting]
    assert outcomes == ["IgnoreRequest", "IgnoreRequest", "IgnoreRequest", None]


def _outcome(d: Deferred) -> Deferred:
    d.addCallbacks(lambda _: None, lambda failure: failure.type.__name__)
    return d


def test_requests_and_items_travel_as_json_without_pickle() -> None:
    configs = list(parse_sites(demo_sites_toml("http://127.0.0.1:9")).values())
    spider = DistributedTeaserSpider(configs=configs)
    request = _article_request(spider)
    encoded = redisjson.dumps(request.to_dict(spider=spider))
    assert encoded.startswith(b"{")
    back = request_from_dict(redisjson.loads(encoded), spider=spider)
    assert (back.url, back.meta, back.priority) == (request.url, request.meta, request.priority)
    assert back.callback == spider.parse_article
    assert back.headers == request.headers
    value = {"html": b"<p>" * 1000, "tiny": b"\x00\xff", "$odd": 1, "n": [1, (2, 3)]}
    assert redisjson.loads(redisjson.dumps(value)) == {**value, "n": [1, [2, 3]]}
    with pytest.raises(ValueError, match="malformed"):
        redisjson.loads(b'{"$z": "not base64!"}')


def _article_request(spider: DistributedTeaserSpider) -> Request:
    return Request(
        "http://127.0.0.1:9/world/a-story/",
        callback=spider.parse_article,
        errback=spider.on_error,
        headers={"If-None-Match": '"abc"'},
        meta={"tf_site": "demo-news", "tf_kind": "article", "tf_link": "/world/a-story/"},
    )


def cli(*args: str, cwd: Path) -> Result:
    """The CLI in this process (its error paths start no crawl)."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(here)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "--redis", "localhost:6379"], "'localhost:6379' is not a Redis URL"),
        (["ingest", "--redis", "http://x/"], "'http://x/' is not a Redis URL"),
        (["crawl", "--reconcile"], "--reconcile is for --redis workers"),
    ],
)
def test_bad_redis_options_are_clear_errors(args: list[str], message: str, workdir: Path) -> None:
    result = cli(*args, *(["--sites", "sites.toml"] if args[0] == "crawl" else []), cwd=workdir)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    if "Redis URL" in message:
        assert "write redis://HOST:PORT/DB" in result.stderr


def test_unreachable_redis_names_the_url_and_hides_the_password(workdir: Path) -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    for args in (["crawl", "--sites", "sites.toml"], ["ingest", "--archive", "x.db"]):
        result = cli(*args, "--redis", url, cwd=workdir)
        assert result.exit_code == 2, result.output
        assert "cannot reach Redis at redis://:***@127.0.0.1:" in result.stderr
        assert "start redis-server" in result.stderr
        assert "s3cret" not in result.output + result.stderr


def test_reconcile_needs_the_archive(workdir: Path, redis_url: str) -> None:
    result = cli(
        "crawl", "--redis", redis_url, "--reconcile", "--sites", "sites.toml",
        "--archive", "nowhere.db", cwd=workdir,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "nowhere.db does not exist" in result.stderr
    assert "give --archive the file `teaserfeed ingest` writes" in result.stderr


def test_help_explains_the_distributed_options() -> None:
    crawl_help = CliRunner().invoke(main, ["crawl", "--help"]).output
    for text in ("--redis URL", "--reconcile", "teaserfeed ingest --redis URL", "IDLE_CLOSE"):
        assert text in crawl_help
    ingest_help = CliRunner().invoke(main, ["ingest", "--help"]).output
    for text in ("--redis URL", "--idle-exit SECONDS", "--once", "killed", "Exit status"):
        assert text in ingest_help


def _queue_stories(client: redis.Redis, count: int) -> None:
    """A generation of `count` teasers and their articles, ended by its only worker."""
    queue, crawl = ItemQueue(client), SharedCrawl(client)
    sources = [{"name": "s", "start_urls": ["http://x.test/"], "config": {}}]
    gen, opened, token = crawl.join("w1", 30, {"sites": ["s"], "sources": sources})
    assert (gen, opened) == (1, True)
    for n in range(count):
        url = f"http://x.test/story-{n}/"
        queue.push({"type": "article", "gen": 1, "token": token, "item": {
            "source": "s", "url": url, "final_url": url, "title": f"Story {n}",
            "body": f"Body of story {n}, told at some length."}})  # fmt: skip
        queue.push({"type": "teaser", "gen": 1, "token": token, "item": {
            "source": "s", "listing_url": "http://x.test/", "url": url, "position": n,
            "title": f"Story {n}"}})  # fmt: skip
    assert crawl.leave("w1", 1, {"reason": "finished", "stats": {}})


def test_ingest_stores_articles_in_batches(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.store

    batches: list[int] = []
    singles: list[str] = []
    batch_upsert = archive.store.Archive.upsert_articles
    single_upsert = archive.store.Archive.upsert_article

    def upsert_articles(self: archive.store.Archive, items: Any, run_id: Any = None) -> Any:
        items = list(items)
        batches.append(len(items))
        return batch_upsert(self, items, run_id)

    def upsert_article(self: archive.store.Archive, item: Any, run_id: Any = None) -> Any:
        singles.append(item["url"])
        return single_upsert(self, item, run_id)

    monkeypatch.setattr(archive.store.Archive, "upsert_articles", upsert_articles)
    monkeypatch.setattr(archive.store.Archive, "upsert_article", upsert_article)
    client = redis.Redis.from_url(redis_url)
    # each article is queued before its teaser: a teaser may name the article before it
    _queue_stories(client, 6)
    db = tmp_path / "ingest.db"
    report = Ingest(client, db, batch_size=100).run(idle_exit=0)
    assert singles == []
    assert sum(batches) == 6
    assert report.counts["articles_new"] == report.counts["articles"] == 6
    assert report.counts["teasers_new"] == 6
    assert report.runs == {1: "finished"}
    with open_archive(db, readonly=True) as store:
        assert [t.title for t in store.article("http://x.test/story-5/").teasers] == ["Story 5"]
        assert store.run_summary(1)["articles_new"] == 6


def test_ingest_waits_for_another_writers_lock_and_loses_nothing(
    tmp_path: Path,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import archive.store

    monkeypatch.setattr(archive.store, "BUSY_TIMEOUT_MS", 100)
    client = redis.Redis.from_url(redis_url)
    _queue_stories(client, 5)
    db = tmp_path / "ingest.db"
    open_archive(db, create=True).close()
    other = sqlite3.connect(db, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # a reextract holding the write lock for ~0.5 s
    released = threading.Timer(0.5, other.rollback)
    released.start()
    started = time.monotonic()
    report = Ingest(client, db, batch_size=50).run(idle_exit=0)
    released.join()
    other.close()
    assert time.monotonic() - started >= 0.5  # it did wait for the lock
    assert "locked for writing" in caplog.text
    assert "could not store" not in caplog.text
    assert report.counts["articles_new"] == report.counts["teasers_new"] == 5
    assert report.runs == {1: "finished"}
    assert client.llen(RedisKeys().items) == client.llen(RedisKeys().processing) == 0
    with open_archive(db, readonly=True) as store:
        assert store.counts()["articles"] == store.counts()["teasers"] == 5
        assert store.run(1).status == "finished"
