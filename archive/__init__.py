"""teaserfeed's archive: articles, teasers and crawl runs in one SQLite file."""

from .batch import Batch, BatchItem, ItemResult, outcome_counts
from .crawlstate import ListingState
from .dedup import clean_url, content_hash, normalize_url
from .errors import (
    ArchiveBusyError,
    ArchiveError,
    ArchiveFileError,
    ArchiveLockedError,
    InvalidFilterError,
    InvalidItemError,
    NotFoundError,
    SearchSyntaxError,
)
from .integrity import CheckReport, check_archive
from .lock import ArchiveLock, lock_holder
from .metadata import datasette_metadata, datasette_metadata_path, write_datasette_metadata
from .pages import StoredPage
from .records import (
    ArticleOutcome,
    ArticleVersion,
    Cluster,
    ClusterMember,
    RunRecord,
    SearchHit,
    SiteHealth,
    StoredArticle,
    StoredTeaser,
)
from .schema import SCHEMA_VERSION
from .store import RUN_SUMMARY_KEYS, Archive, open_archive

__all__ = [
    "RUN_SUMMARY_KEYS",
    "SCHEMA_VERSION",
    "Archive",
    "ArchiveBusyError",
    "ArchiveError",
    "ArchiveFileError",
    "ArchiveLock",
    "ArchiveLockedError",
    "ArticleOutcome",
    "ArticleVersion",
    "Batch",
    "BatchItem",
    "CheckReport",
    "Cluster",
    "ClusterMember",
    "InvalidFilterError",
    "InvalidItemError",
    "ItemResult",
    "ListingState",
    "NotFoundError",
    "RunRecord",
    "SearchHit",
    "SearchSyntaxError",
    "SiteHealth",
    "StoredArticle",
    "StoredPage",
    "StoredTeaser",
    "check_archive",
    "clean_url",
    "content_hash",
    "datasette_metadata",
    "datasette_metadata_path",
    "lock_holder",
    "normalize_url",
    "open_archive",
    "outcome_counts",
    "write_datasette_metadata",
]
