"""Every TEASERFEED_* default is defined once (crawlers/settings.py) and seen everywhere."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

import crawlers
from archive import open_archive
from crawlers.distributed import components
from crawlers.middlewares import PageLimitMiddleware
from crawlers.pipelines import ArchivePipeline
from crawlers.settings import teaserfeed_defaults, with_defaults
from crawlers.sites import SiteConfig
from crawlers.spiders.teasers import TeaserSpider
from tests.conftest import PROJECT_SETTINGS

WEEKLY_STEPS = (3600.0, 21600.0, 86400.0, 259200.0, 604800.0)  # 1h, 6h, 24h, 3d, 7d
_GETTERS = {"get", "getbool", "getint", "getfloat", "getlist", "getdict", "getwithbase"}


def _spider(settings: dict[str, Any]) -> TeaserSpider:
    config = SiteConfig.for_url("https://news.example/")
    spider: TeaserSpider = TeaserSpider.from_crawler(
        get_crawler(TeaserSpider, settings), configs=[config]
    )
    return spider


@pytest.mark.parametrize("project", [True, False], ids=["project settings", "bare crawler"])
def test_revisits_follow_the_same_schedule_with_or_without_the_project_settings(
    project: bool,
) -> None:
    spider = _spider(dict(PROJECT_SETTINGS) if project else {})
    assert spider._revisit_schedule(spider.site_configs[0]) == WEEKLY_STEPS


def test_a_bare_crawler_sees_every_teaserfeed_default() -> None:
    spider = _spider({})
    for name, value in teaserfeed_defaults().items():
        assert spider.settings[name] == value, name
    assert spider.settings.getbool("TEASERFEED_SKIP_KNOWN") is True
    assert spider.settings.getbool("TEASERFEED_STORE_HTML") is True


def test_a_bare_spider_skips_known_articles(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    open_archive(path, create=True).close()
    spider = _spider({"TEASERFEED_ARCHIVE": str(path)})
    spider._open_seen_store()
    try:
        assert spider.seen_store is not None  # the archive is read as the seen-store
    finally:
        spider.closed("finished")


def test_the_redis_workers_skip_known_as_the_spider_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "connect", lambda url: object())
    crawler = get_crawler(Spider, {"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert components.KnownArticlesMiddleware.from_crawler(crawler).skip_known is True


def test_a_bare_pipeline_keeps_the_free_disk_floor(tmp_path: Path) -> None:
    crawler = get_crawler(Spider, {"TEASERFEED_ARCHIVE": str(tmp_path / "news.db")})
    pipeline = ArchivePipeline.from_crawler(crawler)
    assert pipeline.min_free == 50_000_000


def test_set_values_win_over_the_defaults() -> None:
    settings = Settings({"TEASERFEED_REVISIT": "never"}, priority="project")
    settings.set("TEASERFEED_MAX_REVISITS", 7, priority="cmdline")
    assert with_defaults(settings) is settings
    assert settings["TEASERFEED_REVISIT"] == "never"
    assert settings.getint("TEASERFEED_MAX_REVISITS") == 7
    assert settings["TEASERFEED_STOP_AT_SEEN"] == 1.0


def test_frozen_settings_are_read_through_a_copy() -> None:
    settings = Settings({"TEASERFEED_MAX_PAGES_PER_SITE": 3})
    settings.freeze()
    read = with_defaults(settings)
    assert read is not settings
    assert "TEASERFEED_REVISIT" not in settings
    assert read["TEASERFEED_REVISIT"] == "1h,6h,24h,3d,7d"
    assert read.getint("TEASERFEED_MAX_PAGES_PER_SITE") == 3
    crawler = get_crawler(Spider)
    crawler.settings.freeze()
    assert PageLimitMiddleware.from_crawler(crawler).limit == 10_000


def test_list_defaults_are_not_shared() -> None:
    first = teaserfeed_defaults()["TEASERFEED_ALLOWED_ADDRESSES"]
    first.append("intranet.example")
    assert teaserfeed_defaults()["TEASERFEED_ALLOWED_ADDRESSES"] == []


def test_no_call_site_repeats_a_default() -> None:
    """`settings.getint("TEASERFEED_X", 500)`: a second definition that can drift."""
    root = Path(crawlers.__file__).parent
    repeated = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _GETTERS
                and ast.unparse(node.func.value) != "os.environ"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("TEASERFEED_")
                and (len(node.args) > 1 or node.keywords)
            ):
                repeated.append(f"{path.relative_to(root)}:{node.lineno}")
    assert repeated == []
