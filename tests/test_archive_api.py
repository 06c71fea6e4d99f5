"""The archive package's public surface."""

from __future__ import annotations

import inspect

import archive


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(archive).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(archive.__all__) == public
    assert len(archive.__all__) == len(set(archive.__all__))


def test_errors_share_a_base() -> None:
    for name in ("ArchiveFileError", "SearchSyntaxError", "NotFoundError", "InvalidItemError"):
        assert issubclass(getattr(archive, name), archive.ArchiveError)


def test_archive_never_imports_crawlers() -> None:
    import ast
    from pathlib import Path

    for path in Path(archive.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"crawlers", "scrapy", "requests", "urllib3"}, (
                    f"{path.name} imports {name}"
                )
