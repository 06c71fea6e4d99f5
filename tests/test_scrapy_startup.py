"""`scrapy crawl teasers` whose sites cannot be resolved says why in one line, fetches nothing."""

from __future__ import annotations

from pathlib import Path

from crawlers.demo import DemoServer
from tests.test_cli import BIN, run


def test_missing_sites_file_and_unknown_site_say_why(
    tmp_path: Path, demo_server: DemoServer, demo_sites_file: Path
) -> None:
    db = tmp_path / "news.db"
    served = len(demo_server.requests)
    common = ["-s", f"TEASERFEED_ARCHIVE={db}", "-s", "LOG_LEVEL=WARNING"]
    missing = tmp_path / "nope.toml"
    result = run(str(BIN / "scrapy"), "crawl", "teasers", "-s", f"TEASERFEED_SITES={missing}",
                 *common)  # fmt: skip
    assert f"ERROR: {missing}: no such file" in result.stderr
    assert "Traceback" not in result.stderr
    assert "never retrieved" not in result.stderr
    result = run(str(BIN / "scrapy"), "crawl", "teasers", "-a", "site=nosuch",
                 "-s", f"TEASERFEED_SITES={demo_sites_file}", *common)  # fmt: skip
    assert "nosuch" in result.stderr
    assert "demo-news" in result.stderr  # the sites there are
    assert "Traceback" not in result.stderr
    assert not db.exists()  # no archive made for a crawl that never started
    assert len(demo_server.requests) == served


def test_bad_override_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    for override, message in [
        ("DOWNLOAD_DELAY=abc", "-s DOWNLOAD_DELAY=abc: 'abc' is not a number (default: 1.0)"),
        (
            "TEASERFEED_REVISTI=1h",
            "-s TEASERFEED_REVISTI=1h: teaserfeed has no setting TEASERFEED_REVISTI; "
            "did you mean TEASERFEED_REVISIT?",
        ),
    ]:
        result = run(str(BIN / "scrapy"), "crawl", "teasers", "-s", override,
                     "-s", f"TEASERFEED_ARCHIVE={db}", "-s", "LOG_LEVEL=WARNING")  # fmt: skip
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
        assert len(errors) == 1, result.stderr
        assert errors[0].endswith(message)
        assert "Traceback" not in result.stderr
        assert not db.exists()
