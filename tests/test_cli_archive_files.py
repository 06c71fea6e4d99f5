"""Odd archive files meet one clear line and exit 2: empty, damaged, read-only, full disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import ArchiveFileError, NotFoundError, check_archive, open_archive
from benchmarks.sitegen import sites_toml
from tests.conftest import TEST_HOSTS
from tests.test_archive_concurrency import serve_generated_site
from tests.test_archive_safety import make_archive, teaserfeed

READ_COMMANDS = [
    ["search", "harbour"],
    ["show", "1"],
    ["export"],
    ["stats"],
    ["clusters"],
    ["diff", "1"],
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    "command", [*READ_COMMANDS, ["check"], ["crawl", "--url", "http://127.0.0.1:9/"]]
)
def test_an_empty_file_is_never_turned_into_an_archive(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "news.db"
    path.touch()
    result = teaserfeed(*command, "--archive", str(path))
    _one_clear_line(result, str(path), "empty file (0 bytes)")
    assert path.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["news.db"]


def _damage(path: Path) -> None:
    """Overwrite the middle of three leaf pages of the articles table (not the header)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    leaves = [
        row[0]
        for row in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'articles' AND pagetype = 'leaf'"
        )
    ]
    conn.close()
    assert len(leaves) >= 6
    with path.open("r+b") as handle:  # no connection is open in this process
        for page in leaves[2:5]:
            handle.seek((page - 1) * page_size + 100)
            handle.write(b"\xa5" * 1000)


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    path = make_archive(tmp_path / "news.db", 60)
    _damage(path)
    return path


@pytest.mark.parametrize("command", [["export"], ["stats"]])
def test_a_damaged_archive_points_at_check(damaged: Path, command: list[str]) -> None:
    result = teaserfeed(*command, "--archive", str(damaged))
    _one_clear_line(result, str(damaged), "is damaged", f"teaserfeed check --archive {damaged}")
    check = teaserfeed("check", "--archive", str(damaged))
    assert check.returncode == 1
    assert "PROBLEM: PRAGMA integrity_check" in check.stdout


def test_a_crawl_into_a_damaged_archive_stops_with_one_line(tmp_path: Path) -> None:
    site = serve_generated_site(tmp_path / "site", 5)
    try:
        sites = tmp_path / "sites.toml"
        sites.write_text(sites_toml(site.base, 5))
        path = tmp_path / "news.db"
        args = ["crawl", "--sites", str(sites), "--archive", str(path), "-s", "DOWNLOAD_DELAY=0"]
        args += [f"--allow-address={host}" for host in TEST_HOSTS]
        first = teaserfeed(*args)
        assert first.returncode == 0, first.stdout + first.stderr
        _damage(path)
        site.served = 0
        again = teaserfeed(*args, "--backfill", "5")
    finally:
        site.shutdown()
        site.server_close()
    # before: a traceback per damaged read and the crawl went on fetching the whole site
    _one_clear_line(again, str(path), "is damaged", f"teaserfeed check --archive {path}")
    assert "archive_damaged" in again.stdout
    assert site.served <= 2


def test_huge_ids_and_limits_are_not_overflow_errors(tmp_path: Path) -> None:
    path = make_archive(tmp_path / "news.db", 5)
    result = teaserfeed("show", "99999999999999999999999", "--archive", str(path))
    assert result.returncode == 1
    assert result.stderr.strip() == "teaserfeed: no article with id 99999999999999999999999"
    with open_archive(path, readonly=True) as archive:
        assert len(list(archive.articles(limit=2**80))) == 5
        assert len(archive.search("harbour", limit=2**80, offset=0)) == 5
        assert list(archive.clusters(limit=2**80, min_size=1)) != []
        with pytest.raises(NotFoundError, match="no article with id 1208925819614629174706176"):
            archive.article(2**80)
        with pytest.raises(ValueError, match="limit must be >= 0"):
            list(archive.articles(limit=-1))


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_readonly_never_writes_the_archive(tmp_path: Path, command: list[str]) -> None:
    path = make_archive(tmp_path / "news.db", 5)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")  # a read-write open turns WAL back on
    conn.close()
    before = _sha(path)
    result = teaserfeed(*command, "--archive", str(path), "--readonly")
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1), result.stderr  # diff of a one-version article: 0
    assert _sha(path) == before
    assert path.read_bytes()[18] == 1  # still a rollback-journal file: nothing written
    plain = teaserfeed(*command, "--archive", str(path))
    assert plain.returncode == result.returncode
    assert path.read_bytes()[18] == 2  # the read-write open switched it to WAL


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of its own (tmpfs, mounted as root as CI runs), unmounted after."""
    point = tmp_path / "mnt"
    point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"these tests mount a tmpfs and need root: {result.stderr}"
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_check_on_a_full_disk_cannot_verify_and_reports_no_damage(
    tmp_path: Path, mounted: Path
) -> None:
    path = mounted / "news.db"
    shutil.copyfile(make_archive(tmp_path / "news.db", 30), path)
    with (mounted / "filler").open("wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass
    assert shutil.disk_usage(mounted).free < 65536
    result = teaserfeed("check", "--archive", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot verify" in result.stdout
    assert "PROBLEM" not in result.stdout
    assert "damaged" not in result.stdout + result.stderr
    search = teaserfeed("search", "harbour", "--archive", str(path))
    _one_clear_line(search, str(path), "disk is full")


def test_a_sound_archive_on_a_read_only_filesystem_is_read_and_checked(
    tmp_path: Path, mounted: Path
) -> None:
    make_archive(mounted / "news.db", 30)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    subprocess.run(["mount", "--bind", str(mounted), str(readonly)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(readonly)], check=True)
        path = readonly / "news.db"
        assert not os.access(path, os.W_OK)
        report = check_archive(path)
        assert report.ok
        assert report.integrity == ["ok"]
        assert report.articles == 30
        result = teaserfeed("check", "--archive", str(path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().endswith("OK")
        search = teaserfeed("search", "harbour", "--archive", str(path))
        assert search.returncode == 0, search.stderr
        assert "Story" in search.stdout
        with pytest.raises(ArchiveFileError, match="read-only"):
            open_archive(path, create=True)
    finally:
        subprocess.run(["umount", "-l", str(readonly)], check=False)
