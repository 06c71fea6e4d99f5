"""teaserfeed's archive: articles, teasers and crawl runs in one SQLite file."""

from .dedup import clean_url, content_hash, normalize_url
from .errors import (
    ArchiveError,
    ArchiveFileError,
    InvalidFilterError,
    InvalidItemError,
    NotFoundError,
    SearchSyntaxError,
)
from .metadata import datasette_metadata, datasette_metadata_path, write_datasette_metadata
from .records import ArticleOutcome, RunRecord, SearchHit, StoredArticle, StoredTeaser
from .schema import SCHEMA_VERSION
from .store import RUN_SUMMARY_KEYS, Archive, open_archive

__all__ = [
    "RUN_SUMMARY_KEYS",
    "SCHEMA_VERSION",
    "Archive",
    "ArchiveError",
    "ArchiveFileError",
    "ArticleOutcome",
    "InvalidFilterError",
    "InvalidItemError",
    "NotFoundError",
    "RunRecord",
    "SearchHit",
    "SearchSyntaxError",
    "StoredArticle",
    "StoredTeaser",
    "clean_url",
    "content_hash",
    "datasette_metadata",
    "datasette_metadata_path",
    "normalize_url",
    "open_archive",
    "write_datasette_metadata",
]
