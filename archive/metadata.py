"""Datasette metadata for an archive: the bundled template, keyed by database name."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import ArchiveError

__all__ = ["datasette_metadata", "datasette_metadata_path", "write_datasette_metadata"]

TEMPLATE_DATABASE = "archive"


def datasette_metadata_path() -> Path:
    """Path of the bundled metadata.yml template (its database key is a placeholder)."""
    return Path(__file__).with_name("datasette") / "metadata.yml"


def datasette_metadata(db_name: str) -> dict[str, Any]:
    """Datasette 0.65 metadata for the database datasette calls `db_name` (the file stem)."""
    try:
        yaml = importlib.import_module("yaml")
    except ImportError as error:
        raise ArchiveError(
            "PyYAML is needed to read the datasette metadata: pip install 'teaserfeed[datasette]'"
        ) from error
    metadata: dict[str, Any] = yaml.safe_load(datasette_metadata_path().read_text("utf-8"))
    databases = metadata.get("databases", {})
    metadata["databases"] = {db_name: databases.pop(TEMPLATE_DATABASE, {}), **databases}
    return metadata


def write_datasette_metadata(
    db_path: str | os.PathLike[str], out_path: str | os.PathLike[str]
) -> Path:
    """Write metadata for the archive at `db_path` to `out_path` (JSON, which datasette reads)."""
    out = Path(out_path)
    out.write_text(
        json.dumps(datasette_metadata(Path(db_path).stem), ensure_ascii=False, indent=2),
        "utf-8",
    )
    return out
