"""A distributed crawl through a Redis outage: a real redis-server stopped and started again.

Workers and the ingest keep going while Redis is away (bounded, logged once), nothing is
dropped, a worker that gives up says so and exits non-zero, and messages that an older
snapshot replays are never stored as the current generation.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from scrapy import Request
from scrapy.utils.test import get_crawler

from archive import open_archive
from crawlers import redisjson
from crawlers.demo import DemoServer, demo_sites_toml, serve_demo
from crawlers.distributed import ResilientScheduler
from crawlers.distributed.ingest import Ingest, IngestBusyError
from crawlers.distributed.queue import ItemQueue, RedisKeys, RedisUnavailableError, SharedCrawl
from crawlers.sites import parse_sites
from crawlers.spiders.distributed import DistributedTeaserSpider
from tests.test_distributed import (
    FAST,
    REDIS_SERVER,
    articles,
    finish,
    free_port,
    paths,
    runs,
    settings,
    start,
    teaserfeed,
    wait_for,
)

# Slow enough that Redis can be stopped while the workers are at it (the site answers
# after SITE_DELAY seconds, two requests at a time per worker).
SITE_DELAY = 0.1
SLOW = ["CONCURRENT_REQUESTS=2", "TEASERFEED_REDIS_POLL=0.2"]


class RedisServer:
    """A redis-server of the test's own on a fixed loopback port, to stop and start again."""

    def __init__(self, directory: Path, *options: str) -> None:
        self.port = free_port()
        self.directory = directory
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--daemonize", "no", *self.options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        probe = redis.Redis.from_url(self.url)
        try:
            wait_for(lambda: _pings(probe), "redis-server to start", timeout=15)
        finally:
            probe.close()

    def shutdown(self) -> None:
        """`redis-cli shutdown`: persists what its configuration says, then exits."""
        assert self.proc is not None
        client = redis.Redis.from_url(self.url)
        try:
            client.shutdown()
        except redis.ConnectionError:
            pass
        finally:
            client.close()
        self.proc.wait(timeout=15)
        self.proc = None

    def kill(self) -> None:
        """kill -9: nothing written after the last snapshot survives."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=15)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
            self.proc = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """Redis as the README advises for production: append-only file, fsync every second."""
    server = RedisServer(tmp_path, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slow_site() -> Iterator[DemoServer]:
    server = serve_demo()
    yield server
    server.close()


@pytest.fixture(scope="module")
def outage_dir(slow_site: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outage")
    (path / "sites.toml").write_text(demo_sites_toml(slow_site.url), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def every_article(slow_site: DemoServer, outage_dir: Path) -> dict[str, tuple[str, str]]:
    """(title, body) by URL of every article a single-process crawl archives from the site."""
    db = outage_dir / "reference.db"
    result = teaserfeed(
        "crawl", "--sites", "sites.toml", "--archive", str(db), *FAST, "-s", "USER_AGENT=ref",
        cwd=outage_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reference = articles(db)
    # the site's own list of stories is the ground truth for which URLs those are
    site_urls = {f"{slow_site.url}{a.path}" for a in slow_site.site.articles}
    assert set(reference) <= site_urls
    assert len(reference) == 103
    slow_site.delay = SITE_DELAY
    return reference


def worker(url: str, agent: str, *extra: str) -> list[str]:
    return [
        "crawl", "--redis", url, "--sites", "sites.toml", *FAST, *settings(SLOW),
        "-s", f"USER_AGENT={agent}", *extra,
    ]  # fmt: skip


def fetched(site: DemoServer, *agents: str) -> int:
    return sum(len(paths(site, agent)) for agent in agents)


def outage(server: RedisServer, seconds: float, *, kill: bool = False) -> None:
    """Stop Redis, keep it away for `seconds`, start it again on the same port."""
    if kill:
        server.kill()
    else:
        server.shutdown()
    time.sleep(seconds)
    server.start()


def test_redis_stopped_mid_crawl_and_started_again_loses_nothing(
    slow_site: DemoServer,
    outage_dir: Path,
    every_article: dict[str, tuple[str, str]],
    aof_redis: RedisServer,
) -> None:
    db = outage_dir / "outage.db"
    url = aof_redis.url
    ingest = start("ingest", "--redis", url, "--archive", str(db), cwd=outage_dir)
    a = start(*worker(url, "outage-a"), cwd=outage_dir)
    b = start(*worker(url, "outage-b"), cwd=outage_dir)
    wait_for(lambda: fetched(slow_site, "outage-a", "outage-b") >= 30, "the crawl to get going")
    outage(aof_redis, 3.0)
    before = fetched(slow_site, "outage-a", "outage-b")
    assert before < 100, "the crawl was over before Redis went away: slow the site down"

    results = [finish(a), finish(b)]
    for code, out, err in results:
        assert code == 0, out + err
        assert "finished in" in out
        assert "Traceback" not in err
        # one warning when Redis went away, one line when it was back: not one per item
        assert err.count("is away") == 1, err
        assert err.count("is back after") == 1, err
        assert "not delivered" not in out
    # what the workers held back while Redis was away went out when it was back
    held = [int(m) for _, _, err in results for m in re.findall(r"delivered the (\d+) items", err)]
    assert len(held) == 2
    assert sum(held) > 0
    assert ingest.poll() is None, "the ingest exited during the outage"
    client = redis.Redis.from_url(url)
    wait_for(settled(client), "the ingest to store the generation")
    token = SharedCrawl(client).status()["token"]
    ingest.send_signal(signal.SIGTERM)
    code, out, err = finish(ingest)
    assert code == 0, out + err
    assert "is away" in err
    assert "Traceback" not in err
    assert "stale" not in out

    # every article of the site, with the text a single-process crawl gets
    assert articles(db) == every_article
    [(run_id, status, stats)] = runs(db)
    assert (run_id, status) == (1, "finished")
    assert stats["generation"] == 1
    assert stats["generation_token"] == token
    assert stats["lost_workers"] == 0
    # no page twice although requests and items waited in the workers' memory
    pages = [p for agent in ("outage-a", "outage-b") for p in paths(slow_site, agent)
             if p != "/robots.txt"]  # fmt: skip
    assert len(pages) == len(set(pages))


def test_worker_that_gives_up_on_redis_is_not_finished_and_reconcile_completes_the_archive(
    slow_site: DemoServer,
    outage_dir: Path,
    every_article: dict[str, tuple[str, str]],
    aof_redis: RedisServer,
) -> None:
    db = outage_dir / "gave-up.db"
    url = aof_redis.url
    ingest = start("ingest", "--redis", url, "--archive", str(db), cwd=outage_dir)
    quitter = start(
        *worker(url, "quitter", *settings(["TEASERFEED_REDIS_RETRY_FOR=1",
                                           "TEASERFEED_REDIS_WORKER_TTL=1"])),
        cwd=outage_dir,
    )  # fmt: skip
    wait_for(lambda: fetched(slow_site, "quitter") >= 20, "the crawl to get going")
    outage(aof_redis, 2.5)
    code, out, err = finish(quitter)
    assert code == 1, out + err
    assert "redis_unavailable" in out
    assert "stayed away" in err
    assert "not delivered" in out
    assert "--reconcile" in err
    assert "Traceback" not in err
    assert ingest.poll() is None, "the ingest exited during the outage"

    # The archive knows which teasers lost their article; reconcile fetches them, and the
    # next generation (its worker reads the archive) pages the listings the quitter lost.
    client = redis.Redis.from_url(url)
    slow_site.delay = 0
    try:
        code, out, err = finish(start(
            *worker(url, "reconciler", "--archive", str(db), "--reconcile"), cwd=outage_dir
        ))  # fmt: skip
        assert code == 0, out + err
        wait_for(settled(client), "the reconciled generation to be stored")
        code, out, err = finish(start(*worker(url, "next", "--archive", str(db)), cwd=outage_dir))
        assert code == 0, out + err
        wait_for(settled(client), "the next generation to be stored")
    finally:
        slow_site.delay = SITE_DELAY
    ingest.send_signal(signal.SIGTERM)
    code, out, err = finish(ingest)
    # the ingest says the quitter's generation needs reconciling, and exits 3
    assert code == 3, out + err
    assert "reconcile is required" in err
    statuses = [s for _, s, _ in runs(db)]
    assert statuses[0] == "worker_lost"
    assert set(statuses[1:]) == {"finished"}
    assert articles(db) == every_article


def settled(client: redis.Redis) -> Callable[[], bool]:
    """Whether the current generation ended and the ingest stored all of it."""

    def check() -> bool:
        status = SharedCrawl(client).status()
        return bool(status["ended"] and status["items"] == 0 and status["processing"] == 0)

    return check


@pytest.fixture
def snapshot_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """Redis with RDB snapshots only (SAVE by hand here; Debian's `save` rules in life)."""
    server = RedisServer(tmp_path, "--save", "", "--appendonly", "no")
    server.start()
    yield server
    server.stop()


def _messages(crawl: SharedCrawl, queue: ItemQueue, worker: str, n: int) -> tuple[int, str]:
    sources = [{"name": "s", "start_urls": ["http://x.test/"], "config": {}}]
    gen, _opened, token = crawl.join(worker, 30, {"sites": ["s"], "sources": sources})
    for i in range(n):
        queue.push({"type": "article", "gen": gen, "token": token, "worker": worker, "item": {
            "source": "s", "url": f"http://x.test/{gen}/story-{i}/", "title": f"Story {i}",
            "body": f"Body of story {i} of generation {gen}."}})  # fmt: skip
    return gen, token


def test_replayed_snapshot_is_not_ingested_as_the_current_generation(
    tmp_path: Path, snapshot_redis: RedisServer
) -> None:
    client = redis.Redis.from_url(snapshot_redis.url)
    crawl, queue = SharedCrawl(client), ItemQueue(client)
    archive_path = tmp_path / "news.db"
    # generation 1: its opening and 3 articles stored, then a snapshot with 5 more queued
    gen, token = _messages(crawl, queue, "w1", 3)
    assert gen == 1
    Ingest(client, archive_path).run(idle_exit=0)
    for i in range(3, 8):
        queue.push({"type": "article", "gen": 1, "token": token, "item": {
            "source": "s", "url": f"http://x.test/1/story-{i}/", "title": f"Story {i}",
            "body": f"Body of story {i} of generation 1."}})  # fmt: skip
    client.save()
    # ... which the ingest stores, and the generation ends
    assert crawl.leave("w1", 1, {"reason": "finished", "stats": {}})
    report = Ingest(client, archive_path).run(idle_exit=0)
    assert report.runs == {1: "finished"}
    with open_archive(archive_path, readonly=True) as archive:
        assert len(list(archive.articles())) == 8

    # kill -9: Redis comes back from the snapshot, generation 1 running with 5 messages
    outage(snapshot_redis, 0.5, kill=True)
    client = redis.Redis.from_url(snapshot_redis.url)
    crawl, queue = SharedCrawl(client), ItemQueue(client)
    assert crawl.status()["generation"] == 1
    assert not crawl.status()["ended"]
    assert len(queue) == 5

    # a fresh archive never saw generation 1 open: its replayed messages are not current
    fresh = tmp_path / "fresh.db"
    report = Ingest(client, fresh).run(idle_exit=0)
    assert report.counts["stale"] == 5
    assert report.runs == {}
    assert report.counts["articles_new"] == 0
    with open_archive(fresh, readonly=True) as archive:
        assert list(archive.articles()) == []
        assert archive.last_run() is None
    # ... and no worker joins that generation again: the next one opens a new generation
    assert crawl.status()["ended"]

    # the archive that finished generation 1: the replay is stale there too, and the next
    # generation is numbered past the archive's newest although Redis lost that
    for i in range(5):
        queue.push({"type": "article", "gen": 1, "token": token, "item": {
            "source": "s", "url": f"http://x.test/1/replayed-{i}/", "title": "Replayed",
            "body": "Never stored."}})  # fmt: skip
    report = Ingest(client, archive_path).run(idle_exit=0)
    assert report.counts["stale"] == 5
    assert crawl.status()["ended"], "the replayed generation was not marked ended"
    gen2, token2 = _messages(crawl, queue, "w2", 2)
    assert gen2 == 2
    assert token2 != token
    # the snapshot's worker w1 belongs to the ended generation, not to this one
    assert crawl.status()["workers"] == ["w2"]
    report = Ingest(client, archive_path).run(idle_exit=0)
    assert report.counts["stale"] == 0
    assert report.counts["articles_new"] == 2
    with open_archive(archive_path, readonly=True) as archive:
        urls = {a.url for a in archive.articles()}
        assert [(r.id, r.status) for r in (archive.run(1), archive.run(2))] == [
            (1, "finished"), (2, "running")]  # fmt: skip
    assert urls == {f"http://x.test/1/story-{i}/" for i in range(8)} | {
        f"http://x.test/2/story-{i}/" for i in range(2)}  # fmt: skip


def test_heartbeats_do_not_run_out_while_redis_is_down(aof_redis: RedisServer) -> None:
    client = redis.Redis.from_url(aof_redis.url)
    crawl = SharedCrawl(client)
    crawl.join("w1", 1.5, {"sites": []})
    outage(aof_redis, 2.0)
    client = redis.Redis.from_url(aof_redis.url)
    crawl = SharedCrawl(client)
    # 2 s down with a 1.5 s heartbeat: the worker has the time it had left, not lost
    assert crawl.end_if_done() == 0
    assert crawl.status()["workers"] == ["w1"]
    wait_for(lambda: crawl.end_if_done() == 1, "the worker's heartbeat to run out", timeout=5)
    assert client.hget(RedisKeys().crawl, "lost") == b"1"
    # a worker that only could not reach Redis learns that it was counted as gone
    assert crawl.beat("w1", 30)
    assert not crawl.beat("w1", 30)


def test_restarted_ingest_takes_the_lease_of_its_dead_predecessor(
    tmp_path: Path, aof_redis: RedisServer
) -> None:
    client = redis.Redis.from_url(aof_redis.url)
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    # the lease of an ingest of this host that is gone (back from a snapshot, say)
    client.set(RedisKeys().ingest, f"{host}:{dead.pid}:ab12cd:ingest", ex=60)
    Ingest(client, tmp_path / "a.db").run(idle_exit=0)
    assert client.get(RedisKeys().ingest) is None
    # a live holder, or one on another host, is never taken over
    for holder in (f"{host}:{os.getppid()}:ab12cd:ingest", "elsewhere:1:ab12cd:ingest"):
        client.set(RedisKeys().ingest, holder, ex=60)
        with pytest.raises(IngestBusyError, match="another ingest"):
            Ingest(client, tmp_path / "b.db").run(idle_exit=0)


def test_ingest_waits_for_redis_and_gives_up_past_the_bound(
    tmp_path: Path, aof_redis: RedisServer
) -> None:
    client = redis.Redis.from_url(aof_redis.url)
    crawl, queue = SharedCrawl(client), ItemQueue(client)
    _messages(crawl, queue, "w1", 2)
    stop = threading.Event()
    ingest = Ingest(client, tmp_path / "a.db", retry_for=30)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ingest.run(stop=stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: ingest.report.counts["articles_new"] == 2, "the first articles")
    outage(aof_redis, 2.0)
    queue.push({"type": "article", "gen": 1, "token": crawl.status()["token"], "item": {
        "source": "s", "url": "http://x.test/after/", "title": "After", "body": "After."}})  # fmt: skip
    wait_for(lambda: ingest.report.counts["articles_new"] == 3, "the article after the outage")
    assert thread.is_alive()
    assert ingest.report.counts["redis_outages"] == 1
    stop.set()
    thread.join(timeout=10)
    assert not errors

    aof_redis.shutdown()
    with pytest.raises(RedisUnavailableError, match="stayed away for"):
        Ingest(client, tmp_path / "b.db", retry_for=1).run(idle_exit=0)
    aof_redis.start()


def test_an_acknowledgement_repeated_after_an_outage_drops_nothing_else(
    aof_redis: RedisServer,
) -> None:
    client = redis.Redis.from_url(aof_redis.url)
    queue = ItemQueue(client)
    for n in range(5):
        queue.push({"type": "teaser", "n": n})
    stored = queue.claim(3)
    assert queue.ack_stored(stored)
    later = queue.claim(2)
    # the answer to the first ack was lost: trying it again must not drop the next batch
    assert not queue.ack_stored(stored)
    assert queue.claimed() == later


def test_requests_made_while_redis_is_away_wait_and_reach_the_frontier(
    aof_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawler = get_crawler(DistributedTeaserSpider, {"REDIS_URL": aof_redis.url})
    spider = DistributedTeaserSpider.from_crawler(crawler, configs=parse_sites(
        demo_sites_toml("http://127.0.0.1:9")).values())  # fmt: skip
    scheduler = ResilientScheduler.from_crawler(crawler)
    scheduler.open(spider)
    client = redis.Redis.from_url(aof_redis.url)
    frontier = RedisKeys().requests

    def urls() -> set[str]:
        return {redisjson.loads(m)["url"] for m in client.zrange(frontier, 0, -1)}

    assert scheduler.enqueue_request(Request("http://x.test/1/"))
    aof_redis.shutdown()
    for n in (2, 3):
        assert scheduler.enqueue_request(Request(f"http://x.test/{n}/"))
    assert scheduler.has_pending_requests()
    assert scheduler.next_request() is None
    aof_redis.start()
    # a request whose fingerprint went in but whose push failed is not a duplicate later
    push = scheduler.queue.push
    calls = []

    def flaky(request: Request) -> None:
        calls.append(request.url)
        if len(calls) == 1:
            raise redis.ConnectionError("gone again")
        push(request)

    monkeypatch.setattr(scheduler.queue, "push", flaky)
    assert not scheduler.flush_pending()
    assert scheduler.flush_pending()
    assert urls() == {f"http://x.test/{n}/" for n in (1, 2, 3)}
    assert calls == ["http://x.test/2/", "http://x.test/2/", "http://x.test/3/"]
    # Redis is back (the worker's heartbeat says so): a real duplicate is still one
    scheduler.link.outage.ok()
    assert not scheduler.enqueue_request(Request("http://x.test/3/"))
    assert scheduler.next_request().url == "http://x.test/1/"
    assert scheduler.lost == 0


def test_a_batch_rolled_back_when_redis_went_away_is_stored_again_whole(
    tmp_path: Path, aof_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.Redis.from_url(aof_redis.url)
    crawl, queue = SharedCrawl(client), ItemQueue(client)
    _messages(crawl, queue, "w1", 3)
    assert crawl.leave("w1", 1, {"reason": "finished", "stats": {}})
    ingest = Ingest(client, tmp_path / "news.db")
    real = ingest.crawl.worker_stats
    calls: list[int] = []

    def flaky(gen: int) -> dict[str, dict[str, object]]:
        # Redis goes away while the batch (opening, articles, end) is being stored
        calls.append(gen)
        if len(calls) == 1:
            raise redis.ConnectionError("gone for a moment")
        return real(gen)

    monkeypatch.setattr(ingest.crawl, "worker_stats", flaky)
    report = ingest.run(idle_exit=0)
    assert calls == [1, 1]
    assert report.runs == {1: "finished"}
    assert report.counts["articles_new"] == 3
    with open_archive(tmp_path / "news.db", readonly=True) as archive:
        assert [(r.id, r.status) for r in [archive.run(1)]] == [(1, "finished")]
        assert archive.last_run().id == 1
        assert len(list(archive.articles())) == 3
