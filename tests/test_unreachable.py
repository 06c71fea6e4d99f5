"""A start URL that cannot be reached is one line of the summary, not a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import _free_port, teaserfeed


def test_unreachable_start_url_is_one_summary_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/news/"  # nothing listens there: refused
    db = tmp_path / "news.db"
    result = teaserfeed(
        "crawl", "--url", url, "--archive", str(db), "--allow-address", "127.0.0.1",
        "-s", "RETRY_TIMES=0",
    )  # fmt: skip
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    unreachable = [ln for ln in result.stdout.splitlines() if ln.startswith("  unreachable ")]
    assert len(unreachable) == 1
    assert unreachable[0].startswith(f"  unreachable        {url}: ")
    assert "refused" in unreachable[0].lower()
    # stderr: only the closing line saying fetches failed
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if line.startswith("finished with failed")
    ]
    assert len(result.stderr.splitlines()) == 1
