"""The package layout: the engine stands alone, and each public surface lists what it has."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import crawlers
import crawlers.distributed
import crawlers.extract

ENGINE = Path(crawlers.extract.__file__).parent
# what the engine may import of this project: itself and the pure-Python site configuration
ENGINE_MAY_IMPORT = ("crawlers.extract", "crawlers.sites", "crawlers.errors", "crawlers.schedule")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_the_engine_imports_neither_scrapy_nor_the_archive(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in {"scrapy", "twisted", "archive", "scrapy_redis", "redis"}, name
        if top == "crawlers":
            assert name.startswith(ENGINE_MAY_IMPORT), f"{path.name} imports {name}"


def test_importing_the_engine_loads_no_scrapy_and_no_archive() -> None:
    code = (
        "import sys; from crawlers import extract_article, find_teasers; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'scrapy', 'twisted', 'archive', 'redis', 'scrapy_redis'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_extraction_workers_load_no_scrapy() -> None:
    # what a worker imports: the pool (its loop) and the jobs it runs (which sign bodies with
    # the archive's MinHash); each worker is forked with these loaded, so Scrapy, Twisted or
    # Redis here would be paid for in every one
    pool = Path(crawlers.__file__).parent / "pool.py"
    assert {n.split(".")[0] for n in _imports(pool)} & {"scrapy", "twisted", "archive"} == set()
    code = (
        "import sys; import crawlers.pool, crawlers.jobs; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'scrapy', 'twisted', 'redis', 'scrapy_redis'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", [crawlers, crawlers.extract, crawlers.distributed])
def test_all_lists_exactly_the_public_names(module: ModuleType) -> None:
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(module.__all__) == public
    assert len(module.__all__) == len(set(module.__all__))


def test_research_code_imports_the_engine_from_crawlers() -> None:
    from crawlers import extract_article

    article = extract_article(
        "<html><head><title>Ferry</title></head><body><article><h1>Ferry returns</h1>"
        + "<p>The ferry to the island runs again after the winter storms closed the pier.</p>" * 5
        + "</article></body></html>",
        "https://coast.example/ferry",
    )
    assert article.title == "Ferry returns"
    assert "ferry to the island runs again" in article.body


def test_old_dotted_paths_of_the_redis_mode_still_load() -> None:
    import crawlers.redisjson
    from crawlers.distributed.codec import dumps

    assert crawlers.redisjson.loads(dumps({"a": b"\x00"})) == {"a": b"\x00"}
    assert crawlers.distributed.ResilientScheduler.__module__ == "crawlers.distributed.components"
