"""teaserfeed's archive: articles, teasers and crawl runs in one SQLite file."""

from .batch import Batch, BatchItem, ItemResult, outcome_counts
from .clusters import minhash_signature
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
from .export import EXPORT_COLUMNS, as_text, export_columns, format_for_path
from .export import FORMATS as EXPORT_FORMATS
from .files import damaged_reason, is_damage, sqlite_reason
from .health import FailureCount, check_plot_path, plot_articles_per_day
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
from .search import SEARCH_WINDOW
from .store import ARTICLE_ORDERS, RUN_SUMMARY_KEYS, Archive, open_archive

__all__ = [
    "ARTICLE_ORDERS",
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "RUN_SUMMARY_KEYS",
    "SCHEMA_VERSION",
    "SEARCH_WINDOW",
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
    "FailureCount",
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
    "as_text",
    "check_archive",
    "check_plot_path",
    "clean_url",
    "content_hash",
    "damaged_reason",
    "datasette_metadata",
    "datasette_metadata_path",
    "export_columns",
    "format_for_path",
    "is_damage",
    "lock_holder",
    "minhash_signature",
    "normalize_url",
    "open_archive",
    "outcome_counts",
    "plot_articles_per_day",
    "sqlite_reason",
    "write_datasette_metadata",
]
