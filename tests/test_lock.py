"""One crawl per archive: the lock, its message, and a dead holder's lock taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archive import ArchiveLock, ArchiveLockedError, lock_holder

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
