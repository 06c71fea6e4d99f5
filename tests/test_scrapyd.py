"""teaserfeed deployed to a real scrapyd on loopback: egg, upload, schedule, crawl, archive.

scrapyd runs in an interpreter that has teaserfeed's dependencies but not teaserfeed itself,
as on a deployment host, so the spider, pipeline and settings can only come from the egg.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from archive import open_archive
from archive.lock import ArchiveLock
from crawlers.demo import DEMO_SITE_NAME, DemoServer, DemoSite
from tests.conftest import TEST_HOSTS

REPO = Path(__file__).resolve().parent.parent
PROJECT = "teaserfeed"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["version"]
JOB_TIMEOUT = 120.0  # generous: two cores shared with other test runs
SETUP = "from setuptools import setup; setup()"  # pyproject.toml has all the metadata
FAST = (
    "DOWNLOAD_DELAY=0",
    "AUTOTHROTTLE_ENABLED=0",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    # the demo site is on loopback, which the SSRF guard refuses unless allowed
    f"TEASERFEED_ALLOWED_ADDRESSES={','.join(TEST_HOSTS)}",
)


@pytest.fixture(scope="module")
def egg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as an egg from a clean copy, the way scrapyd-deploy builds one."""
    src = tmp_path_factory.mktemp("egg-src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("crawlers", "archive"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("egg-dist")
    build = subprocess.run(
        [sys.executable, "-c", SETUP, "bdist_egg", "--dist-dir", str(dist)],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (built,) = dist.glob("*.egg")
    return built


def _python_without_teaserfeed(home: Path) -> Path:
    """A venv that sees this one's site-packages but not its editable teaserfeed install."""
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A path in a .pth is added to sys.path, but the .pth files found there are not run:
    # the editable install's import hook stays out.
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    Path(target, "teaserfeed-deps.pth").write_text("\n".join(paths) + "\n", encoding="utf-8")
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, path in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Scrapyd:
    """A scrapyd daemon this module started, and its JSON API."""

    url: str
    home: Path
    python: Path
    process: subprocess.Popen[bytes]

    def call(self, endpoint: str, data: bytes | None = None, content_type: str = "") -> Any:
        """GET (no data) or POST one endpoint; returns the decoded JSON answer."""
        request = urllib.request.Request(f"{self.url}/{endpoint}", data=data)
        if content_type:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer.get("status") == "ok", answer
        return answer

    def schedule(self, fields: list[tuple[str, str]]) -> str:
        """schedule.json with repeated fields (setting=…); returns the job id."""
        body = urllib.parse.urlencode(fields).encode()
        answer = self.call("schedule.json", body, "application/x-www-form-urlencoded")
        return str(answer["jobid"])

    def wait_finished(self, job: str) -> dict[str, Any]:
        """Poll listjobs.json until the job is finished; returns its entry."""
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline:
            jobs = self.call(f"listjobs.json?project={PROJECT}")
            done = [j for j in jobs["finished"] if j["id"] == job]
            if done:
                return dict(done[0])
            assert self.process.poll() is None, self.output()
            time.sleep(0.2)
        raise AssertionError(f"job {job} did not finish in {JOB_TIMEOUT} s\n{self.output()}")

    def job_log(self, job: str) -> str:
        """The Scrapy log scrapyd kept for a job."""
        return (self.home / "logs" / PROJECT / "teasers" / f"{job}.log").read_text("utf-8")

    def output(self) -> str:
        """The daemon's own log (it also carries the jobs' stderr)."""
        return (self.home / "scrapyd.out").read_text("utf-8", errors="replace")[-5000:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop scrapyd and every job it spawned: they share the process group it leads."""
    pgid = process.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory, egg: Path) -> Iterator[Scrapyd]:
    """scrapyd on 127.0.0.1 with everything in a tmp dir and the egg uploaded."""
    home = tmp_path_factory.mktemp("scrapyd")
    python = _python_without_teaserfeed(home)
    port = _free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\n"
        f"logs_dir = {home / 'logs'}\n"
        f"dbs_dir = {home / 'dbs'}\n"
        # No feed export: the archive is the output, and teaserfeed's items carry raw bytes.
        "items_dir =\n"
        "max_proc = 2\n"
        "poll_interval = 0.2\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY", "PYTHONPATH"))}
    with (home / "scrapyd.out").open("wb") as out:
        process = subprocess.Popen(
            [str(python), "-m", "scrapyd"],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    daemon = Scrapyd(f"http://127.0.0.1:{port}", home, python, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, daemon.output()
            try:
                daemon.call("daemonstatus.json")
                break
            except OSError:
                assert time.monotonic() < deadline, daemon.output()
                time.sleep(0.1)
        body, content_type = _multipart({"project": PROJECT, "version": VERSION}, {"egg": egg})
        added = daemon.call("addversion.json", body, content_type)
        assert (added["project"], added["version"]) == (PROJECT, VERSION)
        yield daemon
    finally:
        _stop(process)


def _crawl_fields(sites: Path, archive: Path) -> list[tuple[str, str]]:
    settings = [f"TEASERFEED_SITES={sites}", f"TEASERFEED_ARCHIVE={archive}", *FAST]
    return [
        ("project", PROJECT),
        ("spider", "teasers"),
        ("site", DEMO_SITE_NAME),
        *(("setting", s) for s in settings),
    ]


def _runs(archive: Path) -> list[tuple[int, str]]:
    if not archive.exists():
        return []
    conn = sqlite3.connect(archive)
    try:
        return [(int(i), str(s)) for i, s in conn.execute("select id, status from runs")]
    finally:
        conn.close()


def test_scrapyd_holds_the_egg_and_its_python_has_no_other_teaserfeed(scrapyd: Scrapyd) -> None:
    stored = VERSION.replace(".", "_")  # scrapyd's spelling of the uploaded version
    versions = scrapyd.call(f"listversions.json?project={PROJECT}")
    assert versions["versions"] == [stored]
    assert [p.name for p in (scrapyd.home / "eggs" / PROJECT).iterdir()] == [f"{stored}.egg"]
    probe = subprocess.run(
        [str(scrapyd.python), "-c", "import crawlers"],
        cwd=scrapyd.home,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "No module named 'crawlers'" in probe.stderr


def test_scheduled_crawl_fills_the_archive_from_the_demo_site(
    scrapyd: Scrapyd,
    demo_server: DemoServer,
    demo_site: DemoSite,
    demo_sites_file: Path,
    tmp_path: Path,
) -> None:
    archive = tmp_path / "news.db"
    job = scrapyd.schedule(_crawl_fields(demo_sites_file, archive))
    scrapyd.wait_finished(job)

    log = scrapyd.job_log(job)
    assert "Traceback" not in log, log[-3000:]
    # The runner found the settings module through the egg's scrapy entry point only: no
    # SCRAPY_SETTINGS_MODULE in its environment and no scrapy.cfg above its directory.
    assert "Scrapy 2.19" in log
    assert "(bot: teaserfeed)" in log
    assert "Spider closed (finished)" in log
    assert not any((d / "scrapy.cfg").exists() for d in (scrapyd.home, *scrapyd.home.parents))

    assert _runs(archive) == [(1, "finished")]
    expected = {
        demo_server.url + a.path
        for a in demo_site.ok_articles
        if not a.robots_blocked and a.canonical is None
    }
    assert len(expected) == 103
    with open_archive(archive, create=True) as stored:
        articles = {a.url: a for a in stored.articles()}
        assert set(articles) == expected
        for truth in demo_site.ok_articles:
            if demo_server.url + truth.path in expected:
                assert articles[demo_server.url + truth.path].body == truth.body_text
        summary = stored.run_summary(1)
    assert summary["status"] == "finished"
    assert (summary["listing_pages"], summary["teasers_seen"]) == (9, 108)
    assert summary["errors"] == {"http_4xx": 1, "robots": 1}


def test_second_job_on_a_locked_archive_exits_at_once(
    scrapyd: Scrapyd, demo_sites_file: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "news.db"
    # This test process plays the crawl that is already writing the archive.
    with ArchiveLock(archive):
        job = scrapyd.schedule(_crawl_fields(demo_sites_file, archive))
        scrapyd.wait_finished(job)
    log = scrapyd.job_log(job)
    assert f"{archive} is locked by a running crawl (PID {os.getpid()} " in log
    assert "Spider opened" in log
    assert "Crawled (200)" not in log
    assert _runs(archive) == []
