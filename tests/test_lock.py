"""One crawl per archive: the lock, its message, and a dead holder's lock taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archive import ArchiveLock, ArchiveLockedError, lock_holder
from crawlers.demo import DemoServer
from tests.conftest import ALLOW_TEST_HOSTS

BIN = Path(sys.executable).parent


def test_second_holder_is_refused_with_who_and_since(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with ArchiveLock(path):
        holder = lock_holder(path)
        assert holder is not None
        assert holder["pid"] == os.getpid()
        assert holder["purpose"] == "crawl"
        with pytest.raises(ArchiveLockedError) as info:
            ArchiveLock(path).acquire()
        message = str(info.value)
        assert f"news.db is locked by a running crawl (PID {os.getpid()} on " in message
        assert " since 20" in message
    assert lock_holder(path) is None
    with ArchiveLock(path):  # free again after release
        pass


def test_a_lock_taken_an_instant_ago_is_reported_with_its_holder(tmp_path: Path) -> None:
    import fcntl
    import json
    import threading

    archive_path = tmp_path / "news.db"
    # another process has just taken the lock and not yet written who it is
    with (tmp_path / "news.db.lock").open("a+", encoding="utf-8") as taken:
        fcntl.flock(taken.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

        def write_record() -> None:
            taken.write(json.dumps({"pid": 4242, "host": "h", "since": "now"}))
            taken.flush()

        timer = threading.Timer(0.1, write_record)
        timer.start()
        try:
            with pytest.raises(ArchiveLockedError) as refused:
                ArchiveLock(archive_path).acquire()
        finally:
            timer.join()
    assert refused.value.holder["pid"] == 4242
    assert "PID 4242 on h" in str(refused.value)


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    code = (
        "import sys, time; from archive import ArchiveLock; "
        f"lock = ArchiveLock({str(path)!r}); lock.acquire(); print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        assert lock_holder(path)["pid"] == proc.pid  # type: ignore[index]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert lock_holder(path) is None
    with ArchiveLock(path):
        assert lock_holder(path)["pid"] == os.getpid()  # type: ignore[index]


def test_crawl_on_a_locked_archive_exits_at_once(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    sites = tmp_path / "sites.toml"
    sites.write_text('[sites.x]\nstart_urls = ["http://127.0.0.1:9/"]\n')
    with ArchiveLock(path):
        result = subprocess.run(
            [str(BIN / "teaserfeed"), "crawl", "--sites", str(sites), "--archive", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 75
    assert result.stderr.startswith(
        f"teaserfeed: {path} is locked by a running crawl (PID {os.getpid()}"
    )
    assert "Traceback" not in result.stderr


def test_two_crawls_started_together_one_runs_the_other_exits_75(
    tmp_path: Path, demo_server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # robots.txt and the listing (a 404) take half a second each: the winner holds the lock
    # for a second or more of crawling, not a moment
    monkeypatch.setattr(demo_server, "delay", 0.5)
    sites = tmp_path / "sites.toml"
    sites.write_text(f'[sites.race]\nstart_urls = ["{demo_server.url}/no-such-section/"]\n')
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for trial in range(5):
        path = tmp_path / f"news{trial}.db"  # a new archive each time
        command = [
            str(BIN / "teaserfeed"), "crawl", "--sites", str(sites), "--archive", str(path),
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0",
            *ALLOW_TEST_HOSTS,
        ]  # fmt: skip
        procs = [
            subprocess.Popen(
                command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]  # fmt: skip
        outputs = [proc.communicate(timeout=120) for proc in procs]
        codes = [proc.returncode for proc in procs]
        assert sorted(codes) in ([0, 75], [3, 75]), f"trial {trial}: {codes} {outputs}"
        winner = procs[codes.index(75) ^ 1]
        _out, err = outputs[codes.index(75)]
        assert err.startswith(
            f"teaserfeed: {path} is locked by a running crawl (PID {winner.pid} on "
        ), f"trial {trial}: {err}"
        assert "Traceback" not in err
        assert lock_holder(path) is None
