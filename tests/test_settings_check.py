"""`-s NAME=VALUE` overrides are checked before anything is fetched: one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.demo import DemoServer
from crawlers.settings_check import SettingError, check_setting
from tests.conftest import ALLOW_TEST_HOSTS
from tests.test_cli import teaserfeed


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("DOWNLOAD_DELAY=abc", "-s DOWNLOAD_DELAY=abc: 'abc' is not a number (default: 1.0)"),
        (
            "TEASERFEED_REVISIT=banana",
            "-s TEASERFEED_REVISIT=banana: 'banana' is not a duration; write e.g. 90s, 15m, "
            "6h, 3d or 1w (default: '1h,6h,24h,3d,7d')",
        ),
        (
            "TEASERFEED_REVISTI=1h",
            "-s TEASERFEED_REVISTI=1h: teaserfeed has no setting TEASERFEED_REVISTI; "
            "did you mean TEASERFEED_REVISIT?",
        ),
        ("CONCURRENT_REQUESTS=2.5", "-s CONCURRENT_REQUESTS=2.5: '2.5' is not an integer"),
    ],
)
def test_bad_override_is_one_line_and_nothing_is_fetched(
    demo_server: DemoServer, tmp_path: Path, override: str, message: str
) -> None:
    served = len(demo_server.requests)
    db = tmp_path / "news.db"
    result = teaserfeed(
        "crawl", "--url", f"{demo_server.url}/science/", "--archive", str(db), "-s", override,
        *ALLOW_TEST_HOSTS,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"teaserfeed: {message}")
    assert result.stderr.count("\n") == 1
    assert len(demo_server.requests) == served
    assert not db.exists()


def test_good_values_and_foreign_names_pass() -> None:
    for name, value in [
        ("DOWNLOAD_DELAY", "0"),
        ("AUTOTHROTTLE_ENABLED", "False"),
        ("TEASERFEED_REVISIT", "never"),
        ("TEASERFEED_LISTING_BACKOFF", "90s"),
        ("TEASERFEED_NOW", "2026-11-20T08:00:00+00:00"),
        ("LOG_LEVEL", "debug"),
        ("TEASERFEED_WORKER_NICE", "0"),
        ("TEASERFEED_WORKER_NICE", "19"),
        ("MY_ADDON_SETTING", "anything"),  # an add-on's own setting is not ours to judge
    ]:
        check_setting(name, value)
    for name, value in [
        ("AUTOTHROTTLE_ENABLED", "maybe"),
        ("TEASERFEED_NOW", "yesterday"),
        ("TEASERFEED_LISTING_BACKOFF", "soon"),
        ("LOG_LEVEL", "LOUD"),
        ("TEASERFEED_WORKER_NICE", "20"),
        ("TEASERFEED_WORKER_NICE", "-5"),
        ("TEASERFEED_WORKER_NICE", "low"),
    ]:
        with pytest.raises(SettingError, match=f"-s {name}={value}: "):
            check_setting(name, value)
