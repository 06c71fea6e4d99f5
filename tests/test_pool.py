"""The extraction pool: worker processes that die or hang are replaced, their page recorded
with the reason, the crawl goes on; and no worker outlives the crawl, however it ends."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

import archive.clusters
import crawlers.spiders.teasers
from archive.clusters import Signature
from crawlers.pool import ExtractionPool, JobFailed, PoolClosed, WorkerLost
from crawlers.sites import SiteConfig
from tests import pool_hooks
from tests.conftest import ALLOW_TEST_HOSTS, crawl
from tests.pool_hooks import DIE, HANG, STORIES, HarbourSite

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


# ---- the pool itself --------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractionPool]:
    with ExtractionPool(2, timeout=1.0) as running:
        yield running


def test_results_come_back_for_each_job(pool: ExtractionPool) -> None:
    futures = [pool.submit(pool_hooks.double, n) for n in range(50)]
    assert [f.result(timeout=30) for f in futures] == [2 * n for n in range(50)]
    pids = {pool.submit(pool_hooks.pid, n).result(timeout=30) for n in range(20)}
    assert pids <= set(pool.pids)
    assert os.getpid() not in pids


def test_a_worker_that_exits_is_replaced_and_its_job_says_so(pool: ExtractionPool) -> None:
    before, lost = set(pool.pids), pool.lost
    with pytest.raises(WorkerLost, match=r"exited \(status 3\) on this page") as caught:
        pool.submit(pool_hooks.exit_now, 3).result(timeout=30)
    assert not caught.value.timed_out
    assert pool.submit(pool_hooks.double, 21).result(timeout=30) == 42
    assert pool.lost == lost + 1
    assert len(pool.pids) == 2
    assert len(set(pool.pids) - before) == 1


def test_a_killed_worker_names_the_signal(pool: ExtractionPool) -> None:
    future = pool.submit(pool_hooks.sleep_for, 0.9)
    deadline = time.monotonic() + 10
    while not future.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    killed = set(pool.pids)
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerLost, match="killed by SIGKILL"):
        future.result(timeout=30)
    # the idle worker's death may not be seen yet: a page handed to it then is lost too
    while (set(pool.pids) & killed or len(pool.pids) < 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.submit(pool_hooks.double, 1).result(timeout=30) == 2


def test_a_job_over_the_time_bound_is_killed_and_replaced(pool: ExtractionPool) -> None:
    started = time.monotonic()
    with pytest.raises(WorkerLost, match="longer than 1 s") as caught:
        pool.submit(pool_hooks.sleep_for, 60).result(timeout=30)
    assert caught.value.timed_out
    assert time.monotonic() - started < 10
    assert pool.submit(pool_hooks.double, 2).result(timeout=30) == 4


def test_an_exception_in_a_job_is_its_error_not_the_pool_s(pool: ExtractionPool) -> None:
    with pytest.raises(JobFailed, match="ValueError: no page"):
        pool.submit(pool_hooks.fail, "no page").result(timeout=30)
    assert pool.submit(pool_hooks.double, 3).result(timeout=30) == 6


def test_inline_runs_the_same_calls_in_this_thread() -> None:
    with ExtractionPool(0) as inline:
        assert inline.submit(pool_hooks.pid, None).result() == os.getpid()
        with pytest.raises(JobFailed, match="ValueError: x"):
            inline.submit(pool_hooks.fail, "x").result()
    assert inline.pids == []
    with pytest.raises(PoolClosed):
        inline.submit(pool_hooks.double, 1).result()


def test_closing_fails_what_waits_and_ends_every_worker() -> None:
    pool = ExtractionPool(1)
    busy = pool.submit(pool_hooks.sleep_for, 60)
    waiting = pool.submit(pool_hooks.double, 1)
    deadline = time.monotonic() + 30
    while not pool.pids and time.monotonic() < deadline:
        time.sleep(0.01)
    pids = pool.pids
    pool.close()
    for future in (busy, waiting):
        with pytest.raises(PoolClosed):
            future.result(timeout=5)
    assert pids
    assert not [pid for pid in pids if _alive(pid)]
    with pytest.raises(ValueError, match="0 \\(inline\\) or more"):
        ExtractionPool(-1)


def test_the_workers_run_at_the_niceness_asked_for() -> None:
    mine = os.nice(0)
    with ExtractionPool(1, nice=7) as niced:
        assert niced.submit(pool_hooks.niceness, None).result(timeout=30) == min(19, mine + 7)
    with ExtractionPool(1) as plain:
        assert plain.submit(pool_hooks.niceness, None).result(timeout=30) == mine
    with pytest.raises(ValueError, match="0 to 19"):
        ExtractionPool(1, nice=20)


def _running(future: Future[Any]) -> None:
    deadline = time.monotonic() + 30
    while not future.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the pool's thread has handed the next job over by now


def test_a_page_waiting_in_a_lost_worker_s_pipe_goes_to_its_replacement() -> None:
    with ExtractionPool(1) as pool:
        busy = pool.submit(pool_hooks.sleep_for, 5)
        queued = pool.submit(pool_hooks.pid, None)
        _running(busy)
        [worker] = pool.pids
        assert len(pool._pool[0].jobs) == 2  # the second page waits in the worker's pipe
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(WorkerLost, match="killed by SIGKILL"):
            busy.result(timeout=30)
        # it never started, so it is not lost: the replacement runs it
        assert queued.result(timeout=30) not in (worker, os.getpid())
        assert pool.lost == 1


def test_a_large_page_waits_for_a_free_worker_and_time_bounds_still_hold() -> None:
    # a page too large for the pipe would block the pool's thread in its send until the
    # worker reads it: the hung page's time bound would never fire
    with ExtractionPool(1, timeout=1.0) as pool:
        hung = pool.submit(pool_hooks.sleep_for, 60)
        large = pool.submit(pool_hooks.length, b"x" * 4_000_000)
        _running(hung)
        assert len(pool._pool[0].jobs) == 1
        started = time.monotonic()
        with pytest.raises(WorkerLost, match="longer than 1 s"):
            hung.result(timeout=30)
        assert time.monotonic() - started < 10
        assert large.result(timeout=30) == 4_000_000


# ---- in a crawl ---------------------------------------------------------------------


def _fetches(path: Path, run_id: int) -> dict[str, tuple[str | None, str | None]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "select url, error_kind, error from fetches where kind = 'article' and run_id = ?",
            (run_id,),
        )
        return {url: (kind, error) for url, kind, error in rows}


def _articles(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {url for (url,) in db.execute("select url from articles")}


@deferred_f_from_coro_f
async def test_a_worker_killed_mid_crawl_costs_only_its_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # one worker: every page after the kill needs the replacement
    site = HarbourSite({1: DIE, 4: HANG})
    config = SiteConfig(name="harbour", start_urls=(site.url + "/news/",))
    job = crawlers.spiders.teasers.extract_article_page
    monkeypatch.setattr(crawlers.spiders.teasers, "extract_article_page", pool_hooks.doomed_article)
    try:
        crawled = await crawl(
            [config], tmp_path / "news.db", TEASERFEED_WORKERS=1, TEASERFEED_EXTRACT_TIMEOUT=2
        )
        # nothing lost: the next run (with the usual job) fetches the two articles again
        monkeypatch.setattr(crawlers.spiders.teasers, "extract_article_page", job)
        again = await crawl([config], tmp_path / "news.db", TEASERFEED_WORKERS=1)
    finally:
        site.close()
    assert again.stats["teaserfeed/articles_recovered"] == 2
    assert len(_articles(crawled.archive)) == STORIES
    assert set(_fetches(crawled.archive, again.run_id)) == {site.story_url(1), site.story_url(4)}
    fetches = _fetches(crawled.archive, crawled.run_id)
    assert len(fetches) == STORIES
    kind, error = fetches[site.story_url(1)]
    assert kind == "extraction"
    assert error is not None
    assert "killed by SIGKILL" in error
    kind, error = fetches[site.story_url(4)]
    assert kind == "extraction"
    assert error is not None
    assert "longer than 2 s" in error
    others = {site.story_url(i) for i in range(STORIES)} - {site.story_url(1), site.story_url(4)}
    assert all(fetches[url] == (None, None) for url in others)
    assert crawled.stats["teaserfeed/extraction_worker_lost"] == 2
    assert crawled.stats["teaserfeed/extraction_timeouts"] == 1
    assert crawled.stats["finish_reason"] == "finished"
    with sqlite3.connect(crawled.archive) as db:
        statuses = db.execute("select status from runs order by id").fetchall()
    assert statuses == [("finished",), ("finished",)]


@deferred_f_from_coro_f
async def test_the_workers_sign_the_bodies_and_the_writer_only_stores(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # MinHash runs where the body is extracted: the crawl's process (its writer) never signs
    real = archive.clusters.minhash_many
    signed_here: list[int] = []

    def counted(texts: Sequence[str | None]) -> list[Signature | None]:
        signed_here.append(len(texts))
        return real(texts)

    monkeypatch.setattr(archive.clusters, "minhash_many", counted)
    site = HarbourSite()
    config = SiteConfig(name="harbour", start_urls=(site.url + "/news/",))
    try:
        crawled = await crawl([config], tmp_path / "news.db", TEASERFEED_WORKERS=1)
    finally:
        site.close()
    assert signed_here == []
    with sqlite3.connect(crawled.archive) as db:
        rows = db.execute(
            "select a.body, m.signature from articles a join article_minhash m on m.article_id = a.id"
        ).fetchall()
    assert len(rows) == STORIES
    for body, signature in rows:
        expected = real([body])[0]
        assert expected is not None
        assert signature == expected.astype("<u4").tobytes()


# ---- no orphans ---------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C", "SIGKILL"])
def test_no_worker_outlives_the_crawl(how: str, tmp_path: Path) -> None:
    # every article stalls its worker: the crawl is busy extracting when it is stopped
    site = HarbourSite(dict.fromkeys(range(STORIES), HANG))
    sites = tmp_path / "sites.toml"
    sites.write_text(f'[sites.harbour]\nstart_urls = ["{site.url}/news/"]\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.pool_hooks", "crawl", "--sites", str(sites),
         "--archive", str(tmp_path / "news.db"), "--workers", "2", *ALLOW_TEST_HOSTS,
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
         "-s", "TEASERFEED_EXTRACT_TIMEOUT=1", "-s", "TEASERFEED_PROGRESS=off"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        children: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            children = _descendants(proc.pid)
            if len(children) >= 3:  # the fork server and two workers
                break
            time.sleep(0.05)
        assert len(children) >= 3, proc.communicate(timeout=30)
        time.sleep(0.5)  # the workers have their pages now
        children = _descendants(proc.pid)
        if how == "Ctrl-C":  # as a terminal sends it: to the whole process group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(getattr(signal, how))
        _out, err = proc.communicate(timeout=60)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.05)
        assert not [pid for pid in children if _alive(pid)], err.decode()[-2000:]
        if how != "SIGKILL":
            assert b"Traceback" not in err, err.decode()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        site.close()
