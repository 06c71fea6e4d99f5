"""Progress lines while a crawl runs, as a cron user sees them in a log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawlers.demo import DemoServer
from tests.conftest import ALLOW_TEST_HOSTS

BIN = Path(sys.executable).parent


def test_plain_progress_lines_when_not_a_terminal(
    demo_server: DemoServer, demo_sites_file: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [str(BIN / "teaserfeed"), "crawl", "--sites", str(demo_sites_file),
         "--archive", str(tmp_path / "news.db"), "-s", "DOWNLOAD_DELAY=0.02",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "TEASERFEED_PROGRESS_INTERVAL=0.3",
         *ALLOW_TEST_HOSTS],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress: ")]
    assert len(lines) >= 2
    assert "\r" not in result.stderr
    first, last = lines[0], lines[-1]
    assert first.startswith("progress: pages ")
    assert " | teasers " in last
    assert last.endswith("pages/s")
    pages = [int(line.split()[2]) for line in lines]
    assert pages == sorted(pages)
    assert pages[-1] > 0
